"""Real-world shapes that can only be built on the machine that grades them (most of the
real-world overlays are signals-profile's variants named real-*, in
assignments/signals-profile/variants/). Each is an overlay on student_template/ (see
conftest.build_submission): path -> text, None deletes, bytes are written as they are."""

from __future__ import annotations

from conftest import APPS_IMPORTING_SIGNALS as GOOD_APPS  # noqa: F401 (used by the tests)
from conftest import GOOD_SIGNALS, TEMPLATE  # noqa: F401

SETTINGS = (TEMPLATE / "mysite" / "settings.py").read_text()


def settings_with(*pairs: tuple[str, str], append: str = "") -> str:
    text = SETTINGS
    for old, new in pairs:
        assert old in text, old
        text = text.replace(old, new)
    return text + append


# ------------------------------------------------------------------ a custom user model whose
# required fields are not text: a choice, a date, a bounded number, a link to another model.
# Its migration is made by makemigrations of the Django that runs the tests, as the student's
# would be, so it cannot be a variant with fixed files.
TYPED_USER_MODELS = """
    from django.conf import settings
    from django.contrib.auth.models import AbstractUser
    from django.core.validators import MinValueValidator
    from django.db import models


    class Country(models.Model):
        name = models.CharField(max_length=50)


    class User(AbstractUser):
        ROLES = [("S", "Student"), ("T", "Teacher")]
        role = models.CharField(max_length=1, choices=ROLES)
        date_of_birth = models.DateField()
        age = models.PositiveIntegerField(validators=[MinValueValidator(16)])
        country = models.ForeignKey(Country, on_delete=models.PROTECT)

        REQUIRED_FIELDS = ["email", "role", "date_of_birth", "age", "country"]


    class Profile(models.Model):
        user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="profile")
        bio = models.TextField(blank=True)
"""

TYPED_USER = {
    "users/models.py": TYPED_USER_MODELS,
    "users/migrations/0001_initial.py": None,  # made by makemigrations, as the student would
    "users/admin.py": "",
    "mysite/settings.py": settings_with(append="\nAUTH_USER_MODEL = 'users.User'\n"),
}
