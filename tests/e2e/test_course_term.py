"""A term under course.toml: a course of three assignments, GitHub Classroom clones built as
real git repositories with dated commits, a Moodle download with its grading worksheet's
times, extensions, late policies, "best" and "last", overrides, and the gradebook's raw,
penalty, override and final columns.

The batch tests grade with a stand-in worker (the score is the graded folder's score.txt),
so that which commit was graded shows in the score; the last test runs the real CLI on real
clones (the template and the reference solution as two commits)."""

from __future__ import annotations

import csv
import io
import json
import multiprocessing
import os
import subprocess
from pathlib import Path

import downloads as dl
import pytest
from conftest import ROOT, build_submission, run_cli, validate

from grader import batch, gradebook, rubric
from grader.model import CheckResult, CheckStatus, Report, RunStatus

COURSE = """
name = "Signals, autumn 2026"
timezone = "Europe/Berlin"

[late]
grace_minutes = 15
penalty_per_day = 10
max_penalty = 30

[[assignments]]
name = "signals-profile"
due = 2026-10-12T23:59:00

[[assignments]]
name = "signals-m2m"
due = 2026-10-19T23:59:00
counts = "best"
late = { penalty_per_day = 25 }

[[assignments]]
name = "signals-files"
due = 2026-10-26T23:59:00
counts = "last"
late = { accept = false }

[extensions.cy]
signals-profile = { days = 2 }
"""


def git(repo: Path, *args: str, when: str = "") -> str:
    env = {
        **os.environ,
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_AUTHOR_NAME": "Student",
        "GIT_AUTHOR_EMAIL": "student@example.org",
        "GIT_COMMITTER_NAME": "Student",
        "GIT_COMMITTER_EMAIL": "student@example.org",
    }
    if when:
        env["GIT_AUTHOR_DATE"] = env["GIT_COMMITTER_DATE"] = when
    done = subprocess.run(["git", *args], cwd=repo, env=env, capture_output=True, text=True, check=True)
    return done.stdout.strip()


def clone(dest: Path, commits: list[tuple[str, int]]) -> Path:
    """A student's repository as GitHub Classroom's clone gives it: a project whose score.txt
    says what the stand-in worker gives it, one commit per (date, score), the last one HEAD."""
    dest.mkdir(parents=True)
    git(dest, "init", "-q", "-b", "main")
    (dest / "manage.py").write_text("# a project\n")
    for when, score in commits:
        (dest / "score.txt").write_text(f"{score}\n")
        git(dest, "add", "-A")
        git(dest, "commit", "-q", "-m", f"work of {when}", when=when)
    return dest


def stand_in(sub, assignment, mode, scratch, handle=None):
    """grade_worker's stand-in: the score is the graded folder's score.txt (full marks without)."""
    marker = sub.path / "score.txt"
    score = float(marker.read_text()) if marker.is_file() else float(assignment.max_score)
    report = Report(
        assignment.name,
        sub.student,
        RunStatus.GRADED,
        score,
        assignment.max_score,
        "graded",
        [CheckResult("all", "everything", CheckStatus.PASSED, score, assignment.max_score)],
        0.1,
        batch.__version__,
        "5.2",
        "3.11",
        "2026-11-01T00:00:00+00:00",
        rubric_digest=assignment.digest,
        submission_digest=batch.submission_digest(sub.path),
    )
    report.identity = sub.identity
    batch.write_report(sub.report, report)


def run_batch(source: Path, name: str, out: Path, course_file: Path, **kw) -> batch.BatchResult:
    return batch.run(
        source,
        rubric.find(name),
        out,
        batch.BatchOptions(jobs=2, mode="none", keep_going=True, course_file=course_file, **kw),
        worker=stand_in,
        ctx=multiprocessing.get_context("fork"),
        display=batch.PlainDisplay(io.StringIO()),
    )


def reports(out: Path) -> dict[str, dict]:
    return {
        p.stem: validate(json.loads(p.read_text()))
        for p in out.glob("*.json")
        if p.name != "summary.json" and not p.name.startswith(".")
    }


def rows(out: Path, name: str = "grades.csv") -> dict[str, dict]:
    with (out / name).open(encoding="utf-8") as fh:
        return {r.get("student") or r.get("Identifier"): r for r in csv.DictReader(fh)}


@pytest.fixture
def term(tmp_path):
    course_file = tmp_path / "course" / "course.toml"
    course_file.parent.mkdir()
    course_file.write_text(COURSE, encoding="utf-8")
    return course_file


def test_github_classroom_grades_the_last_commit_before_the_due_date(tmp_path, term):
    src = tmp_path / "signals-profile-submissions"
    # ada: 10/10 on time, then a broken commit after the due date that must not be graded
    ada = clone(src / "signals-profile-ada", [("2026-10-10T12:00:00+02:00", 10), ("2026-10-14T09:00:00+02:00", 3)])
    # bob: his only commit is 10 h late (one started day: -10%)
    clone(src / "signals-profile-bob", [("2026-10-13T10:00:00+02:00", 10)])
    # cy: as late as bob, but an extension of 2 days makes it on time
    clone(src / "signals-profile-cy", [("2026-10-13T10:00:00+02:00", 10)])
    # dee: 10 minutes late, within the 15 minutes' grace; her last commit 2 days late
    clone(src / "signals-profile-dee", [("2026-10-13T00:09:00+02:00", 8), ("2026-10-15T01:00:00+02:00", 10)])
    head_before = git(ada, "rev-parse", "HEAD")
    status_before = git(ada, "status", "--porcelain")
    out = tmp_path / "out"
    result = run_batch(src, "signals-profile", out, term)
    assert (result.total, result.graded) == (4, 4)
    got = reports(out)
    first_ada = git(ada, "rev-list", "--max-parents=0", "HEAD")
    assert got["ada"]["score"] == 10  # the commit before the due date, not HEAD (3)
    assert got["ada"]["timing"]["commit"] == first_ada
    assert got["ada"]["timing"]["late_s"] == 0 and got["ada"]["timing"]["note"] == "on time"
    assert "last before the due date" in got["ada"]["timing"]["source"]
    assert got["ada"]["timing"]["due"] == "2026-10-12T23:59:00+02:00"
    assert got["bob"]["timing"]["penalty"] == 1 and got["bob"]["timing"]["note"] == "1 day late: -10%"
    assert got["bob"]["timing"]["late_s"] == 10 * 3600 + 60
    assert got["cy"]["timing"]["penalty"] == 0 and got["cy"]["timing"]["due"] == "2026-10-14T23:59:00+02:00"
    assert got["dee"]["score"] == 8 and got["dee"]["timing"]["note"] == "on time"
    # the submission itself is untouched: same HEAD, nothing checked out, no copy left in it
    assert git(ada, "rev-parse", "HEAD") == head_before and git(ada, "status", "--porcelain") == status_before
    assert (ada / "score.txt").read_text() == "3\n"
    sheet = rows(out)
    assert [sheet["bob"][k] for k in ("raw", "penalty", "override", "final", "total")] == ["10", "1", "0", "9", "9"]
    assert [sheet["ada"][k] for k in ("raw", "penalty", "final")] == ["10", "0", "10"]
    assert sheet["bob"]["timing"] == "1 day late: -10%" and sheet["ada"]["commit"] == first_ada
    summary = json.loads((out / "summary.json").read_text())
    bob = next(s for s in summary["students"] if s["student"] == "bob")
    assert (bob["raw"], bob["penalty"], bob["score"]) == (10, 1, 9)
    assert summary["mean"] == pytest.approx((10 + 9 + 10 + 8) / 4)
    canvas = list(csv.reader((out / "grades-canvas.csv").open()))
    assert {r[2]: r[5] for r in canvas[1:]}["bob"] == "9"  # the import carries the final score
    page = (out / "report.html").read_text()
    assert "1 day late: -10%" in page

    # Again: every report is up to date (the graded commit's copy has the same content).
    again = run_batch(src, "signals-profile", out, term)
    assert (again.graded, again.skipped) == (0, 4)
    # bob gets an extension: his report is kept (same commit) and its timing follows the course.
    term.write_text(COURSE + "\n[extensions.bob]\nsignals-profile = 2026-10-13T12:00:00\n", encoding="utf-8")
    third = run_batch(src, "signals-profile", out, term)
    assert (third.graded, third.skipped) == (0, 4)
    assert reports(out)["bob"]["timing"]["penalty"] == 0 and rows(out)["bob"]["final"] == "10"
    # ada commits again before the due date (a date she chose): that commit is graded now.
    (ada / "score.txt").write_text("7\n")
    git(ada, "commit", "-qam", "fix", when="2026-10-12T20:00:00+02:00")
    fourth = run_batch(src, "signals-profile", out, term)
    assert fourth.graded == 1 and reports(out)["ada"]["score"] == 7
    # An extension to 10-15 makes her commit of 10-14 the last one on time: it is graded (the
    # latest committer date on time, not HEAD, whose date is earlier).
    term.write_text(term.read_text() + "\n[extensions.ada]\nsignals-profile = 2026-10-15T00:00:00\n")
    fifth = run_batch(src, "signals-profile", out, term)
    assert fifth.graded == 1 and reports(out)["ada"]["score"] == 3
    assert reports(out)["ada"]["timing"]["submitted_at"] == "2026-10-14T09:00:00+02:00"


def test_best_grades_both_and_keeps_the_better_final_and_late_work_not_accepted(tmp_path, term):
    src = tmp_path / "signals-m2m-submissions"
    # ada: 4 on time, 10 a day late (-25%: 7.5): the late one is better
    clone(src / "signals-m2m-ada", [("2026-10-18T10:00:00+02:00", 4), ("2026-10-20T10:00:00+02:00", 10)])
    # bob: 8 on time, 10 a day late (7.5): the on-time one is better
    clone(src / "signals-m2m-bob", [("2026-10-18T10:00:00+02:00", 8), ("2026-10-20T10:00:00+02:00", 10)])
    out = tmp_path / "m2m"
    run_batch(src, "signals-m2m", out, term)
    got = reports(out)
    max_score = float(rubric.find("signals-m2m").max_score)
    assert got["ada"]["score"] == 10 and got["ada"]["timing"]["penalty"] == max_score * 0.25
    assert "best of 2" in got["ada"]["timing"]["note"]
    assert got["bob"]["score"] == 8 and got["bob"]["timing"]["penalty"] == 0
    assert sorted(p.name.split("@")[0] for p in (out / ".candidates").glob("*.json")) == ["ada", "ada", "bob", "bob"]
    assert set(rows(out)) == {"ada", "bob"}  # candidates are not students

    # signals-files: late work is not accepted; counts = "last" grades HEAD even when late.
    src = tmp_path / "signals-files-submissions"
    clone(src / "signals-files-ada", [("2026-10-25T10:00:00+01:00", 6), ("2026-10-27T10:00:00+01:00", 9)])
    clone(src / "signals-files-bob", [("2026-10-26T23:00:00+01:00", 9)])
    out = tmp_path / "files"
    run_batch(src, "signals-files", out, term)
    got = reports(out)
    assert got["ada"]["score"] == 9 and got["ada"]["timing"]["accepted"] is False
    assert got["ada"]["timing"]["note"] == "1 day late: late work is not accepted"
    sheet = rows(out)
    assert (sheet["ada"]["raw"], sheet["ada"]["final"], sheet["bob"]["final"]) == ("9", "0", "9")
    # The lesson's sheet: each assignment's final score, with its raw, penalty and timing beside it.
    lesson = gradebook.write_lesson([tmp_path / "m2m", out], tmp_path / "term")
    term_rows = rows(tmp_path / "term")
    ada = term_rows["ada"]
    assert (ada["signals-m2m"], ada["signals-m2m raw"], ada["signals-m2m penalty"]) == (
        str(10 - max_score * 0.25).removesuffix(".0"),
        "10",
        str(max_score * 0.25).removesuffix(".0"),
    )
    assert (ada["signals-files"], ada["signals-files raw"], ada["signals-files timing"]) == (
        "0",
        "9",
        "1 day late: late work is not accepted",
    )
    assert ada["total"] == str(10 - max_score * 0.25).removesuffix(".0")
    assert lesson.model.to_dict()["summary_version"] == "1.1"


def test_overrides_beside_the_course_apply_after_the_penalty(tmp_path, term):
    src = tmp_path / "signals-profile-submissions"
    clone(src / "signals-profile-ada", [("2026-10-10T12:00:00+02:00", 6)])
    clone(src / "signals-profile-bob", [("2026-10-14T10:00:00+02:00", 10)])  # 2 days late: -20%
    (term.parent / "overrides.toml").write_text(
        '[[override]]\nstudent = "bob"\nassignment = "signals-profile"\nadjust = 1\n'
        'reason = "the server was down that evening"\n',
        encoding="utf-8",
    )
    out = tmp_path / "out"
    run_batch(src, "signals-profile", out, term)
    bob = rows(out)["bob"]
    assert [bob[k] for k in ("raw", "penalty", "override", "final")] == ["10", "2", "1", "9"]
    assert "the server was down" in bob["overrides"]
    # grader report DIR remembers the overrides the batch used
    (out / "grades.csv").unlink()
    batch.report_command(out)
    assert rows(out)["bob"]["final"] == "9"


def test_moodle_worksheet_times_decide_lateness(tmp_path, term):
    ada, jurgen = dl.Student("Ada Lovelace", "101"), dl.Student("Jürgen Müller", "102")
    src = dl.moodle(tmp_path / "moodle", [ada, jurgen], tmp_path / "work")
    sheet = tmp_path / "worksheet.csv"
    sheet.write_text(
        "Identifier,Full name,Email address,Status,Grade,Maximum Grade,Grade can be changed,"
        "Last modified (submission),Last modified (grade),Feedback comments\n"
        'Participant 101,Ada Lovelace,ada@uni.example,Submitted,,10.00,Yes,"Monday, 12 October 2026, 11:00 PM",-,\n'
        'Participant 102,Jürgen Müller,jm@uni.example,Submitted,,10.00,Yes,"Wednesday, 14 October 2026, 9:00 AM",-,\n',
        encoding="utf-8-sig",
    )
    out = tmp_path / "out"
    run_batch(src, "signals-profile", out, term, roster=sheet)
    got = reports(out)
    assert got["101"]["timing"]["source"] == "moodle worksheet"
    assert got["101"]["timing"]["submitted_at"] == "2026-10-12T23:00:00+02:00" and got["101"]["timing"]["penalty"] == 0
    assert got["102"]["timing"]["note"] == "2 days late: -20%"
    moodle = rows(out, "grades-moodle.csv")
    assert moodle["Participant 102"]["Grade"] == "8"  # the worksheet carries the final score
    assert "2 days late" in moodle["Participant 102"]["Feedback comments"]


def test_without_git_or_worksheet_the_newest_file_time_is_used_and_said(tmp_path, term):
    src = tmp_path / "class"
    for student, stamp in (("ann", "2026-10-12T20:00:00+00:00"), ("ben", "2026-10-16T20:00:00+00:00")):
        (src / student).mkdir(parents=True)
        (src / student / "manage.py").write_text("#")
        when = __import__("datetime").datetime.fromisoformat(stamp).timestamp()
        os.utime(src / student / "manage.py", (when, when))
    out = tmp_path / "out"
    run_batch(src, "signals-profile", out, term)
    got = reports(out)
    assert got["ann"]["timing"]["source"] == "file times (newest file)" and got["ann"]["timing"]["penalty"] == 0
    assert got["ben"]["timing"]["note"] == "4 days late: -30%"  # 40%, capped


def test_a_course_without_the_assignment_is_a_usage_error(tmp_path, term):
    src = tmp_path / "class"
    (src / "ann").mkdir(parents=True)
    (src / "ann" / "manage.py").write_text("#")
    with pytest.raises(batch.BatchError, match=r"course.toml:assignments: no assignment named 'signals-orders'"):
        run_batch(src, "signals-orders", tmp_path / "out", term)


@pytest.mark.e2e
def test_the_cli_grades_real_clones_under_the_course(tmp_path, term):
    """Real grading: ada's reference solution was committed on time and a broken template
    after the due date; bob's solution came a day late."""
    src = tmp_path / "download"
    ada = build_submission(src / "signals-profile-ada", solution=True)
    git(ada, "init", "-q", "-b", "main")
    git(ada, "add", "-A")
    git(ada, "commit", "-qm", "done", when="2026-10-12T18:00:00+02:00")
    broken = build_submission(tmp_path / "template", solution=False)
    for rel in ("users/apps.py", "users/signals.py"):
        if (broken / rel).exists():
            (ada / rel).write_bytes((broken / rel).read_bytes())
    git(ada, "add", "-A")
    git(ada, "commit", "-qm", "oops", when="2026-10-13T18:00:00+02:00")
    bob = build_submission(src / "signals-profile-bob", solution=True)
    git(bob, "init", "-q", "-b", "main")
    git(bob, "add", "-A")
    git(bob, "commit", "-qm", "late", when="2026-10-13T18:00:00+02:00")
    out = tmp_path / "out"
    done = run_cli(
        "batch", str(src), "--assignment", "signals-profile", "-o", str(out), "--course", str(term), cwd=ROOT
    )
    assert done.returncode == 0, done.stderr
    got = reports(out)
    assert got["ada"]["score"] == 10 and got["ada"]["timing"]["note"] == "on time"
    sheet = rows(out)
    assert (sheet["bob"]["raw"], sheet["bob"]["penalty"], sheet["bob"]["final"]) == ("10", "1", "9")
