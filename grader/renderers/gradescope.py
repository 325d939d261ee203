"""Gradescope autograder results (results.json): the same suite as a Gradescope autograder."""

from __future__ import annotations

import json

from grader.model import NOT_RUN_ENVIRONMENT, CheckStatus, Report


def _output(check) -> str:
    parts = [check.feedback]
    if check.diagnosis == NOT_RUN_ENVIRONMENT:  # Gradescope knows passed and failed only: say it
        parts.insert(0, "Not run because of the grading environment (not a mark of your code).")
    if check.location:
        parts.append(f"Where: {check.location}")
    parts += check.student_traceback
    if check.status != CheckStatus.PASSED and check.hint:
        parts.append(f"Hint: {check.hint}")
    return "\n".join(p for p in parts if p)


# The rubric's visibility in Gradescope's words: a hidden check is never shown on its own, an
# after_due one once the due date has passed.
GRADESCOPE_VISIBILITY = {"public": "visible", "hidden": "hidden", "after_due": "after_due_date"}


def render(report: Report) -> str:
    data = {
        "score": report.score,
        "execution_time": round(report.duration_s),
        "output": report.message + "".join(f"\nWarning: {w}" for w in report.warnings),
        "visibility": "visible",
        "stdout_visibility": "hidden",
        "tests": [
            {
                "name": c.title,
                "number": c.id,
                "score": c.score,
                "max_score": c.max_score,
                "status": "passed" if c.status == CheckStatus.PASSED else "failed",
                "output": _output(c),
                "visibility": GRADESCOPE_VISIBILITY.get(c.visibility, "visible"),
            }
            for c in report.checks
        ],
    }
    return json.dumps(data, indent=2) + "\n"
