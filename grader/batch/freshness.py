"""Up to date? A report is kept, not graded again, when it was made from the same submission
content, for the same student, by the same grader and rubric, and is not a grader fault."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path

from grader import __version__, fstree
from grader.model import Identity
from grader.renderers import write_atomic
from grader.reportfile import ReportProblem, parse_report, read_json
from grader.runner import COPY_IGNORE, SUBMISSION_LIMITS


@dataclass(frozen=True)
class Decision:
    grade: bool
    reason: str
    # The report read while deciding, when it is kept: the batch updates it without reading
    # it again (refresh_identity).
    kept: dict | None = field(default=None, compare=False, repr=False)


def submission_digest(folder: Path) -> str:
    """A hash of what grading copies of `folder` (not .git, caches or virtual environments):
    a resubmission counts as new when its content differs, whatever its files' times.
    Raises fstree.TreeLimit for a folder over the limits a submission has."""
    return fstree.digest(folder, COPY_IGNORE, fstree.Limits(**SUBMISSION_LIMITS))


def decide(
    report_path: Path,
    submission: Path,
    student: str,
    digest: str,
    version: str = __version__,
    force: bool = False,
    commit: str | None = None,
) -> Decision:
    """Grade `submission` again, or keep its report? Keep it only when it is a usable report
    (reportfile.parse_report: one the gradebook reads), was made from the same content
    (submission_digest), names the same student, was made by the same grader version and
    rubric, and is not a grader fault. Under a course (`commit` given: the commit the course's
    rules grade now, "" when none), only when the report graded that commit too (its
    timing.commit); the rest of its timing follows the course without grading again
    (batch/timing.py)."""
    if force:
        return Decision(True, "--force")
    try:
        data = read_json(report_path)
        parse_report(data)  # the one definition of a usable report (reportfile)
    except FileNotFoundError:
        return Decision(True, "no report yet")
    except ReportProblem:
        return Decision(True, "the report cannot be read")
    if data.get("submission") != student:
        return Decision(True, "the report is not this student's")
    if data.get("rubric_digest") != digest:
        return Decision(True, "the rubric or hidden suite changed")
    if data.get("grader_version") != version:
        return Decision(True, "another grader version made the report")
    if data.get("grader_fault"):  # set by the grader only; a warning's text decides nothing
        return Decision(True, "the grader failed last time")
    if commit is not None:
        timing = data.get("timing")
        if not isinstance(timing, dict) or str(timing.get("commit") or "") != commit:
            return Decision(True, "another commit is graded now (or the report has no timing)")
    try:
        if submission_digest(submission) != data.get("submission_digest"):
            return Decision(True, "the submission changed")
    except fstree.TreeLimit as exc:
        return Decision(True, f"the submission is over a limit ({exc})")
    except OSError as exc:
        return Decision(True, f"the submission cannot be read ({exc})")
    return Decision(False, "up to date", data)


def refresh_identity(path: Path, data: dict, identity: Identity | None) -> None:
    """Put the current identity (a name or login from a new roster) in a kept report, `data`
    as decide() read it from `path`."""
    wanted = None if identity is None else dataclasses.asdict(identity)
    if data.get("identity") != wanted:
        data["identity"] = wanted
        write_atomic(path, json.dumps(data, indent=2, ensure_ascii=False) + "\n")
