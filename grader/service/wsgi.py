"""gunicorn's entry point: ``gunicorn grader.service.wsgi:application`` (``grader serve`` starts it)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "grader.service.settings")
application = get_wsgi_application()
