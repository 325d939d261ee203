"""Who a launch signs in: a platform's user (its `sub`) is matched to, or made, a Student of the
course, or (an Instructor of a course the platform's registration lists) a staff user.

Matching is conservative: a user already seen on the platform is theirs; a new one is linked to
a roster student only when the platform's LIS person_sourcedid (Moodle's ID number, Canvas's
SIS id: set by the institution, not by the user) equals the roster's student_id; never by email
or name, which users can often change. An instructor edits LtiIdentity.student in the admin to
link anyone else."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.utils import timezone

from grader.service.lti import logic
from grader.service.models import LtiIdentity, LtiPlatform, Student

CLAIM = "https://purl.imsglobal.org/spec/lti/claim/"


class LaunchRefused(Exception):
    def __init__(self, message: str, status: int = 403) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Who:
    identity: LtiIdentity
    user: Any
    student: Student | None
    staff: bool


def display_name(claims: dict[str, Any]) -> str:
    name = str(claims.get("name") or "").strip()
    if not name:
        name = " ".join(str(claims.get(k) or "").strip() for k in ("given_name", "family_name")).strip()
    return name[:200]


def context_of(claims: dict[str, Any]) -> dict[str, Any]:
    context = claims.get(CLAIM + "context")
    return context if isinstance(context, dict) else {}


def _username(platform: LtiPlatform, sub: str, wanted: str = "") -> str:
    users = get_user_model()
    if wanted and len(wanted) <= 150 and not users.objects.filter(username=wanted).exists():
        return wanted
    base = f"lti-{platform.pk}-{sub}"
    if len(base) > 150:
        base = f"lti-{platform.pk}-" + hashlib.sha256(sub.encode()).hexdigest()[:32]
    return base


def _new_user(username: str, email: str, name: str) -> Any:
    user = get_user_model()(username=username, email=email[:254], first_name=name[:150])
    user.set_unusable_password()  # signed in by the platform's launches (or a token)
    user.save()
    return user


def _student_id(platform: LtiPlatform, sub: str, sourcedid: str) -> str:
    for candidate in (sourcedid, sub, f"{sub}@{platform.name}", f"lti-{platform.pk}-{sub}"):
        candidate = candidate.strip()[:150]
        if candidate and not Student.objects.filter(student_id=candidate).exists():
            return candidate
    return f"lti-{platform.pk}-" + hashlib.sha256(sub.encode()).hexdigest()[:32]


def _student(platform: LtiPlatform, identity: LtiIdentity | None, sub: str, claims: dict[str, Any]) -> Student:
    """The launching student's Student: linked, matched on the roster, or made."""
    if identity is not None and identity.student is not None:
        return identity.student
    name, email = display_name(claims), str(claims.get("email") or "")
    lis = claims.get(CLAIM + "lis")
    sourcedid = str((lis or {}).get("person_sourcedid") or "").strip() if isinstance(lis, dict) else ""
    if sourcedid:
        roster = Student.objects.filter(student_id=sourcedid).exclude(lti_identities__platform=platform).first()
        if roster is not None:
            return roster
    student_id = _student_id(platform, sub, sourcedid)
    if identity is not None and not Student.objects.filter(user=identity.user).exists():
        user = identity.user  # an instructor of the platform, launching now as a student
    else:
        user = _new_user(_username(platform, sub, student_id), email, name)
    return Student.objects.create(user=user, student_id=student_id, name=name)


def sign_in(platform: LtiPlatform, claims: dict[str, Any]) -> Who:
    """Match or make the launch's user. Raises LaunchRefused."""
    sub = str(claims.get("sub") or "").strip()
    if not sub:
        raise LaunchRefused(
            "the platform sent an anonymous launch (no user id): the grading service needs to know who you are, "
            "so the activity must share the user's identity (Moodle: privacy settings of the tool)",
            400,
        )
    roles = claims.get(CLAIM + "roles") or []
    roles = [r for r in roles if isinstance(r, str)] if isinstance(roles, list) else []
    context = context_of(claims)
    context_id = str(context.get("id") or "")
    allowed = platform.context_ids
    if allowed and context_id not in allowed:
        raise LaunchRefused(
            f"this course of {platform.name} (context id {context_id or 'none'}, "
            f"{context.get('title') or 'untitled'}) is not one this grading service serves: its operator lists "
            "the courses in the platform's registration (admin: LTI platforms, 'contexts')"
        )
    instructor = logic.is_instructor(roles)
    staff = instructor and context_id in allowed
    if instructor and not staff:
        raise LaunchRefused(
            f"you are an Instructor of this course of {platform.name}, but this grading service makes instructors "
            f"staff only for the courses its operator listed, and the registration lists none. The operator adds "
            f"the context id {context_id or '(none sent)'} to the platform's 'contexts' in the admin (LTI "
            "platforms), or with `grader service lti_platform NAME --context ID`; see docs/lti.md"
        )
    name, email = display_name(claims), str(claims.get("email") or "")[:254]
    with transaction.atomic():
        identity = LtiIdentity.objects.select_related("user", "student").filter(platform=platform, sub=sub).first()
        student: Student | None = None
        if staff:
            user = identity.user if identity is not None else _new_user(_username(platform, sub), email, name)
            student = identity.student if identity is not None else None
        else:
            student = _student(platform, identity, sub, claims)
            user = student.user
        if not user.is_active:
            raise LaunchRefused("your account on the grading service is disabled: ask your instructor")
        # Staff is the launch's to give and take only for the users LTI made (no password of their own)
        if not user.is_superuser and not user.has_usable_password() and user.is_staff != staff:
            user.is_staff = staff
            user.save(update_fields=["is_staff"])
        if student is not None and not student.name and name:
            student.name = name
            student.save(update_fields=["name"])
        values = {
            "user": user,
            "student": student,
            "name": name,
            "email": email,
            "roles": roles,
            "staff": staff,
            "last_launch": timezone.now(),
        }
        try:
            identity, _ = LtiIdentity.objects.update_or_create(platform=platform, sub=sub, defaults=values)
        except IntegrityError:  # the same user's launch in another window, at the same moment
            raise LaunchRefused("this launch raced another of yours: open the activity again", 409) from None
    return Who(identity, user, student, staff)
