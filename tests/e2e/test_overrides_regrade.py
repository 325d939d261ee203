"""A term's regrade through the real CLI: a class graded with a broken hidden suite and an
instructor's overrides, the suite fixed, the class graded again with --force. The overrides
still apply (and show in the gradebook) after the regrade, the per-student reports stay the
grader's verdict, and the regrade's diff says who changed, by how much and why, check by
check (printed, regrade.csv, regrade.md, and ``grader report DIR --diff OLD``)."""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
from pathlib import Path

import pytest
from conftest import ASSIGNMENT, build_submission, check, run_cli

pytestmark = pytest.mark.e2e

BROKEN = '    raise AssertionError("the fixture saved a second profile itself")\n'
OVERRIDES = """
[[override]]
student = "ada"
assignment = "signals-profile"
check = "resave-no-duplicate"
points = 3
reason = "re-save is correct; the suite's fixture was wrong (checked by hand)"

[[override]]
student = "bob"
assignment = "signals-profile"
adjust = 2
reason = "showed the receiver working in class"

[[override]]
student = "ghost"
assignment = "signals-profile"
adjust = 1
reason = "no such student"
"""


def suite_copy(dest: Path, broken: bool) -> Path:
    """signals-profile with a 20 s limit; `broken`: every re-save test fails (a fixture bug)."""
    if dest.exists():
        shutil.rmtree(dest)
    shutil.copytree(ASSIGNMENT, dest, ignore=shutil.ignore_patterns("__pycache__", "variants"))
    toml = dest / "rubric.toml"
    text, n = re.subn(r"(?m)^wall_time_s\s*=\s*[0-9.]+", "wall_time_s = 20", toml.read_text())
    assert n == 1
    toml.write_text(text)
    if broken:
        test = dest / "tests" / "test_resave.py"
        code, n = re.subn(r"(?m)^(def _resave\(user, how, \*\*kwargs\):\n)", r"\1" + BROKEN, test.read_text())
        assert n == 1
        test.write_text(code)
    return dest


def rows(folder: Path, name: str = "grades.csv") -> dict[str, dict[str, str]]:
    return {r["student"]: r for r in csv.DictReader(io.StringIO((folder / name).read_text(encoding="utf-8")))}


def report(folder: Path, student: str) -> dict:
    return json.loads((folder / f"{student}.json").read_text(encoding="utf-8"))


def test_overrides_survive_a_regrade_and_the_diff_says_why(tmp_path):
    source = tmp_path / "class"
    build_submission(source / "ada", solution=True)
    build_submission(source / "bob")  # the starter: 1 point
    fixes = tmp_path / "course" / "overrides.toml"
    fixes.parent.mkdir()
    fixes.write_text(OVERRIDES, encoding="utf-8")
    suite = tmp_path / "suite" / "signals-profile"
    out = tmp_path / "out"

    def batch(*extra: str):
        proc = run_cli(
            "batch",
            str(source),
            "--assignment",
            str(suite),
            "--jobs",
            "2",
            "-o",
            str(out),
            "--overrides",
            str(fixes),
            *extra,
            timeout=600,
        )
        assert proc.returncode == 0, proc.stderr + proc.stdout
        return proc

    # 1. The broken suite: ada's correct re-save fails; the overrides correct ada and bob.
    suite_copy(suite, broken=True)
    first = batch()
    assert "regrade:" not in first.stdout  # a first grading has nothing to compare
    assert not (out / "regrade.csv").exists()
    assert "ghost" in first.stdout + first.stderr  # an override without a report is said
    ada1, bob1 = report(out, "ada"), report(out, "bob")
    resave1 = check(ada1, "resave-no-duplicate")
    assert ada1["score"] == 7 and resave1["status"] != "passed"
    assert bob1["score"] == 1
    grades = rows(out)
    assert (grades["ada"]["raw"], grades["ada"]["final"], grades["ada"]["total"]) == ("7", "10", "10")
    assert (grades["bob"]["raw"], grades["bob"]["override"], grades["bob"]["total"]) == ("1", "2", "3")
    assert "the suite's fixture was wrong" in grades["ada"]["overrides"]
    keep = tmp_path / "before"
    shutil.copytree(out, keep)

    # 2. The suite fixed (its digest changes), graded again with --force.
    suite_copy(suite, broken=False)
    second = batch("--force")
    ada2, bob2 = report(out, "ada"), report(out, "bob")
    assert ada2["score"] == 10 and check(ada2, "resave-no-duplicate")["status"] == "passed"
    assert ada2["rubric_digest"] != ada1["rubric_digest"]
    assert bob2["score"] == 1  # the reports are the grader's verdict: no override in them
    grades = rows(out)
    assert (grades["bob"]["raw"], grades["bob"]["override"], grades["bob"]["total"]) == ("1", "2", "3")
    assert "showed the receiver working in class" in grades["bob"]["overrides"]
    assert grades["ada"]["total"] == "10"
    assert "the suite's fixture was wrong" in grades["ada"]["overrides"]  # still applied, now 3 → 3

    # The diff: ada changed, check by check and why; bob did not change and is not listed.
    why = f"({resave1['diagnosis'] or '-'} → -)" if resave1["diagnosis"] else ""
    line = f"ada: 7 → 10 (+3): resave-no-duplicate {resave1['status']} → passed {why}".rstrip()
    printed = second.stdout.splitlines()
    assert any(p.startswith("regrade: 1 of 2 student(s) changed") for p in printed), second.stdout
    assert line in printed, second.stdout
    assert not any(p.startswith("bob:") for p in printed)
    diff = list(csv.DictReader(io.StringIO((out / "regrade.csv").read_text(encoding="utf-8"))))
    assert [(d["student"], d["check"], d["check before"], d["check after"]) for d in diff] == [
        ("ada", "resave-no-duplicate", resave1["status"], "passed")
    ]
    assert (diff[0]["before"], diff[0]["after"], diff[0]["delta"]) == ("7", "10", "3")
    assert "| ada | 7 | 10 | +3 | resave-no-duplicate" in (out / "regrade.md").read_text(encoding="utf-8")
    assert not list(out.glob(".grader-regrade-*"))  # the snapshot is gone once the diff is written

    # 3. The same diff from two report folders.
    again = run_cli("report", str(out), "--diff", str(keep))
    assert again.returncode == 0, again.stderr + again.stdout
    assert line in again.stdout.splitlines()
    # grader report DIR applies the overrides the batch of DIR used
    assert rows(out)["bob"]["total"] == "3"
    assert "showed the receiver working in class" in rows(out)["bob"]["overrides"]
