from django.db.models import F
from django.dispatch import receiver

from shop.models import Order, OrderLine
from shop.signals import order_placed


@receiver(order_placed, sender=Order)
def take_from_stock(sender, order, **kwargs):
    for line in OrderLine.objects.filter(order=order).select_related("product"):
        product = line.product
        product.stock = F("stock") - line.quantity
        product.save(update_fields=["stock"])
