from django.db.models import F

from .models import RequestStats


class StartedMiddleware:
    """Counts `started` in a middleware; `finished` is left to a request_finished receiver."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        RequestStats.load()
        RequestStats.objects.filter(pk=1).update(started=F("started") + 1)
        return self.get_response(request)
