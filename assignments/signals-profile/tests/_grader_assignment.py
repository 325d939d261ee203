"""signals-profile's own helpers for its hidden tests: the Profile model (the rubric's role
"profile"), one profile per user, and a profile that survives saving the user again.
Imported by the hidden tests as ``_grader_assignment`` (the core's helpers are
``_grader_harness.api``)."""

from __future__ import annotations

from _grader_harness import api
from _grader_harness.api import INTEGER_TYPES, fail


def explain(exc: Exception, when: str) -> tuple[str, str] | None:
    """A unique-constraint error names this exercise's mistakes: a second profile for a user
    that is saved again, or for a new one (EXPLAINERS below)."""
    from django.db import IntegrityError

    if not (isinstance(exc, IntegrityError) and "unique" in str(exc).lower()):
        return None
    if when == "resave":
        return (
            "no-created-check",
            "Saving an existing user sent post_save again and your receiver created a "
            "second profile. Check the `created` argument (if created: ...) - this is "
            "the lesson's point about overriding save(): it runs on every save.",
        )
    return (
        "several-receivers",
        "Two profiles were created for one new user: more than one receiver (or a "
        "receiver connected twice) creates profiles. Keep one receiver, connected once "
        "(dispatch_uid helps).",
    )


EXPLAINERS = (explain,)  # read by the harness's plugin (see _grader_harness.api)
# The core names these mistakes; here is what to change, in this exercise's terms.
ADVICE = {
    "receiver-recursion": "Your receiver saves the instance it was called for, which sends post_save "
    "again, forever. Do not call instance.save() inside a post_save receiver of "
    "the same model.",
    "receiver-without-sender": "Your receiver also runs when other models are saved (here: the new "
    "Profile itself) and tries to give them a profile. Connect it with "
    "sender=settings.AUTH_USER_MODEL so it runs for users only.",
    "pre-save": "The profile was created before the user was saved (pre_save?). Use post_save: "
    "the user has a primary key only after it is saved.",
}

# Words for what the registration check finds (api.registration_problem's advice).
REGISTRATION_ADVICE = {
    "wrong-signal": "A profile must be created after a new user is saved: use post_save and its `created` argument.",
    "save-overridden": "Move the profile creation into a post_save receiver connected in ready().",
    "connected-outside-ready": "Users created before that get no profile.",
}


def profile_model():
    """The model of the role "profile" ([models] of the rubric)."""
    return api.role_model(
        "profile",
        missing="keep the Profile model of the template in users/models.py and 'users' in INSTALLED_APPS.",
        diagnosis="no-profile-model",
    )


def profile_count(user) -> int:
    return profile_model()._default_manager.filter(user_id=user.pk).count()


def expect_one_profile(user, how: str, when: str = "create") -> None:
    count = profile_count(user)
    if count == 1:
        return
    if count == 0:
        if when == "create":
            fail(
                f"no profile exists after {how}. A post_save receiver for the user model must "
                "create it, and it must be connected when the app starts (in ready()).",
                diagnosis="no-profile",
            )
        fail(f"the user has no profile any more after {how}.", diagnosis="profile-lost")
    fail(
        f"{count} profiles exist for one user after {how}; there must be exactly one.",
        diagnosis="no-created-check" if when == "resave" else "several-receivers",
    )


PROFILE_MARK = "written by the grader: must survive saving the user again"
_TEXT_TYPES = ("CharField", "TextField", "SlugField")


def _mark_field():
    """A field of the profile that can hold a mark: (name, value), or None.

    Any text field (not a file or an e-mail, no choices, not unique), else any number
    field; profiles of every shape are graded, and one without such a field is checked
    by its primary key alone.
    """
    Profile = profile_model()
    for types, value in ((_TEXT_TYPES, PROFILE_MARK), (INTEGER_TYPES, 7919)):
        for field in Profile._meta.concrete_fields:
            if (
                field.primary_key
                or field.is_relation
                or field.choices
                or field.unique
                or field.get_internal_type() not in types
                or getattr(field, "generated", False)
            ):
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
    fail(
        f"after {how} the user's profile was {what}: its data{data} was lost. Saving an "
        "existing user must leave its profile alone: create the profile only when `created` "
        "is True (or use get_or_create), never delete and re-create it.",
        diagnosis="profile-replaced",
    )


def create_tracked(tag: str, how: str, make, as_text: bool = False) -> object:
    """Create a user with `make(fields)`, record it, and check it has one profile."""
    profile_model()
    return api.create_tracked(tag, how, make, as_text, then=expect_one_profile)
