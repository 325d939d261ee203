"""Signal receivers of the users app (reference solution)."""
from django.conf import settings
from django.db.models.signals import post_save
from django.dispatch import receiver

from .models import Profile


@receiver(post_save, sender=settings.AUTH_USER_MODEL, dispatch_uid="users.create_profile")
def create_profile(sender, instance, created, **kwargs):
    """Give every new user exactly one profile; later saves change nothing."""
    if created:
        Profile.objects.get_or_create(user=instance)
