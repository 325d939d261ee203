"""Signal receivers of the stats app.

TODO (exercise): count every request Django serves in RequestStats (the row
pk=1, see stats/models.py).

- A receiver of ``django.core.signals.request_started`` adds 1 to ``started``.
- A receiver of ``django.core.signals.request_finished`` adds 1 to
  ``finished``. Django sends it when the response is closed: for a streaming
  response, only once the whole response has been sent.

Rules:
- Count every request, whichever handler serves it: WSGI (``runserver``,
  gunicorn), ASGI (uvicorn, daphne), Django's test ``Client`` and
  ``AsyncClient``, a page that is not found (404) and a view that raises (500).
  Each handler sends the signals with its own ``sender``, and only the WSGI
  handler passes ``environ`` (ASGI passes ``scope``).
- Many requests run at the same time: add 1 in the database itself, with
  ``F()``, never by reading the value into Python and saving it back.
- Receivers take ``**kwargs``.
- Connect the receivers in ``StatsConfig.ready()`` (see stats/apps.py), not
  in a middleware.
"""
