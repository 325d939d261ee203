"""What the inventory does when the shop announces an order."""
from django.db.models import F

from shop.models import Product


def lower_stock(sender, order, **kwargs):
    for product_id, quantity in order.lines.values_list("product_id", "quantity"):
        Product.objects.filter(pk=product_id).update(stock=F("stock") - quantity)
