"""What the gradebook (:mod:`grader.gradebook`) and report.html (:mod:`grader.classreport`)
both read the same way in a class's reports: the statuses, which check results count as
failed, how a number is shown and a report's platform identity. Both import it from here, so
neither imports the other for it."""
from __future__ import annotations

from typing import Any

STATUSES = ("graded", "error", "timeout", "tampered", "missing")
FAILED_CHECK = ("failed", "error")


def num(value: float | None) -> str:
    """A number as the gradebook and report show it: no exponent, at most 2 decimals."""
    if value is None:
        return ""
    text = f"{float(value):.2f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def identity_of(report: dict[str, Any]) -> dict[str, Any]:
    """The platform identity of a report (name, platform id, gradebook login, late), with
    empty values where the report has none (``grader grade`` reports, old reports)."""
    ident = report.get("identity") if isinstance(report.get("identity"), dict) else {}
    return {"name": str(ident.get("name") or ""), "platform": str(ident.get("platform") or ""),
            "id": str(ident.get("id") or ""), "login": str(ident.get("login") or ""),
            "late": bool(ident.get("late")), "folder": str(ident.get("folder") or "")}
