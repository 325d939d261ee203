from django.apps import AppConfig


class BlogConfig(AppConfig):
    default_auto_field = 'django.db.models.BigAutoField'
    name = 'blog'

    def ready(self):
        # Importing the module connects its @receiver functions, once, when the app starts.
        from . import signals  # noqa: F401
