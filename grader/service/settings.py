"""Django settings of the grading service, made from service.json ($GRADER_SERVICE_CONFIG)."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

import dj_database_url
import django

from grader.service import config as service_config

CONFIG = service_config.read()
DATA = CONFIG.data_dir
HERE = Path(__file__).resolve().parent

SECRET_KEY = service_config.secret_key(DATA)
DEBUG = False
_public = urlsplit(CONFIG.public_url) if CONFIG.public_url else None
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "[::1]"] + ([_public.hostname] if _public and _public.hostname else [])
if _public is not None and _public.scheme == "https":
    CSRF_TRUSTED_ORIGINS = [f"https://{_public.netloc}"]
    SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = True
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "grader.service.apps.GradingConfig",
    "grader.service.lti.apps.LtiConfig",  # LTI 1.3 launches and grade passback (docs/lti.md)
]
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",  # instructors: a password
    "grader.service.auth.TokenBackend",  # students: their student id and token
]
ROOT_URLCONF = "grader.service.urls"
WSGI_APPLICATION = "grader.service.wsgi.application"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]

DATABASES = {"default": dj_database_url.parse(CONFIG.database_url(), conn_max_age=60)}
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # Several processes write: wait for the lock instead of failing (WAL is set in apps.ready).
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {"timeout": 30}
    if django.VERSION >= (5, 1):
        DATABASES["default"]["OPTIONS"]["transaction_mode"] = "IMMEDIATE"
# LTI 1.3 (pylti1p3) keeps each login's nonce and launch data in a cache between the login
# initiation and the launch, which gunicorn may serve in different worker processes, and the
# deep-linking choice reads the launch back: the database cache, which every process of the
# service shares (a per-process locmem cache would lose them; the table is made by the
# grading app's migration 0002). The default cache stays Django's own.
CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
    "lti": {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": "grading_lti_cache"},
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

LANGUAGE_CODE = "en"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = str(DATA / "static")
(DATA / "static").mkdir(exist_ok=True)  # whitenoise serves the admin's files from the finders; it wants the folder
WHITENOISE_USE_FINDERS = True  # the admin's files are served from the installed Django
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# An upload larger than this is refused before it is read whole (the form also checks it).
DATA_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
FILE_UPLOAD_TEMP_DIR = None

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {
        "grader.service": {"handlers": ["console"], "level": "INFO"},
        "django.request": {"handlers": ["console"], "level": "ERROR", "propagate": False},
    },
}
