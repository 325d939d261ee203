from django.db.models import F

from .models import RequestStats


class RequestCountMiddleware:
    """Counts in a middleware instead of signal receivers."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        RequestStats.load()
        RequestStats.objects.filter(pk=1).update(started=F("started") + 1)
        response = self.get_response(request)
        RequestStats.objects.filter(pk=1).update(finished=F("finished") + 1)
        return response
