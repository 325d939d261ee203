from __future__ import annotations

from django.apps import AppConfig
from django.db.backends.signals import connection_created


def _sqlite_pragmas(sender, connection, **kwargs) -> None:
    if connection.vendor == "sqlite":  # readers never wait for the writer; every write is kept
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")


class GradingConfig(AppConfig):
    name = "grader.service"
    label = "grading"
    verbose_name = "Grading"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        connection_created.connect(_sqlite_pragmas, dispatch_uid="grading-sqlite-pragmas")
