"""The shop's service layer."""
from functools import partial

from django.db import transaction

from . import signals
from .models import Order, OrderLine


def _announce(order):
    signals.order_placed.send_robust(sender=Order, order=order)


def place_order(customer, lines):
    with transaction.atomic():
        order = Order.objects.create(customer=customer)
        OrderLine.objects.bulk_create(
            [OrderLine(order=order, product=product, quantity=quantity) for product, quantity in lines]
        )
        transaction.on_commit(partial(_announce, order))
    return order
