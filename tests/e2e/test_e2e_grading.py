"""End-to-end: grade real submissions with the real CLI and check every score.

Each submission is a small overlay on student_template/ (see conftest.py). The
expected scores are exact: a correct variant must earn 10/10, and each wrong
variant exactly the points of the checks it really satisfies.
"""
from __future__ import annotations

import hashlib
import json
import os
import sys
import textwrap
from importlib import metadata
from pathlib import Path

import pytest

from conftest import APPS_IMPORTING_SIGNALS, CHECK_IDS, GOOD_SIGNALS, TEMPLATE, check, run_cli, scores, validate
from realworld import TUTORIAL_SIGNALS

pytestmark = pytest.mark.e2e

DJANGO_VERSION = tuple(int(p) for p in metadata.version("django").split(".")[:2])
FULL = {"project-loads": 1.0, "receiver-registered-in-ready": 3.0,
        "profile-created-once": 3.0, "resave-no-duplicate": 3.0}
NOTHING = dict.fromkeys(CHECK_IDS, 0.0)
TEMPLATE_SETTINGS = (TEMPLATE / "mysite" / "settings.py").read_text()



# A receiver defined inside ready() and connected with the default weak=True.
NESTED_RECEIVER_APPS = """
    from django.apps import AppConfig
    from django.conf import settings
    from django.db.models.signals import post_save


    class UsersConfig(AppConfig):
        default_auto_field = "django.db.models.BigAutoField"
        name = "users"

        def ready(self):
            from .models import Profile

            def create_profile(sender, instance, created, **kwargs):
                if created:
                    Profile.objects.create(user=instance)

            post_save.connect(create_profile, sender=settings.AUTH_USER_MODEL)
"""


def line_of(files: dict, path: str, marker: str) -> str:
    """'path:line' of the first line of `marker` in the overlay text of `path`."""
    text = textwrap.dedent(files[path]).lstrip("\n")
    assert text.count(marker) >= 1, marker
    return f"{path}:{text[:text.index(marker)].count(chr(10)) + 1}"


def settings_with(*, replace: tuple[str, str] | None = None, append: str = "") -> str:
    text = TEMPLATE_SETTINGS
    if replace:
        assert replace[0] in text
        text = text.replace(*replace)
    return text + append


# ---------------------------------------------------------------- reference and template

def test_reference_solution_gets_full_marks(make_submission, grade):
    report = grade(make_submission(solution=True))
    assert report["status"] == "graded"
    assert report["score"] == 10 and report["max_score"] == 10
    assert [c["id"] for c in report["checks"]] == CHECK_IDS
    assert scores(report) == FULL
    assert all(c["status"] == "passed" for c in report["checks"])
    assert report["message"] == "10 of 10 points"
    assert report["assignment"] == "signals-profile"


def test_untouched_template_only_loads(make_submission, grade):
    report = grade(make_submission())
    assert report["status"] == "graded"
    assert report["score"] == 1
    assert scores(report) == {**NOTHING, "project-loads": 1.0}
    assert check(report, "project-loads")["status"] == "passed"
    reg = check(report, "receiver-registered-in-ready")
    # users/signals.py holds only the TODO text: nothing is there to import yet.
    assert reg["status"] == "failed" and reg["diagnosis"] == "receiver-not-connected"
    assert "no post_save receiver for the user model" in reg["feedback"]
    assert reg["location"] == ""
    created = check(report, "profile-created-once")
    assert created["status"] == "failed" and created["diagnosis"] == "no-profile"
    resave = check(report, "resave-no-duplicate")
    assert resave["status"] == "skipped"
    assert resave["feedback"].startswith("not run: profile-created-once")
    assert resave["score"] == 0 and resave["max_score"] == 3


# ---------------------------------------------------------------- wrong solutions

WRONG = {
    # The receiver is written, but nothing ever imports users/signals.py.
    "signals-never-imported": dict(
        files={"users/signals.py": GOOD_SIGNALS},
        scores={**NOTHING, "project-loads": 1.0},
        status="graded",
        failing={"receiver-registered-in-ready": ("receiver-module-not-imported",
                                                  "users/signals.py is never imported",
                                                  "users/signals.py"),
                 "profile-created-once": ("no-profile", "no profile exists after", "")},
    ),
    # Connected as a side effect of importing models.py: works, but not in ready().
    "connected-from-models": dict(
        files={
            "users/signals.py": GOOD_SIGNALS,
            "users/models.py": (TEMPLATE / "users" / "models.py").read_text()
            + "\n\nfrom . import signals  # noqa: E402,F401\n",
        },
        scores={**FULL, "receiver-registered-in-ready": 0.0},
        status="graded",
        failing={"receiver-registered-in-ready": ("connected-in-models", "while models.py is imported",
                                                  ("users/models.py", "from . import signals"))},
    ),
    # No `created` check: every save of a user creates another profile.
    "no-created-check": dict(
        files={
            "users/apps.py": APPS_IMPORTING_SIGNALS,
            "users/signals.py": """
                from django.conf import settings
                from django.db.models.signals import post_save
                from django.dispatch import receiver

                from .models import Profile


                @receiver(post_save, sender=settings.AUTH_USER_MODEL)
                def create_profile(sender, instance, **kwargs):
                    Profile.objects.create(user=instance)
            """,
        },
        scores={**FULL, "resave-no-duplicate": 0.0},
        status="graded",
        failing={"resave-no-duplicate": ("no-created-check", "IntegrityError",
                                         ("users/signals.py", "Profile.objects.create("))},
    ),
    # Listens to the Profile model instead of the user model.
    "wrong-sender": dict(
        files={
            "users/apps.py": APPS_IMPORTING_SIGNALS,
            "users/signals.py": """
                from django.db.models.signals import post_save
                from django.dispatch import receiver

                from .models import Profile


                @receiver(post_save, sender=Profile)
                def create_profile(sender, instance, created, **kwargs):
                    if created:
                        Profile.objects.create(user=instance)
            """,
        },
        scores={**NOTHING, "project-loads": 1.0},
        status="graded",
        failing={"receiver-registered-in-ready": ("wrong-sender", "listens to Profile, not to the user model",
                                                  ("users/signals.py", "@receiver(")),
                 "profile-created-once": ("no-profile", "no profile exists after")},
    ),
    # pre_save: the user has no primary key yet, the profile cannot be saved.
    "pre-save": dict(
        files={
            "users/apps.py": APPS_IMPORTING_SIGNALS,
            "users/signals.py": """
                from django.conf import settings
                from django.db.models.signals import pre_save
                from django.dispatch import receiver

                from .models import Profile


                @receiver(pre_save, sender=settings.AUTH_USER_MODEL)
                def create_profile(sender, instance, **kwargs):
                    if instance.pk is None:
                        Profile.objects.create(user=instance)
            """,
        },
        scores={**NOTHING, "project-loads": 1.0},
        status="graded",
        failing={"receiver-registered-in-ready": ("wrong-signal", "connected to pre_save",
                                                  ("users/signals.py", "@receiver(")),
                 "profile-created-once": ("pre-save", "unsaved related object",
                                          ("users/signals.py", "Profile.objects.create("))},
    ),
    # user_logged_in: a profile only appears at the first login.
    "user-logged-in": dict(
        files={
            "users/apps.py": APPS_IMPORTING_SIGNALS,
            "users/signals.py": """
                from django.contrib.auth.signals import user_logged_in
                from django.dispatch import receiver

                from .models import Profile


                @receiver(user_logged_in)
                def create_profile(sender, request, user, **kwargs):
                    Profile.objects.get_or_create(user=user)
            """,
        },
        scores={**NOTHING, "project-loads": 1.0},
        status="graded",
        failing={"receiver-registered-in-ready": ("wrong-signal", "connected to user_logged_in",
                                                  ("users/signals.py", "@receiver(")),
                 "profile-created-once": ("no-profile", "no profile exists after")},
    ),
    # Two receivers both create a profile for each new user.
    "two-creating-receivers": dict(
        files={
            "users/apps.py": APPS_IMPORTING_SIGNALS,
            "users/signals.py": """
                from django.conf import settings
                from django.db.models.signals import post_save
                from django.dispatch import receiver

                from .models import Profile


                @receiver(post_save, sender=settings.AUTH_USER_MODEL)
                def create_profile(sender, instance, created, **kwargs):
                    if created:
                        Profile.objects.create(user=instance)


                @receiver(post_save, sender=settings.AUTH_USER_MODEL)
                def make_user_profile(sender, instance, created, **kwargs):
                    if created:
                        Profile.objects.create(user=instance, bio="")
            """,
        },
        scores={**NOTHING, "project-loads": 1.0, "receiver-registered-in-ready": 3.0},
        status="graded",
        failing={"profile-created-once": ("several-receivers", "IntegrityError",
                                          ("users/signals.py", 'bio=""'))},
    ),
    # No **kwargs: with DEBUG = True Django refuses the receiver when it is connected.
    "receiver-without-kwargs": dict(
        files={
            "users/apps.py": APPS_IMPORTING_SIGNALS,
            "users/signals.py": """
                from django.conf import settings
                from django.db.models.signals import post_save
                from django.dispatch import receiver

                from .models import Profile


                @receiver(post_save, sender=settings.AUTH_USER_MODEL)
                def create_profile(sender, instance, created):
                    if created:
                        Profile.objects.create(user=instance)
            """,
        },
        scores=NOTHING,
        status="error",
        failing={"project-loads": ("receiver-kwargs", "must accept keyword arguments (**kwargs)",
                                   ("users/signals.py", "@receiver("))},
    ),
    # Saves its own instance in post_save: endless recursion.
    "receiver-saves-instance": dict(
        files={
            "users/apps.py": APPS_IMPORTING_SIGNALS,
            "users/signals.py": """
                from django.conf import settings
                from django.db.models.signals import post_save
                from django.dispatch import receiver

                from .models import Profile


                @receiver(post_save, sender=settings.AUTH_USER_MODEL)
                def create_profile(sender, instance, created, **kwargs):
                    if created:
                        Profile.objects.get_or_create(user=instance)
                    instance.save()
            """,
        },
        scores={**NOTHING, "project-loads": 1.0, "receiver-registered-in-ready": 3.0},
        status="graded",
        failing={"profile-created-once": ("receiver-recursion", "RecursionError",
                                          ("users/signals.py", "instance.save()"))},
    ),
    # A function defined inside ready() and connected weakly dies when ready() returns.
    # KNOWN GRADER BUG: with the template's DEBUG = True, Django's signature cache
    # (django.utils.inspect._get_func_parameters, an lru_cache filled by the
    # func_accepts_kwargs() check in Signal.connect) keeps the function alive, so the
    # grader sees a live receiver and gives 10/10 to code that loses its receiver as
    # soon as DEBUG is off (see the -debug-off variant below).
    "nested-receiver-garbage-collected": dict(
        files={"users/apps.py": NESTED_RECEIVER_APPS},
        scores={**NOTHING, "project-loads": 1.0},
        status="graded",
        failing={"receiver-registered-in-ready": ("receiver-garbage-collected", "garbage-collected"),
                 "profile-created-once": ("no-profile", "no profile exists after")},
    ),
    # The same nested receiver with DEBUG = False: Django's signature cache (filled only
    # when DEBUG is on) no longer keeps the function alive, so it really is collected.
    "nested-receiver-garbage-collected-debug-off": dict(
        files={
            "mysite/settings.py": settings_with(replace=("DEBUG = True", "DEBUG = False")),
            "users/apps.py": NESTED_RECEIVER_APPS,
        },
        scores={**NOTHING, "project-loads": 1.0},
        status="graded",
        failing={"receiver-registered-in-ready": ("receiver-garbage-collected", "garbage-collected",
                                                  ("users/apps.py", "post_save.connect(")),
                 "profile-created-once": ("no-profile", "no profile exists after")},
    ),
    # users/apps.py has two AppConfig subclasses and none is marked default:
    # Django uses a plain AppConfig and the ready() with the import never runs.
    "two-appconfigs-wrong-one-used": dict(
        files={
            "users/signals.py": GOOD_SIGNALS,
            "users/apps.py": """
                from django.apps import AppConfig


                class BaseUsersConfig(AppConfig):
                    default_auto_field = "django.db.models.BigAutoField"
                    name = "users"


                class UsersConfig(BaseUsersConfig):
                    def ready(self):
                        from . import signals  # noqa: F401
            """,
        },
        scores={**NOTHING, "project-loads": 1.0},
        status="graded",
        failing={"receiver-registered-in-ready": ("appconfig-not-loaded",
                                                  "defines ready(), but Django loads "
                                                  "django.apps.config.AppConfig", ""),
                 "profile-created-once": ("no-profile", "no profile exists after")},
    ),
    # Connected in the ready() of another app of the project, not of the users app.
    "connected-in-another-apps-ready": dict(
        files={
            "mysite/settings.py": settings_with(replace=("    'users',\n", "    'users',\n    'accounts',\n")),
            "accounts/__init__.py": "",
            "accounts/apps.py": """
                from django.apps import AppConfig


                class AccountsConfig(AppConfig):
                    default_auto_field = "django.db.models.BigAutoField"
                    name = "accounts"

                    def ready(self):
                        import users.signals  # noqa: F401
            """,
            "users/signals.py": GOOD_SIGNALS,
        },
        scores={**FULL, "receiver-registered-in-ready": 0.0},
        status="graded",
        failing={"receiver-registered-in-ready": ("wrong-app-ready",
                                                  "in the ready() of accounts.apps.AccountsConfig",
                                                  ("users/signals.py", "@receiver("))},
    ),
    # Every save deletes the user's profile and makes a new, empty one: never two
    # profiles, but whatever the profile held (bio) is lost at each save.
    # KNOWN GRADER GAP: the resave tests only count profiles, so this earns 10/10.
    "profile-recreated-on-every-save": dict(
        files={
            "users/apps.py": APPS_IMPORTING_SIGNALS,
            "users/signals.py": """
                from django.conf import settings
                from django.db.models.signals import post_save
                from django.dispatch import receiver

                from .models import Profile


                @receiver(post_save, sender=settings.AUTH_USER_MODEL)
                def reset_profile(sender, instance, **kwargs):
                    Profile.objects.filter(user=instance).delete()
                    Profile.objects.create(user=instance)
            """,
        },
        scores={**FULL, "resave-no-duplicate": 0.0},
        status="graded",
        failing={"resave-no-duplicate": ("profile-replaced", "replaced by a new one")},
    ),
    # The anti-pattern of the lesson: User.save() overridden (monkeypatched) in ready().
    "monkeypatched-user-save": dict(
        files={
            "users/apps.py": """
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
            """,
        },
        scores={**NOTHING, "project-loads": 1.0, "profile-created-once": 3.0},
        status="graded",
        failing={"receiver-registered-in-ready": ("save-overridden",
                                                  "anti-pattern of the lesson",
                                                  ("users/apps.py", "def save(user, *args, **kwargs):")),
                 "resave-no-duplicate": ("no-created-check", "IntegrityError",
                                         ("users/apps.py", "Profile.objects.create("))},
    ),
}


@pytest.mark.parametrize("name", list(WRONG))
def test_wrong_solution_gets_exact_partial_score(name, make_submission, grade):
    case = WRONG[name]
    report = grade(make_submission(case["files"], name=name))
    assert scores(report) == case["scores"], json.dumps(report["checks"], indent=1)
    assert report["status"] == case["status"]
    assert report["score"] == sum(case["scores"].values())
    for check_id, (diagnosis, phrase, *where) in case["failing"].items():
        result = check(report, check_id)
        assert result["status"] in ("failed", "error"), result
        assert result["score"] == 0
        if diagnosis is not None:
            assert result.get("diagnosis") == diagnosis, result
        assert phrase in result["feedback"], result
        assert result["hint"], result  # a failed check always says what to do
        if where:
            expected = where[0] if isinstance(where[0], str) else line_of(case["files"], *where[0])
            assert result.get("location") == expected, result


BROKEN_SIGNALS = """
    from django.conf import settings
    from django.db.models.signals import post_save
    from django.dispatch import receiver

    from .models import Profile


    @receiver(post_save, sender=settings.AUTH_USER_MODEL)
    def create_profile(sender, instance, created, **kwargs)
        if created:
            Profile.objects.create(user=instance)
"""


def test_syntax_error_names_file_and_line(make_submission, grade):
    sub = make_submission({"users/apps.py": APPS_IMPORTING_SIGNALS, "users/signals.py": BROKEN_SIGNALS})
    lines = (sub / "users" / "signals.py").read_text().splitlines()
    lineno = next(i for i, line in enumerate(lines, 1) if line.startswith("def create_profile"))
    where = f"users/signals.py:{lineno}"
    report = grade(sub)
    assert report["status"] == "error"
    assert report["score"] == 0
    assert scores(report) == NOTHING
    loads = check(report, "project-loads")
    assert loads["status"] == "failed"
    assert loads["diagnosis"] == "syntax-error"
    assert loads["location"] == where
    assert "SyntaxError" in loads["feedback"]
    assert f"({where})" in loads["feedback"]
    assert where in report["message"]
    assert any(frame.startswith(f"{where}: def create_profile") for frame in loads["student_traceback"])
    for other in CHECK_IDS[1:]:
        result = check(report, other)
        assert result["status"] == "skipped"
        assert result["feedback"].startswith("not run: project-loads")


# ---------------------------------------------------------------- correct variants

CUSTOM_USER_MIGRATION = """
    import django.contrib.auth.models
    import django.contrib.auth.validators
    import django.db.models.deletion
    import django.utils.timezone
    from django.conf import settings
    from django.db import migrations, models


    class Migration(migrations.Migration):

        initial = True

        dependencies = [
            ('auth', '0012_alter_user_first_name_max_length'),
        ]

        operations = [
            migrations.CreateModel(
                name='User',
                fields=[
                    ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                    ('password', models.CharField(max_length=128, verbose_name='password')),
                    ('last_login', models.DateTimeField(blank=True, null=True, verbose_name='last login')),
                    ('is_superuser', models.BooleanField(default=False, help_text='Designates that this user has all permissions without explicitly assigning them.', verbose_name='superuser status')),
                    ('username', models.CharField(error_messages={'unique': 'A user with that username already exists.'}, help_text='Required. 150 characters or fewer. Letters, digits and @/./+/-/_ only.', max_length=150, unique=True, validators=[django.contrib.auth.validators.UnicodeUsernameValidator()], verbose_name='username')),
                    ('first_name', models.CharField(blank=True, max_length=150, verbose_name='first name')),
                    ('last_name', models.CharField(blank=True, max_length=150, verbose_name='last name')),
                    ('email', models.EmailField(blank=True, max_length=254, verbose_name='email address')),
                    ('is_staff', models.BooleanField(default=False, help_text='Designates whether the user can log into this admin site.', verbose_name='staff status')),
                    ('is_active', models.BooleanField(default=True, help_text='Designates whether this user should be treated as active. Unselect this instead of deleting accounts.', verbose_name='active')),
                    ('date_joined', models.DateTimeField(default=django.utils.timezone.now, verbose_name='date joined')),
                    ('groups', models.ManyToManyField(blank=True, help_text='The groups this user belongs to. A user will get all permissions granted to each of their groups.', related_name='user_set', related_query_name='user', to='auth.group', verbose_name='groups')),
                    ('user_permissions', models.ManyToManyField(blank=True, help_text='Specific permissions for this user.', related_name='user_set', related_query_name='user', to='auth.permission', verbose_name='user permissions')),
                ],
                options={
                    'verbose_name': 'user',
                    'verbose_name_plural': 'users',
                    'abstract': False,
                },
                managers=[
                    ('objects', django.contrib.auth.models.UserManager()),
                ],
            ),
            migrations.CreateModel(
                name='Profile',
                fields=[
                    ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                    ('bio', models.TextField(blank=True)),
                    ('user', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, related_name='profile', to=settings.AUTH_USER_MODEL)),
                ],
            ),
        ]
"""

# A custom user model that logs in with its e-mail address (AbstractBaseUser).
EMAIL_USER_MODELS = """
    from django.conf import settings
    from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
    from django.db import models


    class UserManager(BaseUserManager):
        use_in_migrations = True

        def create_user(self, email, password=None, **extra):
            if not email:
                raise ValueError("an email is required")
            user = self.model(email=self.normalize_email(email), **extra)
            user.set_password(password)
            user.save(using=self._db)
            return user

        def create_superuser(self, email, password=None, **extra):
            extra.setdefault("is_staff", True)
            extra.setdefault("is_superuser", True)
            return self.create_user(email, password, **extra)


    class User(AbstractBaseUser, PermissionsMixin):
        email = models.EmailField(unique=True)
        full_name = models.CharField(max_length=100)
        is_active = models.BooleanField(default=True)
        is_staff = models.BooleanField(default=False)

        objects = UserManager()

        USERNAME_FIELD = "email"
        REQUIRED_FIELDS = ["full_name"]


    class Profile(models.Model):
        user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="profile")
        bio = models.TextField(blank=True)
"""

EMAIL_USER_MIGRATION = """
    import django.db.models.deletion
    import users.models
    from django.conf import settings
    from django.db import migrations, models


    class Migration(migrations.Migration):

        initial = True

        dependencies = [
            ('auth', '0012_alter_user_first_name_max_length'),
        ]

        operations = [
            migrations.CreateModel(
                name='User',
                fields=[
                    ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                    ('password', models.CharField(max_length=128, verbose_name='password')),
                    ('last_login', models.DateTimeField(blank=True, null=True, verbose_name='last login')),
                    ('is_superuser', models.BooleanField(default=False, help_text='Designates that this user has all permissions without explicitly assigning them.', verbose_name='superuser status')),
                    ('email', models.EmailField(max_length=254, unique=True)),
                    ('full_name', models.CharField(max_length=100)),
                    ('is_active', models.BooleanField(default=True)),
                    ('is_staff', models.BooleanField(default=False)),
                    ('groups', models.ManyToManyField(blank=True, help_text='The groups this user belongs to. A user will get all permissions granted to each of their groups.', related_name='user_set', related_query_name='user', to='auth.group', verbose_name='groups')),
                    ('user_permissions', models.ManyToManyField(blank=True, help_text='Specific permissions for this user.', related_name='user_set', related_query_name='user', to='auth.permission', verbose_name='user permissions')),
                ],
                options={
                    'abstract': False,
                },
                managers=[
                    ('objects', users.models.UserManager()),
                ],
            ),
            migrations.CreateModel(
                name='Profile',
                fields=[
                    ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                    ('bio', models.TextField(blank=True)),
                    ('user', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, related_name='profile', to=settings.AUTH_USER_MODEL)),
                ],
            ),
        ]
"""

CORRECT = {
    # post_save.connect() called in ready(), handler in users/handlers.py.
    "connect-in-ready-handlers-module": {
        "users/handlers.py": """
            from .models import Profile


            def create_profile_for_new_user(sender, instance, created, **kwargs):
                if created:
                    Profile.objects.create(user=instance)
        """,
        "users/apps.py": """
            from django.apps import AppConfig


            class UsersConfig(AppConfig):
                default_auto_field = "django.db.models.BigAutoField"
                name = "users"

                def ready(self):
                    from django.contrib.auth import get_user_model
                    from django.db.models.signals import post_save

                    from .handlers import create_profile_for_new_user

                    post_save.connect(create_profile_for_new_user, sender=get_user_model(),
                                      dispatch_uid="users.handlers.create_profile")
        """,
    },
    # @receiver with the concrete auth User class and type hints.
    "receiver-auth-user-class-type-hints": {
        "users/apps.py": APPS_IMPORTING_SIGNALS,
        "users/signals.py": """
            from __future__ import annotations

            from typing import Any

            from django.contrib.auth.models import User
            from django.db.models.signals import post_save
            from django.dispatch import receiver

            from .models import Profile


            @receiver(post_save, sender=User)
            def create_profile(sender: type[User], instance: User, created: bool, **kwargs: Any) -> None:
                if created:
                    Profile.objects.create(user=instance)
        """,
    },
    # The lazy "app_label.Model" string as sender.
    "lazy-string-sender": {
        "users/apps.py": APPS_IMPORTING_SIGNALS,
        "users/signals.py": """
            from django.db.models.signals import post_save
            from django.dispatch import receiver

            from .models import Profile


            @receiver(post_save, sender="auth.User")
            def create_profile(sender, instance, created, **kwargs):
                if created:
                    Profile.objects.create(user=instance)
        """,
    },
    # Explicit AppConfig path in INSTALLED_APPS, absolute import of users/receivers.py.
    "explicit-appconfig-absolute-import": {
        "mysite/settings.py": settings_with(replace=("    'users',\n", "    'users.apps.UsersConfig',\n")),
        "users/apps.py": """
            from django.apps import AppConfig


            class UsersConfig(AppConfig):
                default_auto_field = "django.db.models.BigAutoField"
                name = "users"
                verbose_name = "Users and profiles"

                def ready(self):
                    import users.receivers  # noqa: F401
        """,
        "users/receivers.py": GOOD_SIGNALS,
    },
    # A custom user model (users.User), registered in the admin with UserAdmin.
    "custom-user-model": {
        "mysite/settings.py": settings_with(append='\nAUTH_USER_MODEL = "users.User"\n'),
        "users/models.py": """
            from django.conf import settings
            from django.contrib.auth.models import AbstractUser
            from django.db import models


            class User(AbstractUser):
                \"\"\"The project's own user model.\"\"\"


            class Profile(models.Model):
                user = models.OneToOneField(
                    settings.AUTH_USER_MODEL,
                    on_delete=models.CASCADE,
                    related_name="profile",
                )
                bio = models.TextField(blank=True)
        """,
        "users/migrations/0001_initial.py": CUSTOM_USER_MIGRATION,
        "users/admin.py": """
            from django.contrib import admin
            from django.contrib.auth.admin import UserAdmin

            from .models import Profile, User

            admin.site.register(User, UserAdmin)
            admin.site.register(Profile)
        """,
        "users/apps.py": APPS_IMPORTING_SIGNALS,
        "users/signals.py": """
            from django.contrib.auth import get_user_model
            from django.db.models.signals import post_save
            from django.dispatch import receiver

            from .models import Profile


            @receiver(post_save, sender=get_user_model())
            def create_profile(sender, instance, created, **kwargs):
                if created:
                    Profile.objects.create(user=instance)
        """,
    },
    # Two AppConfig subclasses, the one with ready() marked `default = True`.
    "two-appconfigs-default-true": {
        "users/signals.py": GOOD_SIGNALS,
        "users/apps.py": """
            from django.apps import AppConfig


            class BaseUsersConfig(AppConfig):
                default_auto_field = "django.db.models.BigAutoField"
                name = "users"


            class UsersConfig(BaseUsersConfig):
                default = True

                def ready(self):
                    from . import signals  # noqa: F401
        """,
    },
    # Same, with a user model that logs in by e-mail and is not in the admin.
    "custom-user-model-email-login": {
        "mysite/settings.py": settings_with(append='\nAUTH_USER_MODEL = "users.User"\n'),
        "users/models.py": EMAIL_USER_MODELS,
        "users/migrations/0001_initial.py": EMAIL_USER_MIGRATION,
        "users/apps.py": APPS_IMPORTING_SIGNALS,
        "users/signals.py": GOOD_SIGNALS,
    },
    # The receiver is a function in models.py, but connected in ready().
    "receiver-in-models-connected-in-ready": {
        "users/models.py": (TEMPLATE / "users" / "models.py").read_text() + """


def create_profile(sender, instance, created, **kwargs):
    if created:
        Profile.objects.create(user=instance)
""",
        "users/apps.py": """
            from django.apps import AppConfig
            from django.conf import settings
            from django.db.models.signals import post_save


            class UsersConfig(AppConfig):
                default_auto_field = "django.db.models.BigAutoField"
                name = "users"

                def ready(self):
                    from .models import create_profile

                    post_save.connect(create_profile, sender=settings.AUTH_USER_MODEL)
        """,
    },
    # users/signals/ is a package; ready() imports it with importlib.
    "signals-package-importlib": {
        "users/signals.py": None,
        "users/signals/__init__.py": """
            from . import profiles  # noqa: F401
        """,
        "users/signals/profiles.py": """
            from django.conf import settings
            from django.db.models.signals import post_save
            from django.dispatch import receiver

            from ..models import Profile


            @receiver(post_save, sender=settings.AUTH_USER_MODEL, dispatch_uid="profiles")
            def create_profile(sender, instance, created, raw=False, **kwargs):
                if created and not raw:
                    Profile.objects.create(user=instance)
        """,
        "users/apps.py": """
            import importlib

            from django.apps import AppConfig


            class UsersConfig(AppConfig):
                default_auto_field = "django.db.models.BigAutoField"
                name = "users"

                def ready(self):
                    importlib.import_module(f"{self.name}.signals")
        """,
    },
    # Profile created once the transaction commits.
    "transaction-on-commit": {
        "users/apps.py": APPS_IMPORTING_SIGNALS,
        "users/signals.py": """
            from django.conf import settings
            from django.db import transaction
            from django.db.models.signals import post_save
            from django.dispatch import receiver

            from .models import Profile


            @receiver(post_save, sender=settings.AUTH_USER_MODEL)
            def create_profile(sender, instance, created, **kwargs):
                if created:
                    transaction.on_commit(lambda: Profile.objects.get_or_create(user=instance))
        """,
    },
    # The classic tutorial pair: create on `created`, save the profile on every save.
    "tutorial-two-receivers": {
        "users/apps.py": APPS_IMPORTING_SIGNALS,
        "users/signals.py": TUTORIAL_SIGNALS,
    },
    # get_or_create on every save, without looking at `created`.
    "get-or-create-every-save": {
        "users/apps.py": APPS_IMPORTING_SIGNALS,
        "users/signals.py": """
            from django.conf import settings
            from django.db.models.signals import post_save
            from django.dispatch import receiver

            from .models import Profile


            @receiver(post_save, sender=settings.AUTH_USER_MODEL, dispatch_uid="create-profile")
            def ensure_profile(sender, instance, **kwargs):
                Profile.objects.get_or_create(user=instance)
        """,
    },
    # A bound method of an object the AppConfig keeps alive (weak reference is fine).
    "bound-method-receiver": {
        "users/signals.py": """
            from .models import Profile


            class ProfileCreator:
                def __init__(self):
                    self.created = 0

                def on_user_saved(self, sender, instance, created, **kwargs):
                    if created:
                        Profile.objects.create(user=instance)
                        self.created += 1
        """,
        "users/apps.py": """
            from django.apps import AppConfig
            from django.conf import settings
            from django.db.models.signals import post_save


            class UsersConfig(AppConfig):
                default_auto_field = "django.db.models.BigAutoField"
                name = "users"

                def ready(self):
                    from .signals import ProfileCreator

                    self.profile_creator = ProfileCreator()
                    post_save.connect(self.profile_creator.on_user_saved,
                                      sender=settings.AUTH_USER_MODEL)
        """,
    },
    # A lambda connected in ready() with weak=False.
    "weak-false-lambda": {
        "users/apps.py": """
            from django.apps import AppConfig
            from django.conf import settings
            from django.db.models.signals import post_save


            class UsersConfig(AppConfig):
                default_auto_field = "django.db.models.BigAutoField"
                name = "users"

                def ready(self):
                    from .models import Profile

                    post_save.connect(
                        lambda sender, instance, created, **kwargs:
                            created and Profile.objects.create(user=instance),
                        sender=settings.AUTH_USER_MODEL, weak=False)
        """,
    },
    # An async receiver (Django 5.0+ runs it from a synchronous save()).
    "async-receiver": {
        "users/apps.py": APPS_IMPORTING_SIGNALS,
        "users/signals.py": """
            from django.conf import settings
            from django.db.models.signals import post_save
            from django.dispatch import receiver

            from .models import Profile


            @receiver(post_save, sender=settings.AUTH_USER_MODEL)
            async def create_profile(sender, instance, created, **kwargs):
                if created:
                    await Profile.objects.aget_or_create(user=instance)
        """,
    },
    # Production-style security settings: the admin form is posted over (simulated) HTTPS.
    "https-only-settings": {
        "users/apps.py": APPS_IMPORTING_SIGNALS,
        "users/signals.py": GOOD_SIGNALS,
        "mysite/settings.py": settings_with(
            append="\nSECURE_SSL_REDIRECT = True\nSESSION_COOKIE_SECURE = True\nCSRF_COOKIE_SECURE = True\n"),
    },
    # A functools.partial (no __code__ of its own) connected in ready(), no signals.py at all.
    "functools-partial-receiver": {
        "users/signals.py": None,
        "users/apps.py": """
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
        """,
    },
}


@pytest.mark.parametrize("name", list(CORRECT))
def test_correct_variant_gets_full_marks(name, make_submission, grade):
    if name == "async-receiver" and DJANGO_VERSION < (5, 0):
        pytest.skip("Django before 5.0 does not run async receivers (the variant is wrong there)")
    report = grade(make_submission(CORRECT[name], name=name))
    assert scores(report) == FULL, json.dumps(report["checks"], indent=1)
    assert report["status"] == "graded"
    assert report["score"] == 10
    assert all(c["status"] == "passed" for c in report["checks"])
    # the overlays keep models and migrations in step: no makemigrations warning
    assert not [w for w in report["warnings"] if "migration" in w], report["warnings"]


# ---------------------------------------------------------------- the submission is left alone

def _tree_digest(root: Path) -> dict[str, str]:
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in sorted(filenames):
            path = Path(dirpath) / name
            rel = path.relative_to(root).as_posix()
            if path.is_symlink():
                out[rel] = "link:" + os.readlink(path)
            else:
                out[rel] = hashlib.sha256(path.read_bytes()).hexdigest()
        for name in dirnames:
            out[(Path(dirpath) / name).relative_to(root).as_posix() + "/"] = "dir"
    return out


def test_submission_is_not_modified_by_grading(make_submission, grade):
    # A submission that also writes files when imported: only the grader's copy may change.
    sub = make_submission({
        "users/apps.py": APPS_IMPORTING_SIGNALS,
        "users/signals.py": """
            from pathlib import Path

            from django.conf import settings
            from django.db.models.signals import post_save
            from django.dispatch import receiver

            from .models import Profile

            Path(__file__).with_name("written_at_import.txt").write_text("x")


            @receiver(post_save, sender=settings.AUTH_USER_MODEL)
            def create_profile(sender, instance, created, **kwargs):
                if created:
                    Profile.objects.create(user=instance)
        """,
    })
    (sub / "db.sqlite3").write_bytes(b"the student's own database")
    before = _tree_digest(sub)
    mtimes = {p: p.stat().st_mtime_ns for p in sub.rglob("*")}
    report = grade(sub)
    assert scores(report) == FULL
    assert _tree_digest(sub) == before
    assert {p: p.stat().st_mtime_ns for p in sub.rglob("*")} == mtimes
    assert not (sub / "users" / "written_at_import.txt").exists()
    assert not list(sub.rglob("__pycache__"))


# ---------------------------------------------------------------- not a project / usage errors

def test_folder_without_manage_py_is_an_error_report(tmp_path, make_submission):
    sub = make_submission({"manage.py": None}, solution=True)
    out = tmp_path / "no-manage.json"
    proc = run_cli("grade", str(sub), "--output", str(out), "--quiet")
    assert proc.returncode == 0, proc.stderr
    report = validate(json.loads(out.read_text()))
    assert report["status"] == "error"
    assert report["score"] == 0
    assert report["max_score"] == 10
    assert "no manage.py found" in report["message"]
    assert scores(report) == NOTHING
    assert all(c["status"] == "error" and "manage.py" in c["feedback"] for c in report["checks"])


def test_unknown_assignment_is_a_usage_error(tmp_path, make_submission):
    sub = make_submission(solution=True)
    out = tmp_path / "unknown.json"
    proc = run_cli("grade", str(sub), "--output", str(out), "--quiet",
                   "--assignment", "no-such-assignment")
    assert proc.returncode == 2
    assert "unknown assignment 'no-such-assignment'" in proc.stderr
    assert "signals-profile" in proc.stderr  # the known ones are listed
    assert not out.exists()


# ---------------------------------------------------------------- sandbox selection

def test_auto_sandbox_falls_back_with_a_warning_when_bwrap_is_missing(make_submission, tmp_path):
    """Where bubblewrap is missing, --sandbox auto grades in a plain child, says so in the
    report's warnings and records "sandbox": "none"; --sandbox bwrap is a usage error."""
    sub = make_submission(solution=True)
    env = {"PATH": str(Path(sys.executable).parent)}  # no /usr/bin: no bwrap to be found
    out = tmp_path / "auto.json"
    proc = run_cli("grade", str(sub), "--output", str(out), "--quiet", env=env)
    assert proc.returncode == 0, proc.stderr
    report = validate(json.loads(out.read_text()))
    assert report["sandbox"] == "none" and report["score"] == 10
    assert any("bubblewrap" in w and "without the sandbox" in w for w in report["warnings"]), report["warnings"]
    strict = run_cli("grade", str(sub), "--output", str(out), "--sandbox", "bwrap", env=env)
    assert strict.returncode == 2 and "bubblewrap" in strict.stderr


def test_manage_py_linked_to_a_device_does_not_hang_the_grader(make_submission, grade):
    sub = make_submission()
    (sub / "manage.py").unlink()
    (sub / "manage.py").symlink_to("/dev/zero")
    report = grade(sub)
    assert report["status"] == "error" and report["score"] == 0
    assert "manage.py" in report["message"]
