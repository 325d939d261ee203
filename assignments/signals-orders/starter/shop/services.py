"""The shop's service layer: views, the admin and scripts place orders through here."""
from django.db import transaction

from .models import Order, OrderLine


def place_order(customer, lines):
    """Save an order of ``customer`` with its ``lines`` and return it.

    ``lines`` is a list of ``(product, quantity)`` pairs, e.g. ``[(book, 2), (pen, 1)]``.

    TODO 2: announce the order. Send ``order_placed`` (shop/signals.py):
    - exactly once per order, with ``sender=Order`` and ``order=order``;
    - only once the order is committed: when place_order() runs inside a transaction of
      the caller (``with transaction.atomic(): place_order(...)``), only after that
      outermost transaction commits, and never when it is rolled back
      (``transaction.on_commit`` is made for this);
    - so that a subscriber that raises stops neither the order nor the other
      subscribers (``send_robust``).
    The shop must not know its subscribers: import nothing from ``inventory`` or
    ``notifications`` here (nor anywhere in the shop app).
    """
    with transaction.atomic():
        order = Order.objects.create(customer=customer)
        OrderLine.objects.bulk_create(
            [OrderLine(order=order, product=product, quantity=quantity) for product, quantity in lines]
        )
    return order
