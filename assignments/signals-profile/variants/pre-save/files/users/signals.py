from django.conf import settings
from django.db.models.signals import pre_save
from django.dispatch import receiver

from .models import Profile


@receiver(pre_save, sender=settings.AUTH_USER_MODEL)
def create_profile(sender, instance, **kwargs):
    if instance.pk is None:
        Profile.objects.create(user=instance)
