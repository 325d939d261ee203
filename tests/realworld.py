"""Student projects shaped like the real thing: the popular profile tutorials, split
settings, environment-driven settings, Windows files, custom user models, Django 6
startproject output. Each is an overlay on student_template/ (see conftest.build_submission):
path -> text, None deletes, bytes are written as they are."""
from __future__ import annotations

import struct
import zlib

from conftest import APPS_IMPORTING_SIGNALS as GOOD_APPS  # noqa: F401 (used by the tests)
from conftest import GOOD_SIGNALS, TEMPLATE  # noqa: F401

SETTINGS = (TEMPLATE / "mysite" / "settings.py").read_text()
MODELS = (TEMPLATE / "users" / "models.py").read_text()
MIGRATION = (TEMPLATE / "users" / "migrations" / "0001_initial.py").read_text()


def png(width: int = 2, height: int = 2) -> bytes:
    """A valid PNG image (what Pillow opens as default.jpg in the tutorials)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    raw = b"".join(b"\x00" + b"\xff\x00\x00" * width for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def settings_with(*pairs: tuple[str, str], append: str = "") -> str:
    text = SETTINGS
    for old, new in pairs:
        assert old in text, old
        text = text.replace(old, new)
    return text + append


# ------------------------------------------------------------------ the image-profile tutorial
# users app with Profile(user, image) whose save() resizes the picture with Pillow, two
# receivers (create_profile, save_profile) with sender=User, `import users.signals` in
# ready(), crispy forms in INSTALLED_APPS, media/default.jpg in the repository.
TUTORIAL_MODELS = """
    from django.db import models
    from django.contrib.auth.models import User
    from PIL import Image


    class Profile(models.Model):
        user = models.OneToOneField(User, on_delete=models.CASCADE)
        image = models.ImageField(default='default.jpg', upload_to='profile_pics')

        def __str__(self):
            return f'{self.user.username} Profile'

        def save(self, *args, **kwargs):
            super().save(*args, **kwargs)

            img = Image.open(self.image.path)

            if img.height > 300 or img.width > 300:
                output_size = (300, 300)
                img.thumbnail(output_size)
                img.save(self.image.path)
"""

TUTORIAL_MIGRATION = MIGRATION.replace(
    "('bio', models.TextField(blank=True))",
    "('image', models.ImageField(default='default.jpg', upload_to='profile_pics'))",
).replace("related_name='profile', ", "")

TUTORIAL_SIGNALS = """
    from django.db.models.signals import post_save
    from django.contrib.auth.models import User
    from django.dispatch import receiver
    from .models import Profile


    @receiver(post_save, sender=User)
    def create_profile(sender, instance, created, **kwargs):
        if created:
            Profile.objects.create(user=instance)


    @receiver(post_save, sender=User)
    def save_profile(sender, instance, **kwargs):
        instance.profile.save()
"""

TUTORIAL_APPS = """
    from django.apps import AppConfig


    class UsersConfig(AppConfig):
        name = 'users'

        def ready(self):
            import users.signals
"""

TUTORIAL_FORMS = """
    from django import forms
    from django.contrib.auth.models import User
    from django.contrib.auth.forms import UserCreationForm
    from .models import Profile


    class UserRegisterForm(UserCreationForm):
        email = forms.EmailField()

        class Meta:
            model = User
            fields = ['username', 'email', 'password1', 'password2']


    class ProfileUpdateForm(forms.ModelForm):
        class Meta:
            model = Profile
            fields = ['image']
"""

TUTORIAL_VIEWS = """
    from django.shortcuts import render, redirect
    from django.contrib import messages
    from django.contrib.auth.decorators import login_required
    from .forms import UserRegisterForm


    def register(request):
        if request.method == 'POST':
            form = UserRegisterForm(request.POST)
            if form.is_valid():
                form.save()
                messages.success(request, 'Your account has been created!')
                return redirect('login')
        else:
            form = UserRegisterForm()
        return render(request, 'users/register.html', {'form': form})


    @login_required
    def profile(request):
        return render(request, 'users/profile.html')
"""

TUTORIAL_URLS = """
    from django.contrib import admin
    from django.contrib.auth import views as auth_views
    from django.urls import path
    from django.conf import settings
    from django.conf.urls.static import static
    from users import views as user_views

    urlpatterns = [
        path('admin/', admin.site.urls),
        path('register/', user_views.register, name='register'),
        path('profile/', user_views.profile, name='profile'),
        path('login/', auth_views.LoginView.as_view(template_name='users/login.html'), name='login'),
    ]

    if settings.DEBUG:
        urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)
"""

IMAGE_TUTORIAL = {
    "users/models.py": TUTORIAL_MODELS,
    "users/migrations/0001_initial.py": TUTORIAL_MIGRATION,
    "users/signals.py": TUTORIAL_SIGNALS,
    "users/apps.py": TUTORIAL_APPS,
    "users/forms.py": TUTORIAL_FORMS,
    "users/views.py": TUTORIAL_VIEWS,
    "users/templates/users/register.html": "{% load crispy_forms_tags %}\n{{ form|crispy }}\n",
    "mysite/urls.py": TUTORIAL_URLS,
    "media/default.jpg": png(),
    "requirements.txt": "Django==5.2\nPillow==11.0.0\ndjango-crispy-forms==2.3\ncrispy-bootstrap4==2024.10\n",
    "mysite/settings.py": settings_with(
        ("    'users',\n", "    'users.apps.UsersConfig',\n    'crispy_forms',\n    'crispy_bootstrap4',\n"),
        append="\nCRISPY_TEMPLATE_PACK = 'bootstrap4'\n"
               "MEDIA_ROOT = BASE_DIR / 'media'\nMEDIA_URL = '/media/'\n"
               "LOGIN_REDIRECT_URL = 'profile'\nLOGIN_URL = 'login'\n"),
}


# ------------------------------------------------------------------ a custom user model whose
# required fields are not text: a choice, a date, a bounded number, a link to another model.
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


# ------------------------------------------------------------------ smaller real-world shapes
# The Django docs' way to show a profile in the admin: an inline on UserAdmin.
PROFILE_INLINE_ADMIN = """
    from django.contrib import admin
    from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
    from django.contrib.auth.models import User

    from .models import Profile


    class ProfileInline(admin.StackedInline):
        model = Profile
        can_delete = False
        verbose_name_plural = "profile"


    class UserAdmin(BaseUserAdmin):
        inlines = [ProfileInline]


    admin.site.unregister(User)
    admin.site.register(User, UserAdmin)
"""

DB_TABLE_MODELS = MODELS.replace(
    '        related_name="profile",\n    )',
    '        related_name="profile",\n        db_column="owner",\n    )',
).replace("    def __str__", '    class Meta:\n        db_table = "profiles_of_users"\n\n    def __str__')
DB_TABLE_MIGRATION = MIGRATION.replace(
    "to=settings.AUTH_USER_MODEL)),\n            ],",
    "to=settings.AUTH_USER_MODEL, db_column='owner')),\n            ],\n"
    "            options={'db_table': 'profiles_of_users'},")

ENV_SETTINGS = settings_with(
    ("SECRET_KEY = 'django-insecure-", "import os\nSECRET_KEY = os.environ['DJANGO_SECRET_KEY']\n_OLD_KEY = '"),
    ("DEBUG = True", "DEBUG = os.environ.get('DJANGO_DEBUG', '0') == '1'"))

DECOUPLE_SETTINGS = settings_with(
    ("SECRET_KEY = 'django-insecure-", "from decouple import config\nSECRET_KEY = config('SECRET_KEY')\n_OLD_KEY = '"),
    ("DEBUG = True", "DEBUG = config('DEBUG', default=False, cast=bool)"))


def crlf(text: str) -> str:
    """As a Windows editor saves it."""
    import textwrap
    return textwrap.dedent(text).lstrip("\n").replace("\n", "\r\n")


# Django 6.x startproject: no DEFAULT_AUTO_FIELD (BigAutoField is 6.0's default), MAILERS
# instead of EMAIL_BACKEND (6.1); makemigrations' header names the Django that made them.
DJANGO6_SETTINGS = (
    settings_with(
        ("Generated by 'django-admin startproject' using Django 5.2.19.",
         "Generated by 'django-admin startproject' using Django 6.1.3."),
        ("DEFAULT_AUTO_FIELD = 'django.db.models.BigAutoField'\n", ""),
        append="\nMAILERS = {\n    'default': {\n        'BACKEND': 'django.core.mail.backends.console.EmailBackend',\n"
               "    },\n}\n"))
DJANGO6_MIGRATION = MIGRATION.replace("# Generated by Django 5.2.19", "# Generated by Django 6.1.3")
DJANGO6_APPS = """
    from django.apps import AppConfig


    class UsersConfig(AppConfig):
        name = "users"

        def ready(self):
            from . import signals  # noqa: F401
"""

# A split-settings project named `core` (not mysite): core/settings/base.py + dev.py.
def core_project(settings_text: str) -> dict:
    """The template with its settings package renamed to core/ and split into base + dev."""
    files = {f"mysite/{name}": None for name in ("__init__.py", "settings.py", "urls.py", "wsgi.py", "asgi.py")}
    files.update({
        "core/__init__.py": "",
        "core/settings/__init__.py": "",
        "core/settings/base.py": settings_text.replace("'mysite.urls'", "'core.urls'")
                                              .replace("'mysite.wsgi.application'", "'core.wsgi.application'")
                                              .replace("BASE_DIR = Path(__file__).resolve().parent.parent",
                                                       "BASE_DIR = Path(__file__).resolve().parent.parent.parent"),
        "core/settings/dev.py": "from .base import *  # noqa: F401,F403\n\nDEBUG = True\n",
        "core/urls.py": (TEMPLATE / "mysite" / "urls.py").read_text(),
        "core/wsgi.py": (TEMPLATE / "mysite" / "wsgi.py").read_text().replace("mysite.settings", "core.settings.dev"),
        "manage.py": (TEMPLATE / "manage.py").read_text().replace("mysite.settings", "core.settings.dev"),
    })
    return files

WHITENOISE_PRODUCTION = """
DEBUG = False
ALLOWED_HOSTS = ['*']
MIDDLEWARE.insert(1, 'whitenoise.middleware.WhiteNoiseMiddleware')
STATIC_ROOT = BASE_DIR / 'staticfiles'
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
"""
