from django.apps import AppConfig
from django.conf import settings
from django.db.models.signals import post_save


class UsersConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "users"

    def ready(self):
        from .signals import ProfileCreator

        self.profile_creator = ProfileCreator()
        post_save.connect(self.profile_creator.on_user_saved,
                          sender=settings.AUTH_USER_MODEL)
