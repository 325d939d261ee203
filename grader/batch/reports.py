"""The reports the batch writes itself (a submission rejected, a grading the grader failed),
writing and reading a report file, and the check that stops a batch whose submissions mostly
fail the same way (the shape of the download, not the students' work)."""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path
from typing import Any

from grader import api, rubric
from grader.batch.errors import BatchError
from grader.batch.names import printable
from grader.model import Report
from grader.renderers import json_report, write_atomic
from grader.reportfile import ReportProblem, load_report

PROBLEMS = {
    "no-manage-py": "hold no manage.py",
    "online-text-only": "hold only an online text, no files",
    "unsupported-archive": "hold only an archive the grader cannot open (.rar, .7z, ...)",
    "damaged-archive": "hold an archive that cannot be unpacked",
    "empty": "hold no files",
    "several-projects": "hold several Django projects",
    "settings": "have a manage.py that names no settings module the grader can find",
    "link": "are links to folders outside the submission",
}


def check_common_problem(problems: dict[str, str], whys: dict[str, str], total: int, layout: str) -> None:
    """Stop before grading when most submissions fail to be found the same way: that is the
    shape of the download (the wrong folder, the wrong --layout), not 30 students' mistakes."""
    if not problems:
        return
    kind, count = Counter(problems.values()).most_common(1)[0]
    if count < 3 or count * 2 <= total or kind not in PROBLEMS:
        return
    example = next(s for s, k in sorted(problems.items()) if k == kind)
    raise BatchError(
        f"{count} of {total} submissions {PROBLEMS[kind]} (for example {printable(example)}: "
        f"{printable(whys.get(example, ''))}). This looks like the shape of the download, not the "
        f"students' work: the source was read as a {layout} download; check that it is the "
        "platform's download, name its layout with --layout, or pass --keep-going to grade it anyway."
    )


def fault_report(assignment: rubric.Assignment, student: str, what: str, mode: str) -> Report:
    """The report of a student whose grading failed because of the grader, not the student."""
    return api.grader_fault_report(
        assignment, student, what, time.monotonic(), mode if mode in ("bwrap", "none") else "none"
    )


def rejected_report(assignment: rubric.Assignment, student: str, why: str, mode: str) -> Report:
    return api.error_report(
        assignment,
        student,
        f"Your submission could not be graded: {why}.",
        time.monotonic(),
        mode if mode in ("bwrap", "none") else "none",
    )


def write_report(path: Path, report: Report) -> None:
    write_atomic(path, json_report.render(report))


def read_outcome(path: Path) -> dict[str, Any] | None:
    """status, score and max_score of a report file, or None when it is not a usable report
    (reportfile.load_report: what the gradebook would leave out)."""
    report = load_report(path)
    if isinstance(report, ReportProblem):
        return None
    return {"status": report.status.value, "score": float(report.score), "max_score": float(report.max_score)}
