"""GitHub Classroom's autograding result: the JSON that Classroom's reporter action
(``classroom-resources/autograding-grading-reporter``) reads from a step's ``result`` output,
base64-encoded, and turns into the points Classroom shows.

The reporter's format, as its runner actions write it::

    {"version": 1, "status": "pass" | "fail" | "error", "max_score": 7, "message": "...",
     "tests": [{"name", "status", "message", "test_code", "filename", "line_no",
                "execution_time", "score"}, ...]}

Classroom's points are the sum of the tests' ``score`` out of ``max_score``; the reporter fails
its step when ``status`` is ``fail`` or ``error``. The file is always the *student's* view
(renderers/visibility.py): public checks one by one; hidden checks only as one line "N hidden
checks" with their points (never their names); after_due checks not yet released left out of
the points and of the maximum. So the points are those the student's feedback shows, each
test's score is within its check's points, and the total never exceeds ``max_score``.

A run that was not graded (no project, a timeout, changed results) is one ``error`` test that
says why, at 0 points. The grader times the whole run, not each check: the first test carries
the run's time in ``execution_time``, the others ``0s``.

:func:`from_service` makes the same result from the grading service's answer (``grader submit
--wait``): the official score, as the service shows it to the student.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from grader.model import CheckStatus, Report, RunStatus, is_environment_check
from grader.renderers import safe
from grader.renderers.visibility import student_view

VERSION = 1
NOT_GRADED = "Grading the project"
_LOCATION = re.compile(r"^(?P<file>.+?):(?P<line>\d+)(?::\d+)?$")
# A line of the Actions log that starts with '::' is a workflow command (::error::,
# ::add-mask::, ::stop-commands::): a student's text never starts one.
_COMMAND = re.compile(r"^(\s*)::", re.M)


@dataclass(frozen=True)
class Test:
    """One line of the reporter's output: a check, the hidden checks together, or why the run
    was not graded."""

    name: str
    status: str  # pass | fail | error
    score: float
    max_score: float  # (not in the reporter's format: the runner's max_score is their sum)
    message: str = ""
    location: str = ""


def clean(text: str) -> str:
    """A text of the report as the Actions log may print it: no control or bidi characters,
    no workflow command."""
    return _COMMAND.sub(r"\1: :", safe.terminal(safe.text(text or "")))


def _points(value: float) -> float | int:
    value = round(float(value), 4)
    return int(value) if value.is_integer() else value


def _where(location: str) -> tuple[str, int]:
    match = _LOCATION.match(location or "")
    if match is None:
        return location or "", 0
    return match["file"], int(match["line"])


def _of(score: float, max_score: float) -> str:
    return f"{_points(score)} of {_points(max_score)} point{'' if max_score == 1 else 's'}"


def sentences(*parts: str) -> str:
    """The texts as one paragraph, each ended by a full stop."""
    return " ".join(p if p[-1] in ".!?:)" else p + "." for p in (part.strip() for part in parts) if p)


def _message(feedback: str, score: float, max_score: float, location: str = "", hint: str = "") -> str:
    parts = [f"{_of(score, max_score)}.", feedback]
    if location:
        parts.append(f"Where: {location}")
    if hint:
        parts.append(f"Hint: {hint}")
    return "\n".join(p for p in parts if p)


def result(tests: list[Test], status: str, message: str = "", duration_s: float = 0.0) -> dict[str, Any]:
    """The reporter's JSON object for `tests`: each score within its test's points, the
    maximum their sum."""
    out = []
    for n, t in enumerate(tests):
        filename, line = _where(t.location)
        out.append(
            {
                "name": clean(t.name),
                "status": t.status,
                "message": clean(t.message),
                "test_code": "",
                "filename": clean(filename),
                "line_no": line,
                "execution_time": f"{duration_s:.1f}s" if n == 0 else "0s",
                "score": _points(min(max(t.score, 0.0), t.max_score)),
            }
        )
    return {
        "version": VERSION,
        "status": status,
        "max_score": _points(sum(max(t.max_score, 0.0) for t in tests)),
        "message": clean(message),
        "tests": out,
    }


def _status(tests: list[Test]) -> str:
    if any(t.status == "error" for t in tests):
        return "error"
    return "pass" if all(t.status == "pass" for t in tests) else "fail"


def _check_status(status: str, score: float, max_score: float, environment: bool = False) -> str:
    if status == CheckStatus.PASSED.value and score >= max_score:
        return "pass"  # (a check that passed with part of its points is not a pass here)
    # a check the grading environment stopped is not a mark of the code: an error, not a fail
    return "error" if environment else "fail"


def _hidden(checks: int | None, score: float, max_score: float) -> Test:
    many = "hidden checks" if checks is None else f"{checks} hidden check{'s' if checks != 1 else ''}"
    return Test(
        many[0].upper() + many[1:],
        "pass" if score >= max_score else "fail",
        score,
        max_score,
        f"{_of(score, max_score)} (hidden checks are not shown one by one).",
    )


def tests_of(report: Report, released: bool = False) -> tuple[list[Test], str]:
    """The tests a student is shown of `report`, and the run's message (with the notes of the
    student's view)."""
    view = student_view(report, released)
    shown = view.report
    message = sentences(shown.message, *view.notes())
    if shown.status != RunStatus.GRADED:
        return [Test(NOT_GRADED, "error", 0.0, shown.max_score, shown.message or shown.status.value)], message
    tests = []
    for c in shown.checks:
        environment = is_environment_check(c)
        name = c.title or c.id
        tests.append(
            Test(
                name,
                _check_status(c.status.value, c.score, c.max_score, environment),
                c.score,
                c.max_score,
                # (an error test's name is not printed by the reporter: its message names it)
                (f"{name}: " if environment else "") + _message(c.feedback, c.score, c.max_score, c.location, c.hint),
                c.location,
            )
        )
    if view.hidden.checks:
        tests.append(_hidden(view.hidden.checks, view.hidden.score, view.hidden.max_score))
    return tests, message


def render(report: Report, *, released: bool = False) -> str:
    """The reporter's JSON for `report`, as its student may see it (after_due checks only when
    `released`)."""
    tests, message = tests_of(report, released)
    data = result(tests, _status(tests), message, report.duration_s)
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def _number(value: object) -> float:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else 0.0


def from_service(answer: dict[str, Any]) -> dict[str, Any]:
    """The reporter's JSON object for the grading service's answer on a submission (what
    ``GET /api/submissions/<id>`` gives its student: the score and maximum of the student's
    view, the checks shown one by one, notes). Hidden checks count in the service's score but
    are not listed: they become one "Hidden checks" test of the points left over."""
    status = str(answer.get("status", ""))
    notes = [str(n) for n in answer.get("notes") or [] if isinstance(n, str)]
    timing = answer.get("timing")
    timing = timing if isinstance(timing, str) else ""
    message = sentences(str(answer.get("message") or ""), *notes, timing)
    max_score = _number(answer.get("max_score"))
    if status != "graded":
        why = str(answer.get("error") or answer.get("message") or f"the service's status is {status!r}")
        return result([Test(NOT_GRADED, "error", 0.0, max_score, why)], "error", message or why)
    tests = []
    listed_score = listed_max = 0.0
    for c in answer.get("checks") or []:
        if not isinstance(c, dict):
            continue
        score, most = _number(c.get("score")), _number(c.get("max_score"))
        name = str(c.get("title") or c.get("id") or "check")
        location = str(c.get("location") or "")
        tests.append(
            Test(
                name,
                _check_status(str(c.get("status", "")), score, most),
                score,
                most,
                _message(str(c.get("feedback") or ""), score, most, location, str(c.get("hint") or "")),
                location,
            )
        )
        listed_score += min(max(score, 0.0), most)
        listed_max += most
    hidden_max = round(max_score - listed_max, 4)
    if hidden_max > 0:
        hidden_score = min(max(round(_number(answer.get("score")) - listed_score, 4), 0.0), hidden_max)
        tests.append(_hidden(None, hidden_score, hidden_max))
    return result(tests, _status(tests), message)


def render_service(answer: dict[str, Any]) -> str:
    return json.dumps(from_service(answer), indent=2, ensure_ascii=False) + "\n"
