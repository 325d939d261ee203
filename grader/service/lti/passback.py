"""Grade passback (LTI Assignment and Grade Services): each LTI-launched student's score that
counts (course.toml's `counts`, the late penalty, the instructor's override: what grades.csv
says) is posted to the platform's line item of each link they launched.

Grading never waits on the platform, nor fails because of it: the ``submission_graded``
receiver only marks the student's LtiGrade rows pending (and the failed ones, to retry them)
and wakes this process's sender thread, which posts them. Every outcome is on the row (the
admin's "LTI grades"): sent with the score, or failed with the platform's answer, retried at the
next grading or by ``grader service lti_sync``; never dropped silently. A row is claimed with a
compare-and-set (pending -> sending), so two processes never post it at once, and a grading
that lands while it is being sent makes it pending again."""

from __future__ import annotations

import datetime as dt
import logging
import threading
from dataclasses import dataclass
from typing import Any

import requests
from django.db import close_old_connections, transaction
from django.db.models.signals import post_delete, post_save
from django.utils import timezone

from grader import classdata, rubric
from grader.service import exports, grading, rules
from grader.service.lti import logic, toolconf
from grader.service.lti.signals import submission_graded
from grader.service.models import LtiGrade, Override, Submission

log = logging.getLogger("grader.service")
TIMEOUT_S = 10.0  # one request to the platform
STALE_S = 120  # a row 'sending' this long was left by a stopped process: it is pending again
WAIT_FOR_STORE_S = 60  # how long a pending row waits for its triggering submission to be stored
SCORE_SCOPE = "https://purl.imsglobal.org/spec/lti-ags/scope/score"
LINEITEM_SCOPE = "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem"


# ----------------------------------------------------------------------------- what is sent


@dataclass(frozen=True)
class Score:
    given: float | None  # the final score (before clamping); None: nothing to send yet
    maximum: float
    submission: int | None  # the submission that counts


def assignment_max(assignment: str) -> float:
    try:
        return float(rubric.find(assignment).max_score)
    except rubric.RubricError:
        return 0.0


def score_for(student_pk: int, student_id: str, assignment: str) -> Score:
    """The student's score that counts on `assignment`, as grades.csv has it."""
    maximum = assignment_max(assignment)
    subs = list(
        Submission.objects.filter(student_id=student_pk, assignment=assignment, status=Submission.GRADED)
        .select_related("student")
        .defer("archive")
    )
    chosen = rules.counted(subs, assignment)
    report = grading.report_of(chosen) if chosen is not None else None
    if report is not None:
        final = classdata.marks(report, exports.course_overrides(assignment)).final
        return Score(float(final), maximum or float(report.max_score), chosen.pk if chosen else None)
    override = Override.objects.filter(student_id=student_pk, assignment=assignment).first()
    if override is not None:  # an override with no graded submission is the score
        return Score(float(override.score), maximum, None)
    return Score(None, maximum, None)


# ----------------------------------------------------------------------------- marking rows pending


def mark_pending(student_pk: int, assignment: str, trigger: int | None = None) -> int:
    """The student's rows of `assignment` are to be sent (again); also retries the failed ones."""
    now = timezone.now()
    n = LtiGrade.objects.filter(identity__student_id=student_pk, assignment=assignment).update(
        status=LtiGrade.PENDING, trigger=trigger, updated=now
    )
    LtiGrade.objects.filter(status=LtiGrade.FAILED).update(status=LtiGrade.PENDING, updated=now)
    return n


def on_graded(sender: Any, submission: Submission, fields: dict[str, Any], **kwargs: Any) -> None:
    """submission_graded: the student's line items get the new score (in the background)."""
    if mark_pending(submission.student_id, submission.assignment, submission.pk):
        kick()
    elif LtiGrade.objects.filter(status=LtiGrade.PENDING).exists():
        kick()


def on_override(sender: Any, instance: Override, **kwargs: Any) -> None:
    """An instructor's override (made, changed or deleted) reaches the platform too."""

    def later() -> None:
        if mark_pending(instance.student_id, instance.assignment):
            kick()

    transaction.on_commit(later)


def connect() -> None:
    submission_graded.connect(on_graded, dispatch_uid="grader-lti-graded")
    post_save.connect(on_override, sender=Override, dispatch_uid="grader-lti-override-saved")
    post_delete.connect(on_override, sender=Override, dispatch_uid="grader-lti-override-deleted")


# ----------------------------------------------------------------------------- sending


class _TimedSession(requests.Session):
    """A requests session whose every request has a timeout (pylti1p3 sets none)."""

    def __init__(self) -> None:
        super().__init__()
        self.headers["User-Agent"] = "django-signals-grader (LTI 1.3 grade passback)"

    def request(self, *args: Any, **kwargs: Any) -> Any:
        kwargs.setdefault("timeout", TIMEOUT_S)
        return super().request(*args, **kwargs)


def claim(row: LtiGrade) -> bool:
    return bool(
        LtiGrade.objects.filter(pk=row.pk, status=LtiGrade.PENDING, updated=row.updated).update(
            status=LtiGrade.SENDING, updated=timezone.now()
        )
    )


def _finish(pk: int, **fields: Any) -> None:
    """Record a send's outcome, unless the row became pending again meanwhile (a newer score)."""
    LtiGrade.objects.filter(pk=pk, status=LtiGrade.SENDING).update(updated=timezone.now(), **fields)


def send(row: LtiGrade, connectors: dict[int, Any]) -> str:
    """Post `row`'s score (it is claimed: 'sending'); its new status."""
    from pylti1p3.assignments_grades import AssignmentsGradesService
    from pylti1p3.exception import LtiException
    from pylti1p3.grade import Grade
    from pylti1p3.lineitem import LineItem
    from pylti1p3.service_connector import ServiceConnector

    identity = row.identity
    student = identity.student
    if student is None:
        _finish(row.pk, status=LtiGrade.NONE, error="")
        return LtiGrade.NONE
    score = score_for(student.pk, student.student_id, row.assignment)
    if score.given is None:
        _finish(row.pk, status=LtiGrade.NONE, error="")
        return LtiGrade.NONE
    body = logic.score_body(identity.sub, score.given, score.maximum, timezone.now().isoformat(timespec="milliseconds"))
    try:
        if SCORE_SCOPE not in (row.scopes or []):
            raise LtiException(
                "the platform did not grant this link the AGS score scope: turn on grade passback "
                "(Moodle: 'IMS LTI Assignment and Grade Services'; Canvas: the score scope of the developer key)"
            )
        platform = identity.platform
        if platform.pk not in connectors:
            connectors[platform.pk] = ServiceConnector(toolconf.registration(platform), _TimedSession())
        service = AssignmentsGradesService(
            connectors[platform.pk], {"scope": row.scopes, "lineitem": row.lineitem, "lineitems": row.lineitems}
        )
        lineitem = None
        if not row.lineitem:
            if not row.lineitems or LINEITEM_SCOPE not in row.scopes:
                raise LtiException(
                    "the link has no line item (gradebook column) and the platform lets the tool make none: "
                    "add the activity with the tool's deep linking (Select content), or give it a grade"
                )
            lineitem = service.find_or_create_lineitem(
                LineItem()
                .set_label(row.assignment)
                .set_score_maximum(score.maximum)
                .set_resource_id(row.assignment)
                .set_tag(row.assignment),
                find_by="resource_id",
            )
            LtiGrade.objects.filter(pk=row.pk).update(lineitem=lineitem.get_id() or "")
        grade = (
            Grade()
            .set_score_given(body["scoreGiven"])
            .set_score_maximum(body["scoreMaximum"])
            .set_activity_progress(body["activityProgress"])
            .set_grading_progress(body["gradingProgress"])
            .set_timestamp(body["timestamp"])
            .set_user_id(body["userId"])
        )
        service.put_grade(grade, lineitem)
    except Exception as exc:  # the platform's answer, a network error, a registration problem
        why = f"{type(exc).__name__}: {exc}" if not isinstance(exc, LtiException) else str(exc)
        log.warning("LTI grade %s (%s, %s): not sent: %s", row.pk, identity, row.assignment, why)
        _finish(
            row.pk,
            status=LtiGrade.FAILED,
            error=f"{timezone.now():%Y-%m-%d %H:%M:%S} UTC: {why}"[:4000],
            attempts=row.attempts + 1,
        )
        return LtiGrade.FAILED
    _finish(
        row.pk,
        status=LtiGrade.SENT,
        error="",
        attempts=row.attempts + 1,
        score_given=body["scoreGiven"],
        score_maximum=body["scoreMaximum"],
        sent_at=timezone.now(),
    )
    return LtiGrade.SENT


def recover_stale() -> int:
    """Rows a stopped process left 'sending' are pending again."""
    before = timezone.now() - dt.timedelta(seconds=STALE_S)
    return LtiGrade.objects.filter(status=LtiGrade.SENDING, updated__lt=before).update(status=LtiGrade.PENDING)


def _waiting(row: LtiGrade) -> bool:
    """The submission whose grading made `row` pending is not stored yet (grading.finish sends
    the signal just before the dispatcher stores the report)."""
    if row.trigger is None or row.updated < timezone.now() - dt.timedelta(seconds=WAIT_FOR_STORE_S):
        return False
    return Submission.objects.filter(pk=row.trigger, status=Submission.GRADING).exists()


def drain(retry_failed: bool = False) -> dict[str, int]:
    """Send every pending row (this thread); how many ended in each status, and 'waiting'."""
    recover_stale()
    if retry_failed:
        LtiGrade.objects.filter(status=LtiGrade.FAILED).update(status=LtiGrade.PENDING, updated=timezone.now())
    outcome: dict[str, int] = {}
    connectors: dict[int, Any] = {}
    tried: set[int] = set()
    for row in LtiGrade.objects.filter(status=LtiGrade.PENDING).select_related(
        "identity", "identity__platform", "identity__student"
    ):
        if _waiting(row):
            outcome["waiting"] = outcome.get("waiting", 0) + 1
            continue
        if row.pk in tried or not claim(row):
            continue
        tried.add(row.pk)
        status = send(row, connectors)
        outcome[status] = outcome.get(status, 0) + 1
    return outcome


# ----------------------------------------------------------------------------- this process's sender


_wake = threading.Event()
_lock = threading.Lock()
_thread: threading.Thread | None = None


def kick() -> None:
    """Wake (or start) this process's sender thread."""
    global _thread
    with _lock:
        if _thread is None or not _thread.is_alive():
            _thread = threading.Thread(target=_loop, name="grader-lti-passback", daemon=True)
            _thread.start()
    _wake.set()


def _loop() -> None:
    while True:
        _wake.wait(30)
        _wake.clear()
        try:
            close_old_connections()
            while drain().get("waiting"):
                _wake.wait(0.2)  # the report is being stored
                _wake.clear()
                close_old_connections()
        except Exception:  # the database went away for a moment: the rows wait, pending
            log.exception("LTI grade passback")
        finally:
            close_old_connections()
