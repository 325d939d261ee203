"""Helpers for the hidden tests: make users of any user model, run student code
with feedback, count profiles, record evidence for the grader."""
from __future__ import annotations

import contextlib

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


def mark_profile(user) -> int:
    """Give the user's profile some data (without sending signals); return its pk."""
    manager = profile_model()._default_manager
    manager.filter(user_id=user.pk).update(bio=PROFILE_MARK)
    return manager.get(user_id=user.pk).pk


def expect_same_profile(user, pk: int, how: str) -> None:
    profile = profile_model()._default_manager.filter(user_id=user.pk).first()
    if profile is not None and profile.pk == pk and profile.bio == PROFILE_MARK:
        return
    what = "replaced by a new one" if profile is not None and profile.pk != pk else "overwritten"
    fail(f"after {how} the user's profile was {what}: its data (the bio) was lost. Saving an "
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
