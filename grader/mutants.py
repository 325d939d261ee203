"""Mutants of an assignment's reference solution: ``grader check-assignment PATH --mutants``.

A hidden suite is only as good as the wrong solutions it catches. The operators below make the
mistakes students make with signals, one at a time, in the solution's own files (libcst keeps
every other byte as it was): the wrong signal, `created` dropped or inverted, the connection
moved or removed, ``get_or_create`` turned into ``create``, ``F()`` turned into arithmetic in
Python, the m2m action or side ignored, ``send``/``send_robust`` swapped, ``on_commit`` removed,
a receiver that only a closure holds (a weak reference). Each mutant is graded as a student's
submission; one the suite does not mark below full is a *survivor*. A survivor is killed by a
new check, or listed in ``mutants.toml`` beside the rubric as equivalent, with a reason::

    [equivalent]
    "remove-dispatch-uid@app/signals.py:9" = "signals.py is imported once (ready()); ..."

A mutant's id is ``operator@file:line`` (``#2``, ``#3`` for more on one line), so it names the
line of the solution it changes. This module only makes mutants (pure: sources in, sources
out); grading them is the authoring loop's (``grader.authoring``).
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

try:
    import libcst as cst
    from libcst import metadata
except ImportError:  # pragma: no cover - the optional dependency of authors
    cst = None  # type: ignore[assignment]
    metadata = None  # type: ignore[assignment]

MUTANTS_FILE = "mutants.toml"

MODEL_SIGNALS = ("pre_init", "post_init", "pre_save", "post_save", "pre_delete", "post_delete", "m2m_changed")
PRE_POST = {
    "pre_save": "post_save",
    "post_save": "pre_save",
    "pre_delete": "post_delete",
    "post_delete": "pre_delete",
    "pre_init": "post_init",
    "post_init": "pre_init",
}
SAVE_DELETE = {
    "pre_save": "pre_delete",
    "pre_delete": "pre_save",
    "post_save": "post_delete",
    "post_delete": "post_save",
}
REQUEST_SIGNALS = {"request_started": "request_finished", "request_finished": "request_started"}
M2M_ACTIONS = ("pre_add", "post_add", "pre_remove", "post_remove", "pre_clear", "post_clear")

# Operators in the order of the table, with what each does (for the table's legend).
OPERATORS: dict[str, str] = {
    "swap-pre-post": "pre_X <-> post_X",
    "swap-save-delete": "X_save <-> X_delete",
    "other-model-signal": "another model signal (pre_init, post_init, m2m_changed, ...)",
    "swap-request-signals": "request_started <-> request_finished",
    "other-request-signal": "request_started/request_finished -> got_request_exception",
    "drop-created": "`created` read as True",
    "invert-created": "`created` read as `not created`",
    "drop-raw": "`raw` read as False",
    "remove-dispatch-uid": "dispatch_uid= removed",
    "connect-at-import": "ready()'s connection moved to the end of the app's models.py",
    "connect-in-apps-module": "ready()'s connection moved to apps.py's module level (import time)",
    "connect-in-ready": "a module-level connect() moved into ready()",
    "remove-connect": "an @receiver, a connect() or ready()'s import removed",
    "get-or-create-to-create": "get_or_create(...) -> (create(...), True)",
    "drop-update-fields": "update_fields= removed",
    "f-to-python": "F('x') read in Python and written back",
    "count-arithmetic": "a count's F() arithmetic changed (+ <-> -, 1 -> 2)",
    "drop-sender": "sender= removed from @receiver/connect()/send()",
    "change-sender": "sender= another model (or the field, not its .through)",
    "swap-m2m-actions": "an m2m action swapped (pre/post, add/remove)",
    "ignore-reverse": "`reverse` read as False",
    "ignore-pk-set": "`pk_set` read as an empty set",
    "send-robust-swap": "send(...) <-> send_robust(...)",
    "remove-on-commit": "transaction.on_commit(f) -> f() at once",
    "remove-atomic": "`with transaction.atomic():` removed (its body kept)",
    "closure-receiver": "an @receiver function defined in a function (only a weak reference holds it)",
    "drop-receiver-kwargs": "**kwargs removed from a receiver's parameters",
    "receiver-does-nothing": "`return` first in a receiver",
    "negate-condition": "`if X:` -> `if not (X):`",
    "instance-for-sender": "a receiver reads `sender` where it read `instance` (and the reverse)",
    "delete-statement": "one statement of a function replaced by `pass`",
}


class MutantsError(Exception):
    """The mutants cannot be made (libcst missing, a solution file that does not parse, a
    malformed mutants.toml)."""


@dataclass(frozen=True)
class Mutant:
    id: str  # operator@file:line[#n]
    operator: str
    file: str  # the file whose line it names (posix, relative to the project)
    line: int
    description: str  # what changed, in words
    changes: dict[str, str] = field(default_factory=dict, hash=False, compare=False)  # file -> source


# --------------------------------------------------------------------------- the source set


@dataclass
class _Source:
    rel: str
    text: str
    wrapper: metadata.MetadataWrapper
    positions: Mapping[Any, Any]
    parents: Mapping[Any, Any]
    contexts: Mapping[Any, Any]

    @property
    def module(self) -> cst.Module:
        return self.wrapper.module


def _parse(rel: str, text: str) -> _Source:
    try:
        wrapper = metadata.MetadataWrapper(cst.parse_module(text))
    except cst.ParserSyntaxError as exc:
        raise MutantsError(f"{rel}: the solution does not parse ({exc.message}, line {exc.raw_line})") from None
    resolved = wrapper.resolve_many(
        [metadata.PositionProvider, metadata.ParentNodeProvider, metadata.ExpressionContextProvider]
    )
    return _Source(
        rel,
        text,
        wrapper,
        resolved[metadata.PositionProvider],
        resolved[metadata.ParentNodeProvider],
        resolved[metadata.ExpressionContextProvider],
    )


class _Replace(cst.CSTTransformer):
    """Replace one node (by identity) with what `make` returns for its updated self."""

    def __init__(self, target: cst.CSTNode, make: Callable[[Any], Any]) -> None:
        self.target, self.make = target, make

    def on_leave(self, original_node: Any, updated_node: Any) -> Any:
        if original_node is self.target:
            return self.make(updated_node)
        return updated_node


def _apply(src: _Source, target: cst.CSTNode, make: Callable[..., Any]) -> str:
    return src.module.visit(_Replace(target, make)).code


def _nodes(src: _Source, kind: type) -> Iterator[Any]:
    found: list[Any] = []

    class _Collect(cst.CSTVisitor):
        def on_visit(self, node: cst.CSTNode) -> bool:
            if isinstance(node, kind):
                found.append(node)
            return True

    src.module.visit(_Collect())
    yield from found


def _line(src: _Source, node: cst.CSTNode) -> int:
    return int(src.positions[node].start.line)


def _expr(code: str) -> cst.BaseExpression:
    return cst.parse_expression(code)


def _is_load(src: _Source, node: cst.Name) -> bool:
    if src.contexts.get(node) is not metadata.ExpressionContext.LOAD:
        return False
    parent = src.parents.get(node)
    # The keyword of an argument (f(created=...)) and an attribute's name are no reads of it.
    if isinstance(parent, cst.Arg) and parent.keyword is node:
        return False
    if isinstance(parent, cst.Attribute) and parent.attr is node:
        return False
    return not isinstance(parent, (cst.ImportAlias, cst.Param))


def _code(node: cst.CSTNode) -> str:
    return cst.Module(body=[]).code_for_node(node)


def _call_name(call: cst.Call) -> str:
    func = call.func
    if isinstance(func, cst.Name):
        return func.value
    if isinstance(func, cst.Attribute):
        return func.attr.value
    return ""


def _receivers(src: _Source) -> Iterator[cst.FunctionDef]:
    """Functions decorated with @receiver(...) (or @<x>.receiver), or passed to X.connect()."""
    connected = {
        _code(c.args[0].value)
        for c in _nodes(src, cst.Call)
        if _call_name(c) == "connect" and c.args and isinstance(c.args[0].value, cst.Name)
    }
    for fn in _nodes(src, cst.FunctionDef):
        decorated = any(
            isinstance(d.decorator, cst.Call) and _call_name(d.decorator) == "receiver" for d in fn.decorators
        )
        if decorated or fn.name.value in connected:
            yield fn


def _weak_false(call: cst.Call) -> bool:
    return any(a.keyword is not None and a.keyword.value == "weak" and _code(a.value) == "False" for a in call.args)


# --------------------------------------------------------------------------- operators
# Each yields (node naming the line, description, {file: new source}).

Found = Iterator[tuple[_Source, cst.CSTNode, str, dict[str, str]]]


def _signal_names(src: _Source, table: dict[str, str], module: str) -> Found:
    for name in _nodes(src, cst.Name):
        if name.value in table and _is_load(src, name):
            new = table[name.value]
            code = _apply(src, name, lambda _n, new=new: _expr(f'__import__("{module}", fromlist=["{new}"]).{new}'))
            yield src, name, f"{name.value} -> {new}", {src.rel: code}
    for attr in _nodes(src, cst.Attribute):
        if attr.attr.value in table and src.contexts.get(attr) is metadata.ExpressionContext.LOAD:
            new = table[attr.attr.value]
            code = _apply(src, attr, lambda n, new=new: n.with_changes(attr=cst.Name(new)))
            yield src, attr, f"{attr.attr.value} -> {new}", {src.rel: code}


def op_swap_pre_post(src: _Source, project: dict[str, _Source]) -> Found:
    yield from _signal_names(src, PRE_POST, "django.db.models.signals")


def op_swap_save_delete(src: _Source, project: dict[str, _Source]) -> Found:
    yield from _signal_names(src, SAVE_DELETE, "django.db.models.signals")


def op_other_model_signal(src: _Source, project: dict[str, _Source]) -> Found:
    for signal in MODEL_SIGNALS:
        others = [
            s for s in MODEL_SIGNALS if s != signal and PRE_POST.get(signal) != s and SAVE_DELETE.get(signal) != s
        ]
        for other in others:
            yield from _signal_names(src, {signal: other}, "django.db.models.signals")


def op_swap_request_signals(src: _Source, project: dict[str, _Source]) -> Found:
    yield from _signal_names(src, REQUEST_SIGNALS, "django.core.signals")


def op_other_request_signal(src: _Source, project: dict[str, _Source]) -> Found:
    yield from _signal_names(
        src,
        {"request_started": "got_request_exception", "request_finished": "got_request_exception"},
        "django.core.signals",
    )


def _names_read(src: _Source, names: tuple[str, ...], replacement: Callable[[str], str]) -> Found:
    for name in _nodes(src, cst.Name):
        if name.value in names and _is_load(src, name):
            new = replacement(name.value)
            code = _apply(src, name, lambda _n, new=new: _expr(new))
            yield src, name, f"`{name.value}` read as `{new}`", {src.rel: code}
    # kwargs.get("created") / kwargs["created"]
    for call in _nodes(src, cst.Call):
        if (
            _call_name(call) == "get"
            and call.args
            and isinstance(call.args[0].value, cst.SimpleString)
            and call.args[0].value.evaluated_value in names
        ):
            new = replacement(call.args[0].value.evaluated_value)
            yield (
                src,
                call,
                f"`{_code(call)}` read as `{new}`",
                {src.rel: _apply(src, call, lambda _n, new=new: _expr(new))},
            )


def op_drop_created(src: _Source, project: dict[str, _Source]) -> Found:
    yield from _names_read(src, ("created",), lambda _n: "True")


def op_invert_created(src: _Source, project: dict[str, _Source]) -> Found:
    yield from _names_read(src, ("created",), lambda n: f"(not {n})")


def op_drop_raw(src: _Source, project: dict[str, _Source]) -> Found:
    yield from _names_read(src, ("raw",), lambda _n: "False")


def _keyword_args(
    src: _Source, keyword: str, calls: tuple[str, ...] | None = None
) -> Iterator[tuple[cst.Arg, cst.Call]]:
    for call in _nodes(src, cst.Call):
        if calls is not None and _call_name(call) not in calls:
            continue
        for arg in call.args:
            if arg.keyword is not None and arg.keyword.value == keyword:
                yield arg, call


def _without_arg(call: cst.Call, arg: cst.Arg) -> cst.Call:
    args = [a for a in call.args if a is not arg]
    if args:  # the last argument keeps no trailing comma of the one removed
        args[-1] = args[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
    return call.with_changes(args=args)


def op_remove_dispatch_uid(src: _Source, project: dict[str, _Source]) -> Found:
    for arg, call in _keyword_args(src, "dispatch_uid"):
        yield (
            src,
            arg,
            f"dispatch_uid={_code(arg.value)} removed",
            {src.rel: _apply(src, call, lambda n, a=call.args.index(arg): _without_arg(n, n.args[a]))},
        )


def op_drop_update_fields(src: _Source, project: dict[str, _Source]) -> Found:
    for arg, call in _keyword_args(src, "update_fields"):
        yield (
            src,
            arg,
            "update_fields= removed",
            {src.rel: _apply(src, call, lambda n, a=call.args.index(arg): _without_arg(n, n.args[a]))},
        )


SENDER_CALLS = ("receiver", "connect", "disconnect", "send", "send_robust")


def op_drop_sender(src: _Source, project: dict[str, _Source]) -> Found:
    for arg, call in _keyword_args(src, "sender", SENDER_CALLS):
        yield (
            src,
            arg,
            f"sender={_code(arg.value)} removed from {_call_name(call)}()",
            {src.rel: _apply(src, call, lambda n, a=call.args.index(arg): _without_arg(n, n.args[a]))},
        )


def op_count_arithmetic(src: _Source, project: dict[str, _Source]) -> Found:
    def is_f(node: cst.BaseExpression) -> bool:
        return isinstance(node, cst.Call) and isinstance(node.func, cst.Name) and node.func.value == "F"

    for op in _nodes(src, cst.BinaryOperation):
        if not (is_f(op.left) or is_f(op.right)) or not isinstance(op.operator, (cst.Add, cst.Subtract)):
            continue
        flipped = cst.Subtract() if isinstance(op.operator, cst.Add) else cst.Add()
        yield (
            src,
            op,
            f"`{_code(op)}` -> `{_code(op.with_changes(operator=flipped))}`",
            {src.rel: _apply(src, op, lambda n, f=flipped: n.with_changes(operator=f))},
        )
        for side in ("left", "right"):
            value = getattr(op, side)
            if isinstance(value, cst.Integer) and value.evaluated_value == 1:
                yield (
                    src,
                    value,
                    f"`{_code(op)}`: 1 -> 2",
                    {src.rel: _apply(src, value, lambda n: n.with_changes(value="2"))},
                )


def _imported_models(src: _Source) -> list[str]:
    """Capitalised names the module imports from a models module: the senders it could confuse."""
    names = []
    for imp in _nodes(src, cst.ImportFrom):
        module = _code(imp.module) if imp.module is not None else ""
        if "models" not in module.split(".") or isinstance(imp.names, cst.ImportStar):
            continue
        for alias in imp.names:
            name = _code(alias.asname.name) if alias.asname else _code(alias.name)
            if name[:1].isupper():
                names.append(name)
    return names


def op_change_sender(src: _Source, project: dict[str, _Source]) -> Found:
    models = _imported_models(src)
    for arg, call in _keyword_args(src, "sender", SENDER_CALLS):
        current = _code(arg.value)
        choices = [m for m in models if m != current]
        if isinstance(arg.value, cst.Attribute) and arg.value.attr.value == "through":
            choices.insert(0, _code(arg.value.value))  # Post.tags instead of Post.tags.through
        for choice in choices[:2]:
            yield (
                src,
                arg,
                f"sender={current} -> sender={choice} in {_call_name(call)}()",
                {src.rel: _apply(src, arg, lambda n, c=choice: n.with_changes(value=_expr(c)))},
            )


def op_swap_m2m_actions(src: _Source, project: dict[str, _Source]) -> Found:
    for s in _nodes(src, cst.SimpleString):
        value = s.evaluated_value
        if value not in M2M_ACTIONS:
            continue
        when, what = value.split("_")
        swaps = [f"{'post' if when == 'pre' else 'pre'}_{what}"]
        if what in ("add", "remove"):
            swaps.append(f"{when}_{'remove' if what == 'add' else 'add'}")
        for new in swaps:
            yield (
                src,
                s,
                f'"{value}" -> "{new}"',
                {src.rel: _apply(src, s, lambda n, new=new: cst.SimpleString(f'"{new}"'))},
            )


def op_ignore_reverse(src: _Source, project: dict[str, _Source]) -> Found:
    yield from _names_read(src, ("reverse",), lambda _n: "False")


def op_ignore_pk_set(src: _Source, project: dict[str, _Source]) -> Found:
    yield from _names_read(src, ("pk_set",), lambda _n: "set()")


def op_send_robust_swap(src: _Source, project: dict[str, _Source]) -> Found:
    for call in _nodes(src, cst.Call):
        name = _call_name(call)
        if (
            name in ("send", "send_robust")
            and isinstance(call.func, cst.Attribute)
            and any(a.keyword is not None and a.keyword.value == "sender" for a in call.args)
        ):
            new = "send_robust" if name == "send" else "send"
            yield (
                src,
                call,
                f".{name}(...) -> .{new}(...)",
                {
                    src.rel: _apply(
                        src, call, lambda n, new=new: n.with_changes(func=n.func.with_changes(attr=cst.Name(new)))
                    )
                },
            )


def op_remove_on_commit(src: _Source, project: dict[str, _Source]) -> Found:
    for call in _nodes(src, cst.Call):
        if _call_name(call) != "on_commit" or not call.args:
            continue
        fn = call.args[0].value
        if isinstance(fn, cst.Lambda) and not fn.params.params:
            now = fn.body
        else:
            now = cst.Call(func=fn)
        yield (
            src,
            call,
            "transaction.on_commit(f) -> f() at once",
            {src.rel: _apply(src, call, lambda _n, now=now: now)},
        )


def op_remove_atomic(src: _Source, project: dict[str, _Source]) -> Found:
    for with_ in _nodes(src, cst.With):
        if any(
            (isinstance(i.item, cst.Call) and _call_name(i.item) == "atomic")
            or (isinstance(i.item, cst.Attribute) and i.item.attr.value == "atomic")
            for i in with_.items
        ):
            body = with_.body.body
            yield (
                src,
                with_,
                "`with transaction.atomic():` removed",
                {src.rel: _apply(src, with_, lambda _n, body=body: cst.FlattenSentinel(body))},
            )


def _ready_bodies(src: _Source) -> Iterator[cst.FunctionDef]:
    for fn in _nodes(src, cst.FunctionDef):
        if fn.name.value == "ready" and isinstance(src.parents.get(src.parents.get(fn)), cst.ClassDef):
            yield fn


def _movable(fn: cst.FunctionDef) -> list[Any]:
    """ready()'s statements that connect, when none needs `self` or super()."""
    body = [
        s
        for s in fn.body.body
        if not (
            isinstance(s, cst.SimpleStatementLine)
            and all(
                isinstance(x, cst.Expr) and isinstance(x.value, (cst.SimpleString, cst.ConcatenatedString))
                for x in s.body
            )
        )
    ]
    text = "".join(_code(s) for s in body)
    if not body or "self" in text or "super(" in text:
        return []
    return body


def _emptied(fn: cst.FunctionDef) -> cst.FunctionDef:
    return fn.with_changes(body=fn.body.with_changes(body=[cst.SimpleStatementLine([cst.Pass()])]))


def op_connect_at_import(src: _Source, project: dict[str, _Source]) -> Found:
    if not src.rel.endswith("/apps.py"):
        return
    models = src.rel.rsplit("/", 1)[0] + "/models.py"
    if models not in project:
        return
    for fn in _ready_bodies(src):
        body = _movable(fn)
        if body:
            moved = project[models].text.rstrip("\n") + "\n\n\n" + "".join(_code(s) for s in body)
            yield (
                src,
                fn,
                f"ready()'s connection moved to the end of {models}",
                {src.rel: _apply(src, fn, _emptied), models: moved},
            )


def op_connect_in_apps_module(src: _Source, project: dict[str, _Source]) -> Found:
    if not src.rel.endswith("/apps.py"):
        return
    for fn in _ready_bodies(src):
        body = _movable(fn)
        if body:
            code = _apply(src, fn, _emptied).rstrip("\n") + "\n\n\n" + "".join(_code(s) for s in body)
            yield src, fn, "ready()'s connection moved to apps.py's module level (import time)", {src.rel: code}


def op_connect_in_ready(src: _Source, project: dict[str, _Source]) -> Found:
    """A module-level X.connect(...) of a non-apps module moved into its app's ready()."""
    apps = src.rel.rsplit("/", 1)[0] + "/apps.py"
    if src.rel.endswith("/apps.py") or apps not in project:
        return
    ready = list(_ready_bodies(project[apps]))
    for stmt in src.module.body:
        if not ready or not (
            isinstance(stmt, cst.SimpleStatementLine)
            and len(stmt.body) == 1
            and isinstance(stmt.body[0], cst.Expr)
            and isinstance(stmt.body[0].value, cst.Call)
            and _call_name(stmt.body[0].value) == "connect"
        ):
            continue
        used = sorted(
            {n.value for n in _nodes(src, cst.Name) if _is_load(src, n) and _line(src, n) == _line(src, stmt)}
        )
        module = src.rel[:-3].replace("/", ".")
        added = cst.parse_module(f"from {module} import {', '.join(used)}  # noqa\n{_code(stmt).strip()}\n").body
        apps_code = _apply(
            project[apps],
            ready[0],
            lambda n, added=added: n.with_changes(body=n.body.with_changes(body=[*n.body.body, *added])),
        )
        yield (
            src,
            stmt,
            "a module-level connect() moved into ready()",
            {src.rel: _apply(src, stmt, lambda _n: cst.RemoveFromParent()), apps: apps_code},
        )


def op_remove_connect(src: _Source, project: dict[str, _Source]) -> Found:
    for fn in _nodes(src, cst.FunctionDef):
        for i, deco in enumerate(fn.decorators):
            if isinstance(deco.decorator, cst.Call) and _call_name(deco.decorator) == "receiver":
                yield (
                    src,
                    deco,
                    f"@receiver of {fn.name.value}() removed",
                    {
                        src.rel: _apply(
                            src,
                            fn,
                            lambda n, i=i: n.with_changes(decorators=[d for j, d in enumerate(n.decorators) if j != i]),
                        )
                    },
                )
    for line in _nodes(src, cst.SimpleStatementLine):
        if (
            len(line.body) == 1
            and isinstance(line.body[0], cst.Expr)
            and isinstance(line.body[0].value, cst.Call)
            and _call_name(line.body[0].value) == "connect"
        ):
            yield (
                src,
                line,
                f"{_code(line.body[0].value.func)}() removed",
                {src.rel: _apply(src, line, lambda _n: cst.SimpleStatementLine([cst.Pass()]))},
            )
    for fn in _ready_bodies(src):
        for stmt in fn.body.body:
            if isinstance(stmt, cst.SimpleStatementLine) and any(
                isinstance(x, (cst.Import, cst.ImportFrom)) for x in stmt.body
            ):
                yield (
                    src,
                    stmt,
                    "ready()'s import of the receivers removed",
                    {src.rel: _apply(src, stmt, lambda _n: cst.SimpleStatementLine([cst.Pass()]))},
                )


def op_get_or_create(src: _Source, project: dict[str, _Source]) -> Found:
    for call in _nodes(src, cst.Call):
        if _call_name(call) != "get_or_create" or not isinstance(call.func, cst.Attribute):
            continue

        def make(n: cst.Call) -> cst.BaseExpression:
            args = []
            for a in n.args:
                if a.keyword is not None and a.keyword.value == "defaults":
                    args.append(cst.Arg(value=a.value, star="**"))
                else:
                    args.append(a.with_changes(comma=cst.MaybeSentinel.DEFAULT))
            created = n.with_changes(func=n.func.with_changes(attr=cst.Name("create")), args=args)
            return cst.Tuple([cst.Element(created), cst.Element(cst.Name("True"))])

        yield src, call, "get_or_create(...) -> (create(...), True)", {src.rel: _apply(src, call, make)}


def op_f_to_python(src: _Source, project: dict[str, _Source]) -> Found:
    for call in _nodes(src, cst.Call):
        if not (isinstance(call.func, cst.Name) and call.func.value == "F" and len(call.args) == 1):
            continue
        field_ = _code(call.args[0].value)
        node, read = call, None
        while node is not None:
            parent = src.parents.get(node)
            if (
                isinstance(parent, cst.Call)
                and _call_name(parent) == "update"
                and isinstance(parent.func, cst.Attribute)
            ):
                read = f"({_code(parent.func.value)}.values_list({field_}, flat=True).first() or 0)"
                break
            if isinstance(parent, cst.Assign) and len(parent.targets) == 1:
                read = _code(parent.targets[0].target)
                break
            if isinstance(parent, (cst.SimpleStatementLine, cst.FunctionDef)):
                break
            node = parent
        if read is not None:
            yield (
                src,
                call,
                f"F({field_}) -> {read} (read in Python, written back)",
                {src.rel: _apply(src, call, lambda _n, read=read: _expr(read))},
            )


def op_closure_receiver(src: _Source, project: dict[str, _Source]) -> Found:
    for fn in src.module.body:
        if not isinstance(fn, cst.FunctionDef):
            continue
        decos = [
            d for d in fn.decorators if isinstance(d.decorator, cst.Call) and _call_name(d.decorator) == "receiver"
        ]
        if not decos or any(isinstance(d.decorator, cst.Call) and _weak_false(d.decorator) for d in decos):
            continue
        factory = f"_make_{fn.name.value}"
        inner = cst.Module(body=[fn]).code
        wrapped = (
            f"def {factory}():\n"
            + "".join(f"    {ln}\n" if ln else "\n" for ln in inner.rstrip("\n").split("\n"))
            + f"\n\n{factory}()\n"
        )
        new = cst.parse_module(wrapped).body
        yield (
            src,
            fn,
            f"{fn.name.value}() defined inside {factory}() (only a weak reference holds it)",
            {src.rel: _apply(src, fn, lambda _n, new=new: cst.FlattenSentinel(new))},
        )


def op_drop_receiver_kwargs(src: _Source, project: dict[str, _Source]) -> Found:
    for fn in _receivers(src):
        if isinstance(fn.params.star_kwarg, cst.Param):
            yield (
                src,
                fn,
                f"**{fn.params.star_kwarg.name.value} removed from {fn.name.value}()",
                {src.rel: _apply(src, fn, lambda n: n.with_changes(params=n.params.with_changes(star_kwarg=None)))},
            )


def op_receiver_does_nothing(src: _Source, project: dict[str, _Source]) -> Found:
    for fn in _receivers(src):

        def make(n: cst.FunctionDef) -> cst.FunctionDef:
            body = list(n.body.body)
            at = (
                1
                if body
                and isinstance(body[0], cst.SimpleStatementLine)
                and isinstance(body[0].body[0], cst.Expr)
                and isinstance(body[0].body[0].value, (cst.SimpleString, cst.ConcatenatedString))
                else 0
            )
            body.insert(at, cst.SimpleStatementLine([cst.Return()]))
            return n.with_changes(body=n.body.with_changes(body=body))

        yield src, fn, f"{fn.name.value}() returns at once", {src.rel: _apply(src, fn, make)}


def op_negate_condition(src: _Source, project: dict[str, _Source]) -> Found:
    for if_ in _nodes(src, cst.If):
        if isinstance(if_.test, cst.Name) and if_.test.value in ("created", "raw", "reverse"):
            continue  # invert-created, drop-raw and ignore-reverse say these
        yield (
            src,
            if_,
            f"`if {_code(if_.test)}:` -> `if not ({_code(if_.test)}):`",
            {src.rel: _apply(src, if_, lambda n: n.with_changes(test=_expr(f"not ({_code(n.test)})")))},
        )


def op_instance_for_sender(src: _Source, project: dict[str, _Source]) -> Found:
    for fn in _receivers(src):
        params = {p.name.value for p in fn.params.params}
        if not {"instance", "sender"} <= params:
            continue
        for name in _nodes(src, cst.Name):
            if (
                name.value in ("instance", "sender")
                and _is_load(src, name)
                and src.positions[fn].start.line <= _line(src, name) <= src.positions[fn].end.line
            ):
                new = "sender" if name.value == "instance" else "instance"
                yield (
                    src,
                    name,
                    f"`{name.value}` -> `{new}` in {fn.name.value}()",
                    {src.rel: _apply(src, name, lambda _n, new=new: cst.Name(new))},
                )


def _is_docstring(stmt: cst.CSTNode) -> bool:
    return (
        isinstance(stmt, cst.SimpleStatementLine)
        and len(stmt.body) == 1
        and isinstance(stmt.body[0], cst.Expr)
        and isinstance(stmt.body[0].value, (cst.SimpleString, cst.ConcatenatedString))
    )


def op_delete_statement(src: _Source, project: dict[str, _Source]) -> Found:
    for fn in _nodes(src, cst.FunctionDef):
        if fn.name.value == "ready":
            continue  # remove-connect says ready()'s
        for line in _nodes(src, cst.SimpleStatementLine):
            if src.parents.get(src.parents.get(line)) is not fn and not (
                src.positions[fn].start.line < _line(src, line) <= src.positions[fn].end.line
                and isinstance(src.parents.get(src.parents.get(line)), (cst.If, cst.With, cst.For, cst.Else))
            ):
                continue
            if _is_docstring(line) or any(
                isinstance(x, (cst.Return, cst.Pass, cst.Import, cst.ImportFrom)) for x in line.body
            ):
                continue
            text = _code(line).strip().splitlines()
            shown = text[0] + (" ..." if len(text) > 1 else "")
            yield (
                src,
                line,
                f"`{shown}` removed",
                {src.rel: _apply(src, line, lambda _n: cst.SimpleStatementLine([cst.Pass()]))},
            )


def _op(name: str) -> Callable[[_Source, dict[str, _Source]], Found]:
    function: Callable[[_Source, dict[str, _Source]], Found] = globals()[
        "op_" + name.replace("-", "_").removesuffix("_to_create")
    ]
    return function


# --------------------------------------------------------------------------- making them


def make(files: dict[str, str], mutable: list[str]) -> list[Mutant]:
    """Every mutant of `mutable` (files of `files`, posix paths relative to the project, the
    solution's own files): each one mistake; two operators making the same code keep the
    first."""
    if cst is None:
        raise MutantsError(
            "mutants need libcst: pip install 'django-signals-grader[authoring]' (or: pip install libcst)"
        )
    project = {rel: _parse(rel, text) for rel, text in files.items() if rel.endswith(".py")}
    found: list[Mutant] = []
    seen: set[tuple[tuple[str, str], ...]] = set()
    per_line: dict[str, int] = {}
    for operator in OPERATORS:
        for rel in sorted(mutable):
            if rel not in project:
                continue
            for src, node, description, changes in _op(operator)(project[rel], project):
                changes = {f: t for f, t in changes.items() if t != files.get(f)}
                key = tuple(sorted(changes.items()))
                if not changes or key in seen:
                    continue
                seen.add(key)
                base = f"{operator}@{src.rel}:{_line(src, node)}"
                per_line[base] = per_line.get(base, 0) + 1
                ident = base if per_line[base] == 1 else f"{base}#{per_line[base]}"
                found.append(Mutant(ident, operator, src.rel, _line(src, node), description, changes))
    return found


def equivalents(root: Path) -> dict[str, str]:
    """mutants.toml's [equivalent] table: mutant id -> why it is no mistake."""
    path = Path(root) / MUTANTS_FILE
    if not path.is_file():
        return {}
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise MutantsError(f"{MUTANTS_FILE}: cannot be read ({exc})") from None
    unknown = set(data) - {"equivalent"}
    table = data.get("equivalent", {})
    if unknown or not isinstance(table, dict) or not all(isinstance(v, str) and v.strip() for v in table.values()):
        raise MutantsError(
            f'{MUTANTS_FILE}: one table, [equivalent], of "operator@file:line" = "why '
            'this mutant is no mistake" (a non-empty reason each)'
        )
    return dict(table)
