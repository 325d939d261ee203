"""What the gradebook (:mod:`grader.gradebook`) and report.html (:mod:`grader.classreport`)
both read the same way in a class's reports: the statuses, which check results count as
failed, how a number is shown and a report's platform identity. Both import it from here, so
neither imports the other for it."""
from __future__ import annotations

from typing import Any

from grader.model import Identity, Report

STATUSES = ("graded", "error", "timeout", "tampered", "missing")
FAILED_CHECK = ("failed", "error")


def num(value: float | None) -> str:
    """A number as the gradebook and report show it: no exponent, at most 2 decimals."""
    if value is None:
        return ""
    text = f"{float(value):.2f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def identity_of(report: Report) -> dict[str, Any]:
    """The platform identity of a report (name, platform id, gradebook login, late, the
    download's folder), with empty values where the report has none (``grader grade`` reports,
    old reports)."""
    ident = report.identity or Identity()
    return {"name": ident.name, "platform": ident.platform, "id": ident.id, "login": ident.login,
            "late": ident.late, "folder": ident.folder}
