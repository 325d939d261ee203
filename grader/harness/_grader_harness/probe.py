"""Records what happens to signals, for any signal, with where it happened: connections
(receiver, sender, weak, dispatch_uid, and which app's ready() or import_models() was running,
by identity), disconnections, signals created (custom signals: module and name) and sends
(send, send_robust, asend: signal, sender, keyword names, transaction depth, the student's
line). Hidden tests ask questions of these facts, kept in the run state (state.py: connects,
disconnects, created, sends).

Installed before django.setup(), so it sees receivers connected while models
are imported and while each AppConfig.ready() runs. It keeps no strong
reference to receivers: a receiver that Django would garbage-collect still
disappears, and the check can tell.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass

from _grader_harness import channel, state


@dataclass
class Connect:
    signal: object
    receiver_key: object  # django.dispatch.dispatcher._make_id(receiver)
    receiver_name: str
    receiver_where: str  # file:line of the receiver's definition, relative to the project
    sender: object  # the model class (lazy "app.Model" senders arrive resolved), or None
    phase: str  # "ready", "models" (import_models), "other"
    app_label: str  # the AppConfig whose ready()/import_models was running
    app_class: str
    call_site: str  # file:line in the student's code that connected it
    student_stack: list  # every file:line of the student's code on the stack, innermost first
    weak: bool
    student: bool  # the receiver is defined in the student's files
    module_level: bool = False  # a plain function defined at module level (never garbage)
    dispatch_uid: object = None


@dataclass
class Disconnect:
    signal: object
    receiver_name: str  # '' when disconnected by dispatch_uid only
    sender: object
    dispatch_uid: object
    call_site: str  # file:line in the student's code, '' when not the student's
    removed: bool  # what Signal.disconnect() returned


@dataclass
class Created:
    signal: object  # a Signal the student's code created (a custom signal)
    call_site: str  # where: file:line

    @property
    def name(self) -> str:
        """'module.name' of the signal, once a module of the project has it as an attribute."""
        return signal_name(self.signal)


@dataclass
class Send:
    signal: object
    method: str  # send | send_robust | asend | asend_robust
    sender: object
    keywords: tuple  # names of the keyword arguments sent
    atomic_depth: int  # transaction.atomic() blocks open on the default database
    call_site: str  # the student's file:line that sent it, '' when not the student's


MAX_SENDS = 5_000  # a run that sends more keeps the first ones


def relpath(filename: str) -> str | None:
    """`filename` relative to the submission's folder, or None when it is not the student's."""
    root = state.current().submission.rstrip("/") + "/"
    if filename.startswith(root):
        return filename[len(root) :]
    return None


def where_defined(receiver) -> str:
    """file:line of the definition of `receiver` (a function, a method, a partial, a callable
    object) relative to the project, '' when it is not defined in the student's files."""
    while isinstance(getattr(receiver, "func", None), Callable):  # functools.partial, nested
        receiver = receiver.func
    func = getattr(receiver, "__func__", receiver)
    code = getattr(func, "__code__", None)
    if code is None:
        code = getattr(getattr(type(receiver), "__call__", None), "__code__", None)  # noqa: B004 (its code, not whether it calls)
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
        if not any(
            part in name
            for part in (
                "/django/dispatch/",
                "/django/db/models/signals.py",
                "/django/apps/registry.py",
                "functools.py",
            )
        ):
            return relpath(name) is not None
        frame = frame.f_back
    return False


def _module_level(receiver) -> bool:
    import types

    return type(receiver) is types.FunctionType and "<" not in receiver.__qualname__


def _student_stack(frame) -> list[str]:
    stack = []
    while frame is not None:
        rel = relpath(frame.f_code.co_filename)
        if rel:
            stack.append(f"{rel}:{frame.f_lineno}")
        frame = frame.f_back
    return stack


def signal_name(signal) -> str:
    """'post_save', 'request_started', ... for Django's own signals; a custom signal's
    'module.name' when it is a module attribute (the module whose Signal() call made it, where
    it has one: `from shop.signals import order_placed` in inventory/signals.py does not
    rename it inventory.signals.order_placed); else ''."""
    for module in list(sys.modules.values()):
        name = getattr(module, "__name__", "")
        if not (name.startswith("django.") and name.endswith("signals")):
            continue
        for attr, value in list(vars(module).items()):
            if value is signal:
                return attr
    for created in list(state.current().created):
        if created.signal is signal:
            path = created.call_site.rpartition(":")[0]
            module = sys.modules.get(path[:-3].replace("/", ".").removesuffix(".__init__"))
            for attr, value in list(vars(module).items()) if module is not None else ():
                if value is signal:
                    return f"{module.__name__}.{attr}"
    for module in list(sys.modules.values()):
        if relpath(getattr(module, "__file__", None) or "") is None:
            continue
        for attr, value in list(vars(module).items()):
            if value is signal:
                return f"{module.__name__}.{attr}"
    return ""


def student_line(frame) -> str:
    """The first file:line of the student's code on the stack from `frame` outwards."""
    while frame is not None:
        rel = relpath(frame.f_code.co_filename)
        if rel:
            return f"{rel}:{frame.f_lineno}"
        frame = frame.f_back
    return ""


def _atomic_depth() -> int:
    try:
        from django.db import connection

        return len(connection.savepoint_ids) + (1 if connection.in_atomic_block else 0)
    except Exception:
        return 0


def _label(sender) -> str:
    meta = getattr(sender, "_meta", None)
    return getattr(meta, "label", "") if meta is not None else ("" if sender is None else repr(sender)[:100])


def install() -> None:
    """Wrap Signal.connect, and the ready() and import_models() of every AppConfig Django
    creates, by identity: a connection counts as made in an app's ready() only while Django's
    own call of that app config's ready() runs (a function that is merely named ready, or a
    ready() called from models.py, does not count)."""
    from django.apps import config as app_config_module
    from django.dispatch import dispatcher

    original = dispatcher.Signal.connect
    running: list[tuple[str, object]] = []  # ("ready" | "models", app config), innermost last

    def tracked(phase: str, config, method):
        def call(*args, **kwargs):
            running.append((phase, config))
            try:
                return method(*args, **kwargs)
            finally:
                running.pop()

        call.__wrapped__ = method
        return call

    original_create = app_config_module.AppConfig.create.__func__

    def create(cls, entry):
        config = original_create(cls, entry)
        try:
            config.ready = tracked("ready", config, config.ready)
            config.import_models = tracked("models", config, config.import_models)
        except Exception:  # an AppConfig that refuses attributes: its connections count as "other"
            pass
        return config

    app_config_module.AppConfig.create = classmethod(create)

    def context():
        """(phase, app config): a ready() counts only when no import_models() is running
        (Django runs every import_models() before any ready())."""
        if any(phase == "models" for phase, _ in running):
            config = next(c for phase, c in reversed(running) if phase == "models")
            return "models", config
        if running:
            return running[-1]
        return "other", None

    def connect(self, receiver, sender=None, weak=True, dispatch_uid=None, **kwargs):
        try:
            caller = sys._getframe(1)
            phase, config = context()
            label = config.label if config is not None else ""
            cls = f"{type(config).__module__}.{type(config).__qualname__}" if config is not None else ""
            stack = _student_stack(caller)
            where = where_defined(receiver)
            connection = Connect(
                signal=self,
                receiver_key=receiver_key(receiver),
                receiver_name=getattr(receiver, "__qualname__", repr(receiver)),
                receiver_where=where,
                sender=sender,
                phase=phase,
                app_label=label,
                app_class=cls,
                call_site=stack[0] if stack else "",
                student_stack=stack,
                weak=weak,
                student=bool(where) or _connected_by_student(caller),
                module_level=_module_level(receiver),
                dispatch_uid=dispatch_uid,
            )
            state.current().connects.append(connection)
            if connection.student:
                channel.send(
                    "connect",
                    signal=signal_name(self),
                    sender=_label(sender),
                    phase=phase,
                    app=label,
                    receiver=connection.receiver_name[:300],
                    where=(where or connection.call_site)[:300],
                )
        except Exception:  # the probe must never change the student's behaviour
            pass
        return original(self, receiver, sender=sender, weak=weak, dispatch_uid=dispatch_uid, **kwargs)

    connect.__wrapped__ = original
    dispatcher.Signal.connect = connect
    _wrap_disconnect(dispatcher)
    _wrap_creation(dispatcher)
    _wrap_sends(dispatcher)


def _wrap_disconnect(dispatcher) -> None:
    original = dispatcher.Signal.disconnect

    def disconnect(self, receiver=None, sender=None, dispatch_uid=None, **kwargs):
        removed = original(self, receiver, sender=sender, dispatch_uid=dispatch_uid, **kwargs)
        try:
            state.current().disconnects.append(
                Disconnect(
                    self,
                    getattr(receiver, "__qualname__", "") if receiver is not None else "",
                    sender,
                    dispatch_uid,
                    student_line(sys._getframe(1)),
                    bool(removed),
                )
            )
        except Exception:  # the probe must never change the student's behaviour
            pass
        return removed

    disconnect.__wrapped__ = original
    dispatcher.Signal.disconnect = disconnect


def _wrap_creation(dispatcher) -> None:
    original = dispatcher.Signal.__init__

    def init(self, *args, **kwargs):
        original(self, *args, **kwargs)
        try:
            where = student_line(sys._getframe(1))
            if where:
                state.current().created.append(Created(self, where))
        except Exception:
            pass

    init.__wrapped__ = original
    dispatcher.Signal.__init__ = init


def _wrap_sends(dispatcher) -> None:
    for method in ("send", "send_robust", "asend", "asend_robust"):
        original = getattr(dispatcher.Signal, method, None)
        if original is None:  # asend: Django 5.0+
            continue
        setattr(dispatcher.Signal, method, _recording(original, method))


def _recording(original, method: str):
    def note(self, sender, named, frame) -> None:
        sends = state.current().sends
        if len(sends) < MAX_SENDS:
            try:
                sends.append(Send(self, method, sender, tuple(sorted(named)), _atomic_depth(), student_line(frame)))
            except Exception:  # the probe must never change the student's behaviour
                pass

    if method.startswith("a"):

        async def send(self, sender, **named):
            note(self, sender, named, sys._getframe(1))
            return await original(self, sender, **named)
    else:

        def send(self, sender, **named):
            note(self, sender, named, sys._getframe(1))
            return original(self, sender, **named)

    send.__wrapped__ = original
    return send


def live_receivers(signal, sender) -> list:
    """Receivers Django would call for `sender`, across Django 4.2 (list) and 5.x (sync, async)."""
    found = signal._live_receivers(sender)
    if isinstance(found, tuple):
        return [r for group in found for r in group]
    return list(found)


def receiver_key(receiver) -> object:
    """The key Django's dispatcher files `receiver` under (what Connect.receiver_key holds)."""
    from django.dispatch.dispatcher import _make_id

    return _make_id(receiver)


def live_receiver_keys(signal, sender) -> set:
    """The keys (receiver_key) of the receivers Django would call for `sender` now."""
    return {receiver_key(r) for r in live_receivers(signal, sender)}


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
    # garbage in a reference cycle: anything but a function defined at module level, or a
    # module-level function whose name the module now gives to another object (a second
    # `def on_save` further down: issue 21).
    if any(c.student and c.weak and (not c.module_level or _rebound(c)) for c in state.current().connects):
        gc.collect()


def _rebound(c: Connect) -> bool:
    """Is the module attribute of a module-level receiver's name no longer a function defined
    where this receiver was (the module rebound the name)?"""
    name = c.receiver_name.rsplit(".", 1)[-1]
    for module in list(sys.modules.values()):
        path = getattr(module, "__file__", None) or ""
        rel = relpath(path)
        if not rel or not c.receiver_where.startswith(rel + ":"):
            continue
        current = getattr(module, name, None)
        code = getattr(current, "__code__", None)
        return code is None or f"{rel}:{code.co_firstlineno}" != c.receiver_where
    return False
