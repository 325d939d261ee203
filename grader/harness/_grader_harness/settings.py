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
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
