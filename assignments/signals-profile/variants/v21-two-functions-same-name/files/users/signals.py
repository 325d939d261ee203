"""Signal receivers of the users app."""
from django.conf import settings
from django.db.models.signals import post_save
from django.dispatch import receiver

from .models import Profile


@receiver(post_save, sender=settings.AUTH_USER_MODEL)
def create_profile(sender, instance, created, **kwargs):
    """Give every new user exactly one profile."""
    if created:
        Profile.objects.get_or_create(user=instance)


def create_profile(user):  # noqa: F811  (a helper for the sign-up view, written later)
    """The profile of a user made by the sign-up view."""
    return Profile.objects.get_or_create(user=user)[0]
