"""customer-notified: the notifications subscriber sends each customer one e-mail per order,
whose subject holds the order's id (read back by the grader from the mail folder)."""

import _grader_assignment as orders

from _grader_harness import api


def test_one_mail_per_order():
    api.require_database()
    sig, place_order = orders.signal(), orders.place_order_function()
    book, pen = orders.products("mail", "book", "pen")
    for tag, lines in (("mail-1", [(book, 1)]), ("mail-2", [(book, 2), (pen, 2)])):
        customer = orders.customer(tag)
        how = f"place_order(customer, {orders.describe_lines(lines)})"
        with orders.watch(sig) as seen:
            order = orders.place(place_order, customer, lines, how)
        api.track(order, "order")
        orders.expect_one_mail(seen, sig, order, customer, how)
