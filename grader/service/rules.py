"""The course's rules as the service applies them: which assignments it offers, each student's
due date (course.toml's, its extensions, the admin's extensions), what a submission's lateness
costs, which submission counts. Reads the database; never grades."""

from __future__ import annotations

import datetime as dt
import functools
from pathlib import Path

from django.conf import settings

from grader import course, rubric
from grader.model import Timing
from grader.service.models import Extension, Student, Submission


@functools.lru_cache(maxsize=1)
def loaded() -> course.Course | None:
    path = settings.CONFIG.course
    return course.load(Path(path)) if path else None


def offered() -> list[str]:
    """The assignments students may submit: service.json's list, else course.toml's, else every
    assignment the grader has."""
    if settings.CONFIG.assignments:
        return list(settings.CONFIG.assignments)
    rules = loaded()
    if rules is not None and rules.assignments:
        return list(rules.assignments)
    return rubric.available()


def due(student: Student, assignment: str) -> dt.datetime | None:
    ext = Extension.objects.filter(student=student, assignment=assignment).first()
    if ext is not None:
        return ext.due
    rules = loaded()
    if rules is None or assignment not in rules.assignments:
        return None
    return course.due_for(rules, assignment, student.student_id)


def max_submissions(assignment: str) -> int | None:
    rules = loaded()
    if rules is None or assignment not in rules.assignments:
        return None
    return rules.assignment(assignment).max_submissions


def timing(sub: Submission, max_score: float) -> Timing | None:
    """The report's Timing: when it was submitted against the student's due date."""
    when = due(sub.student, sub.assignment)
    rules = loaded()
    if when is None or rules is None:
        return None
    policy = rules.assignment(sub.assignment).late
    late = course.lateness(policy, when, sub.created)
    return Timing(
        submitted_at=sub.created.isoformat(),
        due=when.isoformat(),
        late_s=late.late_s,
        source="grading service",
        commit=sub.commit,
        penalty=float(max_score) if not late.accepted else late.points(float(max_score)),
        accepted=late.accepted,
        note=late.note(),
    )


def counts(assignment: str) -> str:
    rules = loaded()
    if rules is None or assignment not in rules.assignments:
        return "last"
    return rules.assignment(assignment).counts


def counted(subs: list[Submission], assignment: str) -> Submission | None:
    """The submission that counts among one student's graded ones (course.toml's `counts`):
    the last made by the due date (else the last), the last, or the best (final score)."""
    graded = sorted((s for s in subs if s.status == Submission.GRADED), key=lambda s: (s.created, s.pk))
    if not graded:
        return None
    rule = counts(assignment)
    if rule == "best":
        return max(graded, key=lambda s: (_final(s), s.created))
    if rule == "last-before-due":
        rules = loaded()
        when = due(graded[0].student, assignment)
        if rules is not None and when is not None:
            policy = rules.assignment(assignment).late
            on_time = [s for s in graded if course.is_on_time(policy, when, s.created)]
            if on_time:
                return on_time[-1]
    return graded[-1]


def _final(sub: Submission) -> float:
    timing_ = (sub.report or {}).get("timing") or {}
    if timing_.get("accepted") is False:
        return 0.0
    return max(0.0, float(sub.score or 0.0) - float(timing_.get("penalty") or 0.0))
