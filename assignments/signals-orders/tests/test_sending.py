"""order-placed-sent: place_order sends the module-level order_placed exactly once per order,
with sender=Order and order=<the order>, only once the outermost transaction has committed,
and never for an order whose transaction is rolled back."""

import _grader_assignment as orders
from django.db import transaction

from _grader_harness import api


def test_sent_once_after_commit():
    api.require_database()
    sig, place_order = orders.signal(), orders.place_order_function()
    ada = orders.customer("sent")
    book, pen = orders.products("sent", "book", "pen")
    lines = [(book, 2), (pen, 1)]
    how = f"place_order(customer, {orders.describe_lines(lines)})"
    with orders.watch(sig, mail=False) as seen:
        order = orders.place(place_order, ada, lines, how)
    api.track(order, "order")
    orders.expect_saved(order, lines, how)
    orders.expect_sent_once(seen, sig, order, how)


def test_sent_after_outer_commit():
    api.require_database()
    sig, place_order = orders.signal(), orders.place_order_function()
    bob = orders.customer("outer")
    (book,) = orders.products("outer", "book")
    lines = [(book, 1)]
    how = "place_order(...) inside a transaction the caller opened (transaction.atomic())"
    with orders.watch(sig, mail=False) as seen:
        with transaction.atomic():
            order = orders.place(place_order, bob, lines, how)
            during = list(seen.calls)
    api.track(order, "order")
    if during:
        orders.expect_sent_once(seen, sig, order, how, heard=during, committed=False)
        sites = orders.send_sites(seen.sends, sig)
        api.fail(
            f"{how}: order_placed was sent{f' ({sites})' if sites else ''} while the "
            "caller's transaction was still open, before it committed (if it is rolled "
            'back, the subscribers have acted on an order that does not exist). "After '
            'commit" means the outermost transaction: transaction.on_commit() waits for '
            "it, and drops the callback on a rollback: `transaction.on_commit(lambda: "
            "order_placed.send_robust(sender=Order, order=order))`.",
            diagnosis="sent-before-commit",
            location=sites.split(", ")[0],
        )
    orders.expect_saved(order, lines, how)
    orders.expect_sent_once(seen, sig, order, how)


class _RolledBack(Exception):
    pass


def test_nothing_sent_on_rollback():
    api.require_database()
    sig, place_order = orders.signal(), orders.place_order_function()
    Order = orders.model("order")
    cyd = orders.customer("rollback")
    (book,) = orders.products("rollback", "book")
    how = "place_order(...) inside a transaction that the caller then rolls back"
    with orders.watch(sig, mail=False) as seen:
        try:
            with transaction.atomic():
                rolled_back = orders.place(place_order, cyd, [(book, 1)], how)
                raise _RolledBack
        except _RolledBack:
            pass
    if seen.calls:
        orders.expect_sent_once(seen, sig, rolled_back, how)  # names a wrong send first
        api.fail(
            f"{how}: order_placed was sent although the order was rolled back, so the "
            "subscribers acted on an order that does not exist. Send it with "
            "transaction.on_commit(): Django drops the callback on a rollback.",
            diagnosis="sent-before-commit",
            location=orders.send_sites(seen.sends, sig).split(", ")[0],
        )
    if Order._default_manager.filter(customer_id=cyd.pk).exists():
        api.fail(
            f"{how}: the order is still in the database after the rollback: keep the "
            "starter's transaction.atomic() in place_order (it joins the caller's "
            "transaction).",
            diagnosis="models-changed",
        )
    # Not vacuous: the same caller, committing this time, is told of its order once.
    dee = orders.customer("committed")
    how = "place_order(...) inside a transaction that the caller commits"
    with orders.watch(sig, mail=False) as seen:
        with transaction.atomic():
            order = orders.place(place_order, dee, [(book, 2)], how)
    api.track(order, "order")
    orders.expect_sent_once(seen, sig, order, how)
