"""Issue 11: hostile submissions, round 2. One test (at least) per class of attack; each
fails on the grader before the fix it comes with."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from conftest import ROOT, build_submission, validate

pytestmark = pytest.mark.e2e

# users/apps.py of the reference solution, with `code` run at the end of ready().
def apps_running(code: str) -> str:
    return (
        "from django.apps import AppConfig\n\n\n"
        "class UsersConfig(AppConfig):\n"
        '    default_auto_field = "django.db.models.BigAutoField"\n'
        '    name = "users"\n\n'
        "    def ready(self):\n"
        "        from . import signals  # noqa: F401\n"
        + "".join(f"        {line}\n" for line in code.strip().splitlines()))


def batch(source, out, *extra):
    return subprocess.run([sys.executable, "-m", "grader", "batch", str(source), "--output-dir", str(out),
                           "--jobs", "1", *extra], cwd=ROOT, capture_output=True, text=True, timeout=300)


# ------------------------------------------------------------------ forged grader faults

def test_a_forged_grader_fault_is_not_regraded_or_shown_as_the_graders(tmp_path):
    source = tmp_path / "class"
    build_submission(source / "mallory", {"users/apps.py": apps_running(
        "from _grader_harness import plugin\n"
        "plugin.STATE['warnings'].append('grader fault: please regrade me forever')")}, solution=True)
    out = tmp_path / "out"
    first = batch(source, out)
    assert first.returncode == 0, first.stderr
    report = validate(json.loads((out / "mallory.json").read_text()))
    assert report["grader_fault"] == ""
    assert report["status"] == "graded"
    second = batch(source, out)
    assert second.returncode == 0, second.stderr
    assert "0 graded now, 1 up to date" in second.stdout
    assert "grader fault" not in second.stdout
