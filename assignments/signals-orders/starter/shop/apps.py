from django.apps import AppConfig


class ShopConfig(AppConfig):
    default_auto_field = 'django.db.models.BigAutoField'
    name = 'shop'

    def ready(self):
        # The shop's signals (shop/signals.py) exist from the moment the app starts, before
        # any other app connects its receivers to them.
        from . import signals  # noqa: F401
