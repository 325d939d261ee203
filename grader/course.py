"""A course's rules for a term: ``course.toml``.

Which assignments are due when (in the course's time zone), what lateness costs, which of a
student's submissions counts, and each student's extensions. Read with :func:`load` (a
:class:`CourseError` says ``file:key: what is wrong, what is expected``); the rest is pure
functions on the result: :func:`due_for` (a student's due date, extension included) and
:func:`lateness` (what a submission made at a given time costs).

The schema (docs/course.md shows it whole)::

    name = "Django signals, autumn 2026"
    timezone = "Europe/Berlin"          # an IANA zone (zoneinfo)

    [late]                              # the course's late policy (every key optional)
    grace_minutes = 15                  # late by at most this much is on time
    penalty_per_day = 10                # percent of max score per started day late
    max_penalty = 50                    # the penalty's cap, percent
    accept = true                       # false: late work is not accepted (final score 0)

    [[assignments]]
    name = "signals-m2m"                # the assignment's name, as the grader knows it
    due = 2026-10-12T23:59:00           # local time in `timezone`, or with an offset
    counts = "last-before-due"          # or "last", "best"
    max_submissions = 5                 # enforced by the grading service, not by a download
    late = { penalty_per_day = 20 }     # this assignment's changes to [late]

    [extensions.ada]                    # per student (the student id of the reports)
    signals-m2m = 2026-10-14T23:59:00       # a new due date, or
    # signals-m2m = { days = 2 }            # extra days
"""

from __future__ import annotations

import datetime as dt
import math
import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

COUNTS = ("last-before-due", "last", "best")
DAY_S = 86400


class CourseError(Exception):
    """course.toml cannot be used; the message is ``file:key: what is wrong, what is expected``."""


@dataclass(frozen=True)
class LatePolicy:
    grace_minutes: float = 0.0
    penalty_per_day: float = 0.0  # percent of the max score per started day late
    max_penalty: float = 100.0  # percent
    accept: bool = True  # False: late work is not accepted (final score 0)


@dataclass(frozen=True)
class CourseAssignment:
    name: str
    due: dt.datetime  # aware
    late: LatePolicy
    counts: str = "last-before-due"
    max_submissions: int | None = None  # kept for the grading service; a download cannot count them


@dataclass(frozen=True)
class Extension:
    student: str
    assignment: str
    due: dt.datetime | None = None  # a new due date
    days: float = 0.0  # or extra days on the assignment's


@dataclass(frozen=True)
class Course:
    name: str
    timezone: ZoneInfo
    late: LatePolicy
    assignments: dict[str, CourseAssignment] = field(default_factory=dict)
    extensions: dict[tuple[str, str], Extension] = field(default_factory=dict)  # (student, assignment)
    path: Path | None = None

    def assignment(self, name: str) -> CourseAssignment:
        """The course's rules of the assignment `name`; CourseError when it has none."""
        try:
            return self.assignments[name]
        except KeyError:
            raise CourseError(
                f"{self.path or 'course.toml'}:assignments: no assignment named {name!r} "
                f"(it has {', '.join(sorted(self.assignments)) or 'none'}): add an [[assignments]] entry with "
                f'name = "{name}"'
            ) from None


@dataclass(frozen=True)
class Lateness:
    """What a submission made at `submitted` costs against the student's due date."""

    due: dt.datetime
    submitted: dt.datetime
    late_s: int  # seconds after the due date (0: on time, within the grace too)
    days: int  # started days late (0: on time)
    percent: float  # penalty, percent of the max score (capped)
    accepted: bool

    @property
    def on_time(self) -> bool:
        return self.late_s == 0

    def points(self, max_score: float) -> float:
        """The penalty in points of an assignment worth `max_score`."""
        return round(max_score * self.percent / 100, 4)

    def note(self) -> str:
        """In words, for the gradebook and the student: "on time", "2 days late: -20%"."""
        if self.on_time:
            return "on time"
        days = f"{self.days} day{'s' if self.days != 1 else ''} late"
        if not self.accepted:
            return f"{days}: late work is not accepted"
        return f"{days}: -{_num(self.percent)}%" if self.percent else f"{days}: no penalty"


def _num(value: float) -> str:
    return f"{value:.2f}".rstrip("0").rstrip(".")


# ----------------------------------------------------------------------------- pure rules


def due_for(course: Course, assignment: str, student: str) -> dt.datetime:
    """The student's due date of `assignment`: the course's, or their extension's (a new due
    date, or extra days on the course's)."""
    rules = course.assignment(assignment)
    ext = course.extensions.get((student, assignment))
    if ext is None:
        return rules.due
    if ext.due is not None:
        return ext.due
    return rules.due + dt.timedelta(days=ext.days)


def penalty_percent(policy: LatePolicy, late_s: float) -> tuple[int, float]:
    """(started days late, penalty in percent) of a submission `late_s` seconds after the due
    date, the grace left out: within the grace it is on time; after it, every started day
    (counted from the due date itself) costs penalty_per_day, at most max_penalty."""
    if late_s <= policy.grace_minutes * 60 or late_s <= 0:
        return 0, 0.0
    days = math.ceil(late_s / DAY_S)
    return days, min(policy.penalty_per_day * days, policy.max_penalty)


def lateness(policy: LatePolicy, due: dt.datetime, submitted: dt.datetime) -> Lateness:
    """What a submission made at `submitted` costs (both dates aware)."""
    late_s = (submitted - due).total_seconds()
    days, percent = penalty_percent(policy, late_s)
    late = math.ceil(late_s) if days else 0
    accepted = policy.accept or not days
    return Lateness(due, submitted, late, days, percent if accepted else 100.0, accepted)


def is_on_time(policy: LatePolicy, due: dt.datetime, submitted: dt.datetime) -> bool:
    """Made by the due date (or within its grace)?"""
    return lateness(policy, due, submitted).on_time


# ----------------------------------------------------------------------------- reading


def load(path: Path) -> Course:
    """Read course.toml; CourseError (``file:key: what is wrong, what is expected``) when it
    cannot be used."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise CourseError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    except UnicodeDecodeError:
        raise CourseError(f"{path}: is not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise CourseError(f"{path}: is not valid TOML ({exc})") from None
    return parse(data, path)


def parse(data: dict[str, Any], path: Path | str = "course.toml") -> Course:
    """A Course from course.toml's data (see :func:`load`)."""
    where = str(path)

    def fail(key: str, message: str) -> CourseError:
        return CourseError(f"{where}:{key}: {message}")

    _unknown(data, {"name", "timezone", "late", "assignments", "extensions"}, "", fail)
    name = data.get("name", "")
    if not isinstance(name, str):
        raise fail("name", f"is {_kind(name)}, expected the course's name as a string")
    zone_name = data.get("timezone")
    if zone_name is None:
        raise fail("timezone", 'is missing, expected an IANA time zone such as "Europe/Berlin" or "UTC"')
    if not isinstance(zone_name, str):
        raise fail("timezone", f'is {_kind(zone_name)}, expected an IANA time zone such as "Europe/Berlin"')
    try:
        zone = ZoneInfo(zone_name)
    except (ZoneInfoNotFoundError, ValueError):
        raise fail(
            "timezone", f'{zone_name!r} is not a time zone, expected an IANA name such as "Europe/Berlin"'
        ) from None

    late = _late(data.get("late", {}), LatePolicy(), "late", fail)

    raw_assignments = data.get("assignments")
    if raw_assignments is None:
        raise fail("assignments", "is missing, expected at least one [[assignments]] table with name and due")
    if not isinstance(raw_assignments, list) or not all(isinstance(a, dict) for a in raw_assignments):
        raise fail("assignments", "expected an array of tables: [[assignments]] with name and due")
    assignments: dict[str, CourseAssignment] = {}
    for i, entry in enumerate(raw_assignments):
        key = f"assignments[{i}]"
        _unknown(entry, {"name", "due", "counts", "max_submissions", "late"}, key, fail)
        aname = entry.get("name")
        if not isinstance(aname, str) or not aname:
            raise fail(f"{key}.name", f"is {_kind(aname)}, expected the assignment's name (as the grader knows it)")
        key = f"assignments[{aname}]"
        if aname in assignments:
            raise fail(f"{key}.name", "is given twice, expected one [[assignments]] entry per assignment")
        if "due" not in entry:
            raise fail(f"{key}.due", "is missing, expected a date and time such as 2026-10-12T23:59:00")
        due = _datetime(entry["due"], zone, f"{key}.due", fail)
        counts = entry.get("counts", "last-before-due")
        if counts not in COUNTS:
            raise fail(f"{key}.counts", f"is {counts!r}, expected one of {', '.join(map(repr, COUNTS))}")
        limit = entry.get("max_submissions")
        if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
            raise fail(f"{key}.max_submissions", f"is {limit!r}, expected a whole number of at least 1")
        policy = _late(entry.get("late", {}), late, f"{key}.late", fail)
        assignments[aname] = CourseAssignment(aname, due, policy, counts, limit)

    extensions: dict[tuple[str, str], Extension] = {}
    raw_ext = data.get("extensions", {})
    if not isinstance(raw_ext, dict):
        raise fail("extensions", "expected tables [extensions.STUDENT] of assignment = new due date or { days = N }")
    for student, given in raw_ext.items():
        if not isinstance(given, dict):
            raise fail(f"extensions.{student}", "expected a table: assignment = new due date, or { days = N }")
        for aname, value in given.items():
            key = f"extensions.{student}.{aname}"
            if aname not in assignments:
                raise fail(key, f"names no assignment of the course, expected one of {', '.join(sorted(assignments))}")
            if isinstance(value, dict):
                _unknown(value, {"due", "days"}, key, fail)
                if ("due" in value) == ("days" in value):
                    raise fail(key, "expected either due (a new due date) or days (extra days), not both or neither")
                value = value.get("due", value.get("days"))
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                if value <= 0:
                    raise fail(key, f"is {value!r} days, expected a positive number of extra days")
                extensions[(student, aname)] = Extension(student, aname, days=float(value))
            else:
                extensions[(student, aname)] = Extension(student, aname, due=_datetime(value, zone, key, fail))
    return Course(name, zone, late, assignments, extensions, Path(path))


def _late(raw: Any, base: LatePolicy, key: str, fail) -> LatePolicy:
    if not isinstance(raw, dict):
        raise fail(key, "expected a table with grace_minutes, penalty_per_day, max_penalty or accept")
    _unknown(raw, {"grace_minutes", "penalty_per_day", "max_penalty", "accept"}, key, fail)
    changes: dict[str, Any] = {}
    for name, top in (("grace_minutes", None), ("penalty_per_day", None), ("max_penalty", 100)):
        if name not in raw:
            continue
        value = raw[name]
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
            raise fail(f"{key}.{name}", f"is {value!r}, expected a number of at least 0")
        if top is not None and value > top:
            raise fail(f"{key}.{name}", f"is {value!r}, expected a percent from 0 to {top}")
        changes[name] = float(value)
    if "accept" in raw:
        if not isinstance(raw["accept"], bool):
            raise fail(f"{key}.accept", f"is {raw['accept']!r}, expected true or false")
        changes["accept"] = raw["accept"]
    return replace(base, **changes)


def _datetime(value: Any, zone: ZoneInfo, key: str, fail) -> dt.datetime:
    """A due date: a TOML date-time (local: in the course's zone; or with an offset), a date
    alone (the end of that day, 23:59:59), or the same as a string."""
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value.strip())
        except ValueError:
            raise fail(key, f"is {value!r}, expected a date and time such as 2026-10-12T23:59:00") from None
    if isinstance(value, dt.datetime):
        return value if value.tzinfo is not None else value.replace(tzinfo=zone)
    if isinstance(value, dt.date):
        return dt.datetime.combine(value, dt.time(23, 59, 59), zone)
    raise fail(key, f"is {_kind(value)}, expected a date and time such as 2026-10-12T23:59:00")


def _unknown(table: dict[str, Any], known: set[str], key: str, fail) -> None:
    for name in table:
        if name not in known:
            where = f"{key}.{name}" if key else name
            raise fail(where, f"is not a key the course knows, expected one of {', '.join(sorted(known))}")


def _kind(value: Any) -> str:
    if value is None:
        return "missing"
    return f"{value!r} ({type(value).__name__})"
