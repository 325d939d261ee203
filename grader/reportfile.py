"""The one definition of a usable per-student report: what the gradebook, report.html, the
feedback handed back, a batch's "is it up to date?" and "did the worker write one?", and the
queue's results all accept as a report.

A report is usable when its JSON (at most MAX_REPORT_BYTES, lone surrogates replaced by
U+FFFD in every text) is an object that is not one of the grader's other documents (a
summary.json), has a text ``submission``, ``assignment`` and ``status``, a number ``score`` and
``max_score``, a list of ``checks``, each an object with a text ``id`` (and number points when
it gives them), and that :meth:`grader.model.Report.from_dict` reads (a known status and check
status).

Its own module, not :mod:`grader.model`: it needs :func:`grader.renderers.safe.valid_unicode`,
and :mod:`grader.renderers` imports the model.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from grader.model import Report
from grader.renderers import safe

MAX_REPORT_BYTES = 16 * 1024 * 1024
# The "kind" of the grader's JSON documents that sit beside the reports and are not one.
SUMMARY_KIND = "grader-batch-summary"
LESSON_KIND = "grader-lesson-summary"
_OTHER_KINDS = {SUMMARY_KIND: "a batch summary", LESSON_KIND: "a lesson summary"}


class ReportProblem(ValueError):
    """Why a JSON document or file is not a usable report (its message, for the instructor:
    "unreadable (...)", "no valid 'score'", "unknown status 'weird'", ...)."""


def _shape_problem(data: Any) -> str | None:
    """Why `data` does not have the shape of a per-student report, or None when it has."""
    if not isinstance(data, dict):
        return "not a JSON object"
    if data.get("kind") in _OTHER_KINDS:
        return _OTHER_KINDS[data["kind"]]
    for key, kind in (
        ("submission", str),
        ("assignment", str),
        ("status", str),
        ("score", (int, float)),
        ("max_score", (int, float)),
        ("checks", list),
    ):
        if not isinstance(data.get(key), kind) or isinstance(data.get(key), bool):
            return f"no valid {key!r}"
    for check in data["checks"]:
        if not isinstance(check, dict) or not isinstance(check.get("id"), str):
            return "a check without an id"
        for key in ("score", "max_score"):
            if key in check and (not isinstance(check[key], (int, float)) or isinstance(check[key], bool)):
                return f"a check with no valid {key!r}"
    return None


def parse_report(data: Any) -> Report:
    """The typed report of JSON data (its texts cleaned); raises ReportProblem."""
    data = safe.valid_unicode(data)
    why = _shape_problem(data)
    if why:
        raise ReportProblem(why)
    try:
        return Report.from_dict(data)
    except (KeyError, TypeError, ValueError) as exc:
        raise ReportProblem(str(exc)) from None


def read_json(path: Path, max_bytes: int = MAX_REPORT_BYTES) -> Any:
    """The JSON of a report file as it is (not cleaned), at most `max_bytes`; raises
    ReportProblem ("unreadable (...)") when it cannot be read or is not JSON, and lets
    FileNotFoundError through for a caller to whom "no report yet" is no problem."""
    try:
        if path.stat().st_size > max_bytes:
            raise ValueError("larger than a report can be")
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise
    except (OSError, ValueError, RecursionError) as exc:
        raise ReportProblem(f"unreadable ({exc})") from None


def load_report(path: Path, max_bytes: int = MAX_REPORT_BYTES) -> Report | ReportProblem:
    """The typed report in the file `path`, or why it is not a usable one."""
    try:
        return parse_report(read_json(Path(path), max_bytes))
    except FileNotFoundError as exc:
        return ReportProblem(f"unreadable ({exc})")
    except ReportProblem as problem:
        return problem
