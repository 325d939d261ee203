"""Shared helpers: fixture submissions are small overlays on student_template/,
built in tmp_path; end-to-end tests run the real CLI in a subprocess."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import jsonschema
import pytest

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "student_template"
ASSIGNMENT = ROOT / "assignments" / "signals-profile"
SOLUTION = ASSIGNMENT / "solution"
SCHEMA = json.loads((ROOT / "grader" / "schema" / "report.schema.json").read_text())
# users/apps.py that imports users/signals.py in ready(), as the lesson asks.
APPS_IMPORTING_SIGNALS = """
    from django.apps import AppConfig


    class UsersConfig(AppConfig):
        default_auto_field = "django.db.models.BigAutoField"
        name = "users"

        def ready(self):
            from . import signals  # noqa: F401
"""

# A correct receiver, used by variants whose mistake is elsewhere.
GOOD_SIGNALS = """
    from django.conf import settings
    from django.db.models.signals import post_save
    from django.dispatch import receiver

    from .models import Profile


    @receiver(post_save, sender=settings.AUTH_USER_MODEL)
    def create_profile(sender, instance, created, **kwargs):
        if created:
            Profile.objects.create(user=instance)
"""
CHECK_IDS = ["project-loads", "receiver-registered-in-ready", "profile-created-once", "resave-no-duplicate"]


def build_submission(dest: Path, files: dict[str, str | bytes | None] | None = None, solution: bool = False) -> Path:
    """Copy the template (plus the reference solution when asked), then apply `files`:
    path -> new text (dedented), bytes (written as they are), or None to delete the file."""
    shutil.copytree(TEMPLATE, dest, ignore=shutil.ignore_patterns("__pycache__", "db.sqlite3"))
    if solution:
        shutil.copytree(SOLUTION, dest, dirs_exist_ok=True)
    for rel, text in (files or {}).items():
        target = dest / rel
        if text is None:
            if target.is_dir():
                shutil.rmtree(target)
            else:
                target.unlink(missing_ok=True)
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(text, bytes):
            target.write_bytes(text)
        else:
            target.write_text(textwrap.dedent(text).lstrip("\n"))
    return dest


@pytest.fixture
def make_submission(tmp_path):
    counter = iter(range(1000))

    def make(files=None, solution=False, name=None):
        return build_submission(tmp_path / (name or f"sub{next(counter)}"), files, solution)

    return make


def run_cli(*args: str, cwd: Path | None = None, env: dict | None = None, timeout: float = 300):
    full_env = {**os.environ, **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "grader", *args],
        cwd=cwd or ROOT,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def validate(report: dict) -> dict:
    jsonschema.validate(report, SCHEMA, format_checker=jsonschema.FormatChecker())
    return report


@pytest.fixture
def grade(tmp_path):
    """Grade a submission with the real CLI; return the validated JSON report."""

    def run(submission: Path, *extra: str, expect_exit: int = 0) -> dict:
        out = tmp_path / f"{submission.name}-report.json"
        proc = run_cli("grade", str(submission), "--output", str(out), "--quiet", *extra)
        assert proc.returncode == expect_exit, proc.stderr + proc.stdout
        report = validate(json.loads(out.read_text()))
        return report

    return run


def scores(report: dict) -> dict[str, float]:
    return {c["id"]: c["score"] for c in report["checks"]}


def check(report: dict, check_id: str) -> dict:
    return next(c for c in report["checks"] if c["id"] == check_id)


def make_migrations(project: Path, *apps: str) -> None:
    """Write the project's migrations with `manage.py makemigrations`, as a student would."""
    done = subprocess.run(
        [sys.executable, "manage.py", "makemigrations", *apps, "--no-input"],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr + done.stdout


def assignment_copy(tmp_path_factory, wall: float) -> Path:
    """A copy of signals-profile whose wall-time limit is `wall` seconds."""
    import re

    dest = tmp_path_factory.mktemp("assignment") / "signals-profile"
    shutil.copytree(ASSIGNMENT, dest, ignore=shutil.ignore_patterns("__pycache__"))
    rubric = dest / "rubric.toml"
    text, n = re.subn(r"(?m)^wall_time_s\s*=\s*[0-9.]+", f"wall_time_s = {wall}", rubric.read_text())
    assert n == 1
    rubric.write_text(text)
    return dest


def apps_running(code: str, import_signals: bool = True) -> str:
    """users/apps.py whose ready() (optionally imports users/signals.py, then) runs `code`."""
    imports = "        from . import signals  # noqa: F401\n" if import_signals else ""
    return (
        "from django.apps import AppConfig\n\n\n"
        "class UsersConfig(AppConfig):\n"
        '    default_auto_field = "django.db.models.BigAutoField"\n'
        '    name = "users"\n\n'
        "    def ready(self):\n"
        f"{imports}" + "".join(f"        {line}\n" for line in code.strip().splitlines())
    )


def pytest_collection_modifyitems(config, items):
    """The suite is split the way it runs: tests/unit (pure logic, no subprocess), tests/harness
    (the child's pieces and the starter project, run without the grader's sandbox) and tests/e2e
    (the real CLI in a subprocess, sandboxed). Every test under tests/e2e is marked e2e, so
    `pytest -m "not e2e"` is the fast run."""
    for item in items:
        if "e2e" in Path(str(item.fspath)).relative_to(ROOT / "tests").parts[:1]:
            item.add_marker(pytest.mark.e2e)
