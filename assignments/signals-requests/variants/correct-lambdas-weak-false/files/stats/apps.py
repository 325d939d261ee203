from django.apps import AppConfig
from django.core import signals


class StatsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "stats"

    def ready(self):
        RequestStats = self.get_model("RequestStats")
        signals.request_started.connect(
            lambda sender, **kwargs: RequestStats.add_one("started"), weak=False)
        signals.request_finished.connect(
            lambda sender, **kwargs: RequestStats.add_one("finished"), weak=False)
