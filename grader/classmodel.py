"""The typed class-level model: what a batch's summary.json holds (:class:`ClassSummary`, one
:class:`StudentRow` per student, one :class:`CheckSummary` per check) and what a lesson's
does (:class:`LessonSummary`, one :class:`LessonRow` per student). :mod:`grader.gradebook`
builds them from the typed reports; the gradebook's CSV sheets, report.html
(:mod:`grader.classreport`), the lesson's sheets and the CLI read their attributes.
``to_dict()`` gives exactly the JSON summary.json has (the same keys, in the same order, the
same values), ``from_dict()`` reads it back.

Dataclasses, as :mod:`grader.model` (the per-student report) is: one style for the whole
model, nothing to install (the core depends on no validation library: the fork server and
every worker import it), and these objects are built by the grader from reports already
checked (:mod:`grader.reportfile`), so they need no validation of their own, only names for
their fields. ``kw_only``: the JSON's key order is the fields' order, whatever has a default.

Its own module, not :mod:`grader.model`: the per-student model is the contract every grading
run (and the sandboxed worker) loads; the class-level one is read only where a class is
looked at, and it is the JSON contract of summary.json, versioned on its own
(SUMMARY_VERSION, LESSON_VERSION).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from grader.model import CheckStatus
from grader.reportfile import LESSON_KIND, SUMMARY_KIND

SUMMARY_VERSION = "1.3"  # 1.1: unsandboxed; 1.2: identity of each student, status missing; 1.3: marks
LESSON_VERSION = "1.1"  # 1.1: each cell's raw, penalty and override


def _build(cls: type, data: dict[str, Any], **nested: Any) -> Any:
    """An instance of the dataclass `cls` from `data` (its keys that are fields; unknown keys
    ignored, a missing one takes the field's default), `nested` given already typed."""
    names = {f.name for f in dataclasses.fields(cls)}
    return cls(**{**{k: v for k, v in data.items() if k in names}, **nested})


# ----------------------------------------------------------------------------- a class


@dataclass(kw_only=True)
class Bin:
    """One bar of the score distribution: `count` students scored from `start` to `end`
    (``from`` and ``to`` in the JSON)."""

    label: str
    start: float
    end: float
    count: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {"label": self.label, "from": self.start, "to": self.end, "count": self.count}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Bin:
        return cls(label=data["label"], start=data["from"], end=data["to"], count=data["count"])


@dataclass(kw_only=True)
class CheckSummary:
    """One check of the rubric across the class: how many students it passed, failed, ...
    (the keys are CheckStatus's values, in its order)."""

    id: str
    title: str
    max_score: float
    passed: int = 0
    failed: int = 0
    error: int = 0
    skipped: int = 0
    pass_rate: float | None = None

    def add(self, status: CheckStatus) -> None:
        """Count one student's result of this check."""
        if status == CheckStatus.PASSED:
            self.passed += 1
        elif status == CheckStatus.FAILED:
            self.failed += 1
        elif status == CheckStatus.ERROR:
            self.error += 1
        else:
            self.skipped += 1


@dataclass(kw_only=True)
class DiagnosisSummary:
    """A diagnosis of failed checks: how many students (each once) and who, in which checks."""

    diagnosis: str
    count: int
    share: float | None
    checks: list[str]
    students: list[str]


@dataclass(kw_only=True)
class CheckMark:
    """A student's result of one check."""

    status: str
    score: float


@dataclass(kw_only=True)
class StudentRow:
    """One student of the class: who (the report's identity), the total, the status, the
    report's file name, when it was graded, and each check's result by check id."""

    student: str
    name: str = ""
    platform: str = ""
    id: str = ""
    login: str = ""
    late: bool = False
    folder: str = ""
    score: float
    max_score: float
    status: str
    report: str = ""
    graded_at: str = ""
    checks: dict[str, CheckMark] = field(default_factory=dict)
    # The marks side by side (classdata.Marks): score is the final one, raw the suite's,
    # penalty what lateness took, override the instructor's net points (raw - penalty +
    # override == score); with a course, when it was submitted against which due date.
    raw: float | None = None  # None: a summary.json of before 1.3 (raw == score)
    penalty: float = 0.0
    override: float = 0.0
    accepted: bool = True
    timed: bool = False  # the report has a timing (grader batch --course)
    submitted_at: str = ""
    due: str = ""
    commit: str = ""
    late_note: str = ""
    override_notes: list[str] = field(default_factory=list)

    @property
    def adjusted(self) -> bool:
        """Has the student's grade a timing or overrides (the raw/penalty/override/final columns)?"""
        return self.timed or bool(self.override_notes) or bool(self.override)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> StudentRow:
        return _build(cls, data, checks={cid: _build(CheckMark, c) for cid, c in (data.get("checks") or {}).items()})


@dataclass(kw_only=True)
class ClassSummary:
    """summary.json of one assignment's class."""

    kind: str = SUMMARY_KIND
    summary_version: str = SUMMARY_VERSION
    assignment: str = ""
    generated_at: str = ""
    count: int = 0
    max_score: float = 0.0
    by_status: dict[str, int] = field(default_factory=dict)
    mean: float | None = None
    median: float | None = None
    min: float | None = None
    max: float | None = None
    full_marks: int = 0
    distribution: list[Bin] = field(default_factory=list)
    checks: list[CheckSummary] = field(default_factory=list)
    diagnoses: list[DiagnosisSummary] = field(default_factory=list)
    # Students graded without the sandbox (--sandbox none): their submissions could read and
    # change what the grader could; report.html says so in a banner.
    unsandboxed: list[str] = field(default_factory=list)
    grader_versions: list[str] = field(default_factory=list)
    rubric_digests: list[str] = field(default_factory=list)
    students: list[StudentRow] = field(default_factory=list)  # sorted by student

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["distribution"] = [b.to_dict() for b in self.distribution]
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ClassSummary:
        return _build(
            cls,
            data,
            distribution=[Bin.from_dict(b) for b in data.get("distribution") or []],
            checks=[_build(CheckSummary, c) for c in data.get("checks") or []],
            diagnoses=[_build(DiagnosisSummary, d) for d in data.get("diagnoses") or []],
            students=[StudentRow.from_dict(s) for s in data.get("students") or []],
        )

    @classmethod
    def of(cls, summary: ClassSummary | dict[str, Any]) -> ClassSummary:
        """`summary` typed: a ClassSummary as it is, a dict (summary.json's data) read."""
        return summary if isinstance(summary, ClassSummary) else cls.from_dict(summary)


# ----------------------------------------------------------------------------- a lesson


@dataclass(kw_only=True)
class LessonCell:
    """A student's result in one assignment of a lesson."""

    score: float
    max_score: float
    status: str
    late: bool = False
    report: str = ""
    # score is the final one (classdata.Marks); raw the suite's, penalty and override beside it
    raw: float | None = None
    penalty: float = 0.0
    override: float = 0.0
    late_note: str = ""

    @property
    def adjusted(self) -> bool:
        return bool(self.late_note) or bool(self.penalty) or bool(self.override)


@dataclass(kw_only=True)
class LessonRow:
    """One student of a lesson (matched across the assignments by the report's submission):
    who, each assignment's cell by assignment name (None: no report in its folder), the
    assignments submitted late and those without a report, and the total of what exists."""

    student: str
    name: str = ""
    platform: str = ""
    id: str = ""
    login: str = ""
    late: list[str] = field(default_factory=list)
    total: float = 0.0
    max_score: float
    missing: list[str] = field(default_factory=list)
    assignments: dict[str, LessonCell | None] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LessonRow:
        cells = {
            name: None if cell is None else _build(LessonCell, cell)
            for name, cell in (data.get("assignments") or {}).items()
        }
        return _build(cls, data, assignments=cells)


@dataclass(kw_only=True)
class LessonAssignment:
    """One assignment of a lesson: its folder and report.html (relative to the lesson's
    folder, "" when there is none), and its class's figures."""

    assignment: str
    folder: str = ""
    report: str = ""
    max_score: float
    count: int
    no_report: int = 0
    by_status: dict[str, int] = field(default_factory=dict)
    mean: float | None = None
    median: float | None = None
    min: float | None = None
    max: float | None = None
    full_marks: int = 0
    unsandboxed: list[str] = field(default_factory=list)


@dataclass(kw_only=True)
class LessonSummary:
    """summary.json of a lesson (``grader report DIR DIR...``)."""

    kind: str = LESSON_KIND
    summary_version: str = LESSON_VERSION
    generated_at: str = ""
    assignments: list[LessonAssignment] = field(default_factory=list)
    count: int = 0
    max_score: float = 0.0
    mean: float | None = None
    median: float | None = None
    min: float | None = None
    max: float | None = None
    full_marks: int = 0  # every assignment graded with every point
    incomplete: int = 0  # students without a report in at least one assignment's folder
    students: list[LessonRow] = field(default_factory=list)  # sorted by student

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LessonSummary:
        return _build(
            cls,
            data,
            assignments=[_build(LessonAssignment, a) for a in data.get("assignments") or []],
            students=[LessonRow.from_dict(s) for s in data.get("students") or []],
        )

    @classmethod
    def of(cls, lesson: LessonSummary | dict[str, Any]) -> LessonSummary:
        """`lesson` typed: a LessonSummary as it is, a dict (its summary.json's data) read."""
        return lesson if isinstance(lesson, LessonSummary) else cls.from_dict(lesson)
