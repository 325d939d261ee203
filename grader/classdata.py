"""What the gradebook (:mod:`grader.gradebook`) and report.html (:mod:`grader.classreport`)
both read the same way in a class's reports: the statuses, which check results count as
failed and how a number is shown. Both import it from here, so neither imports the other for
it. (The class-level types they share are in :mod:`grader.classmodel`.)"""

from __future__ import annotations

STATUSES = ("graded", "error", "timeout", "tampered", "missing")
FAILED_CHECK = ("failed", "error")


def num(value: float | None) -> str:
    """A number as the gradebook and report show it: no exponent, at most 2 decimals."""
    if value is None:
        return ""
    text = f"{float(value):.2f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text
