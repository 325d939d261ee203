"""What feedback handed back to a student shows of a report, check by check (the rubric's
``visibility``): the instructor's reports keep every check; a student's feedback file

- shows each ``public`` check;
- never shows a ``hidden`` check on its own: their points count in the total, and the
  feedback says "2 hidden checks: 3 of 5 points";
- shows an ``after_due`` check once it is *released* (the due date has passed); before that
  it is only named, "released after the due date", with no result, points earned or feedback,
  and its points are left out of the score shown (which says so).

``released`` is decided by the caller (grader/handback.py: ``--release-after-due``, or a due
date that has passed).
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field

from grader.model import CheckResult, CheckStatus, Report, RunStatus

RELEASED_AFTER_DUE = "released after the due date"
HIDDEN_NAME = "a hidden check"


def without_hidden_names(report: Report) -> Report:
    """`report` without the hidden checks' names in the texts a student is shown of the run
    and of the other checks: the run's message names the check whose test was running when
    the run stopped ("ended early while checking '<title>'") and the other checks repeat it.
    student_view then leaves the hidden checks themselves out."""
    hidden = [c for c in report.checks if c.visibility == "hidden"]
    if not hidden:
        return report
    patterns = []
    for check in hidden:
        if check.title:
            patterns += [re.escape(f"'{check.title}'"), re.escape(check.title)]
        if check.id:
            patterns.append(rf"(?<![\w-]){re.escape(check.id)}(?![\w-])")
    names = re.compile("|".join(sorted(patterns, key=len, reverse=True)))

    def scrub(text: str) -> str:
        return names.sub(HIDDEN_NAME, text) if text else text

    return dataclasses.replace(
        report,
        message=scrub(report.message),
        warnings=[scrub(w) for w in report.warnings],
        checks=[
            c
            if c.visibility == "hidden"
            else dataclasses.replace(c, feedback=scrub(c.feedback), hint=scrub(c.hint), location=scrub(c.location))
            for c in report.checks
        ],
    )


@dataclass(frozen=True)
class Group:
    """Checks not shown one by one: how many, points earned, points possible."""

    checks: int = 0
    score: float = 0.0
    max_score: float = 0.0


@dataclass
class StudentView:
    """`report` holds only the checks shown one by one (its score and maximum leave out the
    pending checks' points); `hidden` sums the hidden checks; `pending` are the after_due
    checks not yet released (only their titles, ids and points possible may be shown)."""

    report: Report
    hidden: Group = field(default_factory=Group)
    pending: list[CheckResult] = field(default_factory=list)

    @property
    def pending_points(self) -> float:
        return sum(c.max_score for c in self.pending)

    def notes(self) -> list[str]:
        """The sentences a feedback file adds, in plain words."""
        notes = []
        if self.hidden.checks:
            n = self.hidden.checks
            notes.append(
                f"{n} hidden check{'s' if n != 1 else ''}: {self.hidden.score:g} of {self.hidden.max_score:g} "
                "points (counted in your score; hidden checks are not shown one by one)."
            )
        if self.pending:
            n = len(self.pending)
            notes.append(
                f"{n} check{'s' if n != 1 else ''} ({self.pending_points:g} point{'s' if self.pending_points != 1 else ''}) "
                f"{'are' if n != 1 else 'is'} released after the due date: the score shown leaves "
                f"{'them' if n != 1 else 'it'} out, so it is not your final score."
            )
        return notes


def student_view(report: Report, released: bool) -> StudentView:
    """What a student's feedback shows of `report` (see the module's docstring)."""
    report = without_hidden_names(report)
    shown: list[CheckResult] = []
    hidden: list[CheckResult] = []
    pending: list[CheckResult] = []
    for check in report.checks:
        if check.visibility == "hidden":
            hidden.append(check)
        elif check.visibility == "after_due" and not released:
            pending.append(check)
        else:
            shown.append(check)
    if not hidden and not pending:
        return StudentView(report)
    pending_score = sum(c.score for c in pending)
    score = round(report.score - pending_score, 4)
    max_score = round(report.max_score - sum(c.max_score for c in pending), 4)
    message = report.message
    full = f"{report.score:g} of {report.max_score:g} points"
    if pending and report.status == RunStatus.GRADED and message.startswith(full):
        message = f"{score:g} of {max_score:g} points" + message[len(full) :]
    view = dataclasses.replace(report, checks=shown, score=score, max_score=max_score, message=message)
    return StudentView(
        view,
        Group(len(hidden), round(sum(c.score for c in hidden), 4), round(sum(c.max_score for c in hidden), 4)),
        [
            # nothing of the result: no status, points, feedback, hint or location
            CheckResult(
                c.id, c.title, CheckStatus.SKIPPED, 0.0, c.max_score, RELEASED_AFTER_DUE, visibility=c.visibility
            )
            for c in pending
        ],
    )
