"""order-placed-sent: place_order saves an order and its lines together or not at all (the
starter's transaction.atomic()), and announces only an order that was saved. Lines that
cannot be saved (a quantity of -1: OrderLine.quantity is a PositiveIntegerField, so the
database refuses it) leave no Order row behind, and order_placed is not sent."""

import inspect

import _grader_assignment as orders

from _grader_harness import api


def _where(function) -> str:
    try:
        rel = api.relpath(inspect.getsourcefile(function) or "")
        return f"{rel}:{inspect.getsourcelines(function)[1]}" if rel else ""
    except (OSError, TypeError):
        return ""


def test_lines_that_cannot_be_saved():
    api.require_database()
    sig, place_order = orders.signal(), orders.place_order_function()
    Order = orders.model("order")
    eve = orders.customer("failed")
    book, pen = orders.products("failed", "book", "pen")
    how = (
        "place_order(customer, [(book, 1), (pen, -1)]) (saving the lines fails: a quantity of -1 "
        "is refused by the database, OrderLine.quantity being a PositiveIntegerField)"
    )
    raised = None
    with orders.watch(sig, mail=False) as seen:
        try:
            place_order(eve, [(book, 1), (pen, -1)])
        except Exception as exc:
            raised = exc
    left = list(Order._default_manager.filter(customer_id=eve.pk).values_list("pk", flat=True))
    if left:
        error = f" (saving the lines raised {type(raised).__name__})" if raised is not None else ""
        api.fail(
            f"{how}: order {left[0]} is still in the database, without its lines{error}: the "
            "order was saved on its own, and a customer now has an order with nothing in it. "
            "Keep the starter's `with transaction.atomic():` around saving the order and its "
            "lines in place_order, so that both are saved or neither is (and register the "
            "send with transaction.on_commit() inside that block).",
            diagnosis="order-saved-without-lines",
            location=_where(place_order),
        )
    if seen.calls:
        sites = orders.send_sites(seen.sends, sig)
        api.fail(
            f"{how}: order_placed was sent{f' ({sites})' if sites else ''} for an order "
            "that was never saved, so the subscribers acted on an order that does not "
            "exist. Send it from transaction.on_commit() inside place_order's atomic block: "
            "Django drops the callback when the block fails.",
            diagnosis="sent-before-commit",
            location=sites.split(", ")[0],
        )
