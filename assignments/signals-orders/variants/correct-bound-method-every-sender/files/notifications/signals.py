from django.core.mail import EmailMultiAlternatives


class Mailer:
    """Sends the shop's e-mails."""

    def __init__(self, sender_address=None):
        self.sender_address = sender_address

    def order_placed(self, sender, order, **kwargs):
        message = EmailMultiAlternatives(
            subject=f"[Shop] We received order no. {order.pk:05d}",
            body="Thank you for your order.",
            from_email=self.sender_address,
            to=[order.customer.email],
        )
        message.attach_alternative(f"<p>Thank you for order <b>{order.pk}</b>.</p>", "text/html")
        message.send()


mailer = Mailer()
