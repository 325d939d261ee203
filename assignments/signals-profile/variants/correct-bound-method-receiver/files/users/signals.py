from .models import Profile


class ProfileCreator:
    def __init__(self):
        self.created = 0

    def on_user_saved(self, sender, instance, created, **kwargs):
        if created:
            Profile.objects.create(user=instance)
            self.created += 1
