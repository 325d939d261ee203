"""Helpers several test files share (each was a copy in each of them): an assignment's case
built with edits and graded through the real CLI, and report folders written from hand-made
reports. The smaller ones everyone uses (``check``, ``build_submission``, ``run_cli``) are in
conftest.py."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

from conftest import ROOT, run_cli, validate

from grader import authoring, rubric
from grader.model import Report

ASSIGNMENTS = ROOT / "assignments"


def project(
    tmp_path: Path,
    assignment: str,
    name: str = "solution",
    append: dict[str, str] | None = None,
    replace: dict[str, tuple[str, str]] | None = None,
    write: dict[str, str] | None = None,
) -> Path:
    """The project of `assignment`'s case `name` (solution, starter or a variant), with code
    appended to files, a text replaced (it must be found) or whole files written."""
    a = rubric.load(ASSIGNMENTS / assignment)
    case = next(c for c in authoring.cases(a) if c.name == name)
    dest = authoring.build(a, case, tmp_path / name)
    for rel, code in (append or {}).items():
        target = dest / rel
        target.write_text(target.read_text() + "\n\n" + textwrap.dedent(code))
    for rel, (old, new) in (replace or {}).items():
        target = dest / rel
        text = target.read_text()
        assert old in text, (rel, old)
        target.write_text(text.replace(old, new, 1))
    for rel, code in (write or {}).items():
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(textwrap.dedent(code))
    return dest


def graded(tmp_path: Path, sub: Path, assignment: str) -> dict:
    """`grader grade` of the project `sub` with `assignment`: its report, validated."""
    out = tmp_path / "report.json"
    done = run_cli("grade", str(sub), "--assignment", assignment, "--output", str(out), "--quiet")
    assert done.returncode in (0, 1), done.stderr
    return validate(json.loads(out.read_text()))


def write_reports(folder: Path, reports: list[dict]) -> Path:
    """A batch's folder of reports (``<submission>.json``), written from report dicts."""
    folder.mkdir(parents=True, exist_ok=True)
    for r in reports:
        (folder / f"{r['submission']}.json").write_text(json.dumps(r), encoding="utf-8")
    return folder


def typed(reports: list[dict]) -> list[Report]:
    """The reports as the gradebook reads them (gradebook.load_reports): the typed model."""
    return [Report.from_dict(r) for r in reports]
