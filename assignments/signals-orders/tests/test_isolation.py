"""subscribers-isolated: a subscriber that raises (the grader's, run before every other one)
stops neither the order nor the other subscribers: order_placed is sent with send_robust()."""

import _grader_assignment as orders

from _grader_harness import api


def test_failing_subscriber():
    api.require_database()
    sig, place_order = orders.signal(), orders.place_order_function()
    Order = orders.model("order")
    gus = orders.customer("robust")
    (book,) = orders.products("robust", "book")
    lines = [(book, 4)]
    how = "place_order(...), with a subscriber of the grader's that raises, run first"
    raised = None
    with orders.watch(sig) as seen, orders.failing_subscriber_first(sig) as failing:
        with api.student_code(how):
            try:
                order = place_order(gus, lines)
            except orders.SubscriberFailed as exc:
                raised, order = exc, None
    if raised is not None:
        kept = Order._default_manager.filter(customer_id=gus.pk).exists()
        sites = orders.send_sites(seen.sends, sig)
        api.fail(
            f"the grader connected a subscriber of its own that raises, called before "
            f"yours: its exception came out of place_order"
            f"{f' ({sites})' if sites else ''}{'' if kept else ', the order was lost'} "
            "and the subscribers after it never ran. One broken subscriber must not break "
            "the shop or the other subscribers: send with order_placed.send_robust("
            "sender=Order, order=order), which calls every receiver and returns their "
            "errors instead of raising them.",
            diagnosis="send-not-robust",
            location=sites.split(", ")[0],
        )
    if not failing:
        orders.expect_sent_once(seen, sig, order, how)
    api.track(order, "order")
    book.stock = api.stored_value(book, "stock")  # the grader's own reading
    stock_ok = book.stock == orders.START_STOCK - 4
    mail_ok = any(gus.email.lower() in orders.recipients(m) for m in seen.mails)
    if not (stock_ok and mail_ok):
        orders.swallowed_error(seen, "inventory", how)
        orders.swallowed_error(seen, "notifications", how)
        missed = " and ".join(
            what
            for ok, what in (
                (stock_ok, f"the stock was not lowered (it is {book.stock}, not {orders.START_STOCK - 4})"),
                (mail_ok, "no e-mail was sent"),
            )
            if not ok
        )
        api.fail(
            "the grader connected a subscriber of its own that raises, called before "
            f"yours: the subscribers after it did not run ({missed}). Send with "
            "order_placed.send_robust(sender=Order, order=order): send() stops at the "
            "first receiver that raises.",
            diagnosis="send-not-robust",
            location=orders.send_sites(seen.sends, sig).split(", ")[0],
        )
    orders.expect_stock(seen, sig, {book: orders.START_STOCK - 4}, how)
    orders.expect_one_mail(seen, sig, order, gus, how)
