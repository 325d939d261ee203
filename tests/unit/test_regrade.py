"""The regrade diff on hand-written reports: who changed, by how much and why, check by check;
the unchanged left out, the new and the gone said; regrade.csv and regrade.md; the batch's
snapshot (begin/finish) and comparing two folders. Nothing is graded."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from grader import gradebook, regrade
from grader.model import CheckResult, CheckStatus, Identity, Report, RunStatus

CHECKS = [
    ("project-loads", 1.0),
    ("receiver-registered-in-ready", 3.0),
    ("profile-created-once", 3.0),
    ("resave-no-duplicate", 3.0),
]


def report(
    student: str, failed: dict[str, str] | None = None, status: RunStatus = RunStatus.GRADED, name: str = ""
) -> Report:
    failed = failed or {}
    checks = [
        CheckResult(
            cid,
            cid,
            CheckStatus.FAILED if cid in failed else CheckStatus.PASSED,
            0.0 if cid in failed else points,
            points,
            diagnosis=failed.get(cid, ""),
        )
        for cid, points in CHECKS
    ]
    return Report(
        assignment="signals-profile",
        submission=student,
        status=status,
        score=sum(c.score for c in checks),
        max_score=10.0,
        message="",
        checks=checks,
        duration_s=1.0,
        grader_version="0",
        django_version="5.2",
        python_version="3.11",
        graded_at="2026-01-01T00:00:00+00:00",
        identity=Identity(name=name) if name else None,
    )


BEFORE = [
    report("ada", {"resave-no-duplicate": "no-created-check", "project-loads": "x"}),
    report("bob"),
    report("cy", {"profile-created-once": "no-profile"}),
    report("dee"),
]
AFTER = [
    report("ada", {"project-loads": "x"}, name="Ada Lovelace"),
    report("bob"),
    report("cy", {"profile-created-once": "profile-twice"}),
    report("eve", {"resave-no-duplicate": "dup"}),
]


def test_who_changed_by_how_much_and_why_check_by_check():
    diff = regrade.compare(BEFORE, AFTER)
    assert diff.lines() == [
        "regrade: 1 of 3 student(s) changed, 1 new, 1 gone",
        "ada: 6 → 9 (+3): resave-no-duplicate failed → passed (no-created-check → -)",
        "dee: gone (no report now; had 10/10)",
        "eve: new (7/10, graded)",
    ]
    # bob is the same; cy's diagnosis changed but not the grade: neither is listed
    assert [c.student for c in diff.changes] == ["ada", "dee", "eve"]
    assert diff.changes[0].name == "Ada Lovelace"


def test_status_points_and_checks_added_or_removed():
    old = report("ada")
    new = report("ada", {"project-loads": "crash"}, status=RunStatus.ERROR)
    new.checks[1] = CheckResult("receiver-registered-in-ready", "r", CheckStatus.PASSED, 2.0, 2.0)
    new.checks.pop()  # the rubric dropped resave-no-duplicate
    new.checks.append(CheckResult("new-check", "n", CheckStatus.PASSED, 1.0, 1.0))
    new.score = 6.0
    (line,) = regrade.compare([old], [new]).lines()[1:]
    assert line == (
        "ada: 10 → 6 (-4): graded → error; project-loads passed → failed (- → crash); "
        "receiver-registered-in-ready passed, 3 → 2 points; new-check new: passed (1 points); "
        "resave-no-duplicate removed (was passed, 3 points)"
    )


def test_a_student_not_in_the_download_is_gone_though_the_report_stays():
    diff = regrade.compare([report("ada"), report("bob")], [report("ada"), report("bob")], present=["ada"])
    assert diff.lines()[1:] == ["bob: gone (not in this download; the old report is kept; had 10/10)"]


def test_regrade_csv_and_md(tmp_path):
    diff = regrade.compare(BEFORE, AFTER)
    csv_path, md_path = diff.write(tmp_path)
    rows = list(csv.DictReader(io.StringIO(csv_path.read_text(encoding="utf-8"))))
    assert list(rows[0]) == list(regrade.CSV_COLUMNS)
    assert [(r["student"], r["change"], r["check"]) for r in rows] == [
        ("ada", "changed", "resave-no-duplicate"),
        ("dee", "gone", ""),
        ("eve", "new", ""),
    ]
    ada = rows[0]
    assert (ada["before"], ada["after"], ada["delta"]) == ("6", "9", "3")
    assert (ada["check before"], ada["check after"], ada["points before"], ada["points after"]) == (
        "failed",
        "passed",
        "0",
        "3",
    )
    assert (ada["diagnosis before"], ada["diagnosis after"]) == ("no-created-check", "")
    md = md_path.read_text(encoding="utf-8")
    assert "| ada (Ada Lovelace) | 6 | 9 | +3 | resave-no-duplicate failed → passed (no-created-check → -) |" in md


def test_hostile_ids_are_neutralised_in_every_output(tmp_path):
    evil = "=1+1<script>|\x1b[31m"
    diff = regrade.compare([report(evil)], [report(evil, {"project-loads": "x"})])
    csv_path, md_path = diff.write(tmp_path)
    assert next(csv.reader(io.StringIO(csv_path.read_text().splitlines()[1])))[0].startswith("'=")
    md = md_path.read_text()
    assert "<script>" not in md and "\x1b" not in md
    assert all("\x1b" not in line for line in regrade.printable_lines(diff))


def write_reports(folder: Path, reports: list[Report]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for r in reports:
        (folder / f"{r.submission}.json").write_text(json.dumps(r.to_dict()), encoding="utf-8")


def test_begin_and_finish_compare_the_folder_before_and_after(tmp_path):
    out = tmp_path / "out"
    assert regrade.begin(out) is None and regrade.finish(out) is None  # a first grading: no diff
    assert not (out / regrade.CSV_NAME).exists()
    write_reports(out, BEFORE)
    regrade.begin(out)
    assert (out / regrade.SNAPSHOT).exists()
    assert len(gradebook.load_reports(out).reports) == 4  # the snapshot is no report
    write_reports(out, AFTER[:1])  # an interrupted batch: ada graded again
    regrade.begin(out)  # the run that carries on keeps the first baseline
    write_reports(out, AFTER[1:])
    diff = regrade.finish(out, present=["ada", "bob", "cy", "eve"])
    assert diff is not None
    assert [c.describe() for c in diff.changes] == [
        "ada: 6 → 9 (+3): resave-no-duplicate failed → passed (no-created-check → -)",
        "dee: gone (not in this download; the old report is kept; had 10/10)",
        "eve: new (7/10, graded)",
    ]
    assert not (out / regrade.SNAPSHOT).exists()
    assert (out / regrade.CSV_NAME).exists() and (out / regrade.MD_NAME).exists()


def test_compare_folders(tmp_path):
    write_reports(tmp_path / "old", BEFORE)
    write_reports(tmp_path / "new", AFTER)
    diff = regrade.compare_folders(tmp_path / "old", tmp_path / "new")
    assert [c.student for c in diff.changes] == ["ada", "dee", "eve"]
    with pytest.raises(gradebook.GradebookError, match="holds no reports"):
        regrade.compare_folders(tmp_path / "new" / "..", tmp_path / "new")
