from django.core.mail import send_mail


def send_confirmation(order):
    send_mail(f"Your order #{order.pk}", "Thank you.", None, [order.customer.email])
