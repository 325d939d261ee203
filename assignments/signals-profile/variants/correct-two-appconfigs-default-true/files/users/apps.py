from django.apps import AppConfig


class BaseUsersConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "users"


class UsersConfig(BaseUsersConfig):
    default = True

    def ready(self):
        from . import signals  # noqa: F401
