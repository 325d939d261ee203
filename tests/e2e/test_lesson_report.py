"""`grader report DIR DIR...`: the lesson as one gradebook, through the real CLI in a
subprocess, on report folders written here from hand-written JSON reports (nothing is graded,
so it is fast)."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from pathlib import Path

from conftest import run_cli
from helpers import write_reports

PROFILE = [
    ("project-loads", 1.0),
    ("receiver-registered-in-ready", 3.0),
    ("profile-created-once", 3.0),
    ("resave-no-duplicate", 3.0),
]
M2M = [("m2m-loads", 2.0), ("tags-synced", 3.0)]


def report(
    student: str, passed: int, status: str = "graded", assignment: str = "signals-profile", identity: dict | None = None
) -> dict:
    checks = [
        {
            "id": cid,
            "title": cid.replace("-", " "),
            "status": "passed" if i < passed else "failed",
            "score": points if i < passed else 0.0,
            "max_score": points,
            "feedback": "" if i < passed else f"{cid}: not yet <b>",
            "hint": "",
            "diagnosis": "",
            "location": "",
            "student_traceback": [],
        }
        for i, (cid, points) in enumerate(PROFILE if assignment == "signals-profile" else M2M)
    ]
    return {
        "schema_version": "1.2",
        "assignment": assignment,
        "submission": student,
        "status": status,
        "score": sum(c["score"] for c in checks),
        "max_score": sum(c["max_score"] for c in checks),
        "message": f"report of {student}",
        "checks": checks,
        "duration_s": 1.0,
        "grader_version": "0.3.0",
        "django_version": "5.2",
        "python_version": "3.11.7",
        "graded_at": "2026-03-01T10:00:00+00:00",
        "sandbox": "bwrap",
        "warnings": [],
        "rubric_digest": "d1",
        "output": "",
        "identity": identity,
    }


def rows(path: Path) -> list[list[str]]:
    return list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"))))


def lesson(tmp_path: Path) -> tuple[Path, Path]:
    """signals-profile: ada, bob, cy (an error); signals-m2m: ada, cy, dee (bob has no report there)."""
    canvas = {"platform": "canvas", "id": "4711", "name": "Ada Lovelace", "login": "ada@uni.example"}
    profile = write_reports(
        tmp_path / "reports" / "signals-profile",
        [report("ada", 4, identity=canvas), report("bob", 2), report("cy", 0, "error")],
    )
    m2m = write_reports(
        tmp_path / "reports" / "signals-m2m",
        [
            report("ada", 1, assignment="signals-m2m", identity=dict(canvas, late=True)),
            report("cy", 2, assignment="signals-m2m"),
            report("dee", 0, assignment="signals-m2m"),
        ],
    )
    return profile, m2m


def test_several_folders_make_one_sheet_for_the_lesson(tmp_path):
    profile, m2m = lesson(tmp_path)
    assert run_cli("report", str(profile)).returncode == 0  # the profile's own report.html
    before = {p: p.read_bytes() for folder in (profile, m2m) for p in folder.iterdir()}
    # Relative folders, from the class's folder: the default output is reports/lesson there.
    proc = run_cli("report", "reports/signals-profile", "reports/signals-m2m", "--blank-errors", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    out = tmp_path / "reports" / "lesson"
    assert proc.stdout.splitlines()[0] == (
        "lesson: 4 students, 2 assignments (signals-profile, signals-m2m); "
        "mean total 5.25 / 15, median 4.5; 2 without a report in some assignment"
    )
    assert f"written: {out / 'grades.csv'}" in proc.stdout and proc.stderr == ""
    # The assignment folders are only read.
    assert {p: p.read_bytes() for folder in (profile, m2m) for p in folder.iterdir()} == before

    assert rows(out / "grades.csv") == [
        [
            "student",
            "name",
            "id",
            "login",
            "late",
            "signals-profile",
            "signals-m2m",
            "total",
            "signals-profile status",
            "signals-m2m status",
        ],
        ["ada", "Ada Lovelace", "4711", "ada@uni.example", "signals-m2m", "10", "2", "12", "graded", "graded"],
        ["bob", "", "", "", "", "4", "", "4", "graded", "missing"],  # no report: empty, not 0
        ["cy", "", "", "", "", "", "5", "", "error", "graded"],  # --blank-errors: for review
        ["dee", "", "", "", "", "", "0", "0", "missing", "graded"],
    ]
    assert rows(out / "grades-canvas.csv") == [
        ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "signals-profile", "signals-m2m"],
        ["Points Possible", "", "", "", "", "10", "5"],
        ["Ada Lovelace", "4711", "", "ada@uni.example", "", "10", "2"],
        ["bob", "", "bob", "bob", "", "4", ""],
        ["cy", "", "cy", "cy", "", "", "5"],  # --blank-errors
        ["dee", "", "dee", "dee", "", "", "0"],
    ]
    assert not list(out.glob("grades-moodle*.csv"))
    summary = json.loads((out / "summary.json").read_text())
    assert summary["kind"] == "grader-lesson-summary" and summary["max_score"] == 15
    assert [a["folder"] for a in summary["assignments"]] == ["../signals-profile", "../signals-m2m"]

    page = (out / "report.html").read_text(encoding="utf-8")
    assert "<h1>Lesson report: signals-profile, signals-m2m</h1>" in page
    # per assignment: mean and full marks (and who is missing)
    assert (
        '<tr class="assignment-row" data-assignment="signals-profile"><td><a href="../signals-profile/'
        'report.html"><code>signals-profile</code></a></td><td class="n points">10</td><td class="n reports">3'
        '</td><td class="n mean">4.67</td><td class="n full-marks">1</td><td class="n not-graded">1</td>'
        '<td class="n missing">1</td></tr>'
    ) in page
    assert (
        '<td class="n mean">2.33</td><td class="n full-marks">1</td><td class="n not-graded">0</td>'
        '<td class="n missing">1</td>'
    ) in page
    # per student: each assignment's score and status, and the lesson total
    bob = page.split('data-student="bob">')[1].split("</tr>")[0]
    assert '<a href="../signals-profile/report.html#student-bob">4</a>' in bob
    assert 'data-assignment="signals-m2m" title="no report in this assignment\'s folder">–</td>' in bob
    assert bob.endswith('<td class="n total">4 / 15</td>')
    cy = page.split('data-student="cy">')[1].split("</tr>")[0]
    assert '#student-cy">0</a> <span class="status-error">error</span>' in cy
    assert 'id="stat-mean">5.25 / 15<' in page and 'id="stat-full-marks">0<' in page

    # Run again over reports/*: the lesson's own folder is left out, with a note.
    again = run_cli(
        "report", *sorted(str(p.relative_to(tmp_path)) for p in (tmp_path / "reports").iterdir()), cwd=tmp_path
    )
    assert again.returncode == 0, again.stderr
    assert again.stderr == "grader: left out reports/lesson: the --output-dir itself, not an assignment's folder\n"
    assert rows(out / "grades.csv")[0][5:7] == ["signals-m2m", "signals-profile"]  # in the order given


def test_one_folder_is_the_gradebook_of_one_assignment_as_before(tmp_path):
    profile, _ = lesson(tmp_path)
    proc = run_cli("report", str(profile), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("class: 3 students (2 graded, 1 error); mean 4.67 / 10, median 4\n")
    assert rows(profile / "grades.csv")[0][-2:] == ["total", "status"]
    assert not (tmp_path / "reports" / "lesson").exists()
    # With --output-dir, one folder makes a lesson of one assignment there.
    proc = run_cli("report", str(profile), "-o", str(tmp_path / "one"))
    assert proc.returncode == 0, proc.stderr
    assert rows(tmp_path / "one" / "grades.csv")[0] == [
        "student",
        "name",
        "id",
        "login",
        "late",
        "signals-profile",
        "total",
        "signals-profile status",
    ]


def test_usage_errors_are_one_line_and_exit_2(tmp_path):
    profile, m2m = lesson(tmp_path)
    copy = write_reports(tmp_path / "copy", [report("zed", 1)])
    mixed = write_reports(tmp_path / "mixed", [report("a", 1), report("b", 1, assignment="signals-m2m")])
    cases = {
        (str(profile), str(m2m), str(copy)): f"{profile} and {copy} both hold reports of signals-profile: "
        "give one folder per assignment",
        (str(profile), str(profile)): f"{profile} is given twice",
        (str(profile), str(mixed)): f"{mixed}: the reports belong to several assignments (signals-m2m, "
        "signals-profile); keep one assignment per folder",
        (str(profile), str(tmp_path / "nowhere")): f"{tmp_path / 'nowhere'} is not a folder",
        (str(profile), str(m2m), "-o", str(m2m)): f"the --output-dir {m2m} is one of the assignment folders: "
        "give the lesson's sheet a folder of its own",
    }
    for args, message in cases.items():
        proc = run_cli("report", *args, "-o", str(tmp_path / "out")) if "-o" not in args else run_cli("report", *args)
        assert proc.returncode == 2, (args, proc.stdout, proc.stderr)
        assert proc.stderr == f"grader: error: {message}\n", args
    assert not (tmp_path / "out").exists()


def test_feedback_for_a_lesson_goes_into_a_folder_per_assignment(tmp_path):
    def moodle(pid: str) -> dict:
        return {
            "platform": "moodle",
            "id": pid,
            "name": f"Student {pid}",
            "folder": f"Student {pid}_{pid}_assignsubmission_file_",
        }

    profile = write_reports(
        tmp_path / "p", [report("101", 4, identity=moodle("101")), report("102", 1, identity=moodle("102"))]
    )
    m2m = write_reports(
        tmp_path / "m",
        [
            report("101", 1, assignment="signals-m2m", identity=moodle("101")),
            report("zoe", 1, assignment="signals-m2m"),
        ],
    )
    proc = run_cli("report", str(profile), str(m2m), "-o", str(tmp_path / "lesson"), "--feedback", str(tmp_path / "fb"))
    assert proc.returncode == 0, proc.stderr
    fb = tmp_path / "fb"
    assert f"feedback: 2 student(s) in {fb / 'signals-profile' / 'moodle-feedback.zip'}" in proc.stdout
    assert f"feedback: 2 student(s) in {fb / 'signals-m2m' / 'moodle-feedback.zip'}" in proc.stdout
    with zipfile.ZipFile(fb / "signals-profile" / "moodle-feedback.zip") as zf:
        assert sorted(zf.namelist()) == [
            f"Student {p}_{p}_assignsubmission_file_/feedback.{ext}" for p in ("101", "102") for ext in ("html", "md")
        ]
        assert "report of 102" in zf.read("Student 102_102_assignsubmission_file_/feedback.md").decode()
    assert (fb / "signals-m2m" / "zoe.md").is_file() and (fb / "signals-m2m" / "zoe.html").is_file()
    assert "not yet &lt;b&gt;" in (fb / "signals-m2m" / "zoe.html").read_text()
    # Moodle's grading worksheet is per assignment: one for each.
    lesson_dir = tmp_path / "lesson"
    sheets = sorted(p.name for p in lesson_dir.glob("grades-moodle*.csv"))
    assert sheets == ["grades-moodle-signals-m2m.csv", "grades-moodle-signals-profile.csv"]
    worksheet = list(csv.DictReader(io.StringIO((lesson_dir / "grades-moodle-signals-m2m.csv").read_text())))
    assert [(r["Identifier"], r["Grade"], r["Maximum Grade"]) for r in worksheet] == [("Participant 101", "2", "5")]


def test_help_describes_the_lesson():
    proc = run_cli("report", "--help")
    assert proc.returncode == 0
    text = " ".join(proc.stdout.split())
    for phrase in (
        "DIR [DIR ...]",
        "--output-dir OUT, -o OUT",
        "default: reports/lesson",
        "one per assignment of a lesson",
        "Students are matched across the DIRs by their student id",
        "the total sums the points that exist",
        "grades-moodle-<assignment>.csv",
        "FB/<assignment>/",
        "two DIRs of the same assignment",
    ):
        assert phrase in text, phrase
