from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    default_auto_field = 'django.db.models.BigAutoField'
    name = 'notifications'

    def ready(self):
        from shop.models import Order
        from shop.signals import order_placed

        from .signals import mailer

        order_placed.connect(mailer.order_placed, sender=Order)
