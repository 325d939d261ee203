"""publisher-decoupled: the shop knows none of its subscribers: no module of the shop app
imports inventory or notifications (import statements, import_module, what its modules hold),
and place_order calls none of their functions; they hear of orders through order_placed."""

import _grader_assignment as orders

from _grader_harness import api


def test_shop_knows_no_subscriber():
    api.require_database()
    sig, place_order = orders.signal(), orders.place_order_function()
    hal = orders.customer("decoupled")
    (book,) = orders.products("decoupled", "book")
    lines = [(book, 2)]
    how = f"place_order(customer, {orders.describe_lines(lines)})"
    with orders.watch(sig) as seen:
        order = orders.place(place_order, hal, lines, how)
    api.track(order, "order")
    orders.expect_decoupled(seen)
    # not vacuous: the subscribers did their work for this order, through the signal
    orders.expect_heard(seen, sig, how)
    orders.expect_stock(seen, sig, {book: orders.START_STOCK - 2}, how)
    orders.expect_one_mail(seen, sig, order, hal, how)
