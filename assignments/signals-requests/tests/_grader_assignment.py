"""signals-requests' own helpers for its hidden tests: the RequestStats row (the rubric's role
"stats"), requests through each of Django's handlers (the real WSGI and ASGI handlers, the test
Client and AsyncClient), the counts read back from the database, what went wrong when they are
not what they should be, and a concurrent update injected between a receiver's read and its
write. Imported by the hidden tests as ``_grader_assignment`` (the core's helpers are
``_grader_harness.api``).

Who sends what (Django 4.2 to 6.x, django/core/handlers/ and django/test/client.py):

=====================  ===============================  ====================================
path                   request_started                  request_finished
=====================  ===============================  ====================================
WSGIHandler            sender=WSGIHandler, environ=...  sender=WSGIHandler, at response.close()
ASGIHandler            sender=ASGIHandler, scope=...    sender=ASGIHandler, after the last body
test Client            sender=ClientHandler, environ    sender=None, at close() (streaming:
                                                        once the content is read to its end)
AsyncClient            sender=AsyncClientHandler, scope sender=None, at close()
=====================  ===============================  ====================================

Under ASGI the student's synchronous receivers run in a worker thread (its own database
connection): every value the tests judge is read back from the database, never from memory.
"""

from __future__ import annotations

import contextlib
import inspect
import linecache
import logging
import os
import re
import sys

from _grader_harness import api
from _grader_harness.api import fail

NOT_FOUND = "/grader-no-such-page/"
INJECTED = 100  # what the "other request" adds between a receiver's read and its write

# For each way a request is served: what the student is told, the sender of request_started,
# the sender of request_finished.
PATHS = {
    "wsgi": (
        "the WSGI handler (django.core.handlers.wsgi.WSGIHandler: what runserver, gunicorn and uwsgi run)",
        "WSGIHandler",
        "WSGIHandler",
    ),
    "asgi": (
        "the ASGI handler (django.core.handlers.asgi.ASGIHandler: what uvicorn, daphne and hypercorn run)",
        "ASGIHandler",
        "ASGIHandler",
    ),
    "client": ("Django's test Client", "ClientHandler", "None"),
    "async-client": ("Django's test AsyncClient", "AsyncClientHandler", "None"),
}

F_HOWTO = 'RequestStats.objects.filter(pk=1).update(started=F("started") + 1) (from django.db.models import F)'


# ------------------------------------------------------------------------------ the model


def stats_model():
    """The model of the role "stats" ([models] of the rubric)."""
    return api.role_model(
        "stats",
        missing="keep the RequestStats model of the starter in stats/models.py and 'stats' in INSTALLED_APPS.",
        diagnosis="no-stats-model",
    )


def _columns():
    from django.db import connection

    meta = stats_model()._meta
    qn = connection.ops.quote_name
    return (
        qn(meta.db_table),
        qn(meta.pk.column),
        qn(meta.get_field("started").column),
        qn(meta.get_field("finished").column),
    )


def _model_counts() -> tuple[int, int]:
    """The counts as the project's model reads them (a fresh query, never an object in memory)."""
    Stats = stats_model()
    try:
        row = Stats._default_manager.get(pk=1)
    except Stats.DoesNotExist:
        fail(
            "the RequestStats row pk=1 is gone: your code deleted it. Only add to its counts.",
            diagnosis="stats-row-deleted",
        )
    return int(row.started), int(row.finished)


def _stored_counts() -> str:
    """The counts as the table holds them, read by the grader's own connection (no code of the
    project runs, no execute wrapper of its sees the query): the evidence."""
    table, pk, started, finished = _columns()
    rows = api.witness(f"SELECT {started}, {finished} FROM {table} WHERE {pk} = 1")
    return "missing" if not rows else f"{rows[0][0]},{rows[0][1]}"


def snapshot() -> tuple[tuple[int, int], str]:
    """(the counts the model reads, the counts the table holds): one reading."""
    return _model_counts(), _stored_counts()


def baseline() -> tuple[int, int]:
    """The counts before this test's requests (earlier tests' requests counted too): the row
    pk=1 is made if needed and tracked as this test's evidence."""
    api.require_database()
    Stats = stats_model()
    with api.student_code("RequestStats.objects.get_or_create(pk=1)"):
        row, _ = Stats._default_manager.get_or_create(pk=1)
        api.track(row, "stats")
        return _model_counts()


# ------------------------------------------------------------------- what the project did


def student_connections(signal) -> list:
    """The student's connections of `signal` that are still there, as the probe saw them."""
    gone = {
        (d.receiver_name, id(d.sender))
        for d in api.run_state().disconnects
        if d.signal is signal and d.removed and d.receiver_name
    }
    return [
        c
        for c in api.run_state().connects
        if c.student and c.signal is signal and (c.receiver_name, id(c.sender)) not in gone
    ]


def _sender_name(sender) -> str:
    return getattr(sender, "__name__", None) or repr(sender)[:60]


def _where(connection) -> str:
    return connection.receiver_where or connection.call_site


def _function_source(where: str) -> str:
    """The source of the function defined at `where` (file:line in the project), or ''."""
    path, _, line = where.rpartition(":")
    if not path or not line.isdigit():
        return ""
    lines = linecache.getlines(os.path.join(api.run_state().submission, path))
    start = int(line) - 1
    while start < len(lines) and lines[start].lstrip().startswith("@"):
        start += 1
    try:
        return "".join(inspect.getblock(lines[start:])) if start < len(lines) else ""
    except Exception:
        return "".join(lines[start : start + 30])


def counting_middleware() -> tuple[str, str] | None:
    """(dotted path, file:line) of a middleware of the project that counts requests."""
    found = _counting_middleware()
    return found[:2] if found else None


def _counting_middleware() -> tuple[str, str, set] | None:
    """(dotted path, file:line, the counts its source names: {"started", "finished"})."""
    from django.conf import settings
    from django.utils.module_loading import import_string

    for dotted in list(getattr(settings, "MIDDLEWARE", None) or [])[:50]:
        try:
            obj = import_string(dotted)
            source_lines, start = inspect.getsourcelines(obj)
            rel = api.relpath(inspect.getsourcefile(obj) or "")
        except Exception:
            continue
        text = "".join(source_lines)
        if rel and re.search(r"RequestStats|started|finished", text):
            writes = {
                f for f in ("started", "finished") if re.search(r"\b%s\s*=|[\"']%s[\"']|\.%s\b" % (f, f, f), text)
            }
            return dotted, f"{rel}:{max(start, 1)}", writes
    return None


def _middleware_problem(what: str) -> tuple[str, str, str] | None:
    found = _counting_middleware()
    if not found:
        return None
    dotted, where, counts = found
    if counts == {"started"}:
        # It never counts `finished`: say what it does, not that it counts `finished` too early.
        return (
            "middleware-instead-of-receivers",
            f"{what}: you count `started` in a middleware ({dotted}, {where}) instead of a "
            "receiver of request_started. A middleware runs only for requests that reach it, "
            "after Django has sent request_started, so requests it never sees are not counted "
            "and `started` is not written while request_started is sent. Remove it from "
            "MIDDLEWARE and add 1 to `started` in a receiver of request_started (connected in "
            "StatsConfig.ready(), next to your request_finished receiver).",
            where,
        )
    return (
        "middleware-instead-of-receivers",
        f"{what}: you count requests in a middleware ({dotted}, {where}) instead of signal "
        "receivers. A middleware runs inside the handler: it has finished before a streaming "
        "response is sent (and before Django closes any response), so `finished` is counted "
        "too early, and a request that never reaches it is not counted at all. Remove it from "
        "MIDDLEWARE and count in receivers of request_started and request_finished, connected "
        "in StatsConfig.ready().",
        where,
    )


# ---------------------------------------------------------------------------- judging counts


def _state(base, counts) -> str:
    def moved(name, before, now):
        return f"`{name}` stayed at {now}" if before == now else f"`{name}` went from {before} to {now}"

    return f"{moved('started', base[0], counts[0])} and {moved('finished', base[1], counts[1])}"


def _not_counted(field: str, path: str, after: str, now: str) -> tuple[str, str, str]:
    from django.core.signals import request_finished, request_started

    signal = request_started if field == "started" else request_finished
    name = "request_started" if field == "started" else "request_finished"
    described, started_by, finished_by = PATHS[path]
    conns = student_connections(signal)
    if conns and all(c.sender is not None for c in conns):
        c = conns[0]
        sent_with = started_by if field == "started" else finished_by
        return (
            "wrong-sender",
            f"`{field}` did not go up {after} ({now}): your {name} receiver {c.receiver_name} "
            f"({_where(c)}) is connected with sender={_sender_name(c.sender)}, but {described} "
            f"sends {name} with sender={sent_with}. Each handler sends the request signals with "
            "its own class as the sender (WSGIHandler, ASGIHandler, and the test clients' "
            "ClientHandler and AsyncClientHandler; the test clients send request_finished with "
            "sender=None). Connect the receiver without sender=, so that it counts every "
            "request, whichever handler serves it.",
            c.call_site or _where(c),
        )
    if not conns:
        problem = _middleware_problem(f"`{field}` did not go up {after} ({now})")
        if problem:
            return problem
        return (
            f"{field}-not-counted",
            f"`{field}` did not go up {after} ({now}): no {name} receiver of yours is "
            f"connected. Write a receiver of {name} (django.core.signals) in stats/signals.py "
            f"that adds 1 to RequestStats.{field}, and import that module in StatsConfig.ready().",
            "",
        )
    c = conns[0]
    return (
        f"{field}-not-counted",
        f"`{field}` did not go up {after} ({now}): your {name} receiver {c.receiver_name} "
        f"({_where(c)}) did not add 1 to RequestStats.{field} of the row pk=1. Add it in the "
        f"database: {F_HOWTO.replace('started', field)}.",
        _where(c),
    )


def _finished_early(what: str) -> tuple[str, str, str]:
    """`what`: what was seen (finished went up before the response was closed, or was not
    written while request_finished was sent), with when."""
    from django.core.signals import request_finished, request_started

    problem = _middleware_problem(what)
    finishing = student_connections(request_finished)
    if problem and finishing:
        # Receivers count too: the middleware is a leftover that counts a second time.
        middleware = counting_middleware()
        names = ", ".join(f"{c.receiver_name} ({_where(c)})" for c in finishing[:3])
        return (
            "counted-twice",
            f"{what}: each request is counted twice, by your request_finished receiver ({names}) "
            f"and, before the response is closed, by the middleware {middleware[0]} "
            f"({middleware[1]}). Keep the receivers and remove the middleware from MIDDLEWARE.",
            middleware[1],
        )
    if problem:
        return problem
    conns = student_connections(request_started)
    if conns:
        c = next((c for c in conns if "finished" in _function_source(_where(c))), conns[0])
        return (
            "finished-in-request-started",
            f"{what}: your request_started receiver {c.receiver_name} ({_where(c)}) counts "
            "`finished`. "
            "request_started is sent when a request arrives, before the view runs. Count "
            "`finished` in a receiver of request_finished: Django sends it when the response "
            "is closed, and for a streaming response only once it has been sent completely.",
            _where(c),
        )
    return (
        "finished-counted-early",
        f"{what}. Count `finished` in a receiver of request_finished, which Django sends when the response is closed.",
        "",
    )


def _counted_twice(field: str, delta: int, want: int, after: str, now: str) -> tuple[str, str, str]:
    name = "request_started" if field == "started" else "request_finished"
    from django.core import signals

    conns = student_connections(getattr(signals, name))
    names = ", ".join(f"{c.receiver_name} ({_where(c)})" for c in conns[:4]) or "none"
    middleware = counting_middleware()
    if middleware and conns:
        return (
            "counted-twice",
            f"`{field}` went up by {delta}, not by {want}, {after} ({now}): each request is counted "
            f"twice, by your {name} receiver ({names}) and by the middleware {middleware[0]} "
            f"({middleware[1]}). Keep the receivers and remove the middleware from MIDDLEWARE.",
            middleware[1],
        )
    return (
        "counted-twice",
        f"`{field}` went up by {delta}, not by {want}, {after} ({now}): a request is counted more "
        f"than once. Your {name} receivers: {names}. Keep one receiver per signal, connected "
        "once (a dispatch_uid helps).",
        _where(conns[1]) if len(conns) > 1 else (_where(conns[0]) if conns else ""),
    )


def problem(
    base, want, counts, after: str, path: str, open_response: bool, judged=("started", "finished")
) -> tuple[str, str, str] | None:
    """(diagnosis, message, location) when the counts differ from base + want, else None.
    `open_response`: the response is not closed yet, so `finished` must not have moved.
    `judged`: the counts the check's contract row names (the others are not demanded)."""
    if "started" not in judged:
        counts = (base[0] + want[0], counts[1])
    if "finished" not in judged:
        counts = (counts[0], base[1] + want[1])
    ds, df = counts[0] - base[0], counts[1] - base[1]
    if (ds, df) == tuple(want):
        return None
    now = _state(base, counts)
    if ds < want[0]:
        return _not_counted("started", path, after, now)
    if ds > want[0]:
        return _counted_twice("started", ds, want[0], after, now)
    if df > want[1] and open_response:
        return _finished_early(f"`finished` went up before the response was closed ({after}; {now})")
    if df < want[1]:
        return _not_counted("finished", path, after, now)
    return _counted_twice("finished", df, want[1], after, now)


def record(reading) -> None:
    """Evidence for verify.py: what the model read (the test's claim) and what the table held."""
    counts, stored = reading
    api.note("claimed", f"{counts[0]},{counts[1]}")
    api.note("stored", stored)


def expect(
    base,
    started: int,
    finished: int,
    after: str,
    path: str,
    open_response: bool = False,
    reading=None,
    judged=("started", "finished"),
) -> None:
    """`started` and `finished` are base + these now (or at `reading`, taken earlier); only the
    counts in `judged` are demanded (a check whose row names only `finished` passes judged=
    ("finished",))."""
    reading = reading or snapshot()
    found = problem(base, (started, finished), reading[0], after, path, open_response, judged)
    if found:
        diagnosis, message, location = found
        fail(message, diagnosis=diagnosis, location=location)
    record(reading)


def expect_status(status: int, want: int, after: str) -> None:
    if status != want:
        fail(
            f"{after} answered {status}, not {want}. Keep the starter's URLs and views (/, /boom/ "
            "and /stream/ in mysite/urls.py and stats/views.py): the grader sends its requests to "
            "them.",
            diagnosis="starter-views-changed",
        )


# ------------------------------------------------------------------------ serving requests


def _environ_required(exc: BaseException) -> bool:
    text = str(exc)
    return (isinstance(exc, TypeError) and "required" in text and "'environ'" in text) or (
        isinstance(exc, KeyError) and exc.args == ("environ",)
    )


ENVIRON_ADVICE = (
    "Only the WSGI handler passes `environ` to request_started receivers; the ASGI "
    "handler and AsyncClient pass `scope` instead. Do not require either: "
    '`def count_started(sender, **kwargs):` (read kwargs.get("environ") if you need it).'
)


def _receiver_where(text: str) -> str:
    name = text.split("(", 1)[0].strip().rsplit(".", 1)[-1]
    for c in api.run_state().connects:
        if c.student and c.receiver_name.rsplit(".", 1)[-1] == name:
            return _where(c)
    return ""


@contextlib.contextmanager
def serving(action: str):
    """Run a request: an exception of the student's receivers becomes feedback (a receiver's
    exception is not turned into a 500: it leaves the handler); Django's request log (a
    traceback for the 500 on purpose) stays out of the student's output."""
    log = logging.getLogger("django.request")
    disabled, log.disabled = log.disabled, True
    try:
        with api.student_code(action, when="request"):
            try:
                yield
            except (TypeError, KeyError) as exc:
                if not _environ_required(exc):
                    raise
                where = api.location(exc) or _receiver_where(str(exc))
                fail(
                    f"{action} raised {api.one_line(exc)}{f' ({where})' if where else ''}. {ENVIRON_ADVICE}",
                    diagnosis="environ-required",
                    location=where,
                    traceback=api.student_frames(exc),
                )
    finally:
        log.disabled = disabled


def wsgi_environ(path: str) -> dict:
    from wsgiref.util import setup_testing_defaults

    environ = {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": path,
        "SERVER_NAME": "testserver",
        "SERVER_PORT": "80",
        "HTTP_HOST": "testserver",
        "REMOTE_ADDR": "127.0.0.1",
    }
    setup_testing_defaults(environ)
    return environ


def wsgi_call(path: str):
    """Call the real WSGIHandler as a WSGI server does; return (status, the response iterable),
    not read and not closed yet (the server closes it once it has sent it)."""
    from django.core.handlers.wsgi import WSGIHandler

    status = []

    def start_response(line, headers, exc_info=None):
        status.append(int(line.split()[0]))
        return lambda data: None

    response = WSGIHandler()(wsgi_environ(path), start_response)
    return (status[0] if status else 0), response


def asgi_scope(path: str) -> dict:
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"testserver")],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }


def asgi_call(path: str):
    """Drive the real ASGIHandler with a scope, receive and send, as an ASGI server does; return
    (status, body, the reading taken when the response started: before it was closed)."""
    import asyncio

    from asgiref.sync import async_to_sync, sync_to_async
    from django.core.handlers.asgi import ASGIHandler

    handler = ASGIHandler()
    result = {"status": 0, "body": b"", "reading": None, "error": None}

    def read():
        try:
            return snapshot()
        except BaseException as exc:  # judged after the handler returns, in the test's thread
            result["error"] = exc
            return None

    async def run():
        requested = False
        never = asyncio.Event()  # the client does not disconnect

        async def receive():
            nonlocal requested
            if not requested:
                requested = True
                return {"type": "http.request", "body": b"", "more_body": False}
            await never.wait()

        async def send(message):
            if message["type"] == "http.response.start":
                result["status"] = message["status"]
                result["reading"] = await sync_to_async(read)()
            elif message["type"] == "http.response.body":
                result["body"] += message.get("body", b"")

        await handler(asgi_scope(path), receive, send)

    async_to_sync(run)()
    if result["error"] is not None:
        raise result["error"]
    return result["status"], result["body"], result["reading"]


def client():
    from django.test import Client

    return Client(raise_request_exception=False)


def async_client_get(path: str):
    from asgiref.sync import async_to_sync
    from django.test import AsyncClient

    return async_to_sync(AsyncClient(raise_request_exception=False).get)(path)


# ------------------------------------------------------------------------ atomic updates


def _student_line() -> str:
    """file:line of the innermost frame of the project's code that is running now."""
    return api.student_line(sys._getframe(2))


@contextlib.contextmanager
def concurrent_update(field: str):
    """While the signal that counts `field` is sent, right before the first statement that
    writes `field` of the stats table, other requests add INJECTED to both counts (an UPDATE of
    their own, committed first: one request starting, one finishing). A receiver that lets the
    database add 1 (F()) and writes nothing else keeps every update; one that read the count
    into Python and writes it back loses the other request's update of `field`, and one that
    saves every field (`stats.started = F("started") + 1; stats.save()`) writes the other count
    back as it read it. Yields what happened: {"injected": bool, "where": the student's line
    that wrote}."""
    from django.core import signals
    from django.db import connection

    signal = signals.request_started if field == "started" else signals.request_finished
    table, pk, started, finished = _columns()
    column = started if field == "started" else finished
    bare = lambda name: name.strip('"`[]').lower()  # noqa: E731
    writes = re.compile(r"^\s*(update|insert|replace)\b", re.I)
    column_re = re.compile(r"\b" + re.escape(bare(column)) + r"\b")
    inject = (
        f"UPDATE {table} SET {started} = {started} + {INJECTED}, {finished} = {finished} + {INJECTED} WHERE {pk} = 1"
    )
    seen = {"injected": False, "where": "", "sending": False}

    def wrapper(execute, sql, params, many, context):
        if seen["sending"] and not seen["injected"] and isinstance(sql, str) and writes.match(sql):
            text = sql.lower().replace('"', "").replace("`", "")
            if bare(table) in text and column_re.search(text.split(" where ")[0]):
                seen["injected"], seen["where"] = True, _student_line()
                execute(inject, None, False, context)
        return execute(sql, params, many, context)

    original = signal.send

    def send(sender, **named):
        seen["sending"] = True
        try:
            return original(sender, **named)
        finally:
            seen["sending"] = False

    signal.send = send
    try:
        with connection.execute_wrapper(wrapper):
            yield seen
    finally:
        del signal.send


def expect_atomic(field: str, base, seen: dict, after: str) -> None:
    """After one request under concurrent_update(field): both counts went up by 1, and each by
    INJECTED more (the other requests' updates were kept)."""
    name = "request_started" if field == "started" else "request_finished"
    index = 0 if field == "started" else 1
    other = "finished" if field == "started" else "started"
    counts, stored = snapshot()
    if seen["injected"]:
        delta = counts[index] - base[index]
        if delta < INJECTED:
            where = seen["where"]
            fail(
                f"`{field}` lost an update {after}: while your {name} receiver handled the request, "
                f"another request added {INJECTED} to `{field}` right before your receiver wrote the "
                f"row{f' ({where})' if where else ''}, as requests served at the same time do. "
                f"`{field}` went from {base[index]} to {counts[index]}, not to "
                f"{base[index] + INJECTED + 1}: your receiver read the count into Python and saved it "
                f"back (read-modify-write, e.g. `stats.{field} += 1; stats.save()`), overwriting the "
                f"other update. Let the database add 1: {F_HOWTO.replace('started', field)}.",
                diagnosis="read-modify-write",
                location=where,
            )
        if counts[1 - index] - base[1 - index] < INJECTED:
            where = seen["where"]
            fail(
                f"`{other}` lost an update {after}: while your {name} receiver counted `{field}`, another "
                f"request added {INJECTED} to `{other}` between your receiver's read of the row and its "
                f"write{f' ({where})' if where else ''}, and your receiver wrote `{other}` back with the "
                f"value it had read: `{other}` went from {base[1 - index]} to {counts[1 - index]}, not to "
                f'{base[1 - index] + INJECTED + 1}. `stats.{field} = F("{field}") + 1; stats.save()` '
                f"adds 1 to `{field}` in SQL, but save() writes every field of the object. Write only the "
                f'count you change: `stats.save(update_fields=["{field}"])`, or '
                f"{F_HOWTO.replace('started', field)}.",
                diagnosis="stale-fields-saved",
                location=where,
            )
        adjusted = [counts[0] - INJECTED, counts[1] - INJECTED]
        found = problem(base, (1, 1), adjusted, after, "wsgi", False)
        if found:
            diagnosis, message, location = found
            fail(message, diagnosis=diagnosis, location=location)
        record((counts, stored))
        return
    found = problem(base, (1, 1), counts, after, "wsgi", False)
    if found:
        diagnosis, message, location = found
        fail(message, diagnosis=diagnosis, location=location)
    # Counted, but not while its signal was sent: a middleware, or finished in request_started.
    what = f"`{field}` was not written while {name} was sent ({after})"
    found = _middleware_problem(what)
    if found is None and field == "finished":
        found = _finished_early(f"{what}: it went up earlier ({_state(base, counts)})")
    if found is None:
        found = (f"{field}-not-counted", f"{what}: count it in a receiver of {name}.", "")
    diagnosis, message, location = found
    fail(message, diagnosis=diagnosis, location=location)


# ------------------------------------------------------------------------ a fresh site

ROW_HOWTO = (
    "RequestStats.load() (given in stats/models.py) creates the row pk=1 on first use: call "
    "it before you add 1, e.g. `RequestStats.load()` then " + F_HOWTO + "."
)
_EMPTY = {"on": False}


@contextlib.contextmanager
def empty_table():
    """The stats table as a fresh site has it after `migrate`: no row at all (deleted without a
    signal). Afterwards the row pk=1 holds what the earlier tests' requests counted plus what
    this test's requests added: counts only go up (verify.py reads the row at the end of the run
    against every test's readings)."""
    api.require_database()
    Stats = stats_model()
    table, pk, started, finished = _columns()
    rows = api.witness(f"SELECT {started}, {finished} FROM {table} WHERE {pk} = 1")
    old = (int(rows[0][0] or 0), int(rows[0][1] or 0)) if rows else (0, 0)
    manager = Stats._default_manager
    manager.all()._raw_delete(manager.db)
    _EMPTY["on"] = True
    try:
        yield
    finally:
        _EMPTY["on"] = False
        now = manager.filter(pk=1).values_list("started", "finished").first() or (0, 0)
        counts = {"started": old[0] + int(now[0] or 0), "finished": old[1] + int(now[1] or 0)}
        if not manager.filter(pk=1).update(**counts):
            manager.bulk_create([Stats(pk=1, **counts)])


def expect_first_request(after: str) -> None:
    """A request served while the table was empty left the row pk=1 with both counts 1."""
    from django.core import signals

    Stats = stats_model()
    if Stats._default_manager.filter(pk=1).exists():
        reading = snapshot()
        found = problem((0, 0), (1, 1), reading[0], after, "wsgi", False)
        if found is None:
            record(reading)
            return
        field = {"started-not-counted": "started", "finished-not-counted": "finished"}.get(found[0])
        if field is None or not student_connections(getattr(signals, f"request_{field}")):
            diagnosis, message, location = found
            fail(message, diagnosis=diagnosis, location=location)
        seen = (
            f"`{field}` is {reading[0][0 if field == 'started' else 1]}, not 1 (the row pk=1 was "
            "made during the request, after your receiver had run: by RequestStats.load() in the "
            "page's view, or your other receiver)"
        )
    else:
        field, seen = "started", "there is no RequestStats row pk=1"
    conns = student_connections(getattr(signals, f"request_{field}"))
    if not conns:
        diagnosis, message, location = _not_counted(field, "wsgi", after, seen)
        fail(message, diagnosis=diagnosis, location=location)
    fail(
        f"{after}, {seen}: your request_{field} receiver {conns[0].receiver_name} ({_where(conns[0])}) "
        f"counted nothing while the table was empty. `RequestStats.objects.filter(pk=1).update(...)` "
        f"changes no row when there is none. {ROW_HOWTO}",
        diagnosis="stats-row-not-created",
        location=_where(conns[0]),
    )


def _explain_empty(exc: Exception, when: str) -> tuple[str, str] | None:
    """A receiver that raises while the table is empty (`objects.get(pk=1)`, update_or_create
    inserting an F() expression) fails the first request of every fresh site."""
    if (
        _EMPTY["on"]
        and when == "request"
        and api.in_receiver(exc)
        and not (isinstance(exc, TypeError) and "unexpected keyword argument" in str(exc))
    ):
        return (
            "stats-row-not-created",
            "The table was empty, as on every fresh site after `migrate`: there is no row pk=1 "
            f"yet, and your receiver raised there. {ROW_HOWTO}",
        )
    return None


EXPLAINERS = (_explain_empty,)  # read by the harness's plugin (see _grader_harness.api)


# The core names these mistakes; here is what to change, in this exercise's terms.
ADVICE = {
    "receiver-kwargs": "Django calls receivers with keyword arguments (signal, sender, and environ "
    "or scope): give your receivers a **kwargs parameter, e.g. "
    "`def count_started(sender, **kwargs):`.",
}

# Words for what the registration check finds (api.registration_problem's advice).
REGISTRATION_ADVICE = {
    "wrong-sender": "Each handler sends the request signals with its own class as the sender "
    "(WSGIHandler, ASGIHandler, the test clients' handlers; the test clients send "
    "request_finished with sender=None): a receiver for one sender misses the others.",
    "wrong-signal": "Count `started` in a receiver of request_started and `finished` in a receiver "
    "of request_finished (both in django.core.signals): Django sends request_finished "
    "when the response has been sent and closed.",
    "connected-outside-ready": "Requests served before that are not counted.",
}


def registration_problem() -> tuple[str, str, str] | None:
    """The core's registration check for the running test's [connections] entry, with a
    middleware that counts instead of receivers named as such."""
    from django.core import signals

    from _grader_harness import api

    found = api.registration_problem(advice=REGISTRATION_ADVICE)
    spec = api.run_state().connections.get(api.run_state().nodeid, {})
    wanted = spec.get("signal", "")
    if found and found[0] == "receiver-not-connected":
        instead = _middleware_problem(f"no {wanted or 'request'} receiver is connected when the app starts")
        if instead:
            return instead
    if found and found[0] == "wrong-signal" and wanted in ("request_started", "request_finished"):
        # The core names the first receiver of another signal. Here two receivers are wanted:
        # name the one that counts this signal's field, or say that none was written.
        field = "started" if wanted == "request_started" else "finished"
        other = signals.request_finished if wanted == "request_started" else signals.request_started
        mine = [c for c in api.run_state().connects if c.student]
        counting = [c for c in mine if field in _function_source(_where(c))]
        if counting:
            c = counting[0]
            return (
                "wrong-signal",
                f"your receiver {c.receiver_name} ({_where(c)}) counts `{field}` but is connected to "
                f"{api.signal_name(c.signal) or 'another signal'}, not to {wanted}. "
                f"{REGISTRATION_ADVICE['wrong-signal']}",
                c.call_site or _where(c),
            )
        if mine and all(c.signal is other for c in mine):
            c = mine[0]
            return (
                "receiver-not-connected",
                f"no {wanted} receiver is connected when the app starts: your receiver "
                f"{c.receiver_name} ({_where(c)}) listens to {api.signal_name(other)} only. Write a "
                f"second receiver, of {wanted}, that adds 1 to RequestStats.{field}, next to it.",
                _where(c),
            )
    return found
