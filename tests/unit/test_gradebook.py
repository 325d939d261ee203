"""The gradebook's pure logic on hand-written reports: the loader (typed reports, what it
leaves out and why), one whole grades.csv, grades-canvas.csv and summary.json pinned byte for
byte, and the sheet of a lesson (several assignments: columns, totals, who is missing, the
platform CSVs, report.html, the usage errors). Nothing is graded."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from helpers import write_reports

from grader import classreport, gradebook, handback
from grader.model import CheckStatus, Identity, Report, RunStatus

NOW = "2026-03-02T12:00:00+00:00"
PROFILE = [
    ("project-loads", "The project loads", 1.0),
    ("receiver-registered-in-ready", "Receiver registered in ready()", 3.0),
    ("profile-created-once", "A profile is created once", 3.0),
    ("resave-no-duplicate", "Saving again adds no profile", 3.0),
]
M2M = [("m2m-loads", "The project loads", 2.0), ("tags-synced", "Tags are synced on m2m_changed", 3.0)]


def report(
    student: str,
    passed: int,
    status: str = "graded",
    diagnosis: str = "",
    identity: dict | None = None,
    sandbox: str = "bwrap",
    assignment: str = "signals-profile",
    checks=PROFILE,
    **extra,
) -> dict:
    """A report as the grader writes it: the first `passed` checks earn their points."""
    made = []
    for i, (cid, title, points) in enumerate(checks):
        ok = i < passed
        made.append(
            {
                "id": cid,
                "title": title,
                "status": "passed" if ok else ("skipped" if status == "missing" else "failed"),
                "score": points if ok else 0.0,
                "max_score": points,
                "feedback": "" if ok else f"{title}: not yet",
                "hint": "look again",
                "diagnosis": "" if ok else diagnosis,
                "location": "" if ok else "users/signals.py:4",
                "student_traceback": [],
            }
        )
    data = {
        "schema_version": "1.2",
        "assignment": assignment,
        "submission": student,
        "status": status,
        "score": sum(c["score"] for c in made),
        "max_score": sum(p for _, _, p in checks),
        "message": f"{passed} of {len(checks)} checks passed",
        "checks": made,
        "duration_s": 1.5,
        "grader_version": "0.3.0",
        "django_version": "5.2",
        "python_version": "3.11.7",
        "graded_at": "2026-03-01T10:00:00+00:00",
        "sandbox": sandbox,
        "warnings": [],
        "rubric_digest": "d1",
        "output": "",
        "identity": identity,
    }
    data.update(extra)
    return data


def m2m(student: str, passed: int, status: str = "graded", **kw) -> dict:
    return report(student, passed, status, assignment="signals-m2m", checks=M2M, **kw)


@pytest.fixture(autouse=True)
def frozen_clock(monkeypatch):
    monkeypatch.setattr(gradebook, "_now", lambda: NOW)


ADA = {
    "platform": "canvas",
    "id": "ada",
    "name": "Ada Lovelace",
    "login": "ada@uni.example",
    "late": True,
    "folder": "lovelaceada_LATE_101_9_project.zip",
}
CLASS = [
    report("ada", 4, identity=ADA),
    report("bob", 1, diagnosis="connected-in-models"),
    report("=cmd", 2, diagnosis="connected-in-models", sandbox="none"),
    report("dan", 0, status="error", message="Your submission could not be graded: no manage.py."),
    report("eve", 0, status="missing", message="No submission was found for you in the class download."),
]


# ============================================================================ the loader


def test_load_reports_gives_typed_reports_sorted_by_student(tmp_path):
    loaded = gradebook.load_reports(write_reports(tmp_path, CLASS))
    assert all(isinstance(r, Report) for r in loaded.reports)
    assert [r.submission for r in loaded.reports] == ["=cmd", "ada", "bob", "dan", "eve"]
    assert loaded.files == ["=cmd.json", "ada.json", "bob.json", "dan.json", "eve.json"]
    ada = loaded.reports[1]
    assert ada.status is RunStatus.GRADED and ada.checks[0].status is CheckStatus.PASSED
    assert ada.identity == Identity(**ADA)
    assert loaded.reports[4].status is RunStatus.MISSING and loaded.skipped == []


def test_load_reports_leaves_out_what_the_model_cannot_read_and_says_why(tmp_path, monkeypatch):
    bad_status = report("x1", 1, status="weird")
    bad_check = report("x2", 1)
    bad_check["checks"][1]["status"] = "meh"
    bad_score = report("x3", 1)
    bad_score["checks"][0]["score"] = "lots"
    surrogate = report("we\ud800ird", 4, message="bad \udcff byte")
    big = report("big", 4, output="x" * 4000)
    write_reports(tmp_path, [report("ok", 4), bad_status, bad_check, bad_score, big])
    (tmp_path / "weird.json").write_text(json.dumps(surrogate), encoding="utf-8")  # "\\ud800" escapes
    monkeypatch.setattr(gradebook, "MAX_REPORT_BYTES", 4000)
    loaded = gradebook.load_reports(tmp_path)
    assert [r.submission for r in loaded.reports] == ["ok", "we\ufffdird"]
    assert loaded.reports[1].message == "bad \ufffd byte"
    assert sorted(loaded.skipped) == [
        "big.json: unreadable (larger than a report can be)",
        "x1.json: unknown status 'weird'",
        "x2.json: check 'receiver-registered-in-ready' has an unknown status 'meh'",
        "x3.json: a check with no valid 'score'",
    ]


def test_report_from_dict_is_tolerant_where_the_loader_must_be():
    data = report("ada", 2, identity=ADA, unknown="ignored")
    data["checks"][0]["extra"] = 1
    typed = Report.from_dict(data)
    assert typed.submission == "ada" and typed.identity.name == "Ada Lovelace"
    # A report without the fields a class view can do without: empty, not an error.
    bare = {k: data[k] for k in ("assignment", "submission", "status", "score", "max_score")}
    bare["checks"] = [{"id": "c1"}]
    typed = Report.from_dict(bare)
    assert (typed.message, typed.duration_s, typed.graded_at, typed.grader_version) == ("", 0.0, "", "")
    assert typed.sandbox == "none" and typed.identity is None
    assert (typed.checks[0].title, typed.checks[0].status, typed.checks[0].score) == ("c1", CheckStatus.ERROR, 0.0)
    for broken, why in (
        (dict(data, status="weird"), "unknown status 'weird'"),
        ({"submission": "x"}, "no 'assignment', 'status', 'score', 'max_score'"),
        (dict(data, checks=["c1"]), "a check that is not an object"),
        ([], "not a JSON object"),
    ):
        with pytest.raises(ValueError, match=f"^{why}$"):
            Report.from_dict(broken)


# ============================================================================ one class, pinned

GRADES_CSV = (
    "student,name,id,login,late,project-loads,receiver-registered-in-ready,profile-created-once,"
    "resave-no-duplicate,total,status\r\n"
    "'=cmd,,,,,1,3,0,0,4,graded\r\n"
    "ada,Ada Lovelace,ada,ada@uni.example,late,1,3,3,3,10,graded\r\n"
    "bob,,,,,1,0,0,0,1,graded\r\n"
    "dan,,,,,0,0,0,0,0,error\r\n"
    "eve,,,,,0,0,0,0,0,missing\r\n"
)
CANVAS_CSV = (
    "Student,ID,SIS User ID,SIS Login ID,Section,signals-profile\r\n"
    "'=cmd,,'=cmd,'=cmd,,4\r\n"
    "Ada Lovelace,ada,,ada@uni.example,,10\r\n"
    "bob,,bob,bob,,1\r\n"
    "dan,,dan,dan,,0\r\n"
    "eve,,eve,eve,,0\r\n"
)


def _student(sid, score, status, checks, report_file, **ident):
    entry = {"student": sid, "name": "", "platform": "", "id": "", "login": "", "late": False, "folder": ""}
    entry.update(ident)
    entry.update(
        {
            "score": score,
            "max_score": 10.0,
            "status": status,
            "report": report_file,
            "graded_at": "2026-03-01T10:00:00+00:00",
            "checks": {cid: {"status": st, "score": sc} for (cid, _, _), (st, sc) in zip(PROFILE, checks)},
            # without a course or overrides: the raw score is the final one (summary 1.3)
            "raw": score,
            "penalty": 0.0,
            "override": 0.0,
            "accepted": True,
            "timed": False,
            "submitted_at": "",
            "due": "",
            "commit": "",
            "late_note": "",
            "override_notes": [],
        }
    )
    return entry


P, F, S = "passed", "failed", "skipped"
SUMMARY = {
    "kind": "grader-batch-summary",
    "summary_version": "1.3",
    "assignment": "signals-profile",
    "generated_at": NOW,
    "count": 5,
    "max_score": 10.0,
    "by_status": {"graded": 3, "error": 1, "timeout": 0, "tampered": 0, "missing": 1},
    "mean": 3.0,
    "median": 1.0,
    "min": 0.0,
    "max": 10.0,
    "full_marks": 1,
    "distribution": [
        {"label": str(i), "from": float(i), "to": float(i), "count": {0: 2, 1: 1, 4: 1, 10: 1}.get(i, 0)}
        for i in range(11)
    ],
    "checks": [
        {
            "id": cid,
            "title": title,
            "max_score": points,
            "passed": passed,
            "failed": 4 - passed,
            "error": 0,
            "skipped": 1,
            "pass_rate": passed / 5,
        }
        for (cid, title, points), passed in zip(PROFILE, (3, 2, 1, 1))
    ],
    "diagnoses": [
        {
            "diagnosis": "connected-in-models",
            "count": 2,
            "share": 0.4,
            "checks": ["profile-created-once", "resave-no-duplicate", "receiver-registered-in-ready"],
            "students": ["=cmd", "bob"],
        }
    ],
    "unsandboxed": ["=cmd"],
    "grader_versions": ["0.3.0"],
    "rubric_digests": ["d1"],
    "students": [
        _student("=cmd", 4.0, "graded", [(P, 1.0), (P, 3.0), (F, 0.0), (F, 0.0)], "=cmd.json"),
        _student("ada", 10.0, "graded", [(P, 1.0), (P, 3.0), (P, 3.0), (P, 3.0)], "ada.json", **ADA),
        _student("bob", 1.0, "graded", [(P, 1.0), (F, 0.0), (F, 0.0), (F, 0.0)], "bob.json"),
        _student("dan", 0.0, "error", [(F, 0.0)] * 4, "dan.json"),
        _student("eve", 0.0, "missing", [(S, 0.0)] * 4, "eve.json"),
    ],
}


def test_one_whole_gradebook_is_pinned_byte_for_byte(tmp_path):
    written = gradebook.write_all(write_reports(tmp_path, CLASS))
    assert written.csv.read_bytes() == GRADES_CSV.encode()
    assert written.canvas.read_bytes() == CANVAS_CSV.encode()
    assert written.summary.read_text(encoding="utf-8") == json.dumps(SUMMARY, indent=2, ensure_ascii=False) + "\n"
    assert written.moodle is None and written.skipped == []
    # --blank-errors empties the error's points in every CSV alike (issue 21).
    blank = gradebook.write_all(tmp_path, blank=True)
    assert blank.csv.read_bytes() == GRADES_CSV.replace("dan,,,,,0,0,0,0,0,error", "dan,,,,,,,,,,error").encode()
    assert blank.canvas.read_bytes() == CANVAS_CSV.replace("dan,,dan,dan,,0", "dan,,dan,dan,,").encode()


def test_the_moodle_comment_reads_the_typed_report():
    text = gradebook.comment(Report.from_dict(report("bob", 3, message="<b>hi</b>")))
    assert text == (
        "7/10 points (graded). &lt;b&gt;hi&lt;/b&gt;<br>"
        "Saving again adds no profile: Saving again adds no profile: not yet (users/signals.py:4)"
    )


# ============================================================================ a lesson


def lesson_folders(tmp_path: Path) -> tuple[Path, Path]:
    profile = write_reports(
        tmp_path / "reports" / "signals-profile",
        [
            report("ada", 4, identity={"platform": "canvas", "id": "101", "name": "Ada Lovelace"}),
            report("bob", 1),
            report("cy", 0, status="error"),
        ],
    )
    m2m_dir = write_reports(
        tmp_path / "reports" / "signals-m2m",
        [
            m2m("ada", 2, identity={"platform": "canvas", "id": "101", "login": "ada@uni.example", "late": True}),
            m2m("cy", 1),
            m2m("dee", 0, status="missing"),
        ],
    )
    return profile, m2m_dir


def test_lesson_matches_students_by_id_and_totals_what_exists(tmp_path):
    profile, m2m_dir = lesson_folders(tmp_path)
    out = tmp_path / "reports" / "lesson"
    parts, skipped = gradebook.load_lesson([profile, m2m_dir], out)
    assert [p.assignment for p in parts] == ["signals-profile", "signals-m2m"] and skipped == []
    lesson = gradebook.lesson_summary(parts, out, NOW)
    assert lesson["kind"] == gradebook.LESSON_KIND and lesson["max_score"] == 15.0
    by = {st["student"]: st for st in lesson["students"]}
    assert list(by) == ["ada", "bob", "cy", "dee"]
    ada = by["ada"]
    # identity merged: the name from one assignment, the login from the other
    assert (ada["name"], ada["platform"], ada["id"], ada["login"]) == (
        "Ada Lovelace",
        "canvas",
        "101",
        "ada@uni.example",
    )
    assert ada["late"] == ["signals-m2m"] and ada["total"] == 15.0 and ada["missing"] == []
    # bob has no report for signals-m2m: None there, not a 0, and the total sums what exists
    assert by["bob"]["assignments"]["signals-m2m"] is None and by["bob"]["missing"] == ["signals-m2m"]
    assert by["bob"]["total"] == 1.0 and by["dee"]["total"] == 0.0 and by["dee"]["missing"] == ["signals-profile"]
    assert by["cy"]["assignments"]["signals-profile"] == {
        "score": 0.0,
        "max_score": 10.0,
        "status": "error",
        "late": False,
        "report": "cy.json",
        "raw": 0.0,
        "penalty": 0.0,
        "override": 0.0,
        "late_note": "",
    }
    first, second = lesson["assignments"]
    assert (first["folder"], first["report"], first["count"], first["no_report"]) == ("../signals-profile", "", 3, 1)
    assert (second["mean"], second["full_marks"], second["no_report"]) == (round(7 / 3, 4), 1, 1)
    assert (lesson["count"], lesson["full_marks"], lesson["incomplete"]) == (4, 1, 2)
    assert lesson["mean"] == round((15 + 1 + 2 + 0) / 4, 4)


def test_lesson_csv_and_canvas_csv(tmp_path):
    profile, m2m_dir = lesson_folders(tmp_path)
    out = tmp_path / "reports" / "lesson"
    lesson = gradebook.lesson_summary(gradebook.load_lesson([profile, m2m_dir], out)[0], out, NOW)
    assert gradebook.build_lesson_csv(lesson) == (
        "student,name,id,login,late,signals-profile,signals-m2m,total,signals-profile status,signals-m2m status\r\n"
        "ada,Ada Lovelace,101,ada@uni.example,signals-m2m,10,5,15,graded,graded\r\n"
        "bob,,,,,1,,1,graded,missing\r\n"
        "cy,,,,,0,2,2,error,graded\r\n"
        "dee,,,,,,0,0,missing,missing\r\n"
    )
    canvas = (
        "Student,ID,SIS User ID,SIS Login ID,Section,signals-profile,signals-m2m\r\n"
        "Points Possible,,,,,10,5\r\n"
        "Ada Lovelace,101,,ada@uni.example,,10,5\r\n"
        "bob,,bob,bob,,1,\r\n"
        "cy,,cy,cy,,0,2\r\n"
        "dee,,dee,dee,,,0\r\n"
    )
    assert gradebook.build_lesson_canvas_csv(lesson) == canvas
    assert gradebook.build_lesson_canvas_csv(lesson, blank=True) == canvas.replace("cy,,cy,cy,,0,2", "cy,,cy,cy,,,2")


def test_lesson_writes_one_sheet_and_reads_the_folders_only(tmp_path):
    profile, m2m_dir = lesson_folders(tmp_path)
    gradebook.write_all(profile)  # the profile folder has its own report.html
    before = {p: p.read_bytes() for p in (*profile.iterdir(), *m2m_dir.iterdir())}
    out = tmp_path / "reports" / "lesson"
    written = gradebook.write_lesson([profile, m2m_dir], out)
    assert written.files == [out / "grades.csv", out / "grades-canvas.csv", out / "report.html", out / "summary.json"]
    assert written.assignments == {"signals-profile": profile, "signals-m2m": m2m_dir}
    assert {p: p.read_bytes() for p in (*profile.iterdir(), *m2m_dir.iterdir())} == before
    summary = json.loads(written.summary.read_text())
    assert summary["kind"] == "grader-lesson-summary" and summary["generated_at"] == NOW
    assert summary["assignments"][0]["report"] == "../signals-profile/report.html"
    assert summary["assignments"][1]["report"] == ""
    page = written.html.read_text()
    assert "<script" not in page and f'content="{classreport.CSP}"' in page
    assert '<a href="../signals-profile/report.html#student-ada">10</a>' in page
    assert (
        'data-assignment="signals-m2m" title="no report in this assignment\'s folder">–</td>'
        '<td class="n total">1 / 15</td>'
    ) in page
    assert '<span class="status-error">error</span>' in page
    assert "without the sandbox" not in page  # every report here says bwrap


def test_lesson_html_escapes_and_lists_each_assignment():
    lesson = {
        "kind": gradebook.LESSON_KIND,
        "generated_at": NOW,
        "count": 1,
        "max_score": 10.0,
        "mean": 4.0,
        "median": 4.0,
        "min": 4.0,
        "max": 4.0,
        "full_marks": 0,
        "incomplete": 0,
        "assignments": [
            {
                "assignment": "<a1>",
                "folder": "../a1",
                "report": "../a 1/report.html",
                "max_score": 10.0,
                "count": 1,
                "no_report": 0,
                "by_status": {"graded": 0, "error": 0, "timeout": 1, "tampered": 0, "missing": 0},
                "mean": 4.0,
                "median": 4.0,
                "min": 4.0,
                "max": 4.0,
                "full_marks": 0,
                "unsandboxed": ["<x>"],
            }
        ],
        "students": [
            {
                "student": "<x>",
                "name": '"Ann"',
                "platform": "",
                "id": "",
                "login": "",
                "late": ["<a1>"],
                "total": 4.0,
                "max_score": 10.0,
                "missing": [],
                "assignments": {
                    "<a1>": {"score": 4.0, "max_score": 10.0, "status": "timeout", "late": True, "report": "x.json"}
                },
            }
        ],
    }
    page = classreport.render_lesson(lesson)
    assert "<x>" not in page and "<a1>" not in page
    assert "&quot;Ann&quot; (&lt;x&gt;)" in page
    assert '<a href="../a%201/report.html"><code>&lt;a1&gt;</code></a>' in page
    assert '<a href="../a%201/report.html#student-x">4</a> <span class="status-timeout">timeout</span>' in page
    assert '<td class="n not-graded">1</td>' in page and 'id="stat-mean">4 / 10<' in page
    assert "<strong>Graded without the sandbox:</strong> &lt;a1&gt;: &lt;x&gt;." in page


def test_lesson_usage_errors(tmp_path):
    profile, m2m_dir = lesson_folders(tmp_path)
    out = tmp_path / "reports" / "lesson"
    copy = write_reports(tmp_path / "again", [report("zed", 1)])
    with pytest.raises(
        gradebook.GradebookError,
        match=r"signals-profile and .*again both hold reports of "
        r"signals-profile: give one folder per assignment$",
    ):
        gradebook.load_lesson([profile, m2m_dir, copy], out)
    with pytest.raises(gradebook.GradebookError, match=r"signals-m2m is given twice$"):
        gradebook.load_lesson([m2m_dir, profile, m2m_dir], out)
    with pytest.raises(gradebook.GradebookError, match="is one of the assignment folders"):
        gradebook.load_lesson([profile, m2m_dir], m2m_dir)
    mixed = write_reports(tmp_path / "mixed", [report("a", 1), m2m("b", 1)])
    with pytest.raises(gradebook.GradebookError, match=r"mixed: the reports belong to several assignments"):
        gradebook.load_lesson([profile, mixed], out)
    (tmp_path / "empty").mkdir()
    with pytest.raises(gradebook.GradebookError, match="no grader reports"):
        gradebook.load_lesson([profile, tmp_path / "empty"], out)
    # The lesson's own folder among the DIRs (grader report reports/*) is left out, with a note.
    gradebook.write_lesson([profile, m2m_dir], out)
    parts, skipped = gradebook.load_lesson([out, profile, m2m_dir], out)
    assert len(parts) == 2 and skipped == [f"{out}: the --output-dir itself, not an assignment's folder"]


def test_lesson_refuses_two_reports_of_one_student_in_a_folder(tmp_path):
    folder = write_reports(tmp_path / "p", [report("ada", 4), report("bob", 1)])
    (folder / "ada-copy.json").write_text(json.dumps(report("ada", 0)))
    with pytest.raises(
        gradebook.GradebookError, match=r"p: ada-copy.json and ada.json are both reports of 'ada': keep one$"
    ):
        gradebook.load_lesson([folder], tmp_path / "out")


def test_lesson_writes_a_moodle_worksheet_per_assignment(tmp_path):
    def moodle(pid: str, name: str) -> dict:
        return {"platform": "moodle", "id": pid, "name": name, "folder": f"{name}_{pid}_assignsubmission_file_"}

    profile = write_reports(
        tmp_path / "p",
        [
            report("101", 4, identity=moodle("101", "Ada Lovelace")),
            report("102", 0, "error", identity=moodle("102", "Bo Li")),
        ],
    )
    m2m_dir = write_reports(tmp_path / "m", [m2m("101", 1, identity=moodle("101", "Ada Lovelace"))])
    out = tmp_path / "out"
    out.mkdir()
    (out / "grades-moodle-old-assignment.csv").write_text("stale")
    written = gradebook.write_lesson([profile, m2m_dir], out, blank=True)
    assert written.moodle_sheets == [out / "grades-moodle-signals-profile.csv", out / "grades-moodle-signals-m2m.csv"]
    assert not (out / "grades-moodle-old-assignment.csv").exists()
    rows = list(csv.DictReader(io.StringIO(written.moodle_sheets[0].read_text(encoding="utf-8"))))
    assert [(r["Identifier"], r["Grade"], r["Maximum Grade"]) for r in rows] == [
        ("Participant 101", "10", "10"),
        ("Participant 102", "", "10"),
    ]  # --blank-errors
    rows = list(csv.DictReader(io.StringIO(written.moodle_sheets[1].read_text(encoding="utf-8"))))
    assert [(r["Identifier"], r["Grade"], r["Maximum Grade"]) for r in rows] == [("Participant 101", "2", "5")]
    # The same worksheet as the assignment's own folder gets.
    own = gradebook.write_all(profile, blank=True)
    assert own.moodle.read_bytes() == written.moodle_sheets[0].read_bytes()


def test_file_stems_are_safe_and_distinct():
    assert gradebook.file_stems(["signals-profile", "a/b", "a b", "..", "ü"]) == {
        "signals-profile": "signals-profile",
        "a/b": "a_b",
        "a b": "a_b-2",
        "..": "assignment",
        "ü": "assignment-2",
    }


def test_feedback_reads_typed_reports(tmp_path):
    folder = write_reports(tmp_path / "p", [report("ada", 4), report("bob", 1, status="weird")])
    written = handback.write(folder, tmp_path / "fb")
    assert written.students == 1 and sorted(p.name for p in written.files) == ["ada.html", "ada.md"]


# ============================================================================ the typed class model


def test_the_class_model_reads_back_what_summary_json_holds(tmp_path):
    from grader.classmodel import ClassSummary, LessonSummary, StudentRow

    written = gradebook.write_all(write_reports(tmp_path / "class", CLASS))
    model = written.model
    assert isinstance(model, ClassSummary) and all(isinstance(st, StudentRow) for st in model.students)
    on_disk = json.loads(written.summary.read_text(encoding="utf-8"))
    assert model.to_dict() == on_disk == written.data
    assert ClassSummary.from_dict(on_disk) == model
    assert list(model.to_dict()) == list(on_disk) and list(model.to_dict()["students"][0]) == list(
        on_disk["students"][0]
    )
    profile, m2m_dir = lesson_folders(tmp_path)
    lesson = gradebook.write_lesson([profile, m2m_dir], tmp_path / "lesson")
    assert isinstance(lesson.model, LessonSummary)
    assert LessonSummary.from_dict(json.loads(lesson.summary.read_text())) == lesson.model


def test_one_definition_of_a_usable_report(tmp_path):
    """The gradebook, the batch's outcome of a worker and its up-to-date check accept the same files."""
    from grader import batch
    from grader.reportfile import ReportProblem, load_report

    bad_score = report("x3", 1)
    bad_score["checks"][0]["score"] = "lots"
    folder = write_reports(tmp_path, [report("ok", 4), report("x1", 1, status="weird"), bad_score])
    (folder / "summary.json").write_text(json.dumps({"kind": gradebook.SUMMARY_KIND}))
    loaded = gradebook.load_reports(folder)
    for path in sorted(folder.glob("*.json")):
        usable = not isinstance(load_report(path), ReportProblem)
        assert (batch.read_outcome(path) is not None) is usable
        assert (path.name in loaded.files) is (usable and path.name != "summary.json")
        assert (batch.decide(path, tmp_path, path.stem, "d1").reason != "the report cannot be read") is usable
    assert str(load_report(folder / "summary.json")) == "a batch summary"
