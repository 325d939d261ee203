from django.apps import AppConfig
from django.core.signals import request_finished, request_started


class StatsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "stats"

    def ready(self):
        from .handlers import on_request_finished, on_request_started

        request_started.connect(on_request_started, dispatch_uid="stats-started")
        request_finished.connect(on_request_finished, dispatch_uid="stats-finished")
