"""Issue 4: feedback a student can act on, and nothing hidden leaks into it."""

from __future__ import annotations

import json
import re

import pytest
from conftest import ASSIGNMENT, check

from grader import authoring, rubric

pytestmark = pytest.mark.e2e

# Each case is signals-profile's variant of the same name (its files live there, once); this
# test reads the feedback it gets: the diagnosis, the phrase, the line, the warning.
ASSIGNED = rubric.load(ASSIGNMENT)
VARIANTS = {case.name: case for case in authoring.cases(ASSIGNED)}
CASES = {
    # Warnings cost no points.
    "default-app-config": dict(scores=10, diagnosis=None, warning="default_app_config is ignored since Django 4.1"),
    "other-app-missing-migration": dict(
        scores=10, diagnosis=None, warning="the 'notes' app has model changes without a migration"
    ),
    # Migrations out of step with the Profile model: migrate would leave the site broken.
    # Only the check covering migrations loses its point: the receivers work (grading
    # makes its tables from the models), and the behaviour checks do not depend on it.
    "missing-migration": dict(scores=9, diagnosis=("project-loads", "migrations", "makemigrations users")),
    "stale-migration": dict(scores=9, diagnosis=("project-loads", "migrations", "Add field website to profile")),
    "import-error": dict(
        scores=0, diagnosis=("project-loads", "import-error", "users.modles"), location="users/signals.py:1"
    ),
    "kwargs-without-debug": dict(
        scores=4, diagnosis=("profile-created-once", "receiver-kwargs", "**kwargs"), location="users/signals.py"
    ),
    "receiver-without-sender": dict(
        scores=4,
        diagnosis=("profile-created-once", "receiver-without-sender", "sender=settings.AUTH_USER_MODEL"),
        location="users/signals.py:10",
    ),
    "connected-from-urls": dict(
        scores=1,
        diagnosis=("receiver-registered-in-ready", "connected-outside-ready", "mysite/urls.py"),
        location="mysite/urls.py:",
    ),
    "bad-auth-user-model": dict(scores=0, diagnosis=("project-loads", "settings-error", "AUTH_USER_MODEL")),
    "models-imported-at-top-of-apps": dict(
        scores=0, diagnosis=("project-loads", "app-registry-not-ready", "inside ready()"), location="users/apps.py:1"
    ),
    "exit-in-settings": dict(scores=0, diagnosis=("project-loads", "exit-during-startup", "sys.exit()")),
    "receiver-in-other-app-ready": dict(
        scores=7, diagnosis=("receiver-registered-in-ready", "wrong-app-ready", "notes.apps.NotesConfig")
    ),
}


@pytest.fixture(scope="module")
def reports(tmp_path_factory):
    from conftest import run_cli, validate

    base = tmp_path_factory.mktemp("feedback")
    out = {}
    for name, case in CASES.items():
        project = authoring.build(ASSIGNED, VARIANTS[name], base / name)
        target = base / f"{name}.json"
        proc = run_cli("grade", str(project), "--output", str(target), "--quiet", "--format", "markdown")
        assert proc.returncode == 0, proc.stderr
        out[name] = validate(json.loads(target.read_text()))
        out[name]["_markdown"] = (base / f"{name}.md").read_text()
    return out


@pytest.mark.parametrize("name", list(CASES))
def test_diagnosis_is_named(name, reports):
    case, report = CASES[name], reports[name]
    assert report["score"] == case["scores"], json.dumps(report["checks"], indent=1)
    if case.get("warning"):
        assert any(case["warning"] in w for w in report["warnings"]), report["warnings"]
        assert case["warning"].split(" ")[0] in report["_markdown"]
    if case["diagnosis"]:
        check_id, diagnosis, phrase = case["diagnosis"]
        result = check(report, check_id)
        assert result["diagnosis"] == diagnosis, result
        assert phrase in result["feedback"], result
        if case.get("location"):
            assert result["location"].startswith(case["location"]), result


def test_dependent_checks_say_why_they_did_not_run(reports):
    # a failed prerequisite: profile-created-once failed, so re-saving was not judged
    report = reports["connected-from-urls"]
    assert check(report, "resave-no-duplicate")["status"] == "skipped"
    assert check(report, "resave-no-duplicate")["feedback"] == "not run: profile-created-once failed"


def test_migrations_cost_only_the_check_that_covers_them(reports):
    report = reports["missing-migration"]
    assert check(report, "project-loads")["status"] == "failed"
    assert all(
        check(report, c)["status"] == "passed"
        for c in ("receiver-registered-in-ready", "profile-created-once", "resave-no-duplicate")
    )


def _hidden_lines() -> list[str]:
    lines = []
    for path in (ASSIGNMENT / "tests").glob("*.py"):
        for line in path.read_text().splitlines():
            line = line.strip()
            if len(line) > 24 and not line.startswith(("#", '"""', "from ", "import ")):
                lines.append(line)
    return lines


def test_no_report_shows_hidden_source_or_grader_paths(reports):
    hidden = _hidden_lines()
    assert len(hidden) > 30
    leaks = re.compile(
        r"_grader_harness|/grading/|site-packages|test_(creation|resave|registration|project)\.py|suite/"
    )
    for name, report in reports.items():
        text = json.dumps(report)
        for line in hidden:
            assert line not in text, (name, line)
        assert not leaks.search(text), (name, leaks.search(text).group(0))


def test_student_traceback_has_only_student_frames(reports):
    frames = check(reports["import-error"], "project-loads")["student_traceback"]
    assert frames, "the student's own frames should be shown"
    assert all(f.startswith("users/") for f in frames), frames
    assert any("from .modles import Profile" in f for f in frames), frames
