"""Helpers for the hidden tests of every assignment: make users of any user model, run
student code with feedback, record evidence for the grader. An assignment's own helpers (its
models, its expectations) live beside its hidden tests, in ``_grader_assignment.py``."""

from __future__ import annotations

import contextlib
import traceback
from html.parser import HTMLParser

import pytest

from _grader_harness import errors, plugin, probe, roles, state

PASSWORD = "Grader-pw-7f3K!q"


def fail(message: str, diagnosis: str = "", **extra) -> None:
    plugin.record(message=message, diagnosis=diagnosis, **extra)
    pytest.fail(message, pytrace=False)


def skip(reason: str) -> None:
    """Skip the running test with a reason of the hidden suite's own (shown to the student)."""
    plugin.record(message=reason, diagnosis="", location="", traceback=[])
    pytest.skip(reason)


def require_database() -> None:
    """The grading database was made from the student's models (else no test can run)."""
    err = state.current().db_error
    if err:
        engine = state.current().student_db_engine
        if engine and not engine.endswith("sqlite3"):
            fail(
                f"your models cannot be stored in SQLite: {err['message']}. Your project uses the "
                f"database engine {engine}; the grader grades every project on a fresh SQLite "
                "database made from your models, so models that need that engine's own fields "
                "(GIS geometry, PostgreSQL arrays, ...) cannot be graded here. Ask your instructor.",
                diagnosis="database-not-supported",
                location=err["location"],
                traceback=err["traceback"],
            )
        fail(
            "the database could not be made from your models: " + err["message"],
            diagnosis="database",
            location=err["location"],
            traceback=err["traceback"],
        )


def require_migrations() -> None:
    """The student's migrations create the models as models.py describes them."""
    err = state.current().migration_problem
    if err:
        fail(err["message"], diagnosis="migrations", location=err["location"], traceback=err["traceback"])


def user_model():
    from django.contrib.auth import get_user_model

    return get_user_model()


def role_model(role: str, missing: str = "", diagnosis: str = "models-changed"):
    """The model class of a role of the rubric's [models] ("user": the user model in use).
    When the project has no such model: with `missing` (what to keep, in the exercise's words)
    the test fails with "there is no model <app.Model>: <missing>" and `diagnosis`; without,
    LookupError is raised (for a caller with words of its own)."""
    try:
        return roles.role_model(role)
    except (LookupError, ValueError) as exc:
        if not missing:
            raise LookupError(str(exc)) from exc
        fail(f"there is no model {state.current().models.get(role)}: {missing}", diagnosis=diagnosis)


class NoValidValue(Exception):
    """The grader cannot make a valid value for a required field of the user model."""


INTEGER_TYPES = (
    "IntegerField",
    "PositiveIntegerField",
    "BigIntegerField",
    "SmallIntegerField",
    "PositiveSmallIntegerField",
    "PositiveBigIntegerField",
)


def _candidates(field, text: str) -> list:
    """Values to try for `field`, most ordinary first (each is checked with field.clean)."""
    import datetime
    import decimal

    from django.utils import timezone

    if field.choices:
        return [value for value, _ in field.flatchoices if value not in ("", None)]
    internal = field.get_internal_type()
    bounds = [
        v.limit_value
        for v in field.validators
        if hasattr(v, "limit_value") and isinstance(v.limit_value, (int, float, decimal.Decimal, datetime.date))
    ]
    if internal == "EmailField" or "email" in field.name:
        # @localhost is on EmailValidator's allowlist: valid, and it spares compiling
        # the internationalised domain regex (~35 ms) in every run.
        return [f"{text}@localhost"]
    if internal in INTEGER_TYPES:
        return [1, *bounds, 18, 100, 2000]
    if internal in ("FloatField", "DecimalField"):
        return [decimal.Decimal(1) if internal == "DecimalField" else 1.0, *bounds]
    if internal == "BooleanField":
        return [True, False]
    if internal == "DateTimeField":
        return [timezone.now(), *bounds]
    if internal == "DateField":
        return [datetime.date(2000, 1, 1), *bounds, datetime.date.today()]
    if internal == "TimeField":
        return [datetime.time(12, 0)]
    if internal == "DurationField":
        return [datetime.timedelta(hours=1)]
    if internal == "UUIDField":
        import uuid

        return [uuid.uuid4()]
    if internal == "JSONField":
        return [{}]
    if internal in ("URLField",):
        return [f"http://{text}.localhost/"]
    max_length = getattr(field, "max_length", None) or 150
    return [text[:max_length], "x" * min(8, max_length)]


def _valid_value(field, text: str, depth: int = 0):
    """A value `field` accepts (its choices, validators, bounds), or NoValidValue."""
    if field.many_to_one or field.one_to_one:
        related = field.related_model
        existing = related._default_manager.order_by("pk").first()
        if existing is not None:
            return existing
        if depth:
            raise NoValidValue(f"{field.name} (a link to {related._meta.label})")
        try:
            values = {
                f.name: _valid_value(f, text, depth + 1)
                for f in related._meta.concrete_fields
                if not (
                    f.primary_key
                    or f.null
                    or f.has_default()
                    or f.auto_created
                    or getattr(f, "auto_now", False)
                    or getattr(f, "auto_now_add", False)
                )
            }
            return related._default_manager.create(**values)
        except NoValidValue:
            raise
        except Exception:
            raise NoValidValue(f"{field.name} (a link to {related._meta.label})") from None
    for value in _candidates(field, text):
        try:
            field.clean(value, None)
        except Exception:
            continue
        return value
    raise NoValidValue(f"{field.name} ({field.get_internal_type()})")


def fields_for(tag: str, as_text: bool = False) -> dict:
    """Valid values for the username and the required fields of a fresh user of whatever
    user model is in use, made from each field's type (choices, dates, numbers, links).
    `as_text`: as a form or the createsuperuser command take them (a link as its pk).
    A required field the grader cannot fill skips the test that needs it, with the reason."""
    User = user_model()
    name = f"{state.current().token}-{tag}"[:30]
    values = {}
    for field_name in [User.USERNAME_FIELD, *User.REQUIRED_FIELDS]:
        field = User._meta.get_field(field_name)
        try:
            value = _valid_value(field, name)
        except NoValidValue as exc:
            skip(
                f"the grader cannot make a valid value for the required field {exc} of your "
                "user model, so this way of creating users was not checked"
            )
        if as_text:
            value = str(value.pk if hasattr(value, "_meta") else value)
        values[field_name] = value
    return values


def made_up(fields: dict) -> list[str]:
    """The fields whose values the grader invented beyond a name and an e-mail address."""
    User = user_model()
    return [
        name
        for name in fields
        if name != User.USERNAME_FIELD
        and User._meta.get_field(name).get_internal_type() not in ("CharField", "EmailField", "TextField")
    ]


@contextlib.contextmanager
def student_code(action: str, when: str = ""):
    """Run code that reaches the student's receivers; turn an exception into feedback."""
    try:
        yield
    except pytest.fail.Exception:
        raise
    except Exception as exc:
        if errors.missing_at_import(exc) or isinstance(exc, pytest.exit.Exception):
            raise  # the plugin skips the test (a missing package) or fails it (pytest.exit)
        info = errors.describe(exc)
        diagnosis, advice = explain(exc, when)
        if diagnosis == "save-signature":
            info["location"] = overridden_save_named_in(str(exc))[1]
        elif diagnosis == "receiver-kwargs" and not info["location"]:
            # Django's dispatcher raised it before entering the receiver: point at its def.
            info["location"] = receiver_named_in(str(exc))
        where = f" ({info['location']})" if info["location"] else ""
        fail(
            f"{action} raised {info['message']}{where}. {advice}".strip(),
            diagnosis=diagnosis,
            location=info["location"],
            traceback=info["traceback"],
        )


def failure_cause() -> BaseException | None:
    """Inside `except pytest.fail.Exception`: the exception student_code() turned into it."""
    import sys

    exc = sys.exc_info()[1]
    return exc.__context__ if exc is not None else None


def in_receiver(exc: BaseException) -> bool:
    """Was a signal receiver running when `exc` was raised?"""
    return any(
        f.filename.replace("\\", "/").endswith("django/dispatch/dispatcher.py")
        for f in traceback.extract_tb(exc.__traceback__)
    )


def _skip_if_made_up_value_refused(fields: dict, how: str) -> None:
    """Never blame the student's create_user for a value the grader made up: when the
    error names a field the grader invented and no receiver was running, skip instead."""
    invented = made_up(fields)
    cause = failure_cause()
    if not invented or cause is None:
        return
    text = str(cause)
    named = [n for n in invented if n in text]
    if named and not in_receiver(cause):
        skip(
            f"{how} refused the value the grader made up for {', '.join(named)} "
            f"({errors.one_line(cause, 200)}), so this way of creating users was not checked"
        )


def overridden_save_named_in(text: str) -> tuple[str, str] | None:
    """("Article.save", "blog/models.py:12") when `text` is the TypeError of a save() method,
    written by the student, that takes no **kwargs."""
    import inspect
    import re

    from django.apps import apps

    match = re.search(r"(\w+)\.save\(\) (got an unexpected keyword argument|takes \d+ positional)", text)
    if not match:
        return None
    for model in apps.get_models():
        if model.__name__ != match.group(1) or "save" not in vars(model):
            continue
        func = vars(model)["save"]
        code = getattr(func, "__code__", None)
        rel = code and probe.relpath(code.co_filename)
        if not rel:
            continue
        kinds = [p.kind for p in inspect.signature(func).parameters.values()]
        if inspect.Parameter.VAR_KEYWORD not in kinds:
            return f"{model.__name__}.save", f"{rel}:{code.co_firstlineno}"
    return None


def receiver_named_in(text: str) -> str:
    """file:line of the student's receiver an error message names ("on_save() got an unexpected
    keyword argument ..."), '' when no receiver of the student's has that name."""
    name = text.split("(", 1)[0].strip().rsplit(".", 1)[-1]
    for connect in state.current().connects:
        if connect.student and connect.receiver_name.rsplit(".", 1)[-1] == name:
            return connect.receiver_where
    return ""


def explain(exc: Exception, when: str) -> tuple[str, str]:
    """Name the mistake behind an exception, with what to change: the assignment's own
    explainers first, then what any signals exercise can go wrong with, in the assignment's
    words where it has them (what the assignment declares: EXPLAINERS and ADVICE of its
    tests/_grader_assignment.py, read into the run state by the plugin)."""
    run = state.current()
    for explainer in run.explainers:
        named = explainer(exc, when)
        if named:
            return named
    diagnosis, advice = _explain(exc)
    return diagnosis, run.advice.get(diagnosis, advice)


def _explain(exc: Exception) -> tuple[str, str]:
    text = str(exc)
    if isinstance(exc, RecursionError):
        return (
            "receiver-recursion",
            "Your receiver saves the instance it was called for, which sends the same signal "
            "again, forever. Do not call instance.save() inside a receiver of that model's "
            "save signals (update the row with queryset.update() if you must).",
        )
    save = overridden_save_named_in(text) if isinstance(exc, TypeError) else None
    if save is not None:
        name, where = save
        return (
            "save-signature",
            f"{name}() ({where}) does not accept the arguments Django passes to save() "
            "(force_insert, using, update_fields, ...): Model.objects.create() and other code "
            "call it with them. Define it as `def save(self, *args, **kwargs):` and call "
            "`super().save(*args, **kwargs)`.",
        )
    if isinstance(exc, TypeError) and "unexpected keyword argument" in text:
        return ("receiver-kwargs", errors.RECEIVER_KWARGS_ADVICE)
    if isinstance(exc, ValueError) and "must be a" in text and "instance" in text:
        return (
            "receiver-without-sender",
            "Your receiver also runs when other models send the signal and treats their "
            "instances as the model it is meant for. Connect it with sender=... so it runs "
            "for that model only.",
        )
    if isinstance(exc, ValueError) and "unsaved related object" in text:
        return (
            "pre-save",
            "Your receiver links an object to one that is not saved yet (pre_save?). Use "
            "post_save: an object has a primary key only after it is saved.",
        )
    if errors.is_disk_full(exc):
        return ("too-much-disk", errors.disk_full_advice())
    if isinstance(exc, FileNotFoundError) and exc.filename:
        name = errors.clean(str(exc.filename))
        return (
            "file-missing",
            f"Your code opens {name}, which is not in your submission (is it in .gitignore, "
            "or only on your computer?). Add the file to your repository, or make the code "
            "work without it.",
        )
    return ("receiver-error", "Read the error and the lines of your code above.")


def track(obj, role: str = "user") -> None:
    """Tell the grader this test made `obj`, an object of `role` (the grader checks it in the
    database afterwards, as the rubric's [evidence] says)."""
    from _grader_harness.protocol import OBJECT_KIND

    plugin.evidence(OBJECT_KIND + role, obj.pk)


def note(name: str, value) -> None:
    """Tell the assignment's verify.py something about this test, as text (a stored file's
    name it expects gone, an order id whose e-mail it expects): `run.notes[name]` there. The
    rubric's [evidence] `notes` says which names a test must leave before its pass counts."""
    from _grader_harness.protocol import NOTE_KIND

    plugin.evidence(NOTE_KIND + name, str(value)[:1000])


def witness(sql: str, params=()) -> list[tuple]:
    """What the grading database holds now, read by the grader's own connection (read-only,
    never the project's): for a check whose behaviour must be true during the test, not only
    in the rows left at the end. `sql` names real tables and columns (Model._meta)."""
    from _grader_harness import channel

    return channel.witness_rows(state.current().db_path, sql, params)


def stored_value(obj, field_name: str):
    """The value of `obj`'s field as its row holds it now, read by witness()."""
    meta = obj._meta
    column = meta.get_field(field_name).column
    rows = witness(f'SELECT "{column}" FROM "{meta.db_table}" WHERE "{meta.pk.column}" = ?', (obj.pk,))
    return rows[0][0] if rows else None


def create_tracked(tag: str, how: str, make, as_text: bool = False, role: str = "user", then=None) -> object:
    """Create an object of `role` (by default a user) with `make(fields)` (fields valid for
    the user model), record it as evidence, and run the assignment's check `then(obj, how)`."""
    require_database()
    fields = fields_for(tag, as_text)
    try:
        with student_code(how):
            obj = make(fields)
    except pytest.fail.Exception:
        _skip_if_made_up_value_refused(fields, how)
        raise
    track(obj, role)
    if then is not None:
        then(obj, how)
    return obj


class _FormReader(HTMLParser):
    """The controls of one HTML form, as a browser would submit them unchanged."""

    def __init__(self, form_id: str):
        super().__init__(convert_charrefs=True)
        self.form_id, self.inside, self.depth = form_id, False, 0
        self.data: list[tuple[str, str]] = []
        self.fields: set[str] = set()  # every control name, sent or not (an unchecked box)
        self._select: tuple[str, bool] | None = None
        self._options: list[tuple[str, bool]] = []
        self._option_value: str | None = None
        self._textarea: str | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag, attrs):
        a = {k: (v if v is not None else "") for k, v in attrs}
        if tag == "form" and not self.inside and (a.get("id") == self.form_id or not self.form_id):
            self.inside, self.depth = True, 1
            return
        if not self.inside:
            return
        if tag == "form":
            self.depth += 1
        name = a.get("name")
        if tag == "input" and name:
            kind = a.get("type", "text").lower()
            self.fields.add(name)
            if "disabled" in a or kind in ("submit", "button", "image", "reset", "file"):
                return
            if kind in ("checkbox", "radio"):
                if "checked" in a:
                    self.data.append((name, a.get("value", "on")))
                return
            self.data.append((name, a.get("value", "")))
        elif tag == "select" and name:
            self.fields.add(name)
            self._select, self._options = (name, "multiple" in a), []
            if "disabled" in a:
                self._select = None
        elif tag == "option" and self._select is not None:
            self._option_value = a.get("value")
            self._options.append((a.get("value", ""), "selected" in a))
            self._text = []
        elif tag == "textarea" and name:
            self.fields.add(name)
            self._textarea, self._text = (None if "disabled" in a else name), []

    def handle_data(self, data):
        self._text.append(data)

    def handle_endtag(self, tag):
        if not self.inside:
            return
        if tag == "form":
            self.depth -= 1
            self.inside = self.depth > 0
        elif tag == "option" and self._select is not None and self._option_value is None and self._options:
            self._options[-1] = ("".join(self._text).strip(), self._options[-1][1])  # no value=: its text
        elif tag == "select" and self._select is not None:
            name, multiple = self._select
            chosen = [v for v, selected in self._options if selected]
            if not chosen and not multiple and self._options:
                chosen = [self._options[0][0]]
            self.data += [(name, v) for v in chosen]
            self._select = None
        elif tag == "textarea" and self._textarea is not None:
            text = "".join(self._text)
            self.data.append((self._textarea, text[1:] if text.startswith("\n") else text))
            self._textarea = None


def browser_form(html: str, form_id: str = "") -> tuple[dict[str, list[str]], set[str]]:
    """What a browser posts for the form `form_id` (the first form when empty) when nothing is
    changed: every field's initial value, hidden fields and inline management forms included.
    Returns ({name: [values]}, every control name)."""
    reader = _FormReader(form_id)
    reader.feed(html)
    reader.close()
    data: dict[str, list[str]] = {}
    for name, value in reader.data:
        data.setdefault(name, []).append(value)
    return data, reader.fields


def form_errors(html: str, limit: int = 300) -> str:
    """The error messages a Django form page shows (its `errorlist` items), as one line."""
    import re

    items = re.findall(r'<ul class="errorlist[^"]*"[^>]*>(.*?)</ul>', html, flags=re.S)
    text = " ".join(re.sub(r"<[^>]+>", " ", item) for item in items)
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."
