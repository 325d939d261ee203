from django.db import transaction

from inventory.stock import take_from_stock
from notifications.emails import send_confirmation

from .models import Order, OrderLine


def place_order(customer, lines):
    with transaction.atomic():
        order = Order.objects.create(customer=customer)
        OrderLine.objects.bulk_create(
            [OrderLine(order=order, product=product, quantity=quantity) for product, quantity in lines]
        )
        transaction.on_commit(lambda: take_from_stock(order))
        transaction.on_commit(lambda: send_confirmation(order))
    return order
