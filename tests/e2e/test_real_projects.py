"""Issue 10: student projects shaped like the real thing are graded right.

Each case is signals-profile's variant real-<case> (or, for the few that depend on the
machine, a submission built here from the template and an overlay of tests/realworld.py),
graded once with the real CLI (module fixture); the assertions say what a student must
read. A failure caused by the grading environment (a package, a variable, a Python or
Django version, the grader's own guesses) is never charged to the student's receiver.
"""

from __future__ import annotations

import hashlib
import json
import re
import sys
import textwrap
from importlib import metadata

import pytest
import realworld as rw
from conftest import ASSIGNMENT, build_submission, check, make_migrations, run_cli, scores, validate

from grader import authoring, rubric

pytestmark = pytest.mark.e2e

DJANGO = tuple(int(p) for p in metadata.version("django").split(".")[:2])
FULL = {
    "project-loads": 1.0,
    "receiver-registered-in-ready": 3.0,
    "profile-created-once": 3.0,
    "resave-no-duplicate": 3.0,
}
NO_MIGRATIONS = {**FULL, "project-loads": 0.0}
ASSIGNED = rubric.load(ASSIGNMENT)
VARIANTS = {case.name: case for case in authoring.cases(ASSIGNED)}


def _signals_and_apps(**files) -> dict:
    return {"users/signals.py": rw.GOOD_SIGNALS, "users/apps.py": rw.GOOD_APPS, **files}


CASES = {
    # Meta.db_table and a db_column: the grader reads the real names (was `tampered`).
    "db-table": dict(),
    # The image-profile tutorial: Pillow, crispy forms, two receivers, Profile without bio.
    "image-tutorial": dict(),
    # The Django docs' ProfileInline on UserAdmin: the add form posts its management form.
    "profile-inline-admin": dict(),
    # A profile with only a location: re-saving is judged on that field.
    "location-profile": dict(),
    # A custom user model whose required fields are a choice, a date, a bounded number and a link.
    "typed-custom-user": dict(
        files=rw.TYPED_USER,
        migrate=("users",),
        solution=True,
        skipped=("createsuperuser command refused the value the grader made up for country",),
    ),
    # Settings read from the environment, with a .env file as the tutorials write it.
    "environ-with-dotenv": dict(warning=".env: PYTHONPATH was not loaded"),
    # python-decouple, a Windows .env (CRLF) and Windows line endings in the Python files.
    "decouple-windows-files": dict(),
    # A split-settings project whose settings package is `core` (core/settings/dev.py).
    "split-settings-core": dict(),
    # Django 6.x startproject output (no DEFAULT_AUTO_FIELD, MAILERS), graded on any Django.
    "django6-startproject": dict(),
    # Production-style static files (DEBUG off, whitenoise's manifest storage, no collectstatic):
    # the admin pages still render.
    "whitenoise-production": dict(),
    # Settings from dj-database-url, as deployment tutorials write them.
    "dj-database-url": dict(),
    # A Meta.ordering added without a migration: a warning, not a failure.
    "ordering-without-migration": dict(warning="do not touch the database"),
    # requirements.txt from PowerShell (UTF-16) naming a package the grader does not have.
    "requirements-utf16": dict(warning="lists celery, stripe==9.1.0, which the grader does not install"),
    # A middleware of a package the grader does not have: the admin form test is skipped, not failed.
    "middleware-not-installed": dict(
        skipped=("corsheaders (the package django-cors-headers) is not installed where the grader runs",)
    ),
}

WRONG = {
    # An app the grader does not have in INSTALLED_APPS: named, with the settings line.
    "app-not-installed": dict(
        status="error",
        check="project-loads",
        diagnosis="package-not-available",
        phrases=(
            "rest_framework (the package djangorestframework) is not installed where the grader runs",
            "ask your instructor to allow djangorestframework",
        ),
        location=("mysite/settings.py", "'rest_framework',"),
    ),
    # os.environ[...] without a .env: the variable is named, and why it is missing.
    "environ-without-dotenv": dict(
        status="error",
        check="project-loads",
        diagnosis="missing-environment-variable",
        phrases=("DJANGO_SECRET_KEY", "the grader never sees your own environment", ".env"),
        location=("mysite/settings.py", "os.environ['DJANGO_SECRET_KEY']"),
    ),
    # `with suppress(ImportError): from . import signals` hiding a typo in signals.py.
    "suppressed-import-error": dict(
        check="receiver-registered-in-ready",
        diagnosis="import-error",
        phrases=("cannot import name 'Profiles'", "hides the error"),
        location=("users/signals.py", "from .models import Profiles"),
    ),
    # Profile.save(self) without *args, **kwargs: the model's save is named, not the receiver.
    "profile-save-without-kwargs": dict(
        check="profile-created-once",
        diagnosis="save-signature",
        phrases=("Profile.save()", "def save(self, *args, **kwargs):"),
        location=("users/models.py", "def save(self):"),
    ),
    # The tutorial's media/default.jpg left out of the repository: the file is named.
    "tutorial-without-default-image": dict(
        check="profile-created-once",
        diagnosis="file-missing",
        phrases=("media/default.jpg", "not in your submission"),
        location=("users/models.py", "img = Image.open(self.image.path)"),
    ),
    # A typo in views.py, which only the URLconf imports (on the first request): named where
    # it is, as a start-up error would be, not "an unexpected error".
    "typo-in-a-view-module": dict(
        check="profile-created-once",
        diagnosis="import-error",
        phrases=("cannot import name 'UserRegisterFrom'", "check the spelling"),
        location=("users/views.py", "from .forms import UserRegisterFrom"),
    ),
    # Settings errors name the project's own settings file, not mysite/settings.py.
    "settings-error-in-core": dict(
        status="error",
        check="project-loads",
        diagnosis="settings-error",
        phrases=("core/settings/",),
        absent="mysite/settings.py",
    ),
    # A migrations folder without __init__.py: migrate would never create the tables.
    "migrations-without-init": dict(
        scores=NO_MIGRATIONS,
        check="project-loads",
        diagnosis="migrations",
        phrases=("users/migrations/ has no __init__.py",),
    ),
    # GeoDjango: the grader grades on SQLite without GDAL; that is said plainly.
    "geodjango": dict(
        status="error",
        check="project-loads",
        diagnosis="database-not-supported",
        phrases=("grades every project on a plain SQLite database",),
    ),
}
if sys.version_info < (3, 12):
    # An f-string that reuses its quotes: valid on Python 3.12+, a SyntaxError before.
    WRONG["fstring-needs-python-3.12"] = dict(
        files=_signals_and_apps(
            **{
                "users/signals.py": textwrap.dedent(rw.GOOD_SIGNALS)
                + textwrap.dedent("""

            def describe(user):
                return f"{user.username + "!"} joined"
        """)
            }
        ),
        status="error",
        check="project-loads",
        diagnosis="syntax-error",
        phrases=("needs Python 3.12 or newer", f"the grader runs Python {sys.version.split()[0]}"),
        location=("users/signals.py", 'return f"{user.username'),
    )


def _build(base, name, case):
    if f"real-{name}" in VARIANTS:  # the submission is signals-profile's variant real-<name>
        return authoring.build(ASSIGNED, VARIANTS[f"real-{name}"], base / name)
    project = build_submission(base / name, case["files"], solution=case.get("solution", False))
    for rel, data in case.get("raw", {}).items():
        (project / rel).write_bytes(data)
    if case.get("migrate"):
        make_migrations(project, *case["migrate"])
    return project


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    base = tmp_path_factory.mktemp("real")
    out = {}
    for name, case in {**CASES, **WRONG}.items():
        project = _build(base, name, case)
        target = base / f"{name}.json"
        before = _digest(project)
        proc = run_cli("grade", str(project), "--output", str(target), "--quiet")
        assert proc.returncode == 0, proc.stderr
        assert _digest(project) == before, f"{name}: grading changed the submission"
        out[name] = (validate(json.loads(target.read_text())), project)
    return out


def _digest(root) -> dict:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def _line(project, rel, marker):
    lines = (project / rel).read_text().splitlines()
    return f"{rel}:{next(i for i, line in enumerate(lines, 1) if marker in line)}"


@pytest.mark.parametrize("name", list(CASES))
def test_correct_real_project_gets_full_marks(name, graded):
    case, (report, _) = CASES[name], graded[name]
    assert report["status"] == "graded", report["message"]
    assert scores(report) == FULL, json.dumps(report["checks"], indent=1)
    assert not any(w.startswith("grader fault") for w in report["warnings"])
    feedback = " ".join(c["feedback"] for c in report["checks"])
    for phrase in case.get("skipped", ()):
        assert phrase in feedback, feedback
    if case.get("warning"):
        assert any(case["warning"] in w for w in report["warnings"]), report["warnings"]


@pytest.mark.parametrize("name", list(WRONG))
def test_real_mistake_is_named_where_it_is(name, graded):
    case, (report, project) = WRONG[name], graded[name]
    assert report["status"] == case.get("status", "graded"), report["message"]
    if "scores" in case:
        assert scores(report) == case["scores"]
    result = check(report, case["check"])
    assert result["status"] == "failed" and result["score"] == 0, result
    assert result["diagnosis"] == case["diagnosis"], result
    for phrase in case["phrases"]:
        assert phrase in result["feedback"], result["feedback"]
    if case.get("absent"):
        assert case["absent"] not in json.dumps(report)
    if case.get("location"):
        assert result["location"] == _line(project, *case["location"]), result


def test_a_missing_package_on_the_request_path_warns_with_its_line(graded):
    report, _ = graded["middleware-not-installed"]
    assert any("corsheaders" in w and "mysite/settings.py:" in w for w in report["warnings"]), report["warnings"]
    created = check(report, "profile-created-once")
    assert re.search(r"imported at mysite/settings\.py:\d+", created["feedback"]), created["feedback"]


def test_django_version_differences_are_explained_not_charged(graded):
    report, _ = graded["django6-startproject"]
    if DJANGO < (6, 0):
        assert any("DEFAULT_AUTO_FIELD" in w and "Django 6.1" in w for w in report["warnings"]), report["warnings"]
    else:
        assert not any("DEFAULT_AUTO_FIELD" in w for w in report["warnings"])
