from django.core.mail import EmailMessage
from django.dispatch import receiver

from shop.models import Order
from shop.signals import order_placed


@receiver(order_placed, sender=Order, dispatch_uid="notifications.order_placed")
def confirm_order(sender, order, **kwargs):
    EmailMessage(
        subject=f"Order confirmation - order {order.pk}",
        body=f"Dear {order.customer.get_username()}, thank you for your order.",
        to=[order.customer.email],
    ).send()
