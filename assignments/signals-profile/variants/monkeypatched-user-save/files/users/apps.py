from django.apps import AppConfig


class UsersConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "users"

    def ready(self):
        from django.contrib.auth import get_user_model

        from .models import Profile

        User = get_user_model()
        original_save = User.save

        def save(user, *args, **kwargs):
            original_save(user, *args, **kwargs)
            Profile.objects.create(user=user)

        User.save = save
