"""GitHub Classroom's points end to end: the student workflow's own Grade step (the real CLI) on
the reference solution and on the untouched starter, its `result` output decoded as Classroom's
reporter decodes it; and `grader submit --wait --classroom` against a running grading service
(the official score)."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
import yaml
from conftest import ASSIGNMENT, ROOT, TEMPLATE, build_submission, run_cli
from servers import Service

from grader import rubric

WORKFLOW = TEMPLATE / ".github" / "workflows" / "classroom.yml"
[HIDDEN] = [c for c in rubric.load(ASSIGNMENT).checks if c.visibility == "hidden"]  # signals-profile's
REPORTER_SCHEMA = json.loads((ROOT / "tests" / "data" / "classroom-reporter.schema.json").read_text())


def valid(data: dict) -> dict:
    jsonschema.validate(data, REPORTER_SCHEMA)
    assert 0 <= sum(t["score"] for t in data["tests"]) <= data["max_score"]
    return data


def grade_step() -> dict:
    steps = yaml.safe_load(WORKFLOW.read_text())["jobs"]["run-autograding-tests"]["steps"]
    return next(s for s in steps if s.get("id") == "grade")


def reporter_input(output: Path, step_id: str) -> dict:
    """What the reporter reads: the step's `result` output (from $GITHUB_OUTPUT), base64 JSON."""
    values = dict(line.split("=", 1) for line in output.read_text().splitlines())
    return valid(json.loads(base64.b64decode(values["result"], validate=True)))


@pytest.mark.e2e
@pytest.mark.parametrize("solution", [True, False], ids=["solution", "starter"])
def test_the_workflows_grade_step_gives_classroom_the_points(tmp_path, solution):
    """The checkout's grader (the instructor's: every check, the hidden one too)."""
    project = build_submission(tmp_path / "project", solution=solution)
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "REPORT_DIR": str(tmp_path / "grader"),
        "GITHUB_OUTPUT": str(tmp_path / "github-output"),
    }
    step = grade_step()
    done = subprocess.run(
        ["bash", "-e", "-c", step["run"]], cwd=project, env=env, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr
    result = reporter_input(tmp_path / "github-output", step["id"])
    report = json.loads((tmp_path / "grader" / "report.json").read_text())
    total = sum(t["score"] for t in result["tests"])
    assert (total, result["max_score"]) == (report["score"], report["max_score"]) == ((10, 10) if solution else (1, 10))
    assert result["status"] == ("pass" if solution else "fail")
    assert [t["name"] for t in result["tests"]][-1] == "1 hidden check"
    assert HIDDEN.title not in json.dumps(result) and HIDDEN.id not in json.dumps(result)
    if not solution:
        failed = [t for t in result["tests"] if t["status"] == "fail"]
        assert failed and all("Hint:" in t["message"] for t in failed[:-1])


@pytest.mark.e2e
def test_submit_writes_the_official_score_from_the_service(tmp_path):
    service = Service(tmp_path / "svc").start()
    try:
        token = service.students({"student_id": "ada", "name": "Ada"})["ada"]
        project = build_submission(tmp_path / "starter", solution=False)
        out = tmp_path / "classroom.json"
        done = run_cli(
            "submit",
            service.url,
            str(project),
            "-a",
            "signals-profile",
            "--token",
            token,
            "--wait",
            "--classroom",
            str(out),
        )
        assert done.returncode == 0, done.stderr
        refused = run_cli(
            "submit",
            service.url,
            str(project),
            "-a",
            "signals-profile",
            "--token",
            "gst_nope",
            "--wait",
            "--classroom",
            str(tmp_path / "refused.json"),
        )
    finally:
        service.stop()
    result = valid(json.loads(out.read_text()))
    # the service's score counts the hidden check; Classroom shows its points, never its name
    assert (sum(t["score"] for t in result["tests"]), result["max_score"]) == (1, 10)
    assert result["tests"][-1]["name"] == "Hidden checks" and result["status"] == "fail"
    assert HIDDEN.title not in out.read_text() and HIDDEN.id not in out.read_text()
    assert refused.returncode == 2
    error = valid(json.loads((tmp_path / "refused.json").read_text()))
    assert error["status"] == "error" and "refused" in error["tests"][0]["message"]
