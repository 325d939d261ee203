"""Grading one submission of the database: its archive unpacked with a submission's limits and
graded in the sandboxed child (in-process workers), or sent to RQ's workers as the job
``grader batch --queue`` sends (workers never see the database). The report is stored with the
course's timing; the student sees it through renderers.visibility."""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path

from grader import api, archives, fstree, rubric, warm
from grader.model import Identity, Report
from grader.reportfile import ReportProblem, parse_report
from grader.runner import SUBMISSION_LIMITS
from grader.service import rules
from grader.service.lti.signals import submission_graded
from grader.service.models import Submission


class Unusable(Exception):
    """The archive cannot be graded (not an archive, over a limit): the student's doing, said
    to the student."""


def suffix(archive: bytes) -> str:
    if archive[:4] == b"PK\x03\x04" or archive[:4] == b"PK\x05\x06":
        return ".zip"
    if archive[:2] == b"\x1f\x8b":
        return ".tar.gz"
    return ""


def check_archive(archive: bytes) -> str:
    """Why `archive` cannot be a submission, or "" (the upload is refused at once)."""
    if not suffix(archive):
        return "the file is not a .zip (or .tar.gz) archive: zip the folder that holds manage.py"
    return ""


def grade_local(sub: Submission, sandbox: str, pool: warm.Pool | None = None) -> Report:
    """Grade `sub` here (a worker thread of grader serve, with its warm zygotes). Raises Unusable."""
    kind = suffix(bytes(sub.archive))
    if not kind:
        raise Unusable(check_archive(bytes(sub.archive)))
    with tempfile.TemporaryDirectory(prefix="grader-service-") as tmp:
        path = Path(tmp) / f"submission-{sub.pk}{kind}"
        path.write_bytes(bytes(sub.archive))
        try:
            report = api.grade_path(path, assignment=sub.assignment, sandbox=sandbox, pool=pool)
        except api.UsageError as exc:
            raise Unusable(str(exc)) from None
    return report


def job_payload(sub: Submission) -> dict:
    """The RQ job of `sub` (rqueue.grade_job's format: a .tar.gz of the project). Raises Unusable."""
    from grader.batch import rqueue

    assignment = rubric.find(sub.assignment)
    kind = suffix(bytes(sub.archive))
    if not kind:
        raise Unusable(check_archive(bytes(sub.archive)))
    with tempfile.TemporaryDirectory(prefix="grader-service-") as tmp:
        path = Path(tmp) / f"submission{kind}"
        path.write_bytes(bytes(sub.archive))
        folder = Path(tmp) / "submission"
        try:
            archives.unpack(path, folder, fstree.Limits(**SUBMISSION_LIMITS))
            archive = rqueue.pack(folder)
        except (archives.ArchiveError, fstree.TreeLimit) as exc:
            raise Unusable(f"your archive cannot be graded: {exc}") from None
    return rqueue.payload(sub.student.student_id, assignment, archive)


def from_job(data: object) -> Report:
    """A queue worker's result as a report. Raises ReportProblem."""
    return parse_report(data)


def finish(sub: Submission, report: Report) -> dict:
    """The fields of `sub` once graded: its report named after the student, with the course's
    timing (the student's due date, lateness and its cost)."""
    student = sub.student
    report.submission = student.student_id
    report.identity = Identity(platform="service", id=student.student_id, name=student.name, login=student.student_id)
    report.timing = rules.timing(sub, float(report.max_score))
    fields = {
        "status": Submission.GRADED,
        "report": report.to_dict(),
        "score": float(report.score),
        "max_score": float(report.max_score),
        "error": "",
    }
    # The LTI grade passback (lti.passback) listens: it only marks what to send, and whatever a
    # receiver raises is logged here, never the grading's failure.
    for receiver, outcome in submission_graded.send_robust(sender=Submission, submission=sub, fields=fields):
        if isinstance(outcome, Exception):
            logging.getLogger("grader.service").error(
                "submission %s: %s failed: %s", sub.pk, getattr(receiver, "__name__", receiver), outcome
            )
    return fields


def report_of(sub: Submission) -> Report | None:
    if not sub.report:
        return None
    try:
        return parse_report(sub.report)
    except ReportProblem:
        return None
