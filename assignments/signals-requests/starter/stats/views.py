from django.http import HttpResponse, StreamingHttpResponse

from .models import RequestStats


def home(request):
    """A page: shows the counts."""
    stats = RequestStats.load()
    return HttpResponse(
        f"Requests started: {stats.started}, finished: {stats.finished}\n",
        content_type="text/plain",
    )


def boom(request):
    """A view that fails: Django answers 500 (Server Error)."""
    raise RuntimeError("boom: this view fails on purpose")


def stream(request):
    """A streaming response: sent in parts, as the generator yields them."""

    def lines():
        for number in range(1, 4):
            yield f"line {number}\n"

    return StreamingHttpResponse(lines(), content_type="text/plain")
