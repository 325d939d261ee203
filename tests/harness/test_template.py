"""The student template as handed out, and the reference solution beside it."""

from __future__ import annotations

import ast
import os
import subprocess
import sys

import pytest
from conftest import SOLUTION, TEMPLATE, build_submission


def manage(project, *args):
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=project, env=env, capture_output=True, text=True, timeout=120
    )


@pytest.mark.parametrize("solution", [False, True], ids=["template", "reference-solution"])
def test_check_migrate_and_no_missing_migration(tmp_path, solution):
    project = build_submission(tmp_path / "project", solution=solution)
    for args in (["check"], ["migrate", "--noinput"], ["makemigrations", "--check", "--dry-run"]):
        done = manage(project, *args)
        assert done.returncode == 0, (args, done.stdout, done.stderr)


def test_template_holds_no_solution():
    """TODOs only: no receiver is connected, ready() is not written."""
    apps = ast.parse((TEMPLATE / "users" / "apps.py").read_text())
    config = next(n for n in apps.body if isinstance(n, ast.ClassDef) and n.name == "UsersConfig")
    assert not any(isinstance(n, ast.FunctionDef) and n.name == "ready" for n in config.body)
    signals = ast.parse((TEMPLATE / "users" / "signals.py").read_text())
    assert all(isinstance(n, ast.Expr) for n in signals.body), "users/signals.py must hold only its TODO"
    assert "TODO" in (TEMPLATE / "users" / "signals.py").read_text()
    assert not (TEMPLATE / "users" / "handlers.py").exists()


def test_reference_solution_lives_in_the_assignment():
    assert (SOLUTION / "users" / "signals.py").is_file()
    assert "post_save" in (SOLUTION / "users" / "signals.py").read_text()


def test_template_profile_model_is_the_documented_one():
    text = (TEMPLATE / "users" / "models.py").read_text()
    assert 'related_name="profile"' in text and "OneToOneField" in text
    assert "settings.AUTH_USER_MODEL" in text and "on_delete=models.CASCADE" in text
    assert "bio = models.TextField(blank=True)" in text
    assert "'users'," in (TEMPLATE / "mysite" / "settings.py").read_text()
