from django.db.models import F

from .models import RequestStats


def on_request_started(sender, **kwargs):
    stats = RequestStats.load()
    stats.started = F("started") + 1
    stats.save()


def on_request_finished(sender, **kwargs):
    stats = RequestStats.load()
    stats.finished = F("finished") + 1
    stats.save()
