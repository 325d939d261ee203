"""The child's end of the authenticated channel to the grader (protocol.py says the format).

What the grader must believe about a run (each test's start, end and verdict, the objects it
tracked, the notes it left for verify.py, the connections made) is written here as it happens:
straight to a file descriptor the grader opened, never through the database connection the
student's code shares (its execute wrappers, cursors and transactions cannot drop, rewrite or
roll back a line), and nothing waits for the end of the run (a patched os._exit, a hang or a
kill loses nothing already written).

Each line carries a sequence number and the HMAC of the run's key, which arrives on stdin and
lives only in the writer's frame below: a line that student code writes to the descriptor
itself is not signed and makes the run `tampered`; a signed line it diverts leaves a gap in the
sequence, which does too. The functions the standard library offers here are bound when the
harness is imported, before any code of the submission runs, so patching os.write or json does
not reach them.
"""

from __future__ import annotations

import json
import os
import sqlite3
import sys
import threading

from _grader_harness import state
from _grader_harness.protocol import CHANNEL_LINE_MAX, channel_mac

_write, _getpid, _dumps, _connect = os.write, os.getpid, json.dumps, sqlite3.connect
_LOCK = threading.Lock()
_WRITER = None  # the generator holding the key (its frame is reached only through gi_frame)


def _writer(fd: int, key: bytes, pid: int):
    seq = 0
    record = yield
    while True:
        ok = False
        if _getpid() == pid:  # a process the student's code forked has no say
            body = _dumps({"seq": seq, **record}, default=str, ensure_ascii=True)
            if len(body) > CHANNEL_LINE_MAX:  # keep what the grader needs, drop the long texts
                slim = {
                    k: v
                    for k, v in record.items()
                    if not isinstance(v, (str, list, dict))
                    or k in ("kind", "nodeid", "outcome", "entry", "signal", "sender", "phase", "app")
                }
                body = _dumps({"seq": seq, **slim, "cut": True}, default=str, ensure_ascii=True)[:CHANNEL_LINE_MAX]
            data = body.encode("ascii")
            try:
                _write(fd, channel_mac(key, data).encode("ascii") + b" " + data + b"\n")
                seq += 1
                ok = True
            except OSError:  # the descriptor was closed: what follows is lost (and earns nothing)
                pass
        record = yield ok


def open_channel(fd: int, key: bytes) -> None:
    """Called once by bootstrap, before any code of the submission runs."""
    global _WRITER
    writer = _writer(fd, key, _getpid())
    next(writer)
    _WRITER = writer


# What may leave evidence: the first frame outside the harness on the way to a ledger entry or a
# verdict is the hidden suite's own code (the run state's `suite`, set by bootstrap) or pytest's (its hooks and
# fixtures call the plugin). Code of the submission that calls the grader's helpers itself
# (support.note, plugin.evidence, ... from import time, ready(), a receiver or a thread) is
# refused, and the grader is told where: a run whose code forges evidence is `tampered`.
_HARNESS = os.path.dirname(os.path.abspath(__file__)) + os.sep
_PYTEST = (os.sep + "_pytest" + os.sep, os.sep + "pluggy" + os.sep)
_CHECKED = ("ledger", "verdict")


def _outside_harness():
    frame = sys._getframe(2)
    while frame is not None and frame.f_code.co_filename.startswith(_HARNESS):
        frame = frame.f_back
    return frame


def _under(name: str, folder: str) -> str | None:
    """`name` relative to `folder`, or None when it is not inside it (or there is no folder)."""
    root = folder.rstrip("/") + "/"
    return name[len(root) :] if folder and name.startswith(root) else None


def _where(frame, submission: str) -> str:
    if frame is None:
        return ""
    name = frame.f_code.co_filename
    return f"{_under(name, submission) or os.path.basename(name)}:{frame.f_lineno}"


def send(kind: str, **record) -> bool:
    """Write one record; False when there is no channel or it could not be written."""
    if _WRITER is None:
        return False
    if kind in _CHECKED:
        run = state.current()
        frame = _outside_harness()
        name = frame.f_code.co_filename if frame is not None else ""
        theirs = not run.submission or _under(name, run.submission) is not None
        if not (_under(name, run.suite) is not None or (not theirs and any(p in name for p in _PYTEST))):
            kind, record = (
                "forged",
                {"nodeid": record.get("nodeid", ""), "what": kind, "where": _where(frame, run.submission)},
            )
    with _LOCK:
        try:
            return bool(_WRITER.send({"kind": kind, **record}))
        except (StopIteration, ValueError):  # ValueError: the generator is already running (a signal handler)
            return False


_WITNESS: list = []  # the grader's own read-only connection to the grading database, once opened


def witness_rows(db: str, sql: str, params=()) -> list[tuple]:
    """Rows read through the harness's own read-only connection to the grading database: not
    Django's, so no execute wrapper, cursor or model code of the submission sees or changes the
    reading. It sees what is committed (hidden tests run in autocommit)."""
    if not _WITNESS:
        _WITNESS.append(_connect(f"file:{db}?mode=ro", uri=True, timeout=5, check_same_thread=False))
    return _WITNESS[0].execute(sql, tuple(params)).fetchmany(1000)
