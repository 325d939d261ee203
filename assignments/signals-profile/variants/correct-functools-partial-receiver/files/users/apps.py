import functools

from django.apps import AppConfig, apps
from django.conf import settings


def make_profile(model_label, sender, instance, created, **kwargs):
    if created:
        apps.get_model(model_label).objects.get_or_create(user=instance)


class UsersConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "users"

    def ready(self):
        from django.db.models.signals import post_save

        post_save.connect(functools.partial(make_profile, "users.Profile"),
                          sender=settings.AUTH_USER_MODEL, weak=False,
                          dispatch_uid="users.make_profile")
