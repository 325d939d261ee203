"""Name the lesson's mistakes from what the child can see after django.setup()."""

from __future__ import annotations

import ast
import importlib
import inspect
import json
import os
import select
import signal
import sys
import time
from pathlib import Path

from _grader_harness import errors, probe, state
from _grader_harness.protocol import ANY_SENDER
from _grader_harness.roles import role_model


def app_names(app_label: str) -> tuple[str, str]:
    """("blog/", "BlogConfig"): the app's folder in the project and the name of the
    AppConfig Django loads for it, for advice in the student's own terms."""
    from django.apps import AppConfig, apps

    app_config = apps.get_app_config(app_label)
    folder = probe.relpath(app_config.path.rstrip("/") + "/") or f"{app_label}/"
    cls = type(app_config)
    name = cls.__name__ if cls is not AppConfig else f"the AppConfig of {folder}apps.py"
    return folder, name


def _app_dir(app_label: str) -> Path:
    from django.apps import apps

    return Path(apps.get_app_config(app_label).path)


def unimported_receiver_modules(app_label: str) -> list[str]:
    """Student modules of the app that mention post_save but were never imported."""
    from django.apps import apps

    app_config = apps.get_app_config(app_label)
    found = []
    for path in sorted(Path(app_config.path).glob("*.py")):
        module = f"{app_config.name}.{path.stem}"
        if module in sys.modules or path.stem in ("models", "apps", "admin", "tests", "__init__"):
            continue
        if _defines_receiver(path):
            found.append(probe.relpath(str(path)) or path.name)
    return found


def _defines_receiver(path: Path) -> bool:
    """A function decorated with @receiver(...), or a call to something.connect(...)."""
    try:
        tree = ast.parse(path.read_bytes())
    except (OSError, SyntaxError, ValueError):
        return False
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for deco in node.decorator_list:
                target = deco.func if isinstance(deco, ast.Call) else deco
                if getattr(target, "id", getattr(target, "attr", "")) == "receiver":
                    return True
        if isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "connect":
            return True
    return False


def appconfig_problem(app_label: str) -> tuple[str, str] | None:
    """When <app>/apps.py defines a ready() that Django does not run: why."""
    from django.apps import AppConfig, apps

    loaded = apps.get_app_config(app_label)
    apps_module = sys.modules.get(f"{loaded.name}.apps")
    if apps_module is None:
        return None
    candidates = [
        obj
        for obj in vars(apps_module).values()
        if isinstance(obj, type)
        and issubclass(obj, AppConfig)
        and obj is not AppConfig
        and obj.__module__ == apps_module.__name__
        and "ready" in vars(obj)
    ]
    if not candidates or type(loaded) in candidates:
        return None
    cls = candidates[0]
    loaded_name = f"{type(loaded).__module__}.{type(loaded).__qualname__}"
    dotted = f"{cls.__module__}.{cls.__qualname__}"
    return (
        "appconfig-not-loaded",
        f"{dotted} defines ready(), but Django loads {loaded_name} for the '{app_label}' app, "
        f"so your ready() never runs. When INSTALLED_APPS says '{loaded.name}', Django uses "
        "the only AppConfig subclass in apps.py, or the one with `default = True` when there "
        f"are several. Put '{dotted}' in INSTALLED_APPS, or keep one AppConfig in apps.py.",
    )


SIGNAL_MODULES = (
    "django.db.models.signals",
    "django.core.signals",
    "django.test.signals",
    "django.contrib.auth.signals",
)


def _signal(name: str):
    """The signal object called `name`: one of Django's (post_save, m2m_changed,
    request_finished, ...), or the project's own by its dotted path (shop.signals.order_placed).
    None when the project has no such signal (its module does not import, or the name is
    missing)."""
    import importlib

    if "." not in name:
        for module in SIGNAL_MODULES:
            found = getattr(importlib.import_module(module), name, None)
            if found is not None:
                return found
        raise LookupError(f"no Django signal named {name!r}")
    module, _, attr = name.rpartition(".")
    try:
        return getattr(importlib.import_module(module), attr, None)
    except Exception:
        return None


def ready_app(ready: str) -> str:
    """The app label whose ready() a [connections] entry names: the app of a role's model, or
    an app label itself (an app without models, such as a subscriber app)."""
    if ready == "user" or ready in state.current().models:
        return role_model(ready)._meta.app_label
    return ready


def _spec(spec: dict | None) -> dict:
    """The connection the running hidden test asks about: `spec`, else the rubric's
    [connections] entry of the running test, else its first entry."""
    if spec:
        return spec
    run = state.current()
    return run.connections.get(run.nodeid or "") or next(iter(run.connections.values()))


def sender_name(sender) -> str:
    """A sender as the student wrote it: `Post.tags.through` for the table Django makes for a
    many-to-many field (not its internal name Post_tags), `Post.tags` for the field itself, a
    model's or class's name."""
    meta = getattr(sender, "_meta", None)
    if meta is not None and meta.auto_created:
        owner = meta.auto_created
        for field in owner._meta.many_to_many:
            if field.remote_field.through is sender:
                return f"{owner.__name__}.{field.name}.through"
    field = getattr(sender, "field", None)  # a many-to-many descriptor (Post.tags)
    if meta is None and field is not None and getattr(field, "model", None) is not None:
        model = field.related_model if getattr(sender, "reverse", False) else field.model
        name = field.remote_field.related_name if getattr(sender, "reverse", False) else field.name
        return f"{getattr(model, '__name__', model)}.{name}"
    return getattr(sender, "__name__", None) or str(sender)


def _plus(advice: dict, diagnosis: str) -> str:
    return f" {advice[diagnosis]}" if advice.get(diagnosis) else ""


def _concerns(c, app_label: str, Sender) -> bool:
    """Is this receiver (on a signal the exercise does not ask for) about the exercise's app and
    models: defined in the app's folder or connected in its ready(), for any sender, the wanted
    sender or a model of the same app (not a welcome e-mail on the user model's post_save)?"""
    try:
        folder = app_names(app_label)[0]
    except LookupError:
        folder = f"{app_label}/"
    in_app = (c.receiver_where or c.call_site or "").startswith(folder) or c.app_label == app_label
    if c.sender is None or Sender is None or c.sender is Sender:
        return in_app
    # a model of the same app (post_save of Post where m2m_changed of Post.tags.through is wanted)
    label = getattr(getattr(c.sender, "_meta", None), "app_label", None)
    return in_app and label in {app_label, Sender._meta.app_label}


def _words(text: str) -> set[str]:
    import re

    parts = set()
    for word in re.findall(r"[A-Za-z0-9]+", text):
        parts.update(w.lower() for w in re.findall(r"[A-Z]?[a-z0-9]+|[A-Z]+(?![a-z])", word) or [word])
    return parts


def _does_what(c, wanted: str, connected_to: str) -> bool:
    """Does the receiver say it does what `wanted` is for, rather than what the signal it is
    connected to is for? Read from its definition: its name and the strings in its body (its
    docstring, `_add_one("finished")`), not the calls it makes (an archive's `.save()` is no
    sign of a pre_save receiver): a word of the wanted signal's name that the other's lacks
    (`finished` for request_finished beside request_started; `pre`, `save` for pre_save beside
    post_delete)."""
    wanted_words = _words(wanted.rpartition(".")[2]) - _words(connected_to.rpartition(".")[2])
    stems = {w[:-2] if w.endswith("ed") and len(w) > 5 else w for w in wanted_words}
    rel, _, line = (c.receiver_where or "").rpartition(":")
    name = (c.receiver_name or "").rsplit(".", 1)[-1]
    seen = _words(name)
    if rel and line.isdigit():
        try:
            tree = ast.parse((Path(state.current().submission) / rel).read_bytes())
        except (OSError, SyntaxError, ValueError):
            tree = None
        node = (
            next(
                (
                    n
                    for n in ast.walk(tree)
                    if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))
                    and n.name == name
                    and _first_line(n) == int(line)
                ),
                None,
            )
            if tree
            else None
        )
        for sub in ast.walk(node) if node is not None else ():
            if isinstance(sub, ast.Constant) and isinstance(sub.value, str):
                seen |= _words(sub.value[:200])
    return any(w == s or (len(s) >= 4 and w.startswith(s)) for s in stems for w in seen)


def _disconnected(c) -> bool:
    """Did the student's code disconnect this receiver itself (then it is not garbage)?"""
    return any(
        d.removed and d.signal is c.signal and (d.receiver_name == c.receiver_name or d.dispatch_uid)
        for d in state.current().disconnects
    )


def _what_receiver(c) -> str:
    """What kind of callable a weakly connected receiver is, in the student's words: a function
    defined inside make_handler() or ready(), a lambda, a bound method of an object."""
    name = c.receiver_name or "the receiver"
    if "<lambda>" in name:
        outer = name.split(".<locals>")[0] if ".<locals>" in name else ""
        return f"a lambda{f' made inside {outer}()' if outer and outer != '<lambda>' else ''}"
    if ".<locals>." in name:
        outer = name.rsplit(".<locals>.", 1)[0].split(".<locals>.")[-1]
        return f"{name.rsplit('.', 1)[-1]}(), a function defined inside {outer}()"
    if "." in name and not c.module_level:
        return f"{name}, a method of an object that nothing else keeps"
    return name


def _kept_only_by(c) -> str:
    """Where the student's code keeps a closure receiver alive only on some runs: the factory
    puts it in a module-level list, dict or set under an `if` (DEBUG, an environment variable,
    a manage.py command). '' when no such place is found."""
    where = c.receiver_where or ""
    rel, _, line = where.rpartition(":")
    if ".<locals>." not in (c.receiver_name or "") or not line.isdigit():
        return ""
    path = Path(state.current().submission) / rel
    try:
        tree = ast.parse(path.read_bytes())
    except (OSError, SyntaxError, ValueError):
        return ""
    module_names = {
        t.id
        for n in tree.body
        if isinstance(n, (ast.Assign, ast.AnnAssign))
        for t in (n.targets if isinstance(n, ast.Assign) else [n.target])
        if isinstance(t, ast.Name)
    }
    name = c.receiver_name.rsplit(".", 1)[-1]
    for outer in ast.walk(tree):
        if not isinstance(outer, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        if not any(
            isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)) and _first_line(n) == int(line) for n in outer.body
        ):
            continue
        parents = {child: node for node in ast.walk(outer) for child in ast.iter_child_nodes(node)}
        for node in ast.walk(outer):
            holder = None
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and isinstance(node.func.value, ast.Name)
                and node.func.value.id in module_names
                and any(isinstance(a, ast.Name) and a.id == name for a in node.args)
            ):
                holder = node.func.value.id
            elif (
                isinstance(node, ast.Assign)
                and isinstance(node.value, ast.Name)
                and node.value.id == name
                and any(
                    isinstance(t, ast.Subscript) and isinstance(t.value, ast.Name) and t.value.id in module_names
                    for t in node.targets
                )
            ):
                holder = next(t.value.id for t in node.targets if isinstance(t, ast.Subscript))
            if holder is None:
                continue
            up = parents.get(node)
            while up is not None and not isinstance(up, ast.If):
                up = parents.get(up)
            if up is None:
                return ""  # kept unconditionally: not what made it disappear
            try:
                condition = ast.unparse(up.test)[:120]
            except Exception:
                condition = "a condition"
            return (
                f" Your code keeps it alive only in {holder} ({rel}:{node.lineno}), and only when "
                f"`{condition}` is true: in the grading run it is not, so nothing keeps the receiver."
            )
    return ""


def _first_line(node) -> int:
    """The line Python's code object starts at (co_firstlineno): a decorated def's first decorator."""
    return min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])])


def _top_level_names(node) -> list[str]:
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return [node.name]
    if isinstance(node, ast.Assign):
        return [t.id for t in node.targets if isinstance(t, ast.Name)]
    if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.value is not None:
        return [node.target.id]
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        return [(a.asname or a.name).split(".")[0] for a in node.names]
    return []


def shadowed(c) -> tuple[str, str, str] | None:
    """(name, file:line of this def, file:line of the later one) when the receiver is a function
    defined at module level whose name the same module defines again further down (a second
    `def on_save`): the module then holds the second, and nothing but Django's weak
    reference holds the first."""
    rel, _, line = (c.receiver_where or "").rpartition(":")
    name = (c.receiver_name or "").rsplit(".", 1)[-1]
    if not rel or not line.isdigit() or "." in (c.receiver_name or "") or not name:
        return None
    try:
        tree = ast.parse((Path(state.current().submission) / rel).read_bytes())
    except (OSError, SyntaxError, ValueError):
        return None
    ours = next(
        (
            n
            for n in tree.body
            if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)) and n.name == name and _first_line(n) == int(line)
        ),
        None,
    )
    if ours is None:
        return None
    later = [n for n in tree.body if n.lineno > ours.lineno and name in _top_level_names(n)]
    if not later:
        return None
    return name, f"{rel}:{ours.lineno}", f"{rel}:{later[-1].lineno}"


def shadowed_message(found: tuple[str, str, str], alive: bool) -> str:
    name, first, second = found
    fate = (
        "Django still calls the first one only because something keeps it alive; in production it can "
        "disappear at any moment"
        if alive
        else "nothing but Django's weak reference holds the first one, so Python deleted it (it was "
        "garbage-collected) and Django dropped its connection: it never runs (on your machine, DEBUG = True can keep it alive by "
        "accident, which is why it may have worked there)"
    )
    return (
        f"{first.rpartition(':')[0]} defines {name} twice ({first} and {second}): the second definition "
        f"replaces the first in the module, so `{name}` now means the one at {second}. The first was "
        f"connected as a receiver when Python ran its decorator or connect(); {fate}. Give each function "
        "its own name, or delete the one you no longer want."
    )


def garbage_collected_message(c, signal_name: str, sender_text: str, folder: str) -> str:
    """A weakly connected receiver that was gone before the signal was sent: why (weak
    references), why it may have worked on the student's machine, and the two fixes."""
    twice = shadowed(c)
    if twice:
        return (
            f"your receiver {c.receiver_name} ({c.receiver_where or c.call_site}) was connected but was "
            f"gone before the first {signal_name} of {sender_text}. " + shadowed_message(twice, alive=False)
        )
    where = c.receiver_where or c.call_site
    connected = f", connected at {c.call_site}" if c.call_site and c.call_site != where else ""
    return (
        f"your receiver {c.receiver_name} ({where}{connected}) was connected but was gone before the first "
        f"{signal_name} of {sender_text}. It is {_what_receiver(c)}, and Django keeps only a weak "
        "reference to a receiver connected with the default weak=True: once nothing else refers to it, "
        "Python deletes it (it is garbage-collected) and Django drops the connection without a word. On your machine something "
        "else may have kept it alive (DEBUG = True, a list or cache filled only in your setup, a "
        "manage.py command or the shell you tried it in); in production and in the grading run nothing "
        f"does.{_kept_only_by(c)} Define the receiver as a function at module level "
        f"(in {folder}signals.py), which lives as long as its module, or connect it with weak=False "
        f"(`{signal_name.rpartition('.')[2]}.connect(receiver, sender=..., weak=False)`)."
    )


def _gone(c, signal_name: str, sender_text: str, folder: str, advice: dict) -> tuple[str, str, str]:
    """The registration problem of a connected receiver that Python collected: shadowed by a
    second function of the same name (receiver-shadowed, at the second def), else a closure,
    lambda or method nothing keeps (receiver-garbage-collected, where it was connected)."""
    twice = shadowed(c)
    text = garbage_collected_message(c, signal_name, sender_text, folder)
    if twice:
        return "receiver-shadowed", text + _plus(advice, "receiver-shadowed"), twice[2]
    return "receiver-garbage-collected", text + _plus(advice, "receiver-garbage-collected"), c.call_site


def registration_problem(spec: dict | None = None, advice: dict | None = None) -> tuple[str, str, str] | None:
    """(diagnosis, message, location) when no live receiver of the rubric's connection (a
    signal, for the model of a role, connected in the ready() of the app of a role) was
    connected; None when one was. `advice`: the assignment's words to add, by diagnosis."""
    from django.apps import apps

    spec = _spec(spec)
    advice = advice or {}
    signal, signal_name = _signal(spec["signal"]), spec["signal"]
    any_sender = spec["sender"] == ANY_SENDER
    Sender = None if any_sender else role_model(spec["sender"])
    sender_text = "any sender" if any_sender else "the user model" if spec["sender"] == "user" else sender_name(Sender)
    app_label = ready_app(spec["ready"])
    module_file = signal_name.rpartition(".")[0].replace(".", "/") + ".py"
    if signal is None:
        return (
            "signal-not-defined",
            f"there is no signal {signal_name}: define it at module level in {module_file} "
            f"(`{signal_name.rpartition('.')[2]} = Signal()`).{_plus(advice, 'signal-not-defined')}",
            "",
        )
    from django.dispatch import Signal

    if not isinstance(signal, Signal):
        return (
            "signal-not-a-signal",
            f"{signal_name} is a {type(signal).__name__}, not a django.dispatch.Signal, so nothing "
            f"can connect to it. Define it once, at module level in {module_file}: "
            f"`{signal_name.rpartition('.')[2]} = Signal()`.{_plus(advice, 'signal-not-a-signal')}",
            "",
        )
    live = probe.live_receiver_keys(signal, Sender)
    ours = [c for c in state.current().connects if c.student]
    on_signal = [c for c in ours if c.signal is signal]
    for_sender = [c for c in on_signal if c.sender is None or (not any_sender and c.sender is Sender)]
    # Other apps the exercise wants subscribers of this signal in (inventory beside
    # notifications): their own receivers, connected in their own ready(), are not this app's
    # mistake (a receiver of this app connected there still is).
    subscribers = {
        ready_app(s["ready"]) for s in state.current().connections.values() if s.get("signal") == signal_name
    } - {app_label}
    for_sender = [
        c
        for c in for_sender
        if not (
            c.phase == "ready"
            and c.app_label in subscribers
            and (c.receiver_where or "").startswith(app_names(c.app_label)[0])
        )
    ]
    if any(c.phase == "ready" and c.app_label == app_label and c.receiver_key in live for c in for_sender):
        # One live receiver does not cover another that is gone: two receivers of the app on
        # this signal, and the second a closure Python collected (it never runs; issue 21).
        gone = [
            c
            for c in for_sender
            if c.receiver_key not in live
            and c.weak
            and (not c.module_level or shadowed(c))
            and c.dispatch_uid is None
            and not _disconnected(c)
            and c.phase == "ready"
            and c.app_label == app_label
        ]
        if gone:
            return _gone(gone[0], signal_name, sender_text, app_names(app_label)[0], advice)
        return None

    def at(c):
        return f"{c.receiver_name} ({c.receiver_where or c.call_site})"

    def plus(diagnosis: str) -> str:
        return _plus(advice, diagnosis)

    folder, config_name = app_names(app_label)

    for c in for_sender:
        if c.phase == "models":
            importer = next((f for f in c.student_stack if f.split(":")[0].endswith("models.py")), c.call_site)
            return (
                "connected-in-models",
                f"your receiver {at(c)} is connected while models.py is imported "
                f"({importer or 'an import in models.py'}), not in AppConfig.ready(). "
                "Remove that import from models.py and import your receiver module inside "
                f"{config_name}.ready().{plus('connected-in-models')}",
                importer,
            )
    for c in for_sender:
        if c.receiver_key not in live:
            return _gone(c, signal_name, sender_text, folder, advice)
    for c in for_sender:
        if c.phase == "ready":
            return (
                "wrong-app-ready",
                f"your receiver {at(c)} is connected in the ready() of {c.app_class}, not in "
                f"the ready() of the '{app_label}' app. Connect it in {folder}apps.py."
                f"{plus('wrong-app-ready')}",
                c.call_site,
            )
    if for_sender:
        c = for_sender[0]
        own_file = c.receiver_where.split(":")[0]
        importer = next((f for f in c.student_stack if f.split(":")[0] != own_file), c.call_site)
        return (
            "connected-outside-ready",
            f"your receiver {at(c)} is connected outside AppConfig.ready(), when "
            f"{importer or 'another module'} imports it, so it is missing until then. "
            f"Import the receiver module in {config_name}.ready() instead."
            f"{plus('connected-outside-ready')}",
            importer,
        )
    for c in on_signal:
        sender = sender_name(c.sender)
        wanted = (
            "every sender: connect it without sender=, so that it runs whoever sends it."
            if any_sender
            else f"the user model ({Sender._meta.label}). Use sender=settings.AUTH_USER_MODEL or get_user_model()."
            if spec["sender"] == "user"
            else f"{sender_name(Sender)}."
        )
        return (
            "wrong-sender",
            f"your {signal_name} receiver {at(c)} listens to {sender}, not to {wanted}{plus('wrong-sender')}",
            c.call_site,
        )
    # A receiver that rightly listens to another signal the exercise asks for (request_started
    # beside request_finished) is not this one's mistake, nor is one of another app or model (a
    # welcome e-mail on post_save of the user beside a missing order_placed receiver). Of several
    # on such a signal, the one whose code does what this signal is for (count_finished, or
    # _add_one("finished"), on request_started) is the misplaced one, never merely the last
    # connected: when none does, the receiver this signal needs is simply not connected.
    others = {s.get("signal") for s in state.current().connections.values()} - {signal_name}
    elsewhere = [c for c in ours if probe.signal_name(c.signal) not in others and _concerns(c, app_label, Sender)]
    crowded = [c for c in ours if probe.signal_name(c.signal) in others and sum(o.signal is c.signal for o in ours) > 1]
    crowded = [c for c in crowded if _does_what(c, signal_name, probe.signal_name(c.signal))]
    for c in elsewhere or crowded[:1]:
        return (
            "wrong-signal",
            f"your receiver {at(c)} is connected to {probe.signal_name(c.signal) or 'a custom signal'}, "
            f"not to {signal_name}.{plus('wrong-signal') or f' Connect it to {signal_name}.'}",
            c.call_site,
        )
    problem = appconfig_problem(app_label)
    if problem:
        return (*problem, "")
    if signal_name in ("pre_save", "post_save") and Sender is not None:
        save_code = getattr(getattr(Sender.save, "__func__", Sender.save), "__code__", None)
        overridden = save_code and probe.relpath(save_code.co_filename)
        if overridden:
            where = f"{overridden}:{save_code.co_firstlineno}"
            return (
                "save-overridden",
                f"{'the user model' if spec['sender'] == 'user' else Sender.__name__}'s save() "
                f"is replaced ({where}) instead of a {signal_name} receiver being connected. "
                "That is the anti-pattern of the lesson: save() runs on every save, and other "
                "code (bulk operations, fixtures, other apps) does not go through it."
                f"{plus('save-overridden') or f' Connect a {signal_name} receiver in {config_name}.ready() instead.'}",
                where,
            )
    unimported = unimported_receiver_modules(app_label)
    has_ready = "ready" in vars(type(apps.get_app_config(app_label)))
    if unimported and has_ready:
        hidden = _hidden_import_error(apps.get_app_config(app_label), unimported)
        if hidden:
            return hidden
    for rel in unimported:
        importer = _importer_of(apps.get_app_config(app_label), rel)
        if importer:
            return (
                "connected-outside-ready",
                f"{rel} is imported only by {importer}, which Django loads later (urls.py and "
                "views on the first request), not while the app starts."
                f"{plus('connected-outside-ready')} Import the receiver module in "
                f"{config_name}.ready() ({folder}apps.py) instead.",
                importer,
            )
    if unimported:
        where = ", ".join(unimported)
        why = f"{config_name} has no ready() method" if not has_ready else f"{config_name}.ready() does not import it"
        return (
            "receiver-module-not-imported",
            f"{where} is never imported, so its receiver is never connected: {why}. Add "
            f"`def ready(self): from . import signals` to {config_name} in {folder}apps.py.",
            unimported[0],
        )
    return (
        "receiver-not-connected",
        f"no {signal_name} receiver for {sender_text} is connected when the app starts. Write the "
        f"receiver in {folder}signals.py and import that module in {config_name}.ready() "
        f"({folder}apps.py).",
        "",
    )


def warnings() -> list[str]:
    """Mistakes that cost no points."""
    from django.apps import apps

    found = []
    try:
        found.extend(shadowing_warnings())
    except Exception:  # diagnosis must never break grading
        pass
    app_label = state.current().exercise_app()
    try:
        app_config = apps.get_app_config(app_label)
    except LookupError:
        return found
    init = Path(app_config.path) / "__init__.py"
    try:
        tree = ast.parse(init.read_bytes())
    except (OSError, SyntaxError, ValueError):
        tree = None
    if tree and any(
        isinstance(n, ast.Assign) and any(getattr(t, "id", "") == "default_app_config" for t in n.targets)
        for n in ast.walk(tree)
    ):
        rel = probe.relpath(str(init)) or "__init__.py"
        folder, config_name = app_names(app_label)
        dotted = f"{app_config.name}.apps.{config_name}"
        found.append(
            f"{rel}: default_app_config is ignored since Django 4.1 (it was removed). "
            "Django finds the AppConfig in apps.py by itself; put the dotted path "
            f"('{dotted}') in INSTALLED_APPS if you need to choose one."
        )
    return found


def shadowing_warnings() -> list[str]:
    """A receiver the student connected whose module defines its name again further down (two
    `def on_save`): said with both lines, whatever the checks find."""
    found, seen = [], set()
    for c in state.current().connects:
        if not c.student or not c.module_level or c.receiver_where in seen:
            continue
        twice = shadowed(c)
        if not twice:
            continue
        seen.add(c.receiver_where)
        try:
            alive = c.receiver_key in probe.live_receiver_keys(c.signal, c.sender)
        except Exception:
            alive = False
        found.append(shadowed_message(twice, alive))
    return found[:3]


def _touches_database(label: str, op, old_apps) -> bool:
    """Would applying `op` change the database? Options (ordering, verbose_name), managers
    and a field's help_text, verbose_name or choices do not: `migrate` works without them."""
    from django.apps import apps
    from django.db import connection
    from django.db.migrations import operations

    if isinstance(op, (operations.AlterModelOptions, operations.AlterModelManagers)):
        return False
    if isinstance(op, operations.AlterField):
        try:
            old = old_apps.get_model(label, op.model_name)._meta.get_field(op.name)
            new = apps.get_model(label, op.model_name)._meta.get_field(op.name)
            return bool(connection.schema_editor()._field_should_be_altered(old, new))
        except Exception:  # an older Django, or a model the old state lacks
            return True
    return True


def _unmigrated(loader, label: str) -> str:
    """Why `migrate` would never create the tables of a student app with models, or ""."""
    from django.apps import apps

    app_config = apps.get_app_config(label)
    if label not in loader.unmigrated_apps or not any(
        m._meta.managed and not m._meta.proxy for m in app_config.get_models()
    ):
        return ""
    folder = Path(app_config.path) / "migrations"
    rel = probe.relpath(str(folder)) or f"{label}/migrations"
    if folder.is_dir() and not (folder / "__init__.py").is_file():
        return (
            f"{rel}/ has no __init__.py, so Django does not see the migrations in it and "
            f"`python manage.py migrate` never creates the tables of the '{label}' app. Add an "
            f"empty file {rel}/__init__.py."
        )
    return (
        f"the '{label}' app has models but no migrations, so `python manage.py migrate` never "
        f"creates its tables. Run `python manage.py makemigrations {label}` and submit "
        f"{rel}/."
    )


MIGRATIONS: list[tuple[str, str]] = []  # (app label, name) of every migration the project has


def migration_state() -> tuple[dict | None, list[str]]:
    """(problem that fails the check covering migrations, warnings), from comparing the
    migrations with the models as `makemigrations --check` does.

    A model of the exercise's app that its migrations do not create or describe fully
    means `manage.py migrate` would leave the site broken: a problem. Differences in
    other apps of the student, and changes that do not touch the database (ordering,
    verbose_name, help_text), only warrant a warning.
    """
    from django.apps import apps
    from django.db import connection
    from django.db.migrations.autodetector import MigrationAutodetector
    from django.db.migrations.loader import MigrationLoader
    from django.db.migrations.state import ProjectState

    student_apps = [a.label for a in apps.get_app_configs() if probe.relpath(a.path + "/")]
    exercise_apps = {m.partition(".")[0] for m in state.current().models.values()}
    loader = MigrationLoader(connection, ignore_no_migrations=True)
    MIGRATIONS[:] = list(loader.graph.nodes)  # for recording them applied, without a second loader
    old_state = loader.project_state()
    changes = MigrationAutodetector(old_state, ProjectState.from_apps(apps)).changes(graph=loader.graph)
    problem, notes = None, []
    old_apps = None
    for label in student_apps:
        folder = probe.relpath(apps.get_app_config(label).path.rstrip("/") + "/") or f"{label}/"
        unmigrated = _unmigrated(loader, label)
        if unmigrated:
            if label in exercise_apps:
                problem = {
                    "type": "migrations",
                    "location": f"{folder}migrations/",
                    "traceback": [],
                    "message": unmigrated,
                }
            else:
                notes.append(unmigrated)
            continue
        if label not in changes:
            continue
        ops = [op for migration in changes[label] for op in migration.operations]
        if old_apps is None:
            old_apps = old_state.apps
        db_ops = [op for op in ops if _touches_database(label, op, old_apps)]
        described = "; ".join(op.describe() for op in (db_ops or ops))[:300]
        fix = f"Run `python manage.py makemigrations {label}` and submit the new file in {folder}migrations/."
        if not db_ops:
            notes.append(
                f"the '{label}' app has model changes without a migration that do not touch "
                f"the database ({described}); `makemigrations --check` would still report "
                f"them. {fix}"
            )
            continue
        exercise_models = {
            m.partition(".")[2].lower(): m.partition(".")[2]
            for m in state.current().models.values()
            if m.partition(".")[0] == label
        }
        touched = [
            exercise_models[n]
            for op in db_ops
            for n in {getattr(op, "name", "").lower(), getattr(op, "model_name", "").lower()}
            if n in exercise_models
        ]
        if touched:
            model_name = touched[0]
            problem = {
                "type": "migrations",
                "location": f"{folder}migrations/",
                "traceback": [],
                "message": f"the migrations of the '{label}' app are out of step with "
                f"{folder}models.py ({described}): `python manage.py migrate` would "
                f"not create {model_name} as your code expects. {fix}",
            }
        else:
            notes.append(f"the '{label}' app has model changes without a migration ({described}). {fix}")
    return problem, notes


def import_failure(module: str, timeout: float = 10.0) -> dict | None:
    """What importing `module` raises, found in a forked copy of this process (so that
    nothing it connects or changes reaches the grading run); None when it imports."""
    read_end, write_end = os.pipe()
    try:
        pid = os.fork()
    except OSError:
        os.close(read_end)
        os.close(write_end)
        return None
    if pid == 0:
        try:
            os.close(read_end)
            try:
                importlib.import_module(module)
                payload = b"{}"
            except BaseException as exc:
                payload = json.dumps(errors.describe(exc)).encode()[:65536]
            os.write(write_end, payload)
        finally:
            os._exit(0)
    os.close(write_end)
    data, deadline = b"", time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([read_end], [], [], max(0.0, deadline - time.monotonic()))
            if not ready:
                break
            chunk = os.read(read_end, 65536)
            if not chunk:
                break
            data += chunk
    finally:
        os.close(read_end)
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        try:
            os.waitpid(pid, 0)
        except ChildProcessError:
            pass
    try:
        info = json.loads(data or b"{}")
    except ValueError:
        return None
    return info or None


def _hidden_import_error(app_config, unimported: list[str]) -> tuple[str, str, str] | None:
    """ready() names a receiver module that is not imported: when importing it fails and
    ready() hid the error (try/except ImportError, contextlib.suppress), say which error."""
    try:
        ready_source = inspect.getsource(type(app_config).ready)
    except (OSError, TypeError):
        return None
    for rel in unimported:
        stem = Path(rel).stem
        if stem not in ready_source:
            continue
        failure = import_failure(f"{app_config.name}.{stem}")
        if not failure:
            continue
        where = failure.get("location") or rel
        ready_at = _ready_location(app_config)
        return (
            "import-error",
            f"ready(){f' ({ready_at})' if ready_at else ''} imports {app_config.name}.{stem}, but "
            f"that import fails and ready() hides the error (a try/except or suppress around "
            f"it), so the receiver is never connected: {failure.get('message', 'ImportError')} "
            f"({where}). Fix that line, and let import errors in ready() show.",
            where,
        )
    return None


MAX_SCANNED_FILES = 400


def _importer_of(app_config, rel: str) -> str:
    """file:line of a student module (not apps.py, not a migration) that imports the app's
    module `rel` (<app>/signals.py): `import users.signals`, `from users import signals`,
    `from .signals import x`, ..."""
    stem = Path(rel).stem
    dotted = f"{app_config.name}.{stem}"
    root = Path(state.current().submission)
    scanned = 0
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(
            d
            for d in dirnames
            if not d.startswith(".")
            and d not in ("migrations", "node_modules", "venv", "env", "__pycache__", "static", "media")
        )
        for name in sorted(filenames):
            if not name.endswith(".py") or name == "apps.py" or name == f"{stem}.py":
                continue
            scanned += 1
            if scanned > MAX_SCANNED_FILES:
                return ""
            path = Path(dirpath) / name
            try:
                tree = ast.parse(path.read_bytes())
            except (OSError, SyntaxError, ValueError):
                continue
            package = ".".join(path.parent.relative_to(root).parts)
            for node in ast.walk(tree):
                if isinstance(node, ast.Import):
                    hit = any(a.name == dotted or a.name.startswith(dotted + ".") for a in node.names)
                elif isinstance(node, ast.ImportFrom):
                    base = node.module or ""
                    if node.level:
                        parts = package.split(".") if package else []
                        parts = parts[: len(parts) - node.level + 1] if node.level > 1 else parts
                        base = ".".join(parts + ([base] if base else []))
                    hit = base == dotted or (base == app_config.name and any(a.name == stem for a in node.names))
                else:
                    continue
                if hit:
                    return f"{probe.relpath(str(path)) or name}:{node.lineno}"
    return ""


def _ready_location(app_config) -> str:
    code = getattr(type(app_config).ready, "__code__", None)
    rel = code and probe.relpath(code.co_filename)
    return f"{rel}:{code.co_firstlineno}" if rel else ""
