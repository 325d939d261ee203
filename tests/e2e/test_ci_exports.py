"""Issue 6: student CI workflow files, the formats CI reads, --fail-under. (Issue 25: the GitHub
workflow is GitHub Classroom's autograding workflow; tests/unit/test_classroom.py checks the
names Classroom needs.)"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import venv

import junitparser
import pytest
import yaml
from conftest import ROOT, TEMPLATE, build_submission, run_cli

WORKFLOW = TEMPLATE / ".github" / "workflows" / "classroom.yml"
NOT_THE_GRADE = "1 hidden check (3 points) is graded after you submit: this score is not your grade."
GITLAB = TEMPLATE / ".gitlab-ci.yml"


def _steps():
    workflow = yaml.safe_load(WORKFLOW.read_text())
    return workflow, workflow["jobs"]["run-autograding-tests"]["steps"]


def test_workflow_runs_on_push_and_when_classroom_asks():
    workflow, _ = _steps()
    triggers = workflow.get("on", workflow.get(True))  # YAML 1.1 reads a bare `on` as True
    assert set(triggers) == {"push", "repository_dispatch", "workflow_dispatch"}


def test_workflow_has_the_steps_students_rely_on():
    _, steps = _steps()
    uses = [s.get("uses", "") for s in steps]
    assert any(u.startswith("actions/checkout@") for u in uses)
    assert any(u.startswith("actions/setup-python@") for u in uses)
    runs = {s["name"]: s.get("run", "") for s in steps if "run" in s}
    assert 'pip install --quiet "$GRADER_PACKAGE"' in runs["Install the grader"]
    grade = runs["Grade"]
    # Classroom's reporter fails the job unless every check passed: no pass mark of its own
    assert "grader grade ." in grade and "--fail-under" not in grade and "classroom:" in grade
    assert "markdown:" in grade and "--output" in grade
    summary = next(s for s in steps if s["name"] == "Write the summary")
    assert summary["if"] == "always()" and "$GITHUB_STEP_SUMMARY" in summary["run"]
    upload = next(s for s in steps if s.get("uses", "").startswith("actions/upload-artifact@"))
    assert upload["if"] == "always()" and "grader" in upload["with"]["path"]


def test_gitlab_example_wires_junit_into_the_test_report():
    job = yaml.safe_load(GITLAB.read_text())["grade"]
    script = " ".join(job["script"])
    assert "grader grade ." in script and "--fail-under" in script and "junit:" in script
    assert job["artifacts"]["when"] == "always"
    assert job["artifacts"]["reports"]["junit"].endswith(".junit.xml")


@pytest.fixture(scope="module")
def fresh_grader(tmp_path_factory):
    """The grader installed from this checkout into a fresh virtual environment, as the
    workflow's install step does (non-editable: the hidden suite must ship in the wheel)."""
    env_dir = tmp_path_factory.mktemp("ci") / "venv"
    venv.create(env_dir, with_pip=True)
    pip = subprocess.run(
        [env_dir / "bin" / "python", "-m", "pip", "install", "--quiet", str(ROOT)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert pip.returncode == 0, pip.stderr
    return env_dir


@pytest.mark.e2e
@pytest.mark.parametrize("solution", [True, False])
def test_workflow_commands_in_a_fresh_venv(fresh_grader, tmp_path, solution):
    """Run the workflow's own shell steps, in order, on a submission: the Grade step succeeds
    whatever the score and gives Classroom's reporter its points (the step's `result`)."""
    project = build_submission(tmp_path / "project", solution=solution)
    summary = tmp_path / "step-summary.md"
    env = {
        "PATH": f"{fresh_grader / 'bin'}:{os.environ['PATH']}",
        "HOME": str(tmp_path),
        "GRADER_PACKAGE": str(ROOT),
        "REPORT_DIR": str(tmp_path / "grader"),
        "GITHUB_STEP_SUMMARY": str(summary),
        "GITHUB_OUTPUT": str(tmp_path / "step-output"),
    }
    _, steps = _steps()
    statuses = {}
    for step in steps:
        if "run" not in step:
            continue
        if statuses.get("Grade", 0) != 0 and step.get("if") != "always()":
            continue
        done = subprocess.run(
            ["bash", "-e", "-c", step["run"]], cwd=project, env=env, capture_output=True, text=True, timeout=600
        )
        statuses[step["name"]] = done.returncode
    assert statuses["Install the grader"] == 0
    assert statuses["Grade"] == 0
    assert statuses["Write the summary"] == 0
    report = json.loads((tmp_path / "grader" / "report.json").read_text())
    # the students' package holds signals-profile's public checks only (7 of its 10 points)
    assert report["score"] == (7 if solution else 1) and report["max_score"] == 7
    assert report["withheld"] == {"checks": 1, "points": 3}
    assert f"{report['score']:g} / 7 points (public checks only)" in summary.read_text()
    assert NOT_THE_GRADE in summary.read_text() and NOT_THE_GRADE in report["message"]
    assert not (project / "reports").exists()  # grading never writes into the project
    [line] = (tmp_path / "step-output").read_text().splitlines()
    assert line.startswith("result=")
    result = json.loads(base64.b64decode(line[len("result=") :], validate=True))
    assert (sum(t["score"] for t in result["tests"]), result["max_score"]) == (report["score"], 7)
    assert result["status"] == ("pass" if solution else "fail") and len(result["tests"]) == 3


@pytest.fixture(scope="module")
def graded_formats(tmp_path_factory):
    base = tmp_path_factory.mktemp("formats")
    project = build_submission(
        base / "no-created-check",
        {
            "users/signals.py": """
            from django.conf import settings
            from django.db.models.signals import post_save
            from django.dispatch import receiver

            from .models import Profile


            @receiver(post_save, sender=settings.AUTH_USER_MODEL)
            def create_profile(sender, instance, **kwargs):
                Profile.objects.create(user=instance)
        """
        },
        solution=True,
    )
    out = base / "r.json"
    proc = run_cli(
        "grade",
        str(project),
        "--output",
        str(out),
        "--quiet",
        "--format",
        "junit",
        "--format",
        f"gradescope:{base / 'results.json'}",
        "--format",
        "markdown",
    )
    assert proc.returncode == 0, proc.stderr
    return base, json.loads(out.read_text())


def test_junit_export_reads_as_ci_tools_read_it(graded_formats):
    base, report = graded_formats
    xml = junitparser.JUnitXml.fromfile(str(base / "r.junit.xml"))
    suites = list(xml) if isinstance(xml, junitparser.JUnitXml) else [xml]
    cases = {case.name: case for suite in suites for case in suite}
    assert set(cases) == {c["id"] for c in report["checks"]}
    assert cases["project-loads"].is_passed
    failed = cases["resave-no-duplicate"]
    assert not failed.is_passed and not failed.is_skipped
    result = failed.result[0]
    assert isinstance(result, junitparser.Failure)
    assert "created" in result.text and result.type == "no-created-check"
    assert suites[0].tests == 4 and suites[0].failures == 1


def test_gradescope_results_fields_and_types(graded_formats):
    base, report = graded_formats
    results = json.loads((base / "results.json").read_text())
    assert isinstance(results["score"], (int, float)) and results["score"] == report["score"] == 7
    assert results["visibility"] in ("visible", "hidden", "after_due_date", "after_published")
    assert isinstance(results["output"], str)
    assert len(results["tests"]) == 4
    for test in results["tests"]:
        assert set(test) >= {"name", "score", "max_score", "status", "output", "visibility"}
        assert isinstance(test["name"], str) and isinstance(test["output"], str)
        assert isinstance(test["score"], (int, float)) and isinstance(test["max_score"], (int, float))
        assert test["status"] in ("passed", "failed")
    assert sum(t["score"] for t in results["tests"]) == results["score"]
    assert sum(t["max_score"] for t in results["tests"]) == 10


def test_markdown_export_written_next_to_the_json(graded_formats):
    base, _ = graded_formats
    text = (base / "r.md").read_text()
    assert "| ❌ |" in text and "`resave-no-duplicate`" in text and "7 / 10" in text


@pytest.mark.e2e
def test_fail_under_and_grading_the_current_folder(tmp_path):
    project = build_submission(tmp_path / "student", solution=False)
    out = tmp_path / "r.json"
    below = run_cli("grade", "--output", str(out), "--fail-under", "5", "--quiet", cwd=project)
    assert below.returncode == 1 and "below --fail-under" in below.stderr
    assert json.loads(out.read_text())["submission"] == "student"
    ok = run_cli("grade", ".", "--output", str(out), "--fail-under", "1", "--format", "markdown:-", cwd=project)
    assert ok.returncode == 0
    assert ok.stdout.startswith("## signals-profile: 1 / 10 points")


def test_unknown_format_is_a_usage_error(tmp_path):
    proc = run_cli("grade", str(tmp_path), "--format", "pdf")
    assert proc.returncode == 2 and "unknown format" in proc.stderr


@pytest.mark.e2e
def test_an_installed_grader_hides_its_assignments_from_the_sandbox(fresh_grader, tmp_path):
    """A wheel puts the rubrics and hidden suites inside site-packages, which the child
    needs for Django and pytest: the sandbox hides the grader's own package there."""
    from grader import sandbox

    if sandbox.bwrap_problem():
        pytest.skip(f"bubblewrap: {sandbox.bwrap_problem()}")
    found = list(fresh_grader.glob("lib/python3*/site-packages/grader/assignments/signals-profile/tests"))
    assert found, "the wheel ships the hidden suite"
    probe = f"""
import os
print("SUITE-VISIBLE" if os.path.exists({str(found[0] / "test_creation.py")!r}) else "SUITE-HIDDEN")
"""
    project = build_submission(
        tmp_path / "project",
        {
            "users/hostile.py": probe,
            "users/apps.py": """
        from django.apps import AppConfig


        class UsersConfig(AppConfig):
            default_auto_field = "django.db.models.BigAutoField"
            name = "users"

            def ready(self):
                from . import hostile, signals  # noqa: F401
        """,
        },
        solution=True,
    )
    done = subprocess.run(
        [
            fresh_grader / "bin" / "grader",
            "grade",
            str(project),
            "--output",
            str(tmp_path / "r.json"),
            "--sandbox",
            "bwrap",
            "--quiet",
        ],
        env={**os.environ, "HOME": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    report = json.loads((tmp_path / "r.json").read_text())
    assert "SUITE-HIDDEN" in report["output"], report["output"]
    assert report["score"] == 7  # the public checks' points: resave-no-duplicate is hidden


@pytest.mark.e2e
def test_the_installed_package_holds_the_hidden_suite_but_no_reference_solution(fresh_grader):
    """Students pip-install the grader to grade themselves: the wheel must not hand them the
    answer. (It does hold the hidden suite: local grading runs it. The README says so.)"""
    site = next(fresh_grader.glob("lib/python3.*/site-packages"))
    shipped = site / "grader" / "assignments" / "signals-profile"
    assert (shipped / "rubric.toml").is_file() and (shipped / "tests" / "test_creation.py").is_file()
    assert not (shipped / "solution").exists()
    assert not (shipped / "variants").exists()  # known wrong submissions and their results
    assert not [
        p
        for p in (site / "grader" / "assignments").rglob("*")
        if {"solution", "variants"} & set(p.relative_to(site).parts)
    ]


@pytest.mark.e2e
def test_an_installed_grader_writes_every_starter_and_ships_no_mutants(fresh_grader, tmp_path):
    """`grader starter` from the wheel, for every assignment (signals-profile's starter lives
    outside its folder in the checkout and ships as its starter/); mutants.toml names lines of
    the solution and stays out."""
    site = next(fresh_grader.glob("lib/python3.*/site-packages"))
    assert not list((site / "grader" / "assignments").rglob("mutants.toml"))
    for name in ("signals-profile", "signals-m2m", "signals-files", "signals-requests", "signals-orders"):
        dest = tmp_path / name
        done = subprocess.run(
            [fresh_grader / "bin" / "grader", "starter", name, str(dest)],
            env={**os.environ, "HOME": str(tmp_path)},
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
        assert (dest / "manage.py").is_file() and (dest / ".grader-assignment").read_text().strip() == name
        assert not list(dest.rglob("solution")) and not list(dest.rglob("test_*.py"))


@pytest.mark.e2e
def test_the_students_package_holds_only_the_public_checks(fresh_grader):
    """Issue 23: the wheel students install holds, per assignment, a rubric of the public checks
    (and their [evidence] and [connections] entries) declaring what it withholds, the test
    files those checks use and the suite's helpers, and nothing of a hidden or after_due check."""
    import tomllib

    from grader import rubric

    site = next(fresh_grader.glob("lib/python3.*/site-packages"))
    record = next(site.glob("django_signals_grader-*.dist-info")) / "RECORD"
    listed = {line.split(",")[0] for line in record.read_text().splitlines()}
    names = sorted(p.parent.name for p in (ROOT / "assignments").glob("*/rubric.toml"))
    assert len(names) == 5
    for name in names:
        full = rubric.load(ROOT / "assignments" / name)
        public = [c for c in full.checks if c.visibility == "public"]
        withheld = [c for c in full.checks if c.visibility != "public"]
        assert withheld, name
        shipped_dir = site / "grader" / "assignments" / name
        data = tomllib.loads((shipped_dir / "rubric.toml").read_text())
        assert [c["id"] for c in data["checks"]] == [c.id for c in public]
        public_tests = {t for c in public for t in c.tests}
        assert set(data["evidence"]) == public_tests
        assert set(data.get("connections", {})) <= public_tests
        assert data["visibility"]["withheld_checks"] == len(withheld)
        assert data["visibility"]["withheld_points"] == sum(c.points for c in withheld)
        shipped = rubric.load(shipped_dir)  # the package's rubric is a valid rubric
        assert shipped.withheld is not None and shipped.withheld.checks == len(withheld)
        test_files = {p.name for p in (shipped_dir / "tests").glob("test_*.py")}
        assert test_files == {t.split("::")[0] for t in public_tests}, name
        source = {
            p.name for p in (ROOT / "assignments" / name / "tests").iterdir() if p.is_file() and p.suffix != ".pyc"
        }
        helpers = {n for n in source if not rubric.is_test_file(n)}
        assert {"_grader_assignment.py", "pytest.ini"} <= helpers
        assert helpers <= {p.name for p in (shipped_dir / "tests").iterdir()}
        for check in withheld:
            assert check.id not in (shipped_dir / "rubric.toml").read_text()
            for test in check.tests:
                file = test.split("::")[0]
                assert f"grader/assignments/{name}/tests/{file}" not in listed, (name, file)
                assert test not in (shipped_dir / "rubric.toml").read_text()


@pytest.mark.e2e
def test_an_installed_grader_says_its_score_is_not_the_grade(fresh_grader, tmp_path):
    """A student grading the reference solution with the installed grader earns every public
    point, and the table, the JSON and the HTML say that hidden checks are graded after
    submission."""
    project = build_submission(tmp_path / "project", solution=True)
    done = subprocess.run(
        [
            fresh_grader / "bin" / "grader",
            "grade",
            str(project),
            "--output",
            str(tmp_path / "r.json"),
            "--format",
            "html",
        ],
        env={**os.environ, "HOME": str(tmp_path), "COLUMNS": "200"},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["score"] == report["max_score"] == 7
    assert report["withheld"] == {"checks": 1, "points": 3}
    assert "resave-no-duplicate" not in {c["id"] for c in report["checks"]}
    assert NOT_THE_GRADE in report["message"]
    assert NOT_THE_GRADE in " ".join(done.stdout.split())
    assert "public checks only" in done.stdout
    assert NOT_THE_GRADE in (tmp_path / "r.html").read_text()
