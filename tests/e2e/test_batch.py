"""grader batch / grader report: grading a class, the gradebook and the class report.

Unit tests cover the pure parts (summary maths, CSV, HTML escaping, the
skip/resume decision, zip extraction, the worker scheduler) without
subprocesses of the grader. The end-to-end tests grade a generated class of
22 submissions (correct, wrong, broken, hostile) with the real CLI, interrupt
a batch and resume it, grade a .zip, and load report.html in headless
Chromium.
"""

from __future__ import annotations

import csv
import io
import json
import multiprocessing
import os
import re
import shutil
import signal
import stat
import subprocess
import sys
import time
import zipfile
from html.parser import HTMLParser
from pathlib import Path

import pytest
from conftest import (
    APPS_IMPORTING_SIGNALS,
    ASSIGNMENT,
    CHECK_IDS,
    GOOD_SIGNALS,
    ROOT,
    TEMPLATE,
    build_submission,
    run_cli,
    validate,
)
from helpers import typed, write_reports

from grader import batch, classreport, gradebook, rubric
from grader.model import CheckResult, CheckStatus, Report, RunStatus

POINTS = {
    "project-loads": 1.0,
    "receiver-registered-in-ready": 3.0,
    "profile-created-once": 3.0,
    "resave-no-duplicate": 3.0,
}
TEMPLATE_SETTINGS = (TEMPLATE / "mysite" / "settings.py").read_text()
HOSTILE = "=evil<img src=x onerror=alert(1)>"


# ============================================================================ helpers


def make_report(
    student: str,
    passed: set[str] | None = None,
    status: str = "graded",
    diagnoses: dict[str, str] | None = None,
    **extra,
) -> dict:
    """A per-student report dict as the grader writes it; `passed` checks earn their points."""
    passed = set(CHECK_IDS) if passed is None else passed
    diagnoses = diagnoses or {}
    checks = []
    for cid in CHECK_IDS:
        ok = cid in passed
        checks.append(
            {
                "id": cid,
                "title": cid.replace("-", " "),
                "status": "passed" if ok else "failed",
                "score": POINTS[cid] if ok else 0.0,
                "max_score": POINTS[cid],
                "feedback": "" if ok else f"{cid} failed",
                "hint": "do better",
                "diagnosis": diagnoses.get(cid, ""),
                "location": "",
                "student_traceback": [],
            }
        )
    data = {
        "schema_version": "1.0",
        "assignment": "signals-profile",
        "submission": student,
        "status": status,
        "score": sum(c["score"] for c in checks),
        "max_score": 10.0,
        "message": "",
        "checks": checks,
        "duration_s": 1.0,
        "grader_version": "0.1.0",
        "django_version": "5.2",
        "python_version": "3.11.7",
        "graded_at": "2026-01-01T00:00:00+00:00",
        "sandbox": "none",
        "warnings": [],
        "rubric_digest": "abc",
        "output": "",
    }
    data.update(extra)
    return data


def set_tree_time(folder: Path, when: float) -> None:
    for here, dirs, files in os.walk(folder):
        for name in (*dirs, *files):
            os.utime(os.path.join(here, name), (when, when))
    os.utime(folder, (when, when))


# ============================================================================ summary maths


def test_summary_counts_mean_median_and_pass_rates():
    reports = [
        make_report("a"),  # 10
        make_report("b", {"project-loads"}),  # 1
        make_report("c", {"project-loads", "profile-created-once", "receiver-registered-in-ready"}),  # 7
        make_report("d", set(), status="error"),  # 0
        make_report("e", set(), status="timeout"),  # 0
    ]
    s = gradebook.summarize(typed(reports))
    assert s["count"] == 5
    assert s["by_status"] == {"graded": 3, "error": 1, "timeout": 1, "tampered": 0, "missing": 0}
    assert s["mean"] == pytest.approx(18 / 5)
    assert s["median"] == 1
    assert (s["min"], s["max"], s["max_score"], s["full_marks"]) == (0, 10, 10, 1)
    rates = {c["id"]: c["pass_rate"] for c in s["checks"]}
    assert rates == {
        "project-loads": 0.6,
        "receiver-registered-in-ready": 0.4,
        "profile-created-once": 0.4,
        "resave-no-duplicate": 0.2,
    }
    assert [c["id"] for c in s["checks"]] == CHECK_IDS
    loads = s["checks"][0]
    assert (loads["passed"], loads["failed"], loads["max_score"]) == (3, 2, 1.0)
    assert [st["student"] for st in s["students"]] == ["a", "b", "c", "d", "e"]
    assert s["students"][2]["score"] == 7 and s["students"][3]["status"] == "error"
    assert s["kind"] == gradebook.SUMMARY_KIND and s["assignment"] == "signals-profile"
    json.dumps(s)  # serialisable as is


def test_summary_of_nothing_and_several_assignments():
    empty = gradebook.summarize([])
    assert empty["count"] == 0 and empty["mean"] is None and empty["median"] is None
    with pytest.raises(gradebook.GradebookError, match="several assignments"):
        gradebook.summarize(typed([make_report("a"), make_report("b", assignment="other")]))


def test_distribution_integer_and_fractional_scales():
    bins = gradebook.distribution([0, 1, 1, 7, 10, 10, 10], 10)
    assert [b["label"] for b in bins] == [str(i) for i in range(11)]
    assert [b["count"] for b in bins] == [1, 2, 0, 0, 0, 0, 0, 1, 0, 0, 3]
    bins = gradebook.distribution([0, 2.5, 9.99, 10, 33.3], 40)  # 10 bins of 4 points
    assert len(bins) == 10 and sum(b["count"] for b in bins) == 5
    assert bins[0]["count"] == 2 and bins[2]["count"] == 2 and bins[8]["count"] == 1
    assert bins[-1]["to"] == 40
    assert gradebook.distribution([40], 40)[-1]["count"] == 1  # the maximum is in the last bin


def test_diagnoses_most_common_first_counted_once_per_student():
    reports = [
        make_report(
            "a",
            {"project-loads"},
            diagnoses={
                "receiver-registered-in-ready": "connected-in-models",
                "profile-created-once": "connected-in-models",
            },
        ),
        make_report("b", {"project-loads"}, diagnoses={"receiver-registered-in-ready": "connected-in-models"}),
        make_report("c", {"project-loads"}, diagnoses={"resave-no-duplicate": "no-created-check"}),
        make_report("d", diagnoses={"resave-no-duplicate": "ignored-because-passed"}),
    ]
    diagnoses = gradebook.summarize(typed(reports))["diagnoses"]
    assert [(d["diagnosis"], d["count"]) for d in diagnoses] == [("connected-in-models", 2), ("no-created-check", 1)]
    assert diagnoses[0]["checks"] == ["receiver-registered-in-ready", "profile-created-once"]
    assert diagnoses[0]["students"] == ["a", "b"] and diagnoses[0]["share"] == 0.5


# ============================================================================ CSV


def test_csv_has_a_column_per_check_then_total_and_status():
    reports = [
        make_report("alice"),
        make_report("bob", {"project-loads", "profile-created-once"}),
        make_report("carol", set(), status="error"),
    ]
    text = gradebook.build_csv(gradebook.summarize(typed(reports)))
    assert "\r\n" in text and not text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["student", "name", "id", "login", "late", *CHECK_IDS, "total", "status"]
    assert rows[1:] == [
        ["alice", "", "", "", "", "1", "3", "3", "3", "10", "graded"],
        ["bob", "", "", "", "", "1", "0", "3", "0", "4", "graded"],
        ["carol", "", "", "", "", "0", "0", "0", "0", "0", "error"],
    ]


def test_canvas_csv_has_the_student_columns_canvas_requires():
    reports = [make_report("jdoe"), make_report("=1+1", {"project-loads"})]
    rows = list(csv.reader(io.StringIO(gradebook.build_canvas_csv(gradebook.summarize(typed(reports))))))
    # Canvas reads: Student, ID, SIS User ID, SIS Login ID, Section, then one column per assignment.
    assert rows[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "signals-profile"]
    assert rows[1:] == [["jdoe", "", "jdoe", "jdoe", "", "10"], ["'=1+1", "", "'=1+1", "'=1+1", "", "1"]]


def test_csv_neutralises_formulas_and_keeps_text_intact():
    reports = [
        make_report('=HYPERLINK("http://x")'),
        make_report('Zoë, "Z" Ünal'),
        make_report("half", {"project-loads"}, score=1.5),
    ]
    rows = list(csv.reader(io.StringIO(gradebook.build_csv(gradebook.summarize(typed(reports))))))
    names = [r[0] for r in rows[1:]]
    assert '\'=HYPERLINK("http://x")' in names  # not run as a formula by a spreadsheet
    assert 'Zoë, "Z" Ünal' in names  # quoted, not split
    assert next(r for r in rows if r[0] == "half")[-2] == "1.5"
    assert gradebook.num(2 / 3) == "0.67" and gradebook.num(10.0) == "10" and gradebook.num(0) == "0"


# ============================================================================ loading


def test_load_reports_ignores_own_files_junk_and_cleans_text(tmp_path):
    write_reports(tmp_path, [make_report("bob"), make_report("alice")])
    (tmp_path / "notes.json").write_text('{"hello": 1}')
    (tmp_path / "broken.json").write_text("{not json")
    (tmp_path / ".hidden.json").write_text(json.dumps(make_report("ghost")))
    (tmp_path / "weird.json").write_text(json.dumps(make_report("we\ud800ird")))  # a lone surrogate
    written = gradebook.write_all(tmp_path)
    loaded = gradebook.load_reports(tmp_path)  # summary.json, grades.csv, report.html now exist
    assert [r.submission for r in loaded.reports] == ["alice", "bob", "we\ufffdird"]
    assert loaded.files == ["alice.json", "bob.json", "weird.json"]
    assert sorted(s.split(":")[0] for s in loaded.skipped) == ["broken.json", "notes.json"]
    assert written.data["count"] == 3
    assert json.loads((tmp_path / "summary.json").read_text())["students"][2]["report"] == "weird.json"
    (tmp_path / "empty").mkdir()
    with pytest.raises(gradebook.GradebookError, match="no grader reports"):
        gradebook.write_all(tmp_path / "empty")


# ============================================================================ HTML


class DomReader(HTMLParser):
    """What the tests read from report.html: stats, check pass rates, student rows, chart bars."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stats: dict[str, str] = {}
        self.rates: dict[str, str] = {}
        self.rows: list[dict] = []
        self.bars: list[int] = []
        self.tags: set[str] = set()
        self.attrs_seen: set[str] = set()
        self.hrefs: list[str] = []
        self._field: tuple[str, str] | None = None
        self._check: str | None = None
        self._row: dict | None = None
        self._td: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.tags.add(tag)
        self.attrs_seen.update(name for name, _ in attrs)
        if "href" in a:
            self.hrefs.append(a["href"])
        if tag == "dd" and a.get("id", "").startswith("stat-"):
            self._field = ("stat", a["id"][5:])
            self.stats[a["id"][5:]] = ""
        if tag == "tr" and a.get("id", "").startswith("check-"):
            self._check = a["id"][6:]
        if tag == "span" and a.get("class") == "pass-rate" and self._check:
            self._field = ("rate", self._check)
            self.rates[self._check] = ""
        if tag == "tr" and a.get("class") == "student-row":
            self._row = {"student": a.get("data-student"), "cells": []}
        if tag == "td" and self._row is not None:
            self._td = []
        if tag == "rect" and a.get("class") == "bar":
            self.bars.append(int(a["data-count"]))

    def handle_endtag(self, tag):
        if tag in ("dd", "span"):
            self._field = None
        if tag == "td" and self._row is not None and self._td is not None:
            self._row["cells"].append("".join(self._td).strip())
            self._td = None
        if tag == "tr":
            if self._row is not None:
                self.rows.append(self._row)
            self._row = None
            self._check = None

    def handle_data(self, data):
        if self._field:
            kind, key = self._field
            (self.stats if kind == "stat" else self.rates)[key] += data
        if self._td is not None:
            self._td.append(data)


def read_dom(text: str) -> DomReader:
    reader = DomReader()
    reader.feed(text)
    return reader


def test_html_escapes_student_text_and_references_nothing_outside():
    evil = make_report(
        HOSTILE,
        {"project-loads"},
        diagnoses={"profile-created-once": "<b>diag</b>"},
        message="</p><script>alert(1)</script>",
        output="</pre><iframe src=//x></iframe>",
        warnings=["<style>body{display:none}</style>"],
    )
    evil["checks"][1]["feedback"] = "<a href=javascript:alert(1)>click</a>"
    evil["checks"][1]["student_traceback"] = ['File "users/x.py", line 1, in <module>\n  \x00\x1b[31m']
    reports = [make_report("alice"), evil]
    page = classreport.render(gradebook.summarize(typed(reports)), typed(reports))
    for raw in ("<script", "<img", "<iframe", "<a href=javascript", "<b>diag", "<style>body", "\x00", "\x1b"):
        assert raw not in page, raw
    assert "&lt;img src=x onerror=alert(1)&gt;" in page
    assert "&lt;/p&gt;&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "Content-Security-Policy" in page and "default-src 'none'" in page
    # Self-contained: nothing is fetched, every link stays in the page.
    assert "@import" not in page and "url(" not in page
    dom = read_dom(page)
    assert {"script", "img", "iframe", "link", "object", "embed"}.isdisjoint(dom.tags)
    assert not any(a.startswith("on") for a in dom.attrs_seen)
    assert "src" not in dom.attrs_seen
    assert dom.hrefs and all(h.startswith("#student-") for h in dom.hrefs)
    assert [r["student"] for r in dom.rows] == [HOSTILE, "alice"]  # who needs attention first


def test_html_shows_summary_numbers():
    reports = [make_report("a"), make_report("b", {"project-loads"}), make_report("c", set(), status="tampered")]
    summary = gradebook.summarize(typed(reports))
    dom = read_dom(classreport.render(summary, typed(reports)))
    assert dom.stats["count"] == "3"
    assert dom.stats["mean"] == "3.67 / 10"
    assert dom.stats["median"] == "1"
    assert dom.stats["status-tampered"] == "1" and dom.stats["status-graded"] == "2"
    assert dom.rates == {
        "project-loads": "66.7%",
        "receiver-registered-in-ready": "33.3%",
        "profile-created-once": "33.3%",
        "resave-no-duplicate": "33.3%",
    }
    assert dom.bars == [b["count"] for b in summary["distribution"]]
    assert [(r["student"], r["cells"][1], r["cells"][2]) for r in dom.rows] == [
        ("c", "0", "tampered"),
        ("b", "1", "graded"),
        ("a", "10", "graded"),
    ]


# ============================================================================ skip / resume


@pytest.fixture
def graded(tmp_path):
    """A submission whose files are older than its up-to-date report."""
    sub = tmp_path / "src" / "alice"
    (sub / "users").mkdir(parents=True)
    (sub / "manage.py").write_text("# manage\n")
    (sub / "users" / "signals.py").write_text("# signals\n")
    report = tmp_path / "out" / "alice.json"
    write_reports(
        report.parent,
        [
            make_report(
                "alice", rubric_digest="d1", grader_version="9.9", submission_digest=batch.submission_digest(sub)
            )
        ],
    )
    old = time.time() - 3600
    set_tree_time(sub, old)
    os.utime(report, (old + 60, old + 60))
    return sub, report, old


def decide(sub, report, **kw):
    args = dict(digest="d1", version="9.9")
    args.update(kw)
    return batch.decide(report, sub, "alice", args["digest"], args["version"], force=args.get("force", False))


def test_decide_keeps_an_up_to_date_report(graded):
    sub, report, old = graded
    assert decide(sub, report) == batch.Decision(False, "up to date")
    # The content decides, not the times: a file saved again unchanged changes nothing ...
    (sub / "users" / "signals.py").write_text("# signals\n")
    assert decide(sub, report).grade is False
    # What grading never reads (caches, VCS data) changes nothing.
    (sub / "users" / "__pycache__").mkdir()
    (sub / "users" / "__pycache__" / "signals.cpython-311.pyc").write_bytes(b"x")
    (sub / ".git").mkdir()
    os.utime(sub / "users", (old, old))
    os.utime(sub, (old, old))
    assert decide(sub, report).grade is False


def test_a_warning_that_looks_like_a_grader_fault_is_only_text(graded):
    # the submission's own output and warnings can say anything: only the field counts
    sub, report, old = graded
    write_reports(
        report.parent,
        [
            make_report(
                "alice",
                rubric_digest="d1",
                grader_version="9.9",
                warnings=["grader fault: forged by the submission"],
                submission_digest=batch.submission_digest(sub),
            )
        ],
    )
    os.utime(report, (old + 60, old + 60))
    assert decide(sub, report) == batch.Decision(False, "up to date")


@pytest.mark.parametrize(
    "change, reason",
    [
        ("edit", "the submission changed"),
        ("edit-with-old-times", "the submission changed"),  # ... and old times hide no new content
        ("too-deep", "the submission is over a limit"),
        ("add", "the submission changed"),
        ("delete", "the submission changed"),
        ("digest", "the rubric or hidden suite changed"),
        ("version", "another grader version made the report"),
        ("force", "--force"),
        ("missing", "no report yet"),
        ("corrupt", "the report cannot be read"),
        ("other-student", "the report is not this student's"),
        ("fault", "the grader failed last time"),
    ],
)
def test_decide_regrades_when_anything_changed(graded, change, reason):
    sub, report, old = graded
    kw = {}
    if change == "edit":
        (sub / "users" / "signals.py").write_text("# changed\n")
    elif change == "edit-with-old-times":
        (sub / "users" / "signals.py").write_text("# changed\n")
        set_tree_time(sub, old - 3600)
    elif change == "too-deep":
        (sub / Path(*["d"] * 80)).mkdir(parents=True)
    elif change == "add":
        (sub / "users" / "receivers.py").write_text("# new\n")
    elif change == "delete":
        (sub / "users" / "signals.py").unlink()
    elif change == "digest":
        kw["digest"] = "d2"
    elif change == "version":
        kw["version"] = "10.0"
    elif change == "force":
        kw["force"] = True
    elif change == "missing":
        report.unlink()
    elif change == "corrupt":
        report.write_text('{"submission": "alice", ')
    elif change == "other-student":
        write_reports(report.parent, [make_report("bob", rubric_digest="d1", grader_version="9.9")])
        report.unlink()
        (report.parent / "bob.json").rename(report)
    elif change == "fault":
        write_reports(
            report.parent,
            [make_report("alice", rubric_digest="d1", grader_version="9.9", grader_fault="worker crashed")],
        )
    if report.exists():
        os.utime(report, (old + 60, old + 60))
    decision = decide(sub, report, **kw)
    assert decision.grade and decision.reason.startswith(reason), decision


def test_report_names_are_distinct_and_safe():
    names = batch.report_names(["alice", "Alice", "summary", "Summary~2", "a\\b", ".x", "é" * 150])
    assert names["alice"] != names["Alice"]
    assert len({n.casefold() for n in names.values()}) == len(names)
    assert names["summary"] != "summary.json" and names["summary"].endswith(".json")
    assert names["a\\b"] == "a_b.json" and not names[".x"].startswith(".")
    assert len(names["é" * 150].encode()) <= batch.MAX_NAME_BYTES + 5
    assert batch.student_id("bad\x1b[31mname\udcff") == "bad_[31mname\ufffd"  # shown as U+FFFD


# ============================================================================ zip extraction


def _zip(path: Path, members: dict[str, bytes | str], links: dict[str, str] | None = None) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in members.items():
            info = zipfile.ZipInfo(name, date_time=(2024, 5, 1, 12, 0, 0))
            zf.writestr(info, data)
        for name, target in (links or {}).items():
            info = zipfile.ZipInfo(name, date_time=(2024, 5, 1, 12, 0, 0))
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            zf.writestr(info, target)
    return path


def test_extract_zip_refuses_traversal_links_and_oversize(tmp_path):
    archive = _zip(
        tmp_path / "class.zip",
        {
            "alice/manage.py": "# alice",
            "alice/users/signals.py": "# signals",
            "../escape.txt": "out",
            "/abs.txt": "abs",
            "alice/../../up.txt": "up",
            "bob/manage.py": "# bob",
            "bob/big.bin": b"0" * 5000,
            "__MACOSX/alice/._manage.py": "junk",
            "loose.txt": "top-level file",
        },
        links={"alice/passwd": "/etc/passwd", "alice/users/up": "../../.."},
    )
    dest = tmp_path / "dest"
    dest.mkdir()
    tops, rejected, notes = batch.extract_zip(archive, dest, max_submission=4000)
    assert tops == ["alice", "loose.txt"]  # files at the top are kept: the layout decides
    assert "bob" in rejected and "4.9 kB uncompressed, more than the 3.9 kB" in rejected["bob"]
    assert not (dest / "bob").exists()
    assert sorted(p.name for p in dest.iterdir()) == ["alice", "loose.txt"]
    assert not (tmp_path / "escape.txt").exists() and not (tmp_path / "up.txt").exists()
    assert not any(p.is_symlink() for p in dest.rglob("*"))
    assert not (dest / "alice" / "passwd").exists()
    assert (dest / "alice" / "users" / "signals.py").read_text() == "# signals"
    text = " ".join(notes)
    assert "'..' path" in text and "symbolic link" in text
    # File times come from the archive (freshness is decided from the content).
    expected = time.mktime((2024, 5, 1, 12, 0, 0, 0, 0, -1))
    assert (dest / "alice" / "manage.py").stat().st_mtime == expected
    with pytest.raises(batch.BatchError, match="more than"):
        batch.extract_zip(archive, tmp_path, max_total=100)


def test_extract_zip_unwraps_a_single_class_folder(tmp_path):
    archive = _zip(
        tmp_path / "download.zip",
        {
            "class-2024/alice/manage.py": "#",
            "class-2024/bob/project/manage.py": "#",
            "class-2024/carol/readme.txt": "no project",
        },
    )
    tops, rejected, _ = batch.extract_zip(archive, tmp_path / "a")
    assert tops == ["alice", "bob", "carol"] and not rejected
    # One student's folder with a nested project is not a wrapper.
    single = _zip(tmp_path / "one.zip", {"dana/mysite/manage.py": "#", "dana/docs/x.txt": "x"})
    assert batch.extract_zip(single, tmp_path / "b")[0] == ["dana"]


def test_open_source_lists_folders_and_leaves_out_the_output(tmp_path):
    for name in ("bob", "alice", ".git", "__MACOSX", "reports"):
        (tmp_path / name).mkdir()
    (tmp_path / "notes.txt").write_text("x")
    (tmp_path / "link").symlink_to(tmp_path / "alice")
    src = batch.open_source(tmp_path, tmp_path / "reports" / "batch")
    assert [s.student for s in src.submissions] == ["alice", "bob"]
    assert src.submissions[0].report == tmp_path / "reports" / "batch" / "alice.json"
    assert any("output folder" in n for n in src.notes) and any("symbolic link" in n for n in src.notes)
    with pytest.raises(batch.BatchError, match="neither a folder nor a .zip"):
        batch.open_source(tmp_path / "notes.txt", tmp_path / "out")


# ============================================================================ workers


def _ok(sub, *args):
    sub.report.write_text("done")


def _crash(sub, *args):
    os._exit(7)


def _hang(sub, *args):
    time.sleep(60)


def _raise(sub, *args):
    raise RuntimeError("boom")


def test_execute_reports_exit_codes_and_stops_hung_workers(tmp_path):
    ctx = multiprocessing.get_context("fork")
    targets = {"ok": _ok, "crash": _crash, "hang": _hang, "raise": _raise}
    subs = [batch.Submission(n, tmp_path, tmp_path / f"{n}.out") for n in targets]
    seen = {}

    def dispatch(sub, *args):
        targets[sub.student](sub, *args)

    started = time.monotonic()
    batch.execute(
        subs,
        dispatch,
        (),
        jobs=4,
        deadline_s=2,
        ctx=ctx,
        poll_s=0.1,
        on_finish=lambda sub, code: seen.__setitem__(sub.student, code),
    )
    assert seen == {"ok": 0, "crash": 7, "hang": None, "raise": 1}
    assert time.monotonic() - started < 20
    assert (tmp_path / "ok.out").read_text() == "done"


def _fake_grade(sub, assignment, mode, scratch, handle=None):
    """Stands in for grade_worker: full marks, except that 'crash' kills its worker."""
    assert Path(scratch).is_dir()
    if sub.student == "crash":
        os._exit(9)
    checks = [CheckResult(c.id, c.title, CheckStatus.PASSED, c.points, c.points) for c in assignment.checks]
    report = Report(
        assignment.name,
        sub.student,
        RunStatus.GRADED,
        assignment.max_score,
        assignment.max_score,
        "all good",
        checks,
        0.1,
        batch.__version__,
        "5.2",
        "3.11",
        "2026-01-01T00:00:00+00:00",
        rubric_digest=assignment.digest,
        submission_digest=batch.submission_digest(sub.path),
    )
    batch.write_report(sub.report, report)


def test_a_crashing_worker_gives_its_student_an_error_report_and_the_rest_go_on(tmp_path):
    source = tmp_path / "src"
    for name in ("alice", "bob", "crash", "dora"):
        (source / name).mkdir(parents=True)
        (source / name / "manage.py").write_text("#")
    set_tree_time(source, time.time() - 100)
    out = tmp_path / "out"
    assignment = rubric.find(str(ASSIGNMENT))
    log = io.StringIO()

    def run():
        return batch.run(
            source,
            assignment,
            out,
            batch.BatchOptions(jobs=2, mode="none", keep_going=True),
            worker=_fake_grade,
            ctx=multiprocessing.get_context("fork"),
            display=batch.PlainDisplay(log),
        )

    result = run()
    assert (result.total, result.graded, result.faults, result.unwritten) == (4, 3, 1, [])
    crashed = validate(json.loads((out / "crash.json").read_text()))
    assert crashed["status"] == "error" and crashed["score"] == 0
    assert "exit code 9" in crashed["grader_fault"]
    assert "fault of the grader" in crashed["message"]
    assert validate(json.loads((out / "dora.json").read_text()))["score"] == 10
    rows = list(csv.reader((out / "grades.csv").open()))
    assert [r[0] for r in rows[1:]] == ["alice", "bob", "crash", "dora"]
    assert "[4/4]" in log.getvalue() and "1 failed" in log.getvalue()
    # Next run: the grader fault is graded again, the others are kept.
    result = run()
    assert (result.skipped, result.faults, result.graded) == (3, 1, 0)


def test_rich_display_draws_a_progress_bar():
    stream = io.StringIO()
    display = batch.RichDisplay(stream, force_terminal=True)  # as on a terminal
    display.start(2)
    display.finished(
        batch.Submission("[bold]x", Path("."), Path("x.json")), {"status": "error", "score": 0, "max_score": 10}, True
    )
    display.finished(
        batch.Submission("y", Path("."), Path("y.json")), {"status": "graded", "score": 10, "max_score": 10}, False
    )
    display.close()
    text = stream.getvalue()
    assert "2/2" in text and "1 failed" in text and "[bold]x: error 0/10" in text


# ============================================================================ end to end

NO_CREATED_CHECK = {
    "users/apps.py": APPS_IMPORTING_SIGNALS,
    "users/signals.py": GOOD_SIGNALS.replace(
        "created, **kwargs):\n        if created:\n            Profile",
        "**kwargs):\n        if True:\n            Profile",
    ),
}
FROM_MODELS = {
    "users/signals.py": GOOD_SIGNALS,
    "users/models.py": (TEMPLATE / "users" / "models.py").read_text()
    + "\n\nfrom . import signals  # noqa: E402,F401\n",
}
WRONG_SENDER = {
    "users/apps.py": APPS_IMPORTING_SIGNALS,
    "users/signals.py": GOOD_SIGNALS.replace("sender=settings.AUTH_USER_MODEL", "sender=Profile"),
}
SYNTAX_ERROR = {
    "users/apps.py": APPS_IMPORTING_SIGNALS,
    "users/signals.py": GOOD_SIGNALS.replace("**kwargs):", "**kwargs)"),
}
ENDLESS_READY = {
    "users/apps.py": """
    from django.apps import AppConfig


    class UsersConfig(AppConfig):
        default_auto_field = "django.db.models.BigAutoField"
        name = "users"

        def ready(self):
            while True:
                pass
"""
}
EXIT_IN_SETTINGS = {"mysite/settings.py": TEMPLATE_SETTINGS + "\nimport sys\nsys.exit(0)\n"}
PRINTS_HTML = {
    "mysite/settings.py": TEMPLATE_SETTINGS
    + "\nprint('</pre><script>alert(document.cookie)</script><img src=x onerror=alert(2)>')\n"
}

# student id -> (overlay files, reference solution?, expected status, expected score)
CLASS = {
    "ada": ({}, True, "graded", 10),
    "ben": ({}, True, "graded", 10),
    "cleo": ({}, True, "graded", 10),
    "dev": ({}, True, "graded", 10),
    "emil": ({}, True, "graded", 10),
    "tara": ({}, True, "graded", 10),
    "gus": ({}, False, "graded", 1),
    "hana": ({}, False, "graded", 1),
    "ivo": ({}, False, "graded", 1),
    "uma": ({"users/signals.py": GOOD_SIGNALS}, False, "graded", 1),  # receiver never imported
    "jo": (NO_CREATED_CHECK, False, "graded", 7),
    "kai": (NO_CREATED_CHECK, False, "graded", 7),
    "lea": (FROM_MODELS, False, "graded", 7),
    "max": (FROM_MODELS, False, "graded", 7),
    "noor": (WRONG_SENDER, False, "graded", 1),
    "olga": (SYNTAX_ERROR, False, "error", 0),
    "pia": (SYNTAX_ERROR, False, "error", 0),
    "quinn": ({"manage.py": None}, True, "error", 0),
    "rui": (ENDLESS_READY, False, "timeout", 0),
    "sam": (EXIT_IN_SETTINGS, True, "error", 0),
    HOSTILE: (PRINTS_HTML, True, "graded", 10),
}
NESTED = "fay-nested"  # the project sits one level down: fay-nested/project/manage.py
EXPECTED = {**{k: (v[2], v[3]) for k, v in CLASS.items()}, NESTED: ("graded", 10)}


def short_assignment(dest: Path) -> Path:
    """A copy of signals-profile whose time limit is 5 s (the endless loop ends sooner)."""
    shutil.copytree(ASSIGNMENT, dest)
    toml = dest / "rubric.toml"
    text, n = re.subn(r"(?m)^wall_time_s\s*=\s*[0-9.]+", "wall_time_s = 5", toml.read_text())
    assert n == 1
    toml.write_text(text)
    return dest


@pytest.fixture(scope="module")
def classroom(tmp_path_factory):
    """22 submissions graded once by `grader batch --jobs 2`, shared by the tests below."""
    base = tmp_path_factory.mktemp("classroom")
    source = base / "submissions"
    source.mkdir()
    for name, (files, solution, _, _) in CLASS.items():
        build_submission(source / name, files, solution=solution)
    (source / NESTED).mkdir()
    build_submission(source / NESTED / "project", solution=True)
    assignment = short_assignment(base / "assignment")
    out = base / "out"
    started = time.monotonic()
    proc = run_cli(
        "batch", str(source), "--assignment", str(assignment), "--jobs", "2", "--output-dir", str(out), timeout=600
    )
    return {"source": source, "assignment": assignment, "out": out, "proc": proc, "seconds": time.monotonic() - started}


def reports_in(folder: Path) -> dict[str, dict]:
    loaded = gradebook.load_reports(folder)
    return {
        r.submission: json.loads((folder / file).read_text(encoding="utf-8"))  # the file as written
        for r, file in zip(loaded.reports, loaded.files)
    }


@pytest.mark.e2e
def test_batch_grades_every_submission(classroom):
    proc, out = classroom["proc"], classroom["out"]
    assert proc.returncode == 0, proc.stderr + proc.stdout
    assert len(EXPECTED) >= 20
    assert f"{len(EXPECTED)} submissions: {len(EXPECTED)} graded now, 0 up to date" in proc.stdout
    reports = reports_in(out)
    assert set(reports) == set(EXPECTED)
    for student, (status, score) in EXPECTED.items():
        report = validate(reports[student])
        assert (report["status"], report["score"]) == (status, score), (student, report["message"])
        assert report["rubric_digest"] == rubric.find(str(classroom["assignment"])).digest
    assert "stopped after 5 s" in reports["rui"]["message"]
    assert "SystemExit" in reports["sam"]["message"]
    assert reports["lea"]["checks"][1]["diagnosis"] == "connected-in-models"
    assert reports["jo"]["checks"][3]["diagnosis"] == "no-created-check"
    assert "<script>" in reports[HOSTILE]["output"]  # kept verbatim in the JSON ...
    # Plain progress lines (stderr is not a terminal), one per submission.
    assert len(re.findall(r"^\[\d+/22\] ", proc.stderr, re.M)) == 22
    assert not list(out.glob(".*.tmp"))
    assert classroom["seconds"] < 120


@pytest.mark.e2e
def test_gradebook_csv_matches_the_reports(classroom):
    reports = reports_in(classroom["out"])
    with (classroom["out"] / "grades.csv").open(newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    assert rows[0] == ["student", "name", "id", "login", "late", *CHECK_IDS, "total", "status"]
    assert len(rows) == len(EXPECTED) + 1
    for row in rows[1:]:
        student = row[0][1:] if row[0].startswith("'=") else row[0]
        report = reports[student]
        assert float(row[-2]) == report["score"]
        assert row[-1] == report["status"]
        assert row[1:5] == ["", row[0], "", ""]  # name, platform id (the folder's name), login, late
        assert [float(x) for x in row[5:-2]] == [c["score"] for c in report["checks"]]
        assert sum(float(x) for x in row[5:-2]) == float(row[-2])
    assert any(r[0] == "'" + HOSTILE for r in rows)
    with (classroom["out"] / "grades-canvas.csv").open(newline="", encoding="utf-8") as fh:
        canvas = list(csv.reader(fh))
    assert canvas[0][:5] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]
    assert [r[-1] for r in canvas[1:]] == [r[-2] for r in rows[1:]]


@pytest.mark.e2e
def test_summary_json_matches_the_reports(classroom):
    summary = json.loads((classroom["out"] / "summary.json").read_text())
    reports = reports_in(classroom["out"])
    scores = sorted(r["score"] for r in reports.values())
    assert summary["count"] == len(EXPECTED)
    assert summary["mean"] == pytest.approx(sum(scores) / len(scores), abs=1e-4)
    assert summary["median"] == pytest.approx((scores[10] + scores[11]) / 2)
    statuses = [s for s, _ in EXPECTED.values()]
    assert summary["by_status"] == {s: statuses.count(s) for s in ("graded", "error", "timeout", "tampered", "missing")}
    assert {s["student"]: s["score"] for s in summary["students"]} == {k: v[1] for k, v in EXPECTED.items()}
    loads = next(c for c in summary["checks"] if c["id"] == "project-loads")
    assert loads["passed"] == sum(1 for s, score in EXPECTED.values() if score > 0)
    top = {d["diagnosis"]: d["count"] for d in summary["diagnoses"]}
    assert top["connected-in-models"] == 2 and top["no-created-check"] == 2
    assert sum(b["count"] for b in summary["distribution"]) == len(EXPECTED)


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")


def chromium(tmp_path: Path, url: str, *extra: str) -> subprocess.CompletedProcess:
    profile = tmp_path / f"profile-{time.monotonic_ns()}"
    return subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={profile}",
            "--enable-logging=stderr",
            "--v=0",
            "--window-size=1200,2000",
            *extra,
            url,
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.e2e
@pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (Debian package 'chromium')")
def test_report_html_in_headless_chromium(classroom, tmp_path):
    page = classroom["out"] / "report.html"
    url = page.resolve().as_uri()
    shot = tmp_path / "report.png"
    done = chromium(tmp_path, url, f"--screenshot={shot}")
    console = [line for line in done.stderr.splitlines() if ":CONSOLE" in line]
    assert console == [], console  # no script errors, no blocked loads, no CSP violation
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 10_000

    dumped = chromium(tmp_path, url, "--dump-dom")
    assert [line for line in dumped.stderr.splitlines() if ":CONSOLE" in line] == []
    dom = read_dom(dumped.stdout)
    summary = json.loads((classroom["out"] / "summary.json").read_text())
    assert dom.stats["count"] == str(summary["count"])
    assert dom.stats["mean"] == f"{gradebook.num(summary['mean'])} / 10"
    assert float(dom.stats["median"]) == summary["median"]
    for status, n in summary["by_status"].items():
        assert dom.stats[f"status-{status}"] == str(n)
    for check in summary["checks"]:
        assert float(dom.rates[check["id"]].rstrip("%")) == pytest.approx(check["pass_rate"] * 100, abs=0.05)
    assert dom.bars == [b["count"] for b in summary["distribution"]]
    rows = {r["student"]: r["cells"] for r in dom.rows}
    assert set(rows) == set(EXPECTED)
    for student in summary["students"]:
        assert float(rows[student["student"]][1]) == student["score"]
        assert rows[student["student"]][2] == student["status"]
    # The hostile student's name and output are text, not markup.
    assert {"script", "img", "iframe"}.isdisjoint(dom.tags)
    assert "&lt;script&gt;alert(document.cookie)&lt;/script&gt;" in dumped.stdout


@pytest.mark.e2e
def test_rerun_keeps_every_report_and_report_rewrites_the_gradebook(classroom):
    out = classroom["out"]
    before = {p.name: p.stat().st_mtime_ns for p in out.glob("*.json") if p.name != "summary.json"}
    proc = run_cli(
        "batch",
        str(classroom["source"]),
        "--assignment",
        str(classroom["assignment"]),
        "--jobs",
        "2",
        "--output-dir",
        str(out),
    )
    assert proc.returncode == 0, proc.stderr
    assert f"0 graded now, {len(EXPECTED)} up to date" in proc.stdout
    assert {p.name: p.stat().st_mtime_ns for p in out.glob("*.json") if p.name != "summary.json"} == before
    csv_before = (out / "grades.csv").read_text()
    (out / "grades.csv").unlink()
    (out / "report.html").unlink()
    proc = run_cli("report", str(out))
    assert proc.returncode == 0, proc.stderr
    assert (out / "grades.csv").read_text() == csv_before
    assert (out / "report.html").stat().st_size > 10_000
    assert f"class: {len(EXPECTED)} students" in proc.stdout


def _snapshot(out: Path) -> dict[str, tuple[int, str]]:
    return {
        p.name: (p.stat().st_mtime_ns, json.loads(p.read_text())["graded_at"])
        for p in out.glob("*.json")
        if p.name not in gradebook.OWN_FILES
    }


def _reports_of(out: Path, names) -> dict[str, dict]:
    return {name: json.loads((out / name).read_text()) for name in names}


@pytest.mark.e2e
@pytest.mark.parametrize("how", ["ctrl-c", "kill -9"])
def test_an_interrupted_batch_carries_on_where_it_stopped(classroom, tmp_path, how):
    source = tmp_path / "src"
    names = ["ada", "ben", "gus", "hana", "jo", "lea", "noor", "olga"]
    for name in names:
        shutil.copytree(classroom["source"] / name, source / name)
    out = tmp_path / "out"
    cmd = [
        sys.executable,
        "-m",
        "grader",
        "batch",
        str(source),
        "--assignment",
        str(classroom["assignment"]),
        "--jobs",
        "2",
        "--output-dir",
        str(out),
    ]
    # A shell starts background jobs with SIGINT ignored, and Python keeps an ignored SIGINT:
    # give the batch the default a terminal gives it, however this test run was started.
    proc = subprocess.Popen(
        cmd,
        cwd=ROOT,
        start_new_session=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    deadline = time.monotonic() + 120
    while len(_snapshot(out) if out.is_dir() else {}) < 2:
        assert proc.poll() is None and time.monotonic() < deadline, "the batch ended before it was stopped"
        time.sleep(0.05)
    if how == "ctrl-c":
        os.killpg(proc.pid, signal.SIGINT)  # what the terminal does: the whole process group
    else:
        os.kill(proc.pid, signal.SIGKILL)  # the batch only: its workers must not linger
    stdout, stderr = proc.communicate(timeout=60)
    if how == "ctrl-c":
        assert proc.returncode == 130, stderr
        assert "interrupted" in stderr
    else:
        assert proc.returncode == -signal.SIGKILL
    time.sleep(1)
    finished = _snapshot(out)
    assert 2 <= len(finished) < len(names), "the batch was not stopped half-way"
    time.sleep(2)
    assert _snapshot(out) == finished  # no orphaned worker kept writing
    for report in finished:
        validate(json.loads((out / report).read_text()))

    kept = {k: (r["status"], r["grader_fault"], r["message"][:200]) for k, r in _reports_of(out, finished).items()}
    again = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr
    assert f"{len(names) - len(finished)} graded now, {len(finished)} up to date" in again.stdout, (kept, stderr)
    after = _snapshot(out)
    assert set(after) == {f"{n}.json" for n in names}
    assert {k: after[k] for k in finished} == finished  # finished reports were not graded again
    assert not list(out.glob(".*.tmp"))
    assert (out / "grades.csv").read_text().count("\n") == len(names) + 1


@pytest.mark.e2e
def test_zip_source_with_a_nested_submission(tmp_path):
    work = tmp_path / "build"
    build_submission(work / "zoe", solution=True)
    build_submission(work / "yan" / "mysite-project")  # nested one level
    archive = tmp_path / "class.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(work.rglob("*")):
            zf.write(path, path.relative_to(work).as_posix())
        zf.writestr("../escape.txt", "outside")
        link = zipfile.ZipInfo("zoe/secret")
        link.external_attr = (stat.S_IFLNK | 0o777) << 16
        zf.writestr(link, "/etc/passwd")
        zf.writestr("__MACOSX/zoe/._manage.py", "junk")
    out = tmp_path / "out"
    proc = run_cli("batch", str(archive), "--assignment", "signals-profile", "--jobs", "2", "--output-dir", str(out))
    assert proc.returncode == 0, proc.stderr + proc.stdout
    reports = reports_in(out)
    assert set(reports) == {"zoe", "yan"}
    assert (validate(reports["zoe"])["status"], reports["zoe"]["score"]) == ("graded", 10)
    assert (validate(reports["yan"])["status"], reports["yan"]["score"]) == ("graded", 1)
    assert not (tmp_path / "escape.txt").exists() and not (tmp_path.parent / "escape.txt").exists()
    assert "symbolic link" in proc.stderr and "'..' path" in proc.stderr
    # The archive's file times make the re-run find both reports up to date.
    again = run_cli("batch", str(archive), "--assignment", "signals-profile", "--jobs", "2", "--output-dir", str(out))
    assert again.returncode == 0 and "0 graded now, 2 up to date" in again.stdout, again.stderr


@pytest.mark.e2e
def test_usage_errors(tmp_path):
    proc = run_cli(
        "batch", str(tmp_path / "missing"), "--assignment", "signals-profile", "--output-dir", str(tmp_path / "out")
    )
    assert proc.returncode == 2 and "does not exist" in proc.stderr
    (tmp_path / "empty").mkdir()
    proc = run_cli(
        "batch", str(tmp_path / "empty"), "--assignment", "signals-profile", "--output-dir", str(tmp_path / "out")
    )
    assert proc.returncode == 2 and "no submissions" in proc.stderr
    proc = run_cli("report", str(tmp_path / "empty"))
    assert proc.returncode == 2 and "no grader reports" in proc.stderr
    proc = run_cli(
        "batch",
        str(tmp_path / "empty"),
        "--assignment",
        "signals-profile",
        "--jobs",
        "0",
        "--output-dir",
        str(tmp_path / "out"),
    )
    assert proc.returncode == 2 and "--jobs" in proc.stderr
