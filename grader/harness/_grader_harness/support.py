"""Helpers for the hidden tests: make users of any user model, run student code
with feedback, count profiles, record evidence for the grader."""
from __future__ import annotations

import contextlib
from html.parser import HTMLParser

import pytest

from _grader_harness import config, errors, plugin

PASSWORD = "Grader-pw-7f3K!q"


def fail(message: str, diagnosis: str = "", **extra) -> None:
    plugin.record(message=message, diagnosis=diagnosis, **extra)
    pytest.fail(message, pytrace=False)


def require_database() -> None:
    err = plugin.STATE["db_error"]
    if err:
        fail("the database could not be set up with your migrations: " + err["message"]
             if err.get("type") != "migrations" else err["message"],
             diagnosis="migrations", location=err["location"], traceback=err["traceback"])


def profile_model():
    from django.apps import apps

    try:
        return apps.get_model(config.PROFILE_MODEL)
    except (LookupError, ValueError):
        fail(f"there is no model {config.PROFILE_MODEL}: keep the Profile model of the template "
             "in users/models.py and 'users' in INSTALLED_APPS.", diagnosis="no-profile-model")


def user_model():
    from django.contrib.auth import get_user_model

    return get_user_model()


def fields_for(tag: str, command: bool = False) -> dict:
    """Valid constructor arguments for a fresh user of whatever user model is in use."""
    User = user_model()
    name = f"{config.TOKEN}-{tag}"[:30]
    values = {}
    for field_name in [User.USERNAME_FIELD, *User.REQUIRED_FIELDS]:
        field = User._meta.get_field(field_name)
        internal = field.get_internal_type()
        if internal == "EmailField" or "email" in field_name:
            # @localhost is on EmailValidator's allowlist: valid, and it spares compiling
            # the internationalised domain regex (~35 ms) in every run.
            values[field_name] = f"{name}@localhost"
        elif internal in ("IntegerField", "PositiveIntegerField", "BigIntegerField",
                          "SmallIntegerField", "PositiveSmallIntegerField"):
            values[field_name] = 1
        else:
            max_length = getattr(field, "max_length", None) or 150
            values[field_name] = name[:max_length]
    return values


@contextlib.contextmanager
def student_code(action: str, when: str = ""):
    """Run code that reaches the student's receivers; turn an exception into feedback."""
    try:
        yield
    except pytest.fail.Exception:
        raise
    except Exception as exc:
        if errors.missing_at_import(exc):
            raise  # the grader's environment, not this code: the plugin skips the test
        info = errors.describe(exc)
        diagnosis, advice = explain(exc, when)
        if diagnosis == "receiver-kwargs" and not info["location"]:
            # Django's dispatcher raised it before entering the receiver: point at its def.
            info["location"] = _receiver_named_in(str(exc))
        where = f" ({info['location']})" if info["location"] else ""
        fail(f"{action} raised {info['message']}{where}. {advice}".strip(),
             diagnosis=diagnosis, location=info["location"], traceback=info["traceback"])


def _receiver_named_in(text: str) -> str:
    from _grader_harness import probe

    name = text.split("(", 1)[0].strip().rsplit(".", 1)[-1]
    for connect in probe.CONNECTS:
        if connect.student and connect.receiver_name.rsplit(".", 1)[-1] == name:
            return connect.receiver_where
    return ""


def explain(exc: Exception, when: str) -> tuple[str, str]:
    """Name the lesson's mistake behind an exception, with what to change."""
    from django.db import IntegrityError

    text = str(exc)
    if isinstance(exc, RecursionError):
        return ("receiver-recursion",
                "Your receiver saves the instance it was called for, which sends post_save "
                "again, forever. Do not call instance.save() inside a post_save receiver of "
                "the same model.")
    if isinstance(exc, IntegrityError) and "unique" in text.lower():
        if when == "resave":
            return ("no-created-check",
                    "Saving an existing user sent post_save again and your receiver created a "
                    "second profile. Check the `created` argument (if created: ...) - this is "
                    "the lesson's point about overriding save(): it runs on every save.")
        return ("several-receivers",
                "Two profiles were created for one new user: more than one receiver (or a "
                "receiver connected twice) creates profiles. Keep one receiver, connected once "
                "(dispatch_uid helps).")
    if isinstance(exc, TypeError) and "unexpected keyword argument" in text:
        return ("receiver-kwargs",
                "Django calls receivers with keyword arguments (signal, raw, using, "
                "update_fields, ...). Give your receiver a **kwargs parameter.")
    if isinstance(exc, ValueError) and "must be a" in text and "instance" in text:
        return ("receiver-without-sender",
                "Your receiver also runs when other models are saved (here: the new Profile "
                "itself) and tries to give them a profile. Connect it with "
                "sender=settings.AUTH_USER_MODEL so it runs for users only.")
    if isinstance(exc, ValueError) and "unsaved related object" in text:
        return ("pre-save",
                "The profile was created before the user was saved (pre_save?). Use post_save: "
                "the user has a primary key only after it is saved.")
    return ("receiver-error", "Read the error and the lines of your code above.")


def track(user) -> None:
    """Tell the grader this test created `user` (it checks the database afterwards)."""
    plugin.evidence("user", user.pk)


def profile_count(user) -> int:
    return profile_model()._default_manager.filter(user_id=user.pk).count()


def expect_one_profile(user, how: str, when: str = "create") -> None:
    count = profile_count(user)
    if count == 1:
        return
    if count == 0:
        if when == "create":
            fail(f"no profile exists after {how}. A post_save receiver for the user model must "
                 "create it, and it must be connected when the app starts (in ready()).",
                 diagnosis="no-profile")
        fail(f"the user has no profile any more after {how}.", diagnosis="profile-lost")
    fail(f"{count} profiles exist for one user after {how}; there must be exactly one.",
         diagnosis="no-created-check" if when == "resave" else "several-receivers")


PROFILE_MARK = "written by the grader: must survive saving the user again"
_TEXT_TYPES = ("CharField", "TextField", "SlugField")
_NUMBER_TYPES = ("IntegerField", "PositiveIntegerField", "BigIntegerField", "SmallIntegerField",
                 "PositiveSmallIntegerField", "PositiveBigIntegerField")


def _mark_field():
    """A field of the profile that can hold a mark: (name, value), or None.

    Any text field (not a file or an e-mail, no choices, not unique), else any number
    field; profiles of every shape are graded, and one without such a field is checked
    by its primary key alone.
    """
    Profile = profile_model()
    for types, value in ((_TEXT_TYPES, PROFILE_MARK), (_NUMBER_TYPES, 7919)):
        for field in Profile._meta.concrete_fields:
            if (field.primary_key or field.is_relation or field.choices or field.unique
                    or field.get_internal_type() not in types or getattr(field, "generated", False)):
                continue
            if isinstance(value, str):
                max_length = field.max_length or len(value)
                if max_length < 8:
                    continue
                value = value[:max_length]
            return field.name, value
    return None


def mark_profile(user) -> tuple[int, tuple | None]:
    """Give the user's profile some data (without sending signals); return (its pk, the mark)."""
    manager = profile_model()._default_manager
    mark = _mark_field()
    if mark is not None:
        manager.filter(user_id=user.pk).update(**{mark[0]: mark[1]})
    return manager.get(user_id=user.pk).pk, mark


def expect_same_profile(user, before: tuple[int, tuple | None], how: str) -> None:
    pk, mark = before
    profile = profile_model()._default_manager.filter(user_id=user.pk).first()
    if profile is not None and profile.pk == pk and (mark is None or getattr(profile, mark[0]) == mark[1]):
        return
    replaced = profile is not None and profile.pk != pk
    what = "replaced by a new one" if replaced else "overwritten"
    data = f" (its {mark[0]})" if mark is not None and not replaced else ""
    fail(f"after {how} the user's profile was {what}: its data{data} was lost. Saving an "
         "existing user must leave its profile alone: create the profile only when `created` "
         "is True (or use get_or_create), never delete and re-create it.",
         diagnosis="profile-replaced")


def create_tracked(tag: str, how: str, make) -> object:
    """Create a user with `make(fields)`, record it, and check it has one profile."""
    require_database()
    profile_model()
    fields = fields_for(tag)
    with student_code(how):
        user = make(fields)
    track(user)
    expect_one_profile(user, how)
    return user


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
            value, selected = self._options[-1]
            self._options[-1] = ("".join(self._text).strip(), selected)
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
