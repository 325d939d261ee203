"""Regrade with a diff: when a batch grades a class again (a suite fix changed the rubric
digest, or ``--force``), who changed, by how much and why, check by check.

The batch takes a snapshot of the reports in its output folder before it writes any
(:func:`begin`: a small file, ``.grader-regrade-base.json``, that an interrupted batch leaves
for the run that carries on), and compares it with the reports there once it is done
(:func:`finish`), writing ``regrade.csv`` and ``regrade.md`` beside the gradebook.
``grader report DIR --diff OLD_DIR`` compares two report folders (:func:`compare_folders`).

A student is listed when their score, their status or a check's status or points changed
(a diagnosis that changed is said with the check, never on its own); a student with a report
now and none before is *new*, one with a report before who is not in this run's download (or
whose report is gone) is *gone*.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from grader import gradebook
from grader.classdata import num
from grader.model import Report
from grader.renderers import safe, write_atomic
from grader.renderers.markdown import cell

SNAPSHOT = ".grader-regrade-base.json"
CSV_NAME = "regrade.csv"
MD_NAME = "regrade.md"
CSV_COLUMNS = (
    "student",
    "name",
    "change",
    "before",
    "after",
    "delta",
    "status before",
    "status after",
    "check",
    "check before",
    "check after",
    "points before",
    "points after",
    "diagnosis before",
    "diagnosis after",
)


@dataclass
class CheckChange:
    """One check of a student that changed: its status, points and diagnosis before and after
    (None: the check is not in that report, the rubric added or removed it)."""

    id: str
    old_status: str | None
    new_status: str | None
    old_score: float | None
    new_score: float | None
    old_diagnosis: str = ""
    new_diagnosis: str = ""

    def describe(self) -> str:
        """ "resave-no-duplicate failed → passed (no-created-check → -)"."""
        if self.old_status is None:
            return f"{self.id} new: {self.new_status} ({num(self.new_score)} points)"
        if self.new_status is None:
            return f"{self.id} removed (was {self.old_status}, {num(self.old_score)} points)"
        diagnoses = (
            f" ({self.old_diagnosis or '-'} → {self.new_diagnosis or '-'})"
            if self.old_diagnosis != self.new_diagnosis
            else ""
        )
        if self.old_status != self.new_status:
            return f"{self.id} {self.old_status} → {self.new_status}{diagnoses}"
        return f"{self.id} {self.new_status}, {num(self.old_score)} → {num(self.new_score)} points{diagnoses}"


@dataclass
class StudentChange:
    """One student whose grade changed (`kind` "changed"), who is new or gone."""

    student: str
    kind: str  # changed | new | gone
    name: str = ""
    old_score: float | None = None
    new_score: float | None = None
    max_score: float = 0.0
    old_status: str = ""
    new_status: str = ""
    checks: list[CheckChange] = field(default_factory=list)
    why_gone: str = ""

    @property
    def delta(self) -> float | None:
        if self.old_score is None or self.new_score is None:
            return None
        return round(self.new_score - self.old_score, 4)

    def describe(self) -> str:
        """ "ada: 6 → 8 (+2): resave-no-duplicate failed → passed (no-created-check → -)"."""
        if self.kind == "new":
            return f"{self.student}: new ({num(self.new_score)}/{num(self.max_score)}, {self.new_status})"
        if self.kind == "gone":
            return f"{self.student}: gone ({self.why_gone}; had {num(self.old_score)}/{num(self.max_score)})"
        why = [f"{self.old_status} → {self.new_status}"] if self.old_status != self.new_status else []
        why += [c.describe() for c in self.checks]
        delta = self.delta or 0.0
        sign = f"+{num(delta)}" if delta >= 0 else f"-{num(-delta)}"
        text = f"{self.student}: {num(self.old_score)} → {num(self.new_score)} ({sign})"
        return text + (": " + "; ".join(why) if why else "")


@dataclass
class Diff:
    """The changes between two gradings of one class, sorted by student."""

    assignment: str = ""
    compared: int = 0  # students with a report both before and after
    changes: list[StudentChange] = field(default_factory=list)

    @property
    def changed(self) -> list[StudentChange]:
        return [c for c in self.changes if c.kind == "changed"]

    def headline(self) -> str:
        new = sum(c.kind == "new" for c in self.changes)
        gone = sum(c.kind == "gone" for c in self.changes)
        text = f"regrade: {len(self.changed)} of {self.compared} student(s) changed"
        return text + (f", {new} new" if new else "") + (f", {gone} gone" if gone else "")

    def lines(self) -> list[str]:
        """What to print: the headline, then one line per student listed."""
        return [self.headline(), *(c.describe() for c in self.changes)]

    def to_csv(self) -> str:
        """regrade.csv: one row per changed check (a student whose checks did not change, or
        who is new or gone, has one row with the check cells empty); cells as every CSV of the
        grader (gradebook.csv_cell: no formula, no control character)."""
        rows: list[list[Any]] = [list(CSV_COLUMNS)]
        for change in self.changes:
            head = [
                change.student,
                change.name,
                change.kind,
                num(change.old_score),
                num(change.new_score),
                num(change.delta),
                change.old_status,
                change.new_status,
            ]
            if not change.checks:
                rows.append([*head, "", "", "", "", "", "", ""])
            for check in change.checks:
                rows.append(
                    [
                        *head,
                        check.id,
                        check.old_status or "",
                        check.new_status or "",
                        num(check.old_score),
                        num(check.new_score),
                        check.old_diagnosis,
                        check.new_diagnosis,
                    ]
                )
        out = io.StringIO()
        csv.writer(out, lineterminator="\r\n").writerows([gradebook.csv_cell(c) for c in row] for row in rows)
        return out.getvalue()

    def to_markdown(self) -> str:
        """regrade.md: the headline and a table of who changed, by how much and why."""
        lines = [f"# Regrade of {cell(self.assignment or 'the class')}", "", cell(self.headline()), ""]
        if self.changes:
            lines += ["| student | before | after | change | why |", "| --- | --- | --- | --- | --- |"]
            for c in self.changes:
                who = cell(c.student + (f" ({c.name})" if c.name else ""))
                if c.kind == "changed":
                    delta = c.delta or 0.0
                    how = f"+{num(delta)}" if delta >= 0 else f"-{num(-delta)}"
                    why = [f"{c.old_status} → {c.new_status}"] if c.old_status != c.new_status else []
                    why += [k.describe() for k in c.checks]
                else:
                    how = c.kind
                    why = [c.why_gone] if c.kind == "gone" else [c.new_status]
                before = "" if c.old_score is None else num(c.old_score)
                after = "" if c.new_score is None else num(c.new_score)
                lines.append(f"| {who} | {before} | {after} | {how} | {'<br>'.join(cell(w) for w in why)} |")
        else:
            lines.append("No student's grade changed.")
        return "\n".join(lines) + "\n"

    def write(self, folder: Path) -> list[Path]:
        """Write regrade.csv and regrade.md into `folder`; the paths written."""
        folder = Path(folder)
        paths = [folder / CSV_NAME, folder / MD_NAME]
        write_atomic(paths[0], self.to_csv())
        write_atomic(paths[1], self.to_markdown())
        return paths


def _check_changes(old: Report, new: Report) -> list[CheckChange]:
    before = {c.id: c for c in old.checks}
    after = {c.id: c for c in new.checks}
    out = []
    for cid in [*after, *(c for c in before if c not in after)]:
        o, n = before.get(cid), after.get(cid)
        change = CheckChange(
            id=cid,
            old_status=o.status.value if o else None,
            new_status=n.status.value if n else None,
            old_score=float(o.score) if o else None,
            new_score=float(n.score) if n else None,
            old_diagnosis=o.diagnosis if o else "",
            new_diagnosis=n.diagnosis if n else "",
        )
        if (change.old_status, change.old_score) != (change.new_status, change.new_score):
            out.append(change)
    return out


def compare(before: Iterable[Report], after: Iterable[Report], present: Iterable[str] | None = None) -> Diff:
    """The diff between the reports of a class `before` and `after` a grading (matched by
    student id, the report's submission). `present`: the students of this run's download; a
    student before who is not in it is gone (their old report is kept in the gradebook)."""
    old = {r.submission: r for r in before}
    new = {r.submission: r for r in after}
    here = set(present) if present is not None else None
    diff = Diff(assignment=next(iter({r.assignment for r in new.values()} or {r.assignment for r in old.values()}), ""))
    for student in sorted(set(old) | set(new)):
        o, n = old.get(student), new.get(student)
        either = n or o
        name = either.identity.name if either is not None and either.identity is not None else ""
        if o is None and n is not None:
            diff.changes.append(
                StudentChange(
                    student,
                    "new",
                    name,
                    new_score=float(n.score),
                    max_score=float(n.max_score),
                    new_status=n.status.value,
                )
            )
            continue
        assert o is not None
        if n is None or (here is not None and student not in here):
            diff.changes.append(
                StudentChange(
                    student,
                    "gone",
                    name,
                    old_score=float(o.score),
                    max_score=float(o.max_score),
                    old_status=o.status.value,
                    why_gone="no report now" if n is None else "not in this download; the old report is kept",
                )
            )
            continue
        diff.compared += 1
        checks = _check_changes(o, n)
        if checks or float(o.score) != float(n.score) or o.status != n.status:
            diff.changes.append(
                StudentChange(
                    student,
                    "changed",
                    name,
                    old_score=float(o.score),
                    new_score=float(n.score),
                    max_score=float(n.max_score),
                    old_status=o.status.value,
                    new_status=n.status.value,
                    checks=checks,
                )
            )
    return diff


def _reports(folder: Path) -> list[Report]:
    """The usable reports of `folder` (gradebook.load_reports), none when it has none."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    return gradebook.load_reports(folder).reports


def compare_folders(old: Path, new: Path) -> Diff:
    """``grader report NEW --diff OLD``: the diff from the reports of `old` to those of `new`."""
    if not Path(old).is_dir():
        raise gradebook.GradebookError(f"--diff {old}: not a folder")
    before = _reports(old)
    if not before:
        raise gradebook.GradebookError(f"--diff {old}: holds no reports")
    return compare(before, _reports(new))


def _essential(report: Report) -> dict[str, Any]:
    """What the diff needs of a report (the snapshot stays small: no output, no tracebacks)."""
    return {
        "assignment": report.assignment,
        "submission": report.submission,
        "status": report.status.value,
        "score": report.score,
        "max_score": report.max_score,
        "identity": {"name": report.identity.name} if report.identity and report.identity.name else None,
        "checks": [
            {
                "id": c.id,
                "title": c.title,
                "status": c.status.value,
                "score": c.score,
                "max_score": c.max_score,
                "diagnosis": c.diagnosis,
            }
            for c in report.checks
        ],
    }


def begin(folder: Path) -> None:
    """Before a batch writes any report into `folder`: keep what its reports say now in the
    snapshot file, unless one is there already (a batch interrupted before it was done: the
    reports before that one are still the baseline). No reports, no snapshot (a first grading
    has nothing to compare)."""
    path = Path(folder) / SNAPSHOT
    if _read_snapshot(path) is not None:
        return
    reports = _reports(folder)
    if reports:
        with contextlib.suppress(OSError):  # no diff is no reason to stop a batch
            write_atomic(path, json.dumps([_essential(r) for r in reports], ensure_ascii=False) + "\n")


def _read_snapshot(path: Path) -> list[Report] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return [Report.from_dict(item) for item in data]
    except FileNotFoundError:
        return None
    except (OSError, ValueError, TypeError, KeyError):  # damaged: taken again
        with contextlib.suppress(OSError):
            path.unlink()
        return None


def finish(folder: Path, present: Iterable[str] | None = None) -> Diff | None:
    """Once the batch is done: the diff from the snapshot begin() kept to the reports in
    `folder` now, written as regrade.csv and regrade.md there, and the snapshot removed. None
    (nothing written) when there was no snapshot: a first grading."""
    folder = Path(folder)
    path = folder / SNAPSHOT
    before = _read_snapshot(path)
    if before is None:
        return None
    diff = compare(before, _reports(folder), present)
    diff.write(folder)
    with contextlib.suppress(OSError):
        path.unlink()
    return diff


def printable_lines(diff: Diff, folder: Path | None = None) -> list[str]:
    """The diff's lines for a terminal (no control or escape character of a student id); with
    `folder`, the headline says where regrade.csv and regrade.md are."""
    lines = [safe.terminal(line, keep_newlines=False) for line in diff.lines()]
    if folder is not None:
        lines[0] += f" (written to {safe.terminal(str(Path(folder) / MD_NAME), keep_newlines=False)} and {CSV_NAME})"
    return lines
