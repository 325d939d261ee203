from django.apps import AppConfig


class StatsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "stats"

    def ready(self):
        # Connects the receivers (the @receiver decorators run on import).
        from . import signals  # noqa: F401
