"""Issues 27 and 21: names with limits. Student, folder and file names from platform downloads
and rosters reach file names, zip entries, the gradebook's CSV files, HTML pages and Markdown
feedback: a long name must not stop the class's feedback, no bidi control or formula gets
through, a student whose folder starts with '.' is graded, undecodable names are graded and
shown with U+FFFD, and no archive the grader reads or writes puts a file outside its folder.
Each test fails on the grader before the change it comes with."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import downloads as dl
import pytest
from conftest import ROOT, build_submission, run_cli, validate

from grader import archives, batch, handback, names, platforms
from grader.model import Identity

pytestmark = pytest.mark.e2e

BIDI = re.compile("[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
SURROGATE_ESCAPE = re.compile(r"\\ud[89a-f][0-9a-f]{2}", re.I)
FORMULA = ("=", "+", "-", "@", "\t", "\r")
NUMBER = re.compile(r"-?\d+(\.\d+)?")


def batch_cli(source: Path, out: Path, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "grader",
            "batch",
            str(source),
            "--assignment",
            "signals-profile",
            "--output-dir",
            str(out),
            "--jobs",
            "1",
            *extra,
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )


def moodle_targets(names_in_zip: list[str]) -> set[str]:
    """The participant ids Moodle's feedback-zip import finds (its rule: the first path part
    that splits at '_' into name, numeric id, 'assignsubmission', 'file')."""
    found = set()
    for name in names_in_zip:
        info = name.split("/")[0].split("_", 4)
        if len(info) >= 4 and info[1].isdigit() and info[2:4] == ["assignsubmission", "file"]:
            found.add(info[1])
    return found


def assert_names_bounded(root: Path) -> None:
    """Every file and folder under `root`: a bounded, visible name without bidi or controls."""
    for here, dirs, files in os.walk(root):
        for name in (*dirs, *files):
            assert len(os.fsencode(name)) <= names.MAX_NAME_BYTES + len(".html"), name[:80]
            assert not BIDI.search(name) and not CONTROL.search(name), repr(name)
            assert not name.startswith("."), name


def assert_clean_zip(path: Path) -> list[str]:
    with zipfile.ZipFile(path) as zf:
        entries = zf.namelist()
    for entry in entries:
        assert not entry.startswith("/") and ".." not in entry.split("/") and "\\" not in entry, entry
        for part in entry.split("/"):
            assert len(part.encode()) <= names.MAX_NAME_BYTES and not BIDI.search(part), part[:80]
    return entries


def assert_clean_text_files(*roots: Path) -> None:
    """No bidi or control character in any page, sheet or feedback file, no formula in any cell."""
    for root in roots:
        for path in root.rglob("*"):
            if path.suffix not in (".html", ".md", ".csv", ".json"):
                continue
            text = path.read_bytes().decode("utf-8")  # valid UTF-8
            assert not SURROGATE_ESCAPE.search(text), path
            if path.suffix == ".json":
                continue  # data: the text as it was, bidi and all
            assert not BIDI.search(text), (path, BIDI.search(text))
            assert not CONTROL.search(text), path
            if path.suffix == ".csv":
                for row in csv.reader(io.StringIO(text)):
                    for cell in row:
                        assert not cell.startswith(FORMULA) or NUMBER.fullmatch(cell), (path, cell)


# ------------------------------------------------------------------ long names


def _moodle_zip(path: Path, folders: dict[str, Path]) -> Path:
    """A Moodle download zip whose folder names are written as given (longer ones than a file
    system holds, too): {folder name: project to put in it as mysite/}."""
    with zipfile.ZipFile(path, "w") as zf:
        for folder, project in folders.items():
            for file in sorted(project.rglob("*")):
                if file.is_file() and "__pycache__" not in file.parts:
                    zf.write(file, f"{folder}/mysite/{file.relative_to(project).as_posix()}")
    return path


def test_a_long_name_does_not_stop_the_feedback_of_the_class(tmp_path):
    """A participant whose name in the download is longer than a file name can be, and one on
    the roster (who submitted nothing) whose name is 5,000 characters with a bidi override:
    every student is graded or reported, and every one gets feedback Moodle can import, from
    the batch, from `grader report --feedback` and from the lesson's."""
    long_download = "Bé" * 100  # 300 bytes: more than NAME_MAX
    ada = build_submission(tmp_path / "build" / "ada", solution=True)
    bea = build_submission(tmp_path / "build" / "bea", solution=True)
    download = _moodle_zip(
        tmp_path / "SIG101-Signals.zip",
        {"Ada Lovelace_101_assignsubmission_file_": ada, f"{long_download}_102_assignsubmission_file_": bea},
    )
    roster_name = "\u202e" + "Z" * 5000
    roster = dl.moodle_worksheet(
        tmp_path / "worksheet.csv",
        [
            dl.Student("Ada Lovelace", "101", email="ada@uni.example"),
            dl.Student(long_download, "102"),
            dl.Student(roster_name, "103"),
        ],
    )
    out, fb = tmp_path / "out", tmp_path / "fb"
    done = batch_cli(download, out, "--roster", str(roster), "--feedback", str(fb))
    assert done.returncode == 0, done.stderr[-3000:]
    reports = {p.stem: validate(json.loads(p.read_text())) for p in out.glob("1*.json")}
    assert sorted(reports) == ["101", "102", "103"]
    assert reports["102"]["score"] == 10 and reports["102"]["status"] == "graded"  # not left out
    assert reports["103"]["status"] == "missing"
    assert reports["103"]["identity"]["name"] == "Z" * 5000  # the name, without the override
    entries = assert_clean_zip(fb / "moodle-feedback.zip")
    assert moodle_targets(entries) == {"101", "102", "103"} and len(entries) == 6
    assert "Ada Lovelace_101_assignsubmission_file_/feedback.md" in entries
    assert len(list((fb / "moodle").rglob("feedback.html"))) == 3
    assert_names_bounded(fb)
    sheet = list(csv.DictReader(io.StringIO((out / "grades-moodle.csv").read_text(encoding="utf-8"))))
    assert [(r["Identifier"], r["Grade"]) for r in sheet] == [
        ("Participant 101", "10"),
        ("Participant 102", "10"),
        ("Participant 103", "0"),
    ]
    assert_clean_text_files(out, fb)

    # The same from the reports: grader report DIR --feedback, and a lesson of one assignment.
    again = run_cli("report", str(out), "--feedback", str(tmp_path / "fb2"))
    assert again.returncode == 0, again.stderr[-3000:]
    assert moodle_targets(assert_clean_zip(tmp_path / "fb2" / "moodle-feedback.zip")) == {"101", "102", "103"}
    lesson = run_cli("report", str(out), "-o", str(tmp_path / "lesson"), "--feedback", str(tmp_path / "fb3"))
    assert lesson.returncode == 0, lesson.stderr[-3000:]
    zipped = tmp_path / "fb3" / "signals-profile" / "moodle-feedback.zip"
    assert moodle_targets(assert_clean_zip(zipped)) == {"101", "102", "103"}
    assert_names_bounded(tmp_path / "fb3")
    assert_clean_text_files(tmp_path / "lesson", tmp_path / "fb3")


# ------------------------------------------------------------------ names starting with '.'


def test_a_student_whose_folder_starts_with_a_dot_is_graded(tmp_path):
    """`.alice/` and `.carol.zip` are students' submissions; `.git`, `__MACOSX`, `.DS_Store` and
    macOS's `._alice` are not: the grader's own skip list still applies."""
    source = tmp_path / "class"
    build_submission(source / ".alice", solution=True)
    (source / ".carol.zip").write_bytes(dl.project_zip(dl.Student("Carol", "carol"), tmp_path / "work"))
    (source / ".git").mkdir()
    (source / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    (source / "__MACOSX").mkdir()
    (source / ".DS_Store").write_bytes(b"\0\0\0\1Bud1")
    (source / "._alice").write_bytes(b"\0\5\26\7")
    out = tmp_path / "out"
    done = batch_cli(source, out, "--feedback", str(tmp_path / "fb"))
    assert done.returncode == 0, done.stderr[-3000:]
    reports = {p.name: validate(json.loads(p.read_text())) for p in out.glob("*.json") if p.name != "summary.json"}
    assert sorted(reports) == ["_alice.json", "_carol.json"]  # a report never hidden
    assert {r["submission"]: r["score"] for r in reports.values()} == {".alice": 10, ".carol": 10}
    assert sorted(p.name for p in (tmp_path / "fb").iterdir()) == [
        "_alice.html",
        "_alice.md",
        "_carol.html",
        "_carol.md",
    ]
    assert "not folders or archives" not in done.stderr  # the junk is not even counted


def test_dot_names_in_canvas_and_github_downloads_are_students(tmp_path):
    archive = tmp_path / "submissions.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr(".lovelace_101_9001_project.zip", b"PK")
        zf.writestr("ross_104_9002_project.zip", b"PK")
        zf.writestr(".DS_Store", b"junk")
        zf.writestr("__MACOSX/._ross_104_9002_project.zip", b"junk")
    tops, rejected, _ = batch.extract_zip(archive, tmp_path / "canvas")
    assert tops == [".lovelace_101_9001_project.zip", "ross_104_9002_project.zip"] and not rejected
    got = platforms.gather(tmp_path / "canvas")
    assert got.layout == "canvas" and sorted(f.student for f in got.found) == ["101", "104"]
    clones = tmp_path / "clones"
    for user in ("ada", "bob"):
        (clones / f".sig-{user}" / ".git").mkdir(parents=True)
    (clones / ".git").mkdir()
    got = platforms.gather(clones)
    assert got.layout == "github" and sorted(f.student for f in got.found) == ["ada", "bob"]


# ------------------------------------------------------------------ undecodable names


def test_undecodable_folder_names_are_graded_and_shown_with_a_replacement_character(tmp_path):
    """Two folders whose names are not UTF-8 (Latin-1 ü and ö, as an old zip tool leaves them):
    both graded (before, one of them was dropped as the same student), named with U+FFFD in
    every report, sheet, page and file name."""
    source = tmp_path / "class"
    source.mkdir()
    for raw, solved in ((b"M\xfcller", True), (b"M\xf6ller", False)):
        build_submission(Path(os.fsdecode(os.path.join(os.fsencode(source), raw))), solution=solved)
    out, fb = tmp_path / "out", tmp_path / "fb"
    done = batch_cli(source, out, "--feedback", str(fb))
    assert done.returncode == 0, done.stderr[-3000:]
    reports = [validate(json.loads(p.read_bytes().decode("utf-8"))) for p in out.glob("M*.json")]
    # b"M\xf6ller" sorts first and keeps the plain id; the other is told apart by ~2
    assert sorted((r["submission"], r["score"]) for r in reports) == [("M\ufffdller", 1), ("M\ufffdller~2", 10)]
    assert all(r["identity"]["folder"] == "M\ufffdller" for r in reports)
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert [s["student"] for s in summary["students"]] == ["M\ufffdller", "M\ufffdller~2"]
    assert "M\ufffdller~2" in (out / "report.html").read_text(encoding="utf-8")
    assert sorted(p.name for p in fb.iterdir()) == [
        "M\ufffdller.html",
        "M\ufffdller.md",
        "M\ufffdller~2.html",
        "M\ufffdller~2.md",
    ]
    assert_clean_text_files(out, fb)
    assert_names_bounded(fb)


# ------------------------------------------------------------------ bidi and formulas, no grading


def _report(student: str, assignment: str = "signals-profile", **identity) -> dict:
    return {
        "schema_version": "1.2",
        "assignment": assignment,
        "submission": student,
        "status": "graded",
        "score": 1.0,
        "max_score": 2.0,
        "message": f"\u202emsg {student}\x1b[2J",
        "checks": [
            {
                "id": "c1",
                "title": "Check \u2066one",
                "status": "failed",
                "score": 0.0,
                "max_score": 1.0,
                "feedback": "=fb\u202e <b>x</b>",
                "hint": "",
                "diagnosis": "",
                "location": "a\u200f.py:1",
                "student_traceback": ['File "a.py", line 1\n  \u202ex = 1\x07'],
            },
            {
                "id": "c2",
                "title": "Check two",
                "status": "passed",
                "score": 1.0,
                "max_score": 1.0,
                "feedback": "",
                "hint": "",
                "diagnosis": "",
                "location": "",
                "student_traceback": [],
            },
        ],
        "duration_s": 1.0,
        "grader_version": "0",
        "django_version": "5",
        "python_version": "3",
        "graded_at": "2026-03-01T10:00:00+00:00",
        "sandbox": "bwrap",
        "warnings": ["\u2067warn\u2069"],
        "output": "\u202eprinted",
        "identity": identity or None,
    }


def test_bidi_controls_and_formulas_reach_no_sheet_page_feedback_or_file_name(tmp_path):
    """Hand-written reports with hostile names (formulas, bidi overrides, a file name of 250
    bytes, an assignment name of 300 characters): `grader report` of one assignment, with
    --feedback, and of the lesson, with --feedback."""
    one = tmp_path / "reports" / "one"
    one.mkdir(parents=True)
    hostile = [
        (
            "s1.json",
            _report(
                "=cmd|' /C calc'!A0",
                platform="moodle",
                id="101",
                login="@SUM(1+1)",
                name="\u202eAda\u2066 Lovelace=1",
                folder="../../\u202eAda_101_assignsubmission_file_",
            ),
        ),
        ("s2.json", _report("-2+3", platform="canvas", id="+4711", name='+HYPERLINK("http://x")')),
        ("l" * 245 + ".json", _report("\u202elong", platform="folder", id="long")),
    ]
    for file, data in hostile:
        (one / file).write_text(json.dumps(data), encoding="utf-8")
    proc = run_cli("report", str(one), "--feedback", str(tmp_path / "fb1"))
    assert proc.returncode == 0, proc.stderr[-3000:]
    entries = assert_clean_zip(tmp_path / "fb1" / "moodle-feedback.zip")
    assert moodle_targets(entries) == {"101"}
    assert sorted(p.name for p in (tmp_path / "fb1").glob("*.md")) == sorted(  # named as the reports
        ["s2.md", names.component("l" * 245) + ".md"]
    )

    two = tmp_path / "reports" / "two"
    two.mkdir()
    odd = '=HYPERLINK("http://x")' + "y" * 300  # an assignment's name from a report
    (two / "a.json").write_text(
        json.dumps(_report("=cmd|' /C calc'!A0", odd, platform="moodle", id="101", name="Ada")), encoding="utf-8"
    )
    proc = run_cli("report", str(two))
    assert proc.returncode == 0, proc.stderr[-3000:]
    header = next(csv.reader(io.StringIO((two / "grades-canvas.csv").read_text(encoding="utf-8"))))
    assert header[-1] == "'" + odd  # the assignment's column too
    lesson = run_cli("report", str(one), str(two), "-o", str(tmp_path / "lesson"), "--feedback", str(tmp_path / "fb2"))
    assert lesson.returncode == 0, lesson.stderr[-3000:]
    sheets = sorted(p.name for p in (tmp_path / "lesson").glob("grades-moodle-*.csv"))
    assert len(sheets) == 2 and all(len(s.encode()) <= names.MAX_NAME_BYTES for s in sheets)
    for folder in (tmp_path / "fb2").iterdir():
        assert moodle_targets(assert_clean_zip(folder / "moodle-feedback.zip")) == {"101"}
    assert_names_bounded(tmp_path / "fb1")
    assert_names_bounded(tmp_path / "fb2")
    assert_clean_text_files(one, two, tmp_path / "lesson", tmp_path / "fb1", tmp_path / "fb2")
    page = next((tmp_path / "fb1" / "moodle").rglob("feedback.html")).read_text(encoding="utf-8")
    assert "Ada Lovelace=1" in page and "msg =cmd" in page  # the text is shown, only cleaned


# ------------------------------------------------------------------ path traversal


def test_an_archive_named_dot_dot_zip_is_unpacked_inside_its_students_folder(tmp_path):
    """A class of archives holding `...zip` (the student '..'): its stem is '..', which named the
    folder it was unpacked into, the folder above the student's own."""
    source = tmp_path / "class"
    source.mkdir()
    (source / "...zip").write_bytes(dl.project_zip(dl.Student("Dot", "dot"), tmp_path / "work"))
    found = platforms.Found("..", Identity(platform="folder", id=".."), [source / "...zip"])
    work = tmp_path / "scratch" / "submissions" / "0"
    path, _ = batch.prepare(found, work)
    assert path == work and sorted(p.name for p in work.iterdir()) == ["_."]
    assert sorted(p.name for p in work.parent.iterdir()) == ["0"]  # nothing beside it
    assert (work / "_." / "mysite-project" / "manage.py").is_file()


def test_a_canvas_file_whose_own_name_is_dot_dot_is_copied_inside(tmp_path):
    """Canvas's `<name>_<uid>_<aid>_<file>` whose file is '..' (or '.'): copied into the student's
    folder, not onto the folder above it (an IsADirectoryError that stopped the whole batch)."""
    for own in ("..", "."):
        entry = tmp_path / f"lovelaceada_101_9001_{own}"
        entry.write_text("x")
        found = platforms.Found("101", Identity(platform="canvas", id="101"), [entry])
        work = tmp_path / f"work{len(own)}" / "0"
        path, _ = batch.prepare(found, work)
        assert path == work and [p.name for p in work.iterdir()] == [names.component(own)]
        entry.unlink()


def test_tar_members_that_leave_their_folder_are_not_unpacked(tmp_path):
    src = tmp_path / "src"
    build_submission(src / "p")
    secret = tmp_path / "secret.txt"
    secret.write_text("secret")
    archive = tmp_path / "p.tar"
    with tarfile.open(archive, "w") as tf:
        tf.add(src / "p", "p")
        for name, kind, target in (
            ("p/hard", tarfile.LNKTYPE, str(secret)),
            ("p/soft", tarfile.SYMTYPE, "/etc"),
            ("p/up", tarfile.LNKTYPE, "../../secret.txt"),
        ):
            info = tarfile.TarInfo(name)
            info.type, info.linkname = kind, target
            tf.addfile(info)
        for name in ("../escape.py", "/abs.py", "C:/drive.py", "c:\\win.py", "..\\back.py", "p/\u202e../bidi.py"):
            data = b"x = 1\n"
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    dest = tmp_path / "out" / "p"
    result = archives.unpack(archive, dest)
    made = sorted(
        p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if not p.is_relative_to(src) and p != archive
    )
    assert all(m.startswith("out/p/") or m in ("out", "out/p", "secret.txt") for m in made), made
    assert not any(p.is_symlink() for p in dest.rglob("*"))
    assert not (dest / "p" / "hard").exists() and (dest / "p" / "manage.py").is_file()
    assert secret.read_text() == "secret" and not list(tmp_path.glob("*.py"))
    text = " ".join(result.notes)
    assert "6 member(s) with an absolute or '..' path" in text and "3 member(s) that are links" in text


def test_zip_members_with_drive_letters_backslashes_or_hidden_dot_dots_are_not_extracted(tmp_path):
    members = {
        "alice/manage.py": "#",
        "C:/drive.txt": "x",
        "c:\\win.txt": "x",
        "alice\\..\\..\\back.txt": "x",
        "alice/\u202e../bidi.txt": "x",
        "alice/\u200f..\u200e/x.txt": "x",
    }
    archive = tmp_path / "class.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    dest = tmp_path / "dest"
    dest.mkdir()
    tops, _, notes = batch.extract_zip(archive, dest)
    assert tops == ["alice"] and sorted(p.name for p in (dest / "alice").iterdir()) == ["manage.py"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["class.zip", "dest"]
    assert "5 member(s) with an absolute or '..' path" in " ".join(notes)
    student = archives.unpack(archive, tmp_path / "own")
    assert sorted(p.name for p in (tmp_path / "own" / "alice").iterdir()) == ["manage.py"]
    assert "5 member(s) with an absolute or '..' path" in " ".join(student.notes)


def test_the_feedback_zip_puts_nothing_outside_its_folders(tmp_path):
    """A report whose identity says folder '../../x', name '/etc/passwd': moodle-feedback.zip and
    the moodle/ tree hold two files per participant, inside folders Moodle reads."""
    out = tmp_path / "out"
    out.mkdir()
    (out / "7.json").write_text(
        json.dumps(
            _report(
                "7", platform="moodle", id="7", name="/etc/passwd", folder="../../../x_7_assignsubmission_file_/../.."
            )
        )
    )
    (out / "8.json").write_text(json.dumps(_report("8", platform="moodle", id="8", name="..", folder="\\..\\..\\evil")))
    fb = tmp_path / "fb"
    written = handback.write(out, fb)
    entries = assert_clean_zip(written.moodle_zip)
    assert moodle_targets(entries) == {"7", "8"} and all(e.count("/") == 1 for e in entries)
    unpacked = archives.unpack(written.moodle_zip, tmp_path / "unzipped")
    assert unpacked.files == 4 and not unpacked.notes
    assert all(f.is_relative_to(fb) for f in written.files)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fb", "out", "unzipped"]
