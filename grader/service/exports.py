"""Exports from the database, made by the gradebook's own writers: for each student, the
submission that counts (course.toml's `counts`), its late penalty and the admin's override;
grades.csv (Moodle's and Canvas's CSV grade import) and grades-canvas.csv."""

from __future__ import annotations

from grader import gradebook, overrides
from grader.model import Report
from grader.service import grading, rules
from grader.service.models import Override, Submission

KINDS = {"grades": gradebook.build_csv, "grades-canvas": gradebook.build_canvas_csv}


class UnknownKind(LookupError):
    pass


def counted_reports(assignment: str) -> list[Report]:
    """The report that counts of every student who has a graded submission of `assignment`."""
    by_student: dict[int, list[Submission]] = {}
    for sub in Submission.objects.filter(assignment=assignment, status=Submission.GRADED).select_related("student"):
        by_student.setdefault(sub.student_id, []).append(sub)
    reports = []
    for subs in by_student.values():
        chosen = rules.counted(subs, assignment)
        report = grading.report_of(chosen) if chosen is not None else None
        if report is not None:
            reports.append(report)
    return sorted(reports, key=lambda r: r.submission)


def course_overrides(assignment: str) -> overrides.Overrides:
    entries = [
        overrides.Override(
            student=o.student.student_id,
            assignment=assignment,
            check="",
            points=float(o.score),
            adjust=None,
            reason=o.reason + (f" ({o.by})" if o.by else ""),
            entry=n,
        )
        for n, o in enumerate(Override.objects.filter(assignment=assignment).select_related("student"), 1)
    ]
    return overrides.Overrides(entries)


def build(assignment: str, kind: str) -> tuple[str, str]:
    """(the CSV's text, its file name)."""
    writer = KINDS.get(kind)
    if writer is None:
        raise UnknownKind(kind)
    reports = counted_reports(assignment)
    summary = gradebook.summarize_class(reports, overrides=course_overrides(assignment))
    return writer(summary), f"{assignment}-{kind}.csv"


__all__ = ["KINDS", "UnknownKind", "build", "counted_reports", "course_overrides"]
