"""The shop's service layer: views, the admin and scripts place orders through here."""
from django.db import transaction

from .models import Order, OrderLine
from .signals import order_placed


def place_order(customer, lines):
    """Save an order of ``customer`` with its ``lines`` and return it.

    ``lines`` is a list of ``(product, quantity)`` pairs, e.g. ``[(book, 2), (pen, 1)]``.
    Subscribers hear of the order (``order_placed``) once it is committed, and a subscriber
    that fails stops neither the order nor the others.
    """
    with transaction.atomic():
        order = Order.objects.create(customer=customer)
        OrderLine.objects.bulk_create(
            [OrderLine(order=order, product=product, quantity=quantity) for product, quantity in lines]
        )
        transaction.on_commit(lambda: order_placed.send_robust(sender=Order, order=order))
    return order
