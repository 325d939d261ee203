"""course.toml: its schema's errors (file:key: what is wrong, what is expected) and the late
policy's arithmetic (grace, per started day, cap, not accepted), extensions and due dates."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from grader import course
from grader.classdata import marks
from grader.model import Report, RunStatus, Timing

BERLIN = "Europe/Berlin"

COURSE = """
name = "Signals, autumn 2026"
timezone = "Europe/Berlin"

[late]
grace_minutes = 15
penalty_per_day = 10
max_penalty = 30

[[assignments]]
name = "signals-profile"
due = 2026-10-12T23:59:00

[[assignments]]
name = "signals-m2m"
due = 2026-10-19T23:59:00+00:00
counts = "best"
max_submissions = 3
late = { penalty_per_day = 25, max_penalty = 100 }

[[assignments]]
name = "signals-files"
due = 2026-10-26
counts = "last"
[assignments.late]
accept = false

[extensions.ada]
signals-profile = 2026-10-14T12:00:00
signals-m2m = { days = 2 }
"""


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "course.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_course_is_read_with_its_zone_policies_and_extensions(tmp_path):
    c = course.load(_write(tmp_path, COURSE))
    assert c.name == "Signals, autumn 2026" and str(c.timezone) == BERLIN
    profile, m2m, files = (c.assignment(n) for n in ("signals-profile", "signals-m2m", "signals-files"))
    # A local time is the course's; an offset is kept; a date alone is the end of that day.
    assert profile.due.isoformat() == "2026-10-12T23:59:00+02:00"
    assert m2m.due.utcoffset() == dt.timedelta(0)
    assert files.due.isoformat() == "2026-10-26T23:59:59+01:00"  # after the change to winter time
    assert profile.counts == "last-before-due" and m2m.counts == "best" and files.counts == "last"
    assert m2m.max_submissions == 3 and profile.max_submissions is None
    # An assignment's late table changes only what it names.
    assert profile.late == course.LatePolicy(15, 10, 30, True)
    assert m2m.late == course.LatePolicy(15, 25, 100, True)
    assert files.late.accept is False and files.late.penalty_per_day == 10
    # Extensions: a new due date, or extra days; another student keeps the course's.
    assert course.due_for(c, "signals-profile", "ada").isoformat() == "2026-10-14T12:00:00+02:00"
    assert course.due_for(c, "signals-m2m", "ada") == m2m.due + dt.timedelta(days=2)
    assert course.due_for(c, "signals-profile", "bob") == profile.due


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("timezone = 'UTC'\n", "course.toml:assignments: is missing, expected at least one [[assignments]]"),
        ("[[assignments]]\nname='a'\ndue=2026-01-01\n", "course.toml:timezone: is missing, expected an IANA time zone"),
        (
            "timezone = 'Mars/Olympus'\n[[assignments]]\nname='a'\ndue=2026-01-01\n",
            "course.toml:timezone: 'Mars/Olympus' is not a time zone, expected an IANA name",
        ),
        ("timezone='UTC'\n[[assignments]]\nname='a'\n", "course.toml:assignments[a].due: is missing, expected a date"),
        (
            "timezone='UTC'\n[[assignments]]\nname='a'\ndue='next monday'\n",
            "course.toml:assignments[a].due: is 'next monday', expected a date and time such as 2026-10-12T23:59:00",
        ),
        (
            "timezone='UTC'\n[[assignments]]\nname='a'\ndue=2026-01-01\ncounts='first'\n",
            "course.toml:assignments[a].counts: is 'first', expected one of 'last-before-due', 'last', 'best'",
        ),
        (
            "timezone='UTC'\n[[assignments]]\nname='a'\ndue=2026-01-01\nmax_submissions=0\n",
            "course.toml:assignments[a].max_submissions: is 0, expected a whole number of at least 1",
        ),
        (
            "timezone='UTC'\n[late]\npenalty_per_day=-5\n[[assignments]]\nname='a'\ndue=2026-01-01\n",
            "course.toml:late.penalty_per_day: is -5, expected a number of at least 0",
        ),
        (
            "timezone='UTC'\n[late]\nmax_penalty=150\n[[assignments]]\nname='a'\ndue=2026-01-01\n",
            "course.toml:late.max_penalty: is 150, expected a percent from 0 to 100",
        ),
        (
            "timezone='UTC'\n[late]\naccept='no'\n[[assignments]]\nname='a'\ndue=2026-01-01\n",
            "course.toml:late.accept: is 'no', expected true or false",
        ),
        (
            "timezone='UTC'\n[late]\ngrace=5\n[[assignments]]\nname='a'\ndue=2026-01-01\n",
            "course.toml:late.grace: is not a key the course knows, expected one of accept, grace_minutes",
        ),
        (
            "timezone='UTC'\n[[assignments]]\nname='a'\ndue=2026-01-01\n[[assignments]]\nname='a'\ndue=2026-01-02\n",
            "course.toml:assignments[a].name: is given twice",
        ),
        (
            "timezone='UTC'\n[[assignments]]\nname='a'\ndue=2026-01-01\nlate={penalty_per_day='x'}\n",
            "course.toml:assignments[a].late.penalty_per_day: is 'x', expected a number",
        ),
        (
            "timezone='UTC'\n[[assignments]]\nname='a'\ndue=2026-01-01\n[extensions.ada]\nb=2\n",
            "course.toml:extensions.ada.b: names no assignment of the course, expected one of a",
        ),
        (
            "timezone='UTC'\n[[assignments]]\nname='a'\ndue=2026-01-01\n[extensions.ada]\na={days=1, due=2026-01-03}\n",
            "course.toml:extensions.ada.a: expected either due (a new due date) or days (extra days), not both",
        ),
        (
            "timezone='UTC'\n[[assignments]]\nname='a'\ndue=2026-01-01\n[extensions.ada]\na=-1\n",
            "course.toml:extensions.ada.a: is -1 days, expected a positive number of extra days",
        ),
        ("timezone='UTC'\nassignments=[", "course.toml: is not valid TOML"),
    ],
)
def test_what_is_wrong_in_course_toml_is_said_with_its_key(tmp_path, text, message):
    with pytest.raises(course.CourseError) as caught:
        course.load(_write(tmp_path, text))
    assert str(caught.value).startswith(str(tmp_path / message))


def test_an_assignment_the_course_does_not_have(tmp_path):
    c = course.load(_write(tmp_path, COURSE))
    with pytest.raises(course.CourseError, match=r"no assignment named 'signals-orders' \(it has signals-files, "):
        c.assignment("signals-orders")


DUE = dt.datetime(2026, 10, 12, 23, 59, tzinfo=dt.UTC)
POLICY = course.LatePolicy(grace_minutes=15, penalty_per_day=10, max_penalty=30)


@pytest.mark.parametrize(
    ("after", "days", "percent"),
    [
        (dt.timedelta(seconds=-1), 0, 0),  # early
        (dt.timedelta(0), 0, 0),  # at the due date
        (dt.timedelta(minutes=15), 0, 0),  # at the end of the grace: on time
        (dt.timedelta(minutes=15, seconds=1), 1, 10),  # just past it: a started day
        (dt.timedelta(days=1), 1, 10),  # a whole day: still the first
        (dt.timedelta(days=1, seconds=1), 2, 20),  # the second day started
        (dt.timedelta(days=2, hours=5), 3, 30),
        (dt.timedelta(days=9), 9, 30),  # the cap
    ],
)
def test_the_penalty_per_started_day_after_the_grace_with_its_cap(after, days, percent):
    late = course.lateness(POLICY, DUE, DUE + after)
    assert (late.days, late.percent, late.accepted) == (days, percent, True)
    assert late.points(10) == percent / 10
    assert late.on_time == (days == 0)
    assert late.note() == ("on time" if not days else f"{days} day{'s' if days > 1 else ''} late: -{percent}%")


def test_late_work_not_accepted_is_worth_nothing_on_time_work_is_untouched():
    refuse = course.LatePolicy(grace_minutes=5, accept=False)
    late = course.lateness(refuse, DUE, DUE + dt.timedelta(minutes=6))
    assert (late.accepted, late.percent, late.points(10)) == (False, 100.0, 10.0)
    assert late.note() == "1 day late: late work is not accepted"
    on_time = course.lateness(refuse, DUE, DUE + dt.timedelta(minutes=5))
    assert (on_time.accepted, on_time.percent) == (True, 0.0)


def _report(score: float, timing: Timing | None) -> Report:
    return Report("a", "ada", RunStatus.GRADED, score, 10, "", [], 0, "", "", "", "", timing=timing)


def test_the_final_score_never_goes_below_zero_and_not_accepted_is_zero():
    assert marks(_report(8, Timing(penalty=3, note="3 days late: -30%"))).final == 5
    low = marks(_report(2, Timing(penalty=3)))
    assert (low.final, low.penalty, low.raw + -low.penalty + low.override) == (0, 2, 0)
    refused = marks(_report(9, Timing(penalty=10, accepted=False)))
    assert (refused.final, refused.penalty, refused.accepted) == (0, 9, False)
    plain = marks(_report(7, None))
    assert (plain.final, plain.adjusted) == (7, False)
