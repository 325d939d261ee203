from django.conf import settings
from django.core.mail import send_mail
from django.dispatch import receiver

from shop.models import Order
from shop.signals import order_placed


@receiver(order_placed, sender=Order)
def notify_customer(sender, order, **kwargs):
    send_mail(
        f"Order {order.id}: thank you!",
        "We are preparing your order.",
        settings.DEFAULT_FROM_EMAIL,
        [order.customer.email],
        fail_silently=False,
    )
