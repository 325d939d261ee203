"""The typed result model shared by every stage of the pipeline."""

from __future__ import annotations

import enum
from dataclasses import asdict, dataclass, field
from typing import Any

SCHEMA_VERSION = "1.3"  # 1.1: grader_fault, submission_digest; 1.2: identity, status missing;
# 1.3: checks[].visibility, withheld, timing


class RunStatus(str, enum.Enum):
    GRADED = "graded"
    ERROR = "error"
    TIMEOUT = "timeout"
    TAMPERED = "tampered"
    MISSING = "missing"  # on the class roster, but no submission was found


class CheckStatus(str, enum.Enum):
    PASSED = "passed"
    FAILED = "failed"
    ERROR = "error"
    SKIPPED = "skipped"


# Diagnoses of a run the grading environment stopped, not the student's code: a package the
# grader does not have, an environment variable it is not given, a database it cannot provide.
ENVIRONMENT_DIAGNOSES = frozenset({"package-not-available", "missing-environment-variable", "database-not-supported"})
# The diagnosis of a check that did not run because the grading environment stopped the run.
NOT_RUN_ENVIRONMENT = "not-run-environment"
_ENVIRONMENT_WHY = {
    "package-not-available": "a package your project imports is not installed where the grader runs",
    "missing-environment-variable": "an environment variable your settings read is not set where the grader runs",
    "database-not-supported": "your project needs a database the grader does not have",
}


def environment_stopped(checks: list[CheckResult], diagnosis: str, message: str) -> tuple[list[CheckResult], str]:
    """The checks and message of a run that the grading environment stopped before any check
    ran (`diagnosis` is one of ENVIRONMENT_DIAGNOSES): the check that hit it (the project
    loads: it did not, here) keeps its status and says the environment stopped it; every other
    one is skipped as not run because of the environment (NOT_RUN_ENVIRONMENT), never failed;
    the message says that no point was lost to the student's code."""
    why = _ENVIRONMENT_WHY.get(diagnosis, "the grading environment stopped the run")
    out = []
    for i, c in enumerate(checks):
        if i == 0:
            c = CheckResult(
                c.id,
                c.title,
                c.status,
                0.0,
                c.max_score,
                f"stopped by the grading environment (not your code): {c.feedback}",
                c.hint,
                c.diagnosis,
                c.location,
                c.student_traceback,
            )
        else:
            c = CheckResult(
                c.id,
                c.title,
                CheckStatus.SKIPPED,
                0.0,
                c.max_score,
                f"not run because of the grading environment: {why} (see {checks[0].id}); "
                "this is not a mark of your code",
                c.hint,
                NOT_RUN_ENVIRONMENT,
            )
        out.append(c)
    return out, (
        f"Not graded: the grading environment stopped the run before your code was checked "
        f"({why}); this is not a mark of your code. {message}"
    )


def is_environment_check(check: CheckResult) -> bool:
    """Did `check` not run because of the grading environment (see environment_stopped)?"""
    return check.status != CheckStatus.PASSED and (
        check.diagnosis == NOT_RUN_ENVIRONMENT or check.diagnosis in ENVIRONMENT_DIAGNOSES
    )


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
    # Who may see this check's result (the rubric's `visibility`): public (in the students'
    # package and every feedback), after_due (in feedback once the due date has passed),
    # hidden (never shown to the student on its own; it counts in the total).
    visibility: str = "public"


VISIBILITIES = ("public", "after_due", "hidden")


@dataclass
class Withheld:
    """What a students' grader does not hold (its package carries only the public checks):
    how many checks, worth how many points, are graded after submission."""

    checks: int = 0
    points: float = 0.0


@dataclass
class Timing:
    """When the submission was made against the student's due date, and what lateness costs
    (course.toml's late policy). Set by a batch with --course; None otherwise."""

    submitted_at: str = ""  # ISO 8601 with its UTC offset; "" when unknown
    due: str = ""  # the student's due date, extension included (ISO 8601)
    late_s: int = 0  # seconds after the due date and grace (0: on time)
    source: str = ""  # where submitted_at comes from: "git <sha>", "moodle worksheet", "file times", ...
    commit: str = ""  # the git commit graded (GitHub Classroom), "" otherwise
    penalty: float = 0.0  # points the late policy takes off the score
    accepted: bool = True  # False: the late policy does not accept it (final score 0)
    note: str = ""  # in words, for the gradebook and the student ("2 days late: -20%")

    @classmethod
    def from_dict(cls, data: Any) -> Timing | None:
        if not isinstance(data, dict):
            return None
        fields = {k: data[k] for k in cls.__dataclass_fields__ if k in data and data[k] is not None}
        try:
            return cls(**fields)
        except TypeError:
            return None


@dataclass
class Identity:
    """Who a submission belongs to, as the learning platform names them (from the download's
    folder and file names, completed by a --roster). Empty for ``grader grade``."""

    platform: str = ""  # moodle | canvas | github | folder
    id: str = ""  # Moodle participant id, Canvas user id, GitHub username, folder name
    name: str = ""  # the student's full name, when the platform gives it
    login: str = ""  # the identifier the gradebook uses (from --roster: SIS id, e-mail, ...)
    late: bool = False  # Canvas marked the submission late
    folder: str = ""  # the download's folder (or file) the submission came from

    @classmethod
    def from_dict(cls, data: Any) -> Identity | None:
        if not isinstance(data, dict):
            return None
        fields: dict[str, Any] = {
            k: (bool(data[k]) if k == "late" else str(data[k]))
            for k in cls.__dataclass_fields__
            if k in data and data[k] is not None
        }
        return cls(**fields)


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
    identity: Identity | None = None
    # A students' grader: the checks its package does not hold (graded after submission).
    withheld: Withheld | None = None
    # A batch with --course: when it was submitted and what lateness costs.
    timing: Timing | None = None

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["status"] = self.status.value
        for check in data["checks"]:
            check["status"] = check["status"].value
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Report:
        """A report read back from its JSON, for what works on a batch's saved reports (the
        gradebook, report.html, the feedback handed back). Tolerant as those must be: unknown
        keys are ignored, and a field a report may lack is left empty ("" for text, 0 for
        the duration, no checks); a check without a status counts as an error, one without a
        title is named by its id. What cannot be read raises ValueError (an unknown status or
        check status, a check that is not an object, no submission/assignment/status/score/
        max_score), so that a reader can leave that report out and say why."""
        if not isinstance(data, dict):
            raise ValueError("not a JSON object")
        missing = [k for k in ("assignment", "submission", "status", "score", "max_score") if k not in data]
        if missing:
            raise ValueError(f"no {', '.join(map(repr, missing))}")
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        for key, empty in _EMPTY_FIELDS.items():
            known.setdefault(key, empty)
        checks = []
        for c in data.get("checks") or []:
            if not isinstance(c, dict):
                raise ValueError("a check that is not an object")
            fields = {k: v for k, v in c.items() if k in CheckResult.__dataclass_fields__}
            status = fields.get("status", "error")
            try:
                fields["status"] = CheckStatus(status)
            except ValueError:
                raise ValueError(f"check {fields.get('id', '')!r} has an unknown status {status!r}") from None
            fields.setdefault("id", "")
            fields.setdefault("title", fields["id"])
            fields.setdefault("score", 0.0)
            fields.setdefault("max_score", 0.0)
            checks.append(CheckResult(**fields))
        known["checks"] = checks
        try:
            known["status"] = RunStatus(known["status"])
        except ValueError:
            raise ValueError(f"unknown status {known['status']!r}") from None
        known["identity"] = Identity.from_dict(data.get("identity"))
        known["timing"] = Timing.from_dict(data.get("timing"))
        withheld = data.get("withheld")
        known["withheld"] = (
            Withheld(int(withheld.get("checks", 0)), float(withheld.get("points", 0.0)))
            if isinstance(withheld, dict)
            else None
        )
        return cls(**known)


# What Report.from_dict gives a field without a default that a report's JSON lacks.
_EMPTY_FIELDS: dict[str, Any] = {
    "message": "",
    "checks": [],
    "duration_s": 0.0,
    "grader_version": "",
    "django_version": "",
    "python_version": "",
    "graded_at": "",
}
