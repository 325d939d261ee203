from django.conf import settings
from django.db import models


class Profile(models.Model):
    """One profile per user. Do not change this model for the exercise."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="profile",
    )
    bio = models.TextField(blank=True)

    class Meta:
        ordering = ['user']

    def __str__(self):
        return f"Profile of {self.user}"
