"""Grading settings: the student's settings, with a throwaway database.

Only what grading needs is changed: the database (a fresh SQLite file the
grader inspects afterwards), a fast password hasher and an in-memory e-mail
backend. Everything else (INSTALLED_APPS, AUTH_USER_MODEL, DEBUG, ...) is the
student's own.
"""
import importlib

from _grader_harness import config

_student = importlib.import_module(config.STUDENT_SETTINGS)
globals().update({k: v for k, v in vars(_student).items() if k.isupper()})

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": config.DB_PATH,
        "TEST": {"NAME": config.DB_PATH},
    }
}
# Durability is not needed (the grader reads the file after the child has exited), and
# an fsync per autocommitted statement is most of the database's cost.
from django.db.backends.signals import connection_created  # noqa: E402


def _fast_sqlite(sender, connection, **kwargs):
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA synchronous = OFF")


connection_created.connect(_fast_sqlite, dispatch_uid="_grader_harness.fast_sqlite")

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
AUTH_PASSWORD_VALIDATORS = []  # the grader's passwords are fixed; loading the lists costs 15 ms
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
