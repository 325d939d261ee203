from django.apps import AppConfig


class InventoryConfig(AppConfig):
    default_auto_field = 'django.db.models.BigAutoField'
    name = 'inventory'

    # TODO 3: add a ready() method that imports your receiver module
    # (`from . import signals`), so that the receiver is connected once, when the app starts.
