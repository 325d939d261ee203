from django.apps import AppConfig


class InventoryConfig(AppConfig):
    default_auto_field = 'django.db.models.BigAutoField'
    name = 'inventory'

    def ready(self):
        from shop.models import Order
        from shop.signals import order_placed

        from .receivers import lower_stock

        order_placed.connect(lower_stock, sender=Order, dispatch_uid="inventory.lower_stock")
