from django.apps import AppConfig

class NotesConfig(AppConfig):
    name = "notes"

    def ready(self):
        import users.signals  # noqa: F401
