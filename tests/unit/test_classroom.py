"""GitHub Classroom's autograding result (renderers/classroom.py), checked against the format of
Classroom's reporter action (classroom-resources/autograding-grading-reporter, as its runner
actions write it), and the student workflow Classroom reads its points from."""

from __future__ import annotations

import json

import jsonschema
import pytest
import yaml
from conftest import ROOT, TEMPLATE

from grader.model import NOT_RUN_ENVIRONMENT, CheckResult, CheckStatus, Report, RunStatus, Withheld
from grader.renderers import EXTENSIONS, RENDERERS, classroom, render
from grader.renderers.visibility import student_view

# The reporter's format, as a JSON Schema (tests/data): what it reads, base64-encoded, from each
# runner step's `result` output.
REPORTER_SCHEMA = json.loads((ROOT / "tests" / "data" / "classroom-reporter.schema.json").read_text())
HIDDEN_TITLE = "Saving a user twice keeps its one profile"


def valid(data: dict) -> dict:
    """`data` checked against the reporter's format, and its points as Classroom adds them."""
    jsonschema.validate(data, REPORTER_SCHEMA)
    total = sum(t["score"] for t in data["tests"])
    assert 0 <= total <= data["max_score"]
    return data


def points(data: dict) -> tuple[float, float]:
    return sum(t["score"] for t in data["tests"]), data["max_score"]


def _check(id_, status, score, max_score, visibility="public", **kw) -> CheckResult:
    return CheckResult(
        id_, kw.pop("title", id_.replace("-", " ")), status, score, max_score, visibility=visibility, **kw
    )


def _report(checks, status=RunStatus.GRADED, message=None, **kw) -> Report:
    score = sum(c.score for c in checks)
    most = sum(c.max_score for c in checks)
    return Report(
        "signals-profile",
        "ada",
        status,
        score,
        most,
        message if message is not None else f"{score:g} of {most:g} points",
        checks,
        3.25,
        "0.1.0",
        "5.2",
        "3.12",
        "2026-11-02T10:00:00+00:00",
        **kw,
    )


MIXED = [
    _check("project-loads", CheckStatus.PASSED, 1, 1),
    _check(
        "profile-created-once",
        CheckStatus.FAILED,
        0,
        3,
        feedback="no profile exists after create_user(...)",
        hint="create it in a post_save receiver",
        location="users/signals.py:12",
    ),
    _check("receiver-in-ready", CheckStatus.PASSED, 1.5, 3),
    _check("resave-no-duplicate", CheckStatus.FAILED, 0, 3, "hidden", title=HIDDEN_TITLE, feedback="IntegrityError"),
    _check("admin-adds-user", CheckStatus.PASSED, 2, 2, "after_due"),
]


def test_it_is_a_format_the_cli_knows():
    assert "classroom" in RENDERERS and EXTENSIONS["classroom"] == ".classroom.json"


@pytest.mark.parametrize("released", [False, True])
def test_the_points_are_those_of_the_students_view(released):
    report = _report(MIXED)
    data = valid(json.loads(render("classroom", report, released=released)))
    view = student_view(report, released)
    assert points(data) == (view.report.score, view.report.max_score)
    names = [t["name"] for t in data["tests"]]
    assert names[:3] == ["project loads", "profile created once", "receiver in ready"]
    assert names[-1] == "1 hidden check"  # its points, never its name
    assert ("admin adds user" in names) == released  # after_due: left out until released
    assert points(data) == ((2.5, 10) if not released else (4.5, 12))
    assert data["status"] == "fail"
    failed = data["tests"][1]
    assert failed["status"] == "fail" and failed["score"] == 0
    assert "no profile exists" in failed["message"] and "Hint: create it" in failed["message"]
    assert (failed["filename"], failed["line_no"]) == ("users/signals.py", 12)
    assert data["tests"][2]["score"] == 1.5 and data["tests"][2]["status"] == "fail"
    assert data["tests"][0]["execution_time"] == "3.2s" and data["tests"][1]["execution_time"] == "0s"


def test_a_hidden_check_is_never_named_even_in_the_texts_of_the_others():
    checks = [
        _check("project-loads", CheckStatus.PASSED, 1, 1),
        _check(
            "signals-registered",
            CheckStatus.ERROR,
            0,
            3,
            feedback=f"the run ended early while checking '{HIDDEN_TITLE}' (resave-no-duplicate)",
        ),
        _check("resave-no-duplicate", CheckStatus.ERROR, 0, 3, "hidden", title=HIDDEN_TITLE),
    ]
    report = _report(checks, message=f"0 of 7 points: the run ended early while checking '{HIDDEN_TITLE}'")
    text = render("classroom", report)
    assert HIDDEN_TITLE not in text and "resave-no-duplicate" not in text
    data = valid(json.loads(text))
    assert "a hidden check" in data["message"] and "a hidden check" in data["tests"][1]["message"]


def test_a_run_that_was_not_graded_is_one_error_that_says_why():
    checks = [_check(c.id, CheckStatus.ERROR, 0, c.max_score, feedback="no manage.py") for c in MIXED[:3]]
    report = _report(checks, RunStatus.ERROR, "not scored: the submission holds no manage.py")
    data = valid(json.loads(render("classroom", report)))
    assert data["status"] == "error" and points(data) == (0, 7)
    [test] = data["tests"]
    assert test["status"] == "error" and "holds no manage.py" in test["message"]


def test_a_check_the_environment_stopped_is_an_error_that_names_itself():
    checks = [
        _check("project-loads", CheckStatus.PASSED, 1, 1),
        _check("receiver-in-ready", CheckStatus.SKIPPED, 0, 3, diagnosis=NOT_RUN_ENVIRONMENT, feedback="not run"),
    ]
    data = valid(json.loads(render("classroom", _report(checks))))
    assert data["status"] == "error"
    # the reporter prints an error test's message, not its name
    assert data["tests"][1]["status"] == "error" and data["tests"][1]["message"].startswith("receiver in ready: ")


def test_the_students_package_scores_out_of_the_public_points_and_says_it_is_not_the_grade():
    report = _report(MIXED[:3], message="2.5 of 7 points. 1 hidden check (3 points) is graded after you submit")
    report.withheld = Withheld(1, 3)
    data = valid(json.loads(render("classroom", report)))
    assert points(data) == (2.5, 7) and "graded after you submit" in data["message"]


def test_a_score_is_never_above_its_points_and_no_text_starts_a_workflow_command():
    checks = [
        _check("project-loads", CheckStatus.PASSED, 5, 1),  # (a report edited by hand)
        _check("x", CheckStatus.FAILED, -2, 3, feedback="oops\n::add-mask::secret\n  ::error::boom\x1b[31m"),
    ]
    data = valid(json.loads(render("classroom", _report(checks))))
    assert [t["score"] for t in data["tests"]] == [1, 0] and data["max_score"] == 4
    message = data["tests"][1]["message"]
    assert not any(line.lstrip().startswith("::") for line in message.splitlines())
    assert "\x1b" not in message and "add-mask" in message


# ---------------------------------------------------------------- the service's answer


SERVICE_ANSWER = {
    "id": 7,
    "assignment": "signals-profile",
    "status": "graded",
    "score": 4,
    "max_score": 10,
    "message": "4 of 10 points",
    "notes": ["1 hidden check: 0 of 3 points (counted in your score; hidden checks are not shown one by one)."],
    "checks": [
        {"id": "project-loads", "title": "The project loads", "status": "passed", "score": 1, "max_score": 1},
        {"id": "a", "title": "Receiver in ready()", "status": "passed", "score": 3, "max_score": 3},
        {
            "id": "b",
            "title": "One profile",
            "status": "failed",
            "score": 0,
            "max_score": 3,
            "feedback": "no profile",
            "hint": "if created: ...",
            "location": "users/signals.py:4",
        },
    ],
    "timing": "",
}


def test_the_services_answer_gives_the_official_score_with_the_hidden_points_in_one_line():
    data = valid(classroom.from_service(SERVICE_ANSWER))
    assert points(data) == (4, 10) and data["status"] == "fail"
    assert [t["name"] for t in data["tests"]] == [
        "The project loads",
        "Receiver in ready()",
        "One profile",
        "Hidden checks",
    ]
    assert data["tests"][3]["score"] == 0 and "0 of 3 points" in data["tests"][3]["message"]
    assert "1 hidden check: 0 of 3 points" in data["message"]


def test_the_services_answer_all_passed_and_not_graded():
    full = {**SERVICE_ANSWER, "score": 7, "max_score": 7, "notes": []}
    full["checks"] = [{**c, "status": "passed", "score": c["max_score"]} for c in SERVICE_ANSWER["checks"]]
    data = valid(classroom.from_service(full))
    assert points(data) == (7, 7) and data["status"] == "pass" and len(data["tests"]) == 3
    error = valid(classroom.from_service({"id": 8, "status": "error", "error": "your archive cannot be graded"}))
    assert error["status"] == "error" and "cannot be graded" in error["tests"][0]["message"]


# ---------------------------------------------------------------- the student workflow


WORKFLOW = TEMPLATE / ".github" / "workflows" / "classroom.yml"


def test_the_workflow_has_the_names_classroom_reads_its_points_from():
    workflow = yaml.safe_load(WORKFLOW.read_text())
    assert workflow["name"] == "Autograding Tests"
    triggers = workflow.get("on", workflow.get(True))  # YAML 1.1 reads a bare `on` as True
    assert set(triggers) == {"push", "repository_dispatch", "workflow_dispatch"}
    assert list(workflow["jobs"]) == ["run-autograding-tests"]
    steps = workflow["jobs"]["run-autograding-tests"]["steps"]
    grade = next(s for s in steps if s.get("name") == "Grade")
    assert "classroom:" in grade["run"] and '"result=$(base64 -w0 ' in grade["run"]
    assert '>> "$GITHUB_OUTPUT"' in grade["run"]
    reporter = steps[-1]
    assert reporter["uses"] == "classroom-resources/autograding-grading-reporter@v1"
    runners = reporter["with"]["runners"].split(",")
    assert runners == [grade["id"]]
    # the reporter reads <ID>_RESULTS, the id upper-cased
    assert reporter["env"] == {f"{grade['id'].upper()}_RESULTS": f"${{{{ steps.{grade['id']}.outputs.result }}}}"}
    assert reporter["if"].startswith("always()")
    assert not (TEMPLATE / ".github" / "workflows" / "grade.yml").exists()  # one workflow, Classroom's
