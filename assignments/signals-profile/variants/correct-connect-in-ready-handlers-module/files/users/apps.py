from django.apps import AppConfig


class UsersConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "users"

    def ready(self):
        from django.contrib.auth import get_user_model
        from django.db.models.signals import post_save

        from .handlers import create_profile_for_new_user

        post_save.connect(create_profile_for_new_user, sender=get_user_model(),
                          dispatch_uid="users.handlers.create_profile")
