from django.db.models import F

from shop.models import Product


def take_from_stock(order):
    for line in order.lines.all():
        Product.objects.filter(pk=line.product_id).update(stock=F("stock") - line.quantity)
