from collections import Counter

from django.db.models import Case, F, PositiveIntegerField, When
from django.dispatch import receiver

from shop.models import Product
from shop.signals import order_placed


@receiver(order_placed)
def lower_stock(sender, **kwargs):
    order = kwargs["order"]
    wanted = Counter()
    for line in order.lines.all():
        wanted[line.product_id] += line.quantity
    Product.objects.filter(pk__in=wanted).update(
        stock=Case(
            *[When(pk=pk, then=F("stock") - n) for pk, n in wanted.items()],
            default=F("stock"),
            output_field=PositiveIntegerField(),
        )
    )
