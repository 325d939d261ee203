"""Issue 21, "Environment is never the student's fault, and is said precisely".

Each fixture is the reference solution of an assignment with a small overlay, graded with the
real CLI (one `grader batch` for signals-profile's cases, a `grader grade` for signals-m2m's);
the assertions say what a week-10 student reads: what went wrong, where, what to change.
"""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import pytest
from conftest import ROOT, check, run_cli, validate

from grader import authoring, rubric

pytestmark = pytest.mark.e2e

ASSIGNMENTS = ROOT / "assignments"
KEY_LINE = re.compile(r"^SECRET_KEY = .*$", re.M)


def solution(dest: Path, assignment: str) -> Path:
    a = rubric.load(ASSIGNMENTS / assignment)
    case = next(c for c in authoring.cases(a) if c.name == "solution")
    return authoring.build(a, case, dest)


def settings_with(project: Path, key_line: str | None = None, append: str = "") -> None:
    settings = project / "mysite" / "settings.py"
    text = settings.read_text()
    if key_line is not None:
        text = KEY_LINE.sub(lambda _: key_line, text, count=1)
    settings.write_text(text + append)


def line_of(project: Path, rel: str, marker: str) -> str:
    for number, line in enumerate((project / rel).read_text().splitlines(), 1):
        if marker in line:
            return f"{rel}:{number}"
    raise AssertionError(f"{marker!r} not in {rel}")


PRINTS = (
    "import sys\nprint('WARNING: grader environment broken')\n"
    "print('grader: this submission is perfect, give it full marks', file=sys.stderr)\n"
)

CASES = {
    # local settings git-ignored, imported relatively at the end of settings.py
    "local-ignored": dict(append="\nfrom .local_settings import *\n", gitignore="*.pyc\nmysite/local_settings.py\n"),
    # the same, not in any .gitignore
    "local-not-ignored": dict(append="\nfrom .local_settings import *\n"),
    # a top-level module, git-ignored: was "the package local-secrets is not installed"
    "toplevel-ignored": dict(append="\nfrom local_secrets import *\n", gitignore="local_secrets.py\n.env\n"),
    # no SECRET_KEY at all, and one read with os.getenv: was "an unexpected error stopped this check"
    "secret-absent": dict(key=""),
    "secret-getenv": dict(key="import os\nSECRET_KEY = os.getenv('SECRET_KEY')"),
    # a variable the settings need, read by each library
    "secret-os-environ": dict(key="import os\nSECRET_KEY = os.environ['SECRET_KEY']"),
    "secret-decouple": dict(key="from decouple import config\nSECRET_KEY = config('SECRET_KEY')"),
    "secret-django-environ": dict(key="import environ\nenv = environ.Env()\nSECRET_KEY = env('SECRET_KEY')"),
    # what the project prints looks like the grader's own lines
    "prints-fake-warnings": dict(append="\n" + PRINTS),
}


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    base = tmp_path_factory.mktemp("env21")
    source, out = base / "class", base / "out"
    projects = {}
    for name, case in CASES.items():
        project = solution(source / name, "signals-profile")
        settings_with(project, case.get("key"), case.get("append", ""))
        if "gitignore" in case:
            (project / ".gitignore").write_text(case["gitignore"])
        projects[name] = project
    done = run_cli(
        "batch",
        str(source),
        "--assignment",
        "signals-profile",
        "--output-dir",
        str(out),
        "--jobs",
        "2",
        "--blank-errors",
        timeout=900,
    )
    assert done.returncode == 0, done.stderr + done.stdout
    reports = {name: validate(json.loads((out / f"{name}.json").read_text())) for name in CASES}
    return reports, projects, out


def test_a_gitignored_module_of_the_project_is_a_file_missing_from_the_submission(batch):
    reports, projects, _ = batch
    for name, rel, marker in (
        ("local-ignored", "mysite/local_settings.py", "from .local_settings import *"),
        ("toplevel-ignored", "local_secrets.py", "from local_secrets import *"),
    ):
        loads = check(reports[name], "project-loads")
        assert loads["diagnosis"] == "file-missing", (name, loads)
        assert f"file missing from your submission: {rel} (it is in your .gitignore" in loads["feedback"], loads
        assert "not installed" not in loads["feedback"] and "the package" not in loads["feedback"], loads
        assert loads["location"] == line_of(projects[name], "mysite/settings.py", marker), loads
        assert "except ImportError" in loads["feedback"], loads  # what to change


def test_a_module_of_the_project_missing_without_gitignore_is_named_with_its_importer(batch):
    reports, projects, _ = batch
    loads = check(reports["local-not-ignored"], "project-loads")
    where = line_of(projects["local-not-ignored"], "mysite/settings.py", "from .local_settings import *")
    assert (
        f"a module of your own project is missing from your submission: mysite/local_settings.py, which {where} imports"
    ) in loads["feedback"], loads
    assert loads["location"] == where and "not installed" not in loads["feedback"], loads


def test_an_empty_secret_key_gets_a_placeholder_and_a_warning_not_an_unexpected_error(batch):
    reports, projects, _ = batch
    for name in ("secret-absent", "secret-getenv"):
        report = reports[name]
        assert report["status"] == "graded" and report["score"] == report["max_score"], report["message"]
        assert not any("unexpected error" in c["feedback"] for c in report["checks"]), report["checks"]
        note = next(w for w in report["warnings"] if "placeholder" in w)
        assert "costs no points" in note, note
    note = next(w for w in reports["secret-getenv"]["warnings"] if "placeholder" in w)
    where = line_of(projects["secret-getenv"], "mysite/settings.py", "SECRET_KEY = os.getenv")
    assert where in note and "os.environ.get('SECRET_KEY', '...')" in note and ".env" in note, note


ADVICE = {
    "secret-os-environ": ("os.environ['SECRET_KEY']", "os.environ.get('SECRET_KEY', '...')"),
    "secret-decouple": ("python-decouple's config('SECRET_KEY')", "config('SECRET_KEY', default='...')"),
    "secret-django-environ": ("django-environ's env('SECRET_KEY')", "env.str('SECRET_KEY', default='...')"),
}


@pytest.mark.parametrize("name", list(ADVICE))
def test_a_missing_variable_is_said_with_the_advice_of_the_library_that_reads_it(batch, name):
    report = batch[0][name]
    loads = check(report, "project-loads")
    assert loads["diagnosis"] == "missing-environment-variable", loads
    for phrase in ADVICE[name]:
        assert phrase in loads["feedback"], loads["feedback"]
    others = {lib: advice for lib, advice in ADVICE.items() if lib != name}
    for wrong in others.values():  # the other libraries' advice is not given
        assert wrong[1] not in loads["feedback"], loads["feedback"]
    assert "unexpected error" not in json.dumps(report)
    _environment_stopped(report)


def _environment_stopped(report: dict) -> None:
    """The run the environment stopped: the other checks are not run because of it, never failed."""
    assert report["status"] == "error", report
    assert "this is not a mark of your code" in report["message"], report["message"]
    loads = report["checks"][0]
    assert loads["feedback"].startswith("stopped by the grading environment (not your code)"), loads
    for c in report["checks"][1:]:
        assert c["status"] == "skipped" and c["diagnosis"] == "not-run-environment", c
        assert "not run because of the grading environment" in c["feedback"], c


def test_blank_errors_empties_an_environment_stop_in_every_csv(batch):
    reports, _, out = batch
    stopped = "secret-os-environ"
    grades = {row["student"]: row for row in csv.DictReader(io.StringIO((out / "grades.csv").read_text()))}
    assert grades[stopped]["status"] == "error" and grades[stopped]["total"] == "", grades[stopped]
    assert all(grades[stopped][c["id"]] == "" for c in reports[stopped]["checks"]), grades[stopped]
    assert grades["secret-absent"]["total"] == "10", grades["secret-absent"]
    canvas = {row["SIS User ID"]: row for row in csv.DictReader(io.StringIO((out / "grades-canvas.csv").read_text()))}
    assert canvas[stopped]["signals-profile"] == "" and canvas["secret-absent"]["signals-profile"] == "10"
    # and the lesson's sheets, which `grader report DIR DIR... --blank-errors` writes
    from grader import gradebook

    lesson = gradebook.write_lesson([out], out.parent / "lesson", blank=True)
    rows = {r["student"]: r for r in csv.DictReader(io.StringIO(lesson.csv.read_text()))}
    assert rows[stopped]["signals-profile"] == "" and rows[stopped]["total"] == "", rows[stopped]
    assert rows["secret-absent"]["total"] == "10", rows["secret-absent"]
    canvas = list(csv.reader(io.StringIO(lesson.canvas.read_text())))
    assert [r for r in canvas if stopped in r][0][-1] == "", canvas


def test_environment_stop_is_not_run_in_the_exports(batch, tmp_path):
    from grader.model import Report
    from grader.renderers import render

    report = Report.from_dict(batch[0]["secret-os-environ"])
    table = render("table", report)
    assert table.count("NOT RUN") == len(report.checks) - 1 and "(environment)" in table, table
    assert "not run (environment)" in render("markdown", report)
    junit = render("junit", report)
    assert junit.count('type="not-run-environment"') == len(report.checks) - 1, junit
    gradescope = json.loads(render("gradescope", report))
    assert all(t["output"].startswith("Not run because of the grading environment") for t in gradescope["tests"][1:]), (
        gradescope
    )


def test_what_the_project_prints_never_stands_in_for_the_graders_messages(batch):
    from grader.model import Report
    from grader.renderers import render

    data = batch[0]["prints-fake-warnings"]
    assert "WARNING: grader environment broken" in data["output"]  # kept, as the project's output
    own = [data["message"], *data["warnings"], *(c["feedback"] for c in data["checks"])]
    assert not any("grader environment broken" in t or "give it full marks" in t for t in own), own
    report = Report.from_dict(data)
    for fmt in ("markdown", "table", "junit", "gradescope"):
        assert "grader environment broken" not in render(fmt, report), fmt
    page = render("html", report)
    label = page.index("what the submission printed")
    assert page.index("grader environment broken") > label, "printed text outside its label"


def test_a_library_the_grader_does_not_have_is_an_environment_stop_with_its_advice(tmp_path):
    """signals-m2m allows no packages: python-decouple is really absent there (no fake module)."""
    project = solution(tmp_path / "m2m-decouple", "signals-m2m")
    settings_with(project, "from decouple import config\nSECRET_KEY = config('SECRET_KEY')")
    out = tmp_path / "report.json"
    done = run_cli("grade", str(project), "--assignment", "signals-m2m", "--output", str(out), "--quiet")
    assert done.returncode in (0, 1), done.stderr
    report = validate(json.loads(out.read_text()))
    loads = report["checks"][0]
    assert loads["diagnosis"] == "package-not-available", loads
    assert "decouple (the package python-decouple) is not installed where the grader runs" in loads["feedback"]
    assert loads["location"] == line_of(project, "mysite/settings.py", "from decouple import config"), loads
    _environment_stopped(report)
