"""The notifications' receivers."""
from django.core.mail import send_mail
from django.dispatch import receiver

from shop.models import Order
from shop.signals import order_placed


@receiver(order_placed, sender=Order)
def email_customer(sender, order, **kwargs):
    """One e-mail to the customer, naming the order."""
    send_mail(
        subject=f"Your order #{order.pk}",
        message="Thank you for your order. We are getting it ready.",
        from_email=None,
        recipient_list=[order.customer.email],
    )
