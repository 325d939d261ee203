"""Signal receivers of the users app: the receiver is made by a factory function."""
import os

from django.conf import settings
from django.db.models.signals import post_save

from .models import Profile

# While debugging (SIGNALS_DEBUG=1 in my shell) every receiver made is kept here for the shell.
DEBUG_RECEIVERS = []


def make_profile_receiver():
    def create_profile(sender, instance, created, **kwargs):
        if created:
            Profile.objects.get_or_create(user=instance)

    if os.environ.get("SIGNALS_DEBUG"):
        DEBUG_RECEIVERS.append(create_profile)
    return create_profile


post_save.connect(make_profile_receiver(), sender=settings.AUTH_USER_MODEL)
