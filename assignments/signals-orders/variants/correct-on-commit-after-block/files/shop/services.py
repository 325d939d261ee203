from django.db import transaction

from .models import Order, OrderLine
from .signals import order_placed


def place_order(customer, lines):
    with transaction.atomic():
        order = Order.objects.create(customer=customer)
        for product, quantity in lines:
            OrderLine.objects.create(order=order, product=product, quantity=quantity)
    transaction.on_commit(lambda: order_placed.send_robust(Order, order=order))
    return order
