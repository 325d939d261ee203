"""The typed result model shared by every stage of the pipeline."""
from __future__ import annotations

import enum
from dataclasses import asdict, dataclass, field
from typing import Any

SCHEMA_VERSION = "1.1"  # 1.1: grader_fault, submission_digest


class RunStatus(str, enum.Enum):
    GRADED = "graded"
    ERROR = "error"
    TIMEOUT = "timeout"
    TAMPERED = "tampered"


class CheckStatus(str, enum.Enum):
    PASSED = "passed"
    FAILED = "failed"
    ERROR = "error"
    SKIPPED = "skipped"


@dataclass
class TestOutcome:
    """What the child reported for one hidden test (not yet trusted)."""

    nodeid: str
    outcome: str  # passed | failed | skipped | error
    message: str = ""
    diagnosis: str = ""
    location: str = ""  # file:line in the student's project, when known
    student_traceback: list[str] = field(default_factory=list)


@dataclass
class CheckResult:
    id: str
    title: str
    status: CheckStatus
    score: float
    max_score: float
    feedback: str = ""
    hint: str = ""
    diagnosis: str = ""
    location: str = ""
    student_traceback: list[str] = field(default_factory=list)


@dataclass
class Report:
    assignment: str
    submission: str
    status: RunStatus
    score: float
    max_score: float
    message: str
    checks: list[CheckResult]
    duration_s: float
    grader_version: str
    django_version: str
    python_version: str
    graded_at: str
    sandbox: str = "none"
    warnings: list[str] = field(default_factory=list)
    schema_version: str = SCHEMA_VERSION
    rubric_digest: str = ""
    output: str = ""  # what the submission printed while graded (capped)
    # Set by the grader only, never from anything the submission wrote: why grading failed
    # through no fault of the submission (a worker crash, evidence the grader cannot read).
    # A batch grades such a report again on its next run.
    grader_fault: str = ""
    # A batch's hash of the files grading copies from the student's folder: a later run grades
    # the student again only when it differs (empty for grader grade).
    submission_digest: str = ""

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["status"] = self.status.value
        for check in data["checks"]:
            check["status"] = check["status"].value
        return data
