"""What the gradebook (:mod:`grader.gradebook`) and report.html (:mod:`grader.classreport`)
both read the same way in a class's reports: the statuses, which check results count as
failed and how a number is shown. Both import it from here, so neither imports the other for
it. (The class-level types they share are in :mod:`grader.classmodel`.)"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from grader.model import Report

STATUSES = ("graded", "error", "timeout", "tampered", "missing")
FAILED_CHECK = ("failed", "error")


def num(value: float | None) -> str:
    """A number as the gradebook and report show it: no exponent, at most 2 decimals."""
    if value is None:
        return ""
    text = f"{float(value):.2f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


@dataclass(frozen=True)
class Marks:
    """A student's points in a gradebook, side by side: the suite's score (``raw``), the late
    penalty (``penalty``: the points it took, ``accepted`` False when late work is not accepted),
    the instructor's overrides (``override``: their net points) and the ``final`` score, with
    raw - penalty + override == final. In order: raw, per-check overrides, the late penalty on
    that, total overrides (grader/overrides.py), final."""

    raw: float
    penalty: float = 0.0
    override: float = 0.0
    final: float = 0.0
    accepted: bool = True
    late_note: str = ""  # the report's Timing.note ("2 days late: -20%"), "" without timing
    notes: tuple[str, ...] = ()  # the overrides' reasons
    timed: bool = False  # the report has a timing (a batch with --course)

    @property
    def adjusted(self) -> bool:
        """Does the gradebook need the raw/penalty/override/final columns for this student?"""
        return self.timed or bool(self.notes) or self.override != 0


def marks(report: Report, overrides: Any = None) -> Marks:
    """The Marks of `report`, with `overrides` (an overrides.Overrides, or None)."""
    raw = float(report.score)
    applied = overrides.apply(report) if overrides is not None else None
    checked = float(applied.score) if applied is not None else raw
    timing = report.timing
    accepted = timing.accepted if timing is not None else True
    penalty = float(timing.penalty) if timing is not None else 0.0
    after = max(0.0, checked - penalty) if accepted else 0.0
    final = float(applied.final(after)) if applied is not None else after
    taken = round(checked - after, 4)
    return Marks(
        raw=raw,
        penalty=taken,
        override=round(final - after + checked - raw, 4),
        final=round(final, 4),
        accepted=accepted,
        late_note=timing.note if timing is not None else "",
        notes=tuple(str(n) for n in (applied.notes if applied is not None else ())),
        timed=timing is not None,
    )
