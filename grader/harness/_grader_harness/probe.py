"""Records every Signal.connect() call, with where it happened.

Installed before django.setup(), so it sees receivers connected while models
are imported and while each AppConfig.ready() runs. It keeps no strong
reference to receivers: a receiver that Django would garbage-collect still
disappears, and the check can tell.
"""
from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass

from _grader_harness import config


@dataclass
class Connect:
    signal: object
    receiver_key: object       # django.dispatch.dispatcher._make_id(receiver)
    receiver_name: str
    receiver_where: str        # file:line of the receiver's definition, relative to the project
    sender: object             # the model class (lazy "app.Model" senders arrive resolved), or None
    phase: str                 # "ready", "models" (import_models), "other"
    app_label: str             # the AppConfig whose ready()/import_models was running
    app_class: str
    call_site: str             # file:line in the student's code that connected it
    student_stack: list        # every file:line of the student's code on the stack, innermost first
    weak: bool
    student: bool              # the receiver is defined in the student's files
    module_level: bool = False  # a plain function defined at module level (never garbage)


CONNECTS: list[Connect] = []


def relpath(filename: str) -> str | None:
    root = config.SUBMISSION.rstrip("/") + "/"
    if filename.startswith(root):
        return filename[len(root):]
    return None


def _where_defined(receiver) -> str:
    while isinstance(getattr(receiver, "func", None), Callable):  # functools.partial, nested
        receiver = receiver.func
    func = getattr(receiver, "__func__", receiver)
    code = getattr(func, "__code__", None)
    if code is None:
        code = getattr(getattr(type(receiver), "__call__", None), "__code__", None)
    if code is None:
        return ""
    rel = relpath(code.co_filename)
    return f"{rel}:{code.co_firstlineno}" if rel else ""


def _connected_by_student(frame) -> bool:
    """Is the first caller outside Django's signal machinery (the @receiver decorator, lazy
    "app.Model" senders) the student's code? For receivers defined elsewhere: a partial,
    a builtin, a function of another library connected by the student."""
    while frame is not None:
        name = frame.f_code.co_filename.replace("\\", "/")
        if not any(part in name for part in ("/django/dispatch/", "/django/db/models/signals.py",
                                             "/django/apps/registry.py", "functools.py")):
            return relpath(name) is not None
        frame = frame.f_back
    return False


def _module_level(receiver) -> bool:
    import types

    return (type(receiver) is types.FunctionType and "<" not in receiver.__qualname__)


def _context(frame):
    from django.apps import AppConfig

    phase, label, cls, stack = "other", "", "", []
    while frame is not None:
        code = frame.f_code
        rel = relpath(code.co_filename)
        if rel:
            stack.append(f"{rel}:{frame.f_lineno}")
        if code.co_name in ("ready", "import_models") and phase == "other":
            obj = frame.f_locals.get("self")
            if isinstance(obj, AppConfig):
                phase = "ready" if code.co_name == "ready" else "models"
                label, cls = obj.label, f"{type(obj).__module__}.{type(obj).__qualname__}"
        frame = frame.f_back
    return phase, label, cls, stack


def install() -> None:
    from django.dispatch import dispatcher

    original = dispatcher.Signal.connect

    def connect(self, receiver, sender=None, weak=True, dispatch_uid=None, **kwargs):
        try:
            caller = sys._getframe(1)
            phase, label, cls, stack = _context(caller)
            where = _where_defined(receiver)
            CONNECTS.append(Connect(
                signal=self,
                receiver_key=dispatcher._make_id(receiver),
                receiver_name=getattr(receiver, "__qualname__", repr(receiver)),
                receiver_where=where,
                sender=sender, phase=phase, app_label=label, app_class=cls,
                call_site=stack[0] if stack else "", student_stack=stack, weak=weak,
                student=bool(where) or _connected_by_student(caller),
                module_level=_module_level(receiver),
            ))
        except Exception:  # the probe must never change the student's behaviour
            pass
        return original(self, receiver, sender=sender, weak=weak, dispatch_uid=dispatch_uid, **kwargs)

    connect.__wrapped__ = original
    dispatcher.Signal.connect = connect


def live_receivers(signal, sender) -> list:
    """Receivers Django would call for `sender`, across Django 4.2 (list) and 5.x (sync, async)."""
    found = signal._live_receivers(sender)
    if isinstance(found, tuple):
        return [r for group in found for r in group]
    return list(found)


def release_debug_references() -> None:
    """Drop what keeps a weakly connected receiver alive only by accident.

    With DEBUG = True, Signal.connect() checks that the receiver accepts **kwargs and
    Django caches that inspection (an lru_cache holding the function). A receiver
    defined inside ready() then survives in development and vanishes in production.
    Grade it as production would run it.
    """
    import gc

    try:
        from django.utils import inspect as django_inspect
    except ImportError:
        return
    for value in vars(django_inspect).values():
        clear = getattr(value, "cache_clear", None)
        if callable(clear):
            clear()
    # A full collection (~15 ms) only when some weakly held student receiver could be
    # garbage in a reference cycle: anything but a function defined at module level.
    if any(c.student and c.weak and not c.module_level for c in CONNECTS):
        gc.collect()
