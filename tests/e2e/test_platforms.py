"""Class downloads as platforms make them: layouts, identity, rosters, archives inside a
student's folder, the platform CSVs and the feedback handed back. Pure file work (no
grading) except the end-to-end tests at the bottom, which run the real CLI on each
platform's download built from the template (tests/downloads.py)."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import stat
import subprocess
import tarfile
import zipfile
from pathlib import Path

import downloads as dl
import pytest
from conftest import build_submission, run_cli, validate
from helpers import write_reports

from grader import archives, batch, discover, fstree, gradebook, handback, platforms
from grader.model import Identity, Report

ADA = dl.Student("Ada Lovelace", "101", True, "ada@uni.example")
JURGEN = dl.Student("Jürgen Müller", "102", False, "jm@uni.example")
ZOE = dl.Student("Zoë Ñúñez", "103", True, "zn@uni.example")
BOB = dl.Student("Bob Ross", "104", False, "bob@uni.example")


def _touch(path: Path, data: bytes = b"x") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def _zip(path: Path, members: dict[str, bytes | str]) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


# ============================================================================ layouts


def test_moodle_folders_of_one_participant_are_one_student(tmp_path):
    for name in (
        "Ada Lovelace_101_assignsubmission_file_",
        "Ada Lovelace_101_assignsubmission_onlinetext_",
        "Jürgen Müller_102_assignsubmission_file",
        "Zoë Ñúñez_103_assignsubmission_onlinetext_",
    ):
        (tmp_path / name).mkdir()
    _touch(tmp_path / "Ada Lovelace_101_assignsubmission_file_" / "ada.zip")
    got = platforms.gather(tmp_path)
    assert got.layout == "moodle"
    by_id = {f.student: f for f in got.found}
    assert sorted(by_id) == ["101", "102", "103"]
    ada = by_id["101"]
    assert ada.identity == Identity(
        platform="moodle", id="101", name="Ada Lovelace", folder="Ada Lovelace_101_assignsubmission_file_"
    )
    assert [p.name for p in ada.items] == ["Ada Lovelace_101_assignsubmission_file_"]
    assert ada.extra == ["Ada Lovelace_101_assignsubmission_onlinetext_"]  # not an extra student
    assert by_id["102"].identity.name == "Jürgen Müller"  # Moodle 4.1+: no last _
    assert by_id["103"].items == [] and by_id["103"].extra  # online text only


def test_moodle_flat_layout_of_older_versions(tmp_path):
    _touch(tmp_path / "Ada Lovelace_101_assignsubmission_file_ada_project.zip")
    _touch(tmp_path / "Ada Lovelace_101_assignsubmission_file_notes.txt")
    _touch(tmp_path / "Bob Ross_104_assignsubmission_onlinetext_onlinetext.html")
    got = platforms.gather(tmp_path)
    assert got.layout == "moodle"
    by_id = {f.student: f for f in got.found}
    assert sorted(p.name for p in by_id["101"].items) == [
        "Ada Lovelace_101_assignsubmission_file_ada_project.zip",
        "Ada Lovelace_101_assignsubmission_file_notes.txt",
    ]
    assert by_id["101"].identity.folder == "Ada Lovelace_101_assignsubmission_file_"
    assert by_id["104"].items == []


def test_canvas_late_flags_reuploads_and_text_entries(tmp_path):
    for name in (
        "lovelaceada_101_9001_project.zip",
        "lovelaceada_101_9002_project-1.zip",
        "müllerjürgen_late_102_9003_project.zip",
        "ñúñezzoë_103_text.html",
        "ñúñezzoë_103_9004_site.tar.gz",
        "ñúñezzoë_103_9005_site-2.tar.gz",
        "ñúñezzoë_103_9006_site-1.tar.gz",
        "105_9007_anonymous.zip",
    ):
        _touch(tmp_path / name)
    got = platforms.gather(tmp_path)
    assert got.layout == "canvas"
    by_id = {f.student: f for f in got.found}
    assert sorted(by_id) == ["101", "102", "103", "105"]
    assert [p.name for p in by_id["101"].items] == ["lovelaceada_101_9002_project-1.zip"]  # latest wins
    assert by_id["102"].identity.late and not by_id["101"].identity.late
    assert [p.name for p in by_id["103"].items] == ["ñúñezzoë_103_9005_site-2.tar.gz"]
    assert by_id["103"].extra == ["ñúñezzoë_103_text.html"]
    assert by_id["102"].identity.name == "müllerjürgen" and by_id["105"].identity.name == ""
    assert any("uploaded again" in n for n in got.notes)


def test_github_classroom_prefix_is_not_part_of_the_student_id(tmp_path):
    for user in ("ada-l", "bob", "zoe99"):
        (tmp_path / f"signals-profile-{user}" / ".git").mkdir(parents=True)
    got = platforms.gather(tmp_path)
    assert got.layout == "github"
    assert sorted(f.student for f in got.found) == ["ada-l", "bob", "zoe99"]
    assert {f.identity.folder for f in got.found} == {
        "signals-profile-ada-l",
        "signals-profile-bob",
        "signals-profile-zoe99",
    }
    # One clone only: the roster tells the username.
    solo = tmp_path / "solo"
    (solo / "signals-profile-ada-l" / ".git").mkdir(parents=True)
    roster = platforms.Roster("github", [platforms.RosterEntry("ada-l", "Ada", "s1")])
    (found,) = platforms.gather(solo, "github", roster).found
    assert found.student == "ada-l" and found.identity.login == "s1" and found.identity.name == "Ada"


def test_plain_folders_and_a_named_layout_that_does_not_fit(tmp_path):
    for name in ("alice", "bob", ".git", "__MACOSX", "venv"):
        (tmp_path / name).mkdir()
    _touch(tmp_path / "carol.zip")
    _touch(tmp_path / "notes.txt")
    (tmp_path / "link").symlink_to(tmp_path / "alice")
    got = platforms.gather(tmp_path)
    assert got.layout == "folders"
    assert sorted(f.student for f in got.found) == ["alice", "bob", "carol"]
    assert any("symbolic link" in n for n in got.notes) and any("not folders" in n for n in got.notes)
    with pytest.raises(platforms.LayoutError, match="looks like a moodle download"):
        platforms.gather(tmp_path, "moodle")


# ============================================================================ roster


def test_rosters_of_each_platform(tmp_path):
    gh = platforms.read_roster(dl.github_roster(tmp_path / "gh.csv", [ADA, BOB]))
    assert gh.kind == "github" and [(e.key, e.login, e.name) for e in gh.entries] == [
        ("101", "ada@uni.example", "Ada Lovelace"),
        ("104", "bob@uni.example", "Bob Ross"),
    ]
    moodle = platforms.read_roster(dl.moodle_worksheet(tmp_path / "m.csv", [ADA, JURGEN]))
    assert moodle.kind == "moodle" and [(e.key, e.name, e.email) for e in moodle.entries] == [
        ("101", "Ada Lovelace", "ada@uni.example"),
        ("102", "Jürgen Müller", "jm@uni.example"),
    ]
    canvas = platforms.read_roster(dl.canvas_gradebook(tmp_path / "c.csv", [ADA, ZOE]))
    assert canvas.kind == "canvas" and [(e.key, e.name, e.sis_user_id) for e in canvas.entries] == [
        ("101", "Lovelace, Ada", "S101"),
        ("103", "Ñúñez, Zoë", "S103"),
    ]  # not "Points Possible"
    # Excel in Europe: semicolons, a byte-order mark.
    (tmp_path / "generic.csv").write_text(
        "\ufeffStudent;Name;Login\nalice;Alice A;a1\nbob;Bob B;b2\n", encoding="utf-8"
    )
    generic = platforms.read_roster(tmp_path / "generic.csv")
    assert [(e.key, e.name, e.login) for e in generic.entries] == [("alice", "Alice A", "a1"), ("bob", "Bob B", "b2")]


@pytest.mark.parametrize(
    "text, message",
    [
        ("student\nalice\nALICE\n", "more than once"),
        ("foo,bar\n1,2\n", "none of the columns"),
        ("", "empty"),
    ],
)
def test_a_roster_the_grader_cannot_use_says_why(tmp_path, text, message):
    (tmp_path / "r.csv").write_text(text)
    with pytest.raises(platforms.RosterError, match=message):
        platforms.read_roster(tmp_path / "r.csv")


def test_roster_students_without_a_submission_are_missing_and_strays_are_noted(tmp_path):
    (tmp_path / "Ada Lovelace_101_assignsubmission_file_").mkdir()
    (tmp_path / "Eve Stray_999_assignsubmission_file_").mkdir()
    roster = platforms.read_roster(dl.moodle_worksheet(tmp_path.parent / "w.csv", [ADA, BOB]))
    got = platforms.gather(tmp_path, "auto", roster)
    assert [(m.student, m.identity.name, m.identity.platform) for m in got.missing] == [("104", "Bob Ross", "moodle")]
    assert got.missing[0].identity.folder == "Bob Ross_104_assignsubmission_file_"
    assert {f.student: f.identity.login for f in got.found} == {"101": "ada@uni.example", "999": ""}
    assert any("not on the roster" in n and "999" in n for n in got.notes)


# ============================================================================ archives


def test_unpack_is_safe(tmp_path):
    archive = _zip(
        tmp_path / "a.zip",
        {"p/manage.py": "#", "../up.txt": "x", "/abs": "x", "__MACOSX/p/._manage.py": "junk", "p/.DS_Store": "junk"},
    )
    result = archives.unpack(archive, tmp_path / "out")
    assert sorted(p.relative_to(tmp_path / "out").as_posix() for p in (tmp_path / "out").rglob("*")) == [
        "p",
        "p/manage.py",
    ]
    assert not (tmp_path / "up.txt").exists()
    assert any("'..' path" in n for n in result.notes)
    with pytest.raises(archives.ArchiveError, match="more than the 1.0 kB"):
        archives.unpack(_zip(tmp_path / "big.zip", {"x": b"0" * 5000}), tmp_path / "big", fstree.Limits(max_bytes=1024))
    assert not (tmp_path / "big").exists()
    (tmp_path / "broken.zip").write_bytes(b"PK\x03\x04 not really")
    with pytest.raises(archives.ArchiveError, match="damaged"):
        archives.unpack(tmp_path / "broken.zip", tmp_path / "broken")
    with pytest.raises(archives.ArchiveError, match="submit the project as a .zip"):
        archives.unpack(_touch(tmp_path / "p.rar"), tmp_path / "rar")


def test_unpack_tar_leaves_out_links(tmp_path):
    src = tmp_path / "src"
    _touch(src / "p" / "manage.py", b"#")
    (src / "p" / "secret").symlink_to("/etc/passwd")
    with tarfile.open(tmp_path / "p.tar.gz", "w:gz") as tf:
        tf.add(src / "p", "p")
    result = archives.unpack(tmp_path / "p.tar.gz", tmp_path / "out")
    assert (tmp_path / "out" / "p" / "manage.py").read_bytes() == b"#"
    assert not (tmp_path / "out" / "p" / "secret").exists() and result.notes


def test_zip_names_without_the_utf8_flag_are_read_as_utf8():
    info = zipfile.ZipInfo("Jürgen/x.py".encode().decode("cp437"))
    assert archives.zip_name(info) == "Jürgen/x.py"
    flagged = zipfile.ZipInfo("Zoë.py")
    flagged.flag_bits |= 0x800
    assert archives.zip_name(flagged) == "Zoë.py"


def test_prepare_unpacks_nested_archives_and_finds_the_project(tmp_path):
    folder = tmp_path / "Ada Lovelace_101_assignsubmission_file_"
    folder.mkdir()
    (folder / "ada.zip").write_bytes(dl.project_zip(ADA, tmp_path, nested=True))
    found = platforms.Found("101", Identity(platform="moodle", id="101"), [folder])
    path, _ = batch.prepare(found, tmp_path / "work")
    assert discover.discover(path).root.name == "mysite-project"
    # A folder holding a project is graded where it is.
    plain = build_submission(tmp_path / "plain")
    assert batch.prepare(platforms.Found("p", Identity(), [plain]), tmp_path / "w2")[0] == plain


@pytest.mark.parametrize(
    "items, kind, message",
    [
        ({}, "online-text-only", "only an online text"),
        ({"project.rar": b"Rar!"}, "unsupported-archive", "is a .rar archive"),
        ({"project.zip": b"PK broken"}, "damaged-archive", "damaged"),
    ],
)
def test_prepare_says_why_there_is_nothing_to_grade(tmp_path, items, kind, message):
    files = [_touch(tmp_path / name, data) for name, data in items.items()]
    found = platforms.Found("s", Identity(), files, extra=[] if files else ["onlinetext"])
    with pytest.raises(batch.Unprepared, match=message) as caught:
        batch.prepare(found, tmp_path / "work")
    assert caught.value.kind == kind


def test_discovery_finds_a_project_further_down_and_names_what_it_found(tmp_path):
    deep = build_submission(tmp_path / "a" / "b" / "c" / "mysite")
    assert discover.find_project_root(tmp_path) == deep
    (tmp_path / "venv" / "lib" / "x").mkdir(parents=True)
    _touch(tmp_path / "venv" / "lib" / "x" / "manage.py")  # ignored: a venv
    assert discover.find_project_root(tmp_path) == deep
    build_submission(tmp_path / "copy")
    with pytest.raises(discover.DiscoveryError, match=r"several Django projects \(a/b/c/mysite, copy"):
        discover.find_project_root(tmp_path)
    empty = tmp_path / "empty"
    _touch(empty / "project.rar")
    with pytest.raises(discover.DiscoveryError, match="holds project.rar") as caught:
        discover.find_project_root(empty)
    assert caught.value.kind == "no-manage-py"


def test_most_submissions_failing_the_same_way_stops_the_batch():
    problems = {f"s{i}": "no-manage-py" for i in range(24)} | {"ok": "settings"}
    with pytest.raises(batch.BatchError, match=r"^24 of 30 submissions hold no manage.py \(for example s0"):
        batch.check_common_problem(problems, {"s0": "no manage.py found"}, 30, "folders")
    batch.check_common_problem({"a": "no-manage-py", "b": "no-manage-py"}, {}, 3, "folders")  # too few
    batch.check_common_problem({f"s{i}": "no-manage-py" for i in range(10)}, {}, 30, "folders")


# ============================================================================ gradebook and feedback


def _report(student: str, score: float, status: str = "graded", **identity) -> dict:
    return {
        "schema_version": "1.2",
        "assignment": "signals-profile",
        "submission": student,
        "status": status,
        "score": score,
        "max_score": 10.0,
        "message": f"msg {student}",
        "checks": [
            {
                "id": "c1",
                "title": "Check one",
                "status": "passed" if score else "failed",
                "score": score,
                "max_score": 10.0,
                "feedback": f"<b>fb {student}</b>",
                "location": "users/signals.py:3",
            }
        ],
        "duration_s": 1.0,
        "grader_version": "0",
        "django_version": "5",
        "python_version": "3",
        "graded_at": "2026-11-26T10:00:00+00:00",
        "sandbox": "bwrap",
        "warnings": [],
        "identity": identity or None,
    }


MOODLE_REPORTS = [
    _report(
        "101",
        10,
        platform="moodle",
        id="101",
        name="Ada Lovelace",
        login="ada@uni.example",
        folder="Ada Lovelace_101_assignsubmission_file_",
    ),
    _report(
        "102",
        0,
        "error",
        platform="moodle",
        id="102",
        name="Jürgen Müller",
        folder="Jürgen Müller_102_assignsubmission_file_",
    ),
    _report("104", 0, "missing", platform="moodle", id="104", name="Bob_Ross"),
]


def test_moodle_grading_worksheet_and_blank_totals(tmp_path):
    written = gradebook.write_all(write_reports(tmp_path / "out", MOODLE_REPORTS), blank=True)
    rows = list(csv.DictReader(io.StringIO(written.moodle.read_text(encoding="utf-8"))))
    assert list(rows[0]) == list(gradebook.MOODLE_COLUMNS)
    assert [(r["Identifier"], r["Full name"], r["Grade"], r["Maximum Grade"]) for r in rows] == [
        ("Participant 101", "Ada Lovelace", "10", "10"),
        ("Participant 102", "Jürgen Müller", "", "10"),
        ("Participant 104", "Bob_Ross", "0", "10"),
    ]
    assert rows[0]["Email address"] == "ada@uni.example" and rows[0]["Last modified (grade)"]
    assert "&lt;b&gt;" in rows[1]["Feedback comments"] and "<b>" not in rows[1]["Feedback comments"]
    plain = list(csv.reader(io.StringIO(written.csv.read_text(encoding="utf-8"))))
    assert plain[2][:5] == ["102", "Jürgen Müller", "102", "", ""] and plain[2][-2:] == [
        "",
        "error",
    ]  # --blank-errors: grades.csv too
    canvas = list(csv.reader(io.StringIO(written.canvas.read_text(encoding="utf-8"))))
    assert canvas[2][-1] == "" and canvas[1][-1] == "10"  # --blank-errors: review, not 0
    # Without --blank-errors the error is a 0; a class from elsewhere gets no worksheet.
    assert gradebook.write_all(tmp_path / "out").data["students"][1]["score"] == 0
    nothing_ran = dict(MOODLE_REPORTS[2], sandbox="none")  # a missing student ran nothing
    assert gradebook.summarize([Report.from_dict(nothing_ran)])["unsandboxed"] == []
    other = gradebook.write_all(write_reports(tmp_path / "gh", [_report("ada", 5, platform="github", id="ada")]))
    assert other.moodle is None and not (tmp_path / "gh" / gradebook.MOODLE_CSV).exists()


def test_canvas_csv_uses_the_canvas_user_id():
    reports = [
        Report.from_dict(
            _report("101", 7, platform="canvas", id="101", name="Lovelace, Ada", login="ada@uni.example", late=True)
        )
    ]
    rows = list(csv.reader(io.StringIO(gradebook.build_canvas_csv(gradebook.summarize(reports)))))
    assert rows[1] == ["Lovelace, Ada", "101", "", "ada@uni.example", "", "7"]
    plain = list(csv.reader(io.StringIO(gradebook.build_csv(gradebook.summarize(reports)))))
    assert plain[1][:5] == ["101", "Lovelace, Ada", "101", "ada@uni.example", "late"]


def _moodle_import_target(path: str) -> tuple[str, str] | None:
    """Which participant and file Moodle's feedback-zip import gives a file (its own rule:
    the first path part that splits at '_' into name, numeric id, plugin type, plugin name)."""
    parts = path.split("/")
    while parts:
        info = parts.pop(0).split("_", 4)
        if len(info) < 4 or not info[1].isdigit() or (info[2], info[3]) != ("assignsubmission", "file"):
            continue
        return info[1], "/".join([info[4] if len(info) > 4 else "", *parts]).lstrip("/")
    return None


def test_feedback_zip_moodle_reads_and_no_student_sees_another(tmp_path):
    out = write_reports(tmp_path / "out", MOODLE_REPORTS + [_report("zed", 3, platform="folder", id="zed")])
    written = handback.write(out, tmp_path / "fb")
    with zipfile.ZipFile(written.moodle_zip) as zf:
        names = zf.namelist()
        targets = {_moodle_import_target(n) for n in names}
        assert targets == {(pid, f) for pid in ("101", "102", "104") for f in ("feedback.html", "feedback.md")}
        assert "Bob Ross_104_assignsubmission_file_/feedback.md" in names  # '_' of the name made a space
        for name in names:
            text = zf.read(name).decode()
            pid = _moodle_import_target(name)[0]
            others = {"101", "102", "104"} - {pid}
            assert f"fb {pid}" in text or f"msg {pid}" in text
            assert not any(f"fb {o}" in text or f"msg {o}" in text for o in others)
            assert "<script" not in text.lower()
    assert (tmp_path / "fb" / "zed.md").is_file() and (tmp_path / "fb" / "zed.html").is_file()
    assert "fb 101" not in (tmp_path / "fb" / "zed.html").read_text()


# ============================================================================ files


def test_written_files_follow_the_umask(tmp_path):
    from grader.renderers import write_atomic

    old = os.umask(0o027)
    try:
        write_atomic(tmp_path / "a.json", "{}")
        write_atomic(tmp_path / "b.zip", b"PK")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "a.json").stat().st_mode) == 0o640
    assert stat.S_IMODE((tmp_path / "b.zip").stat().st_mode) == 0o640


def test_the_batch_lock_leaves_nothing_behind_and_excludes_a_second_batch(tmp_path):
    out = tmp_path / "out"
    with batch._lock(out):
        with pytest.raises(batch.BatchError, match="another grader batch"):
            with batch._lock(out):
                pass
        # Another process too (flock is per open file description).
        code = (
            "import sys; from grader import batch; from pathlib import Path\n"
            "try:\n    batch._lock(Path(sys.argv[1])).__enter__()\nexcept batch.BatchError: sys.exit(7)"
        )
        assert subprocess.run([os.sys.executable, "-c", code, str(out)]).returncode == 7
    assert list(out.iterdir()) == []


# ============================================================================ end to end


def _rows(path: Path) -> list[dict]:
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def _batch(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return run_cli("batch", *args, "--assignment", "signals-profile", "--jobs", "2", cwd=cwd, timeout=600)


@pytest.mark.e2e
def test_moodle_download_to_worksheet_and_feedback_zip(tmp_path):
    """Moodle's "Download all submissions" zip as it comes: student zips (one a zip in a zip),
    a folder of files, online-text folders, non-ASCII names; the grading worksheet as the roster
    (with a student who submitted nothing); feedback files as Moodle's zip import wants them."""
    students = [ADA, JURGEN, ZOE]
    folder = dl.moodle(tmp_path / "download", students, tmp_path / "work")
    archive = dl.zip_folder(folder, tmp_path / "SIG101-Signals-1234.zip")
    roster = dl.moodle_worksheet(tmp_path / "worksheet.csv", [*students, BOB])
    proc = _batch(
        str(archive), "--roster", str(roster), "--feedback", "fb", "--blank-errors", "-o", "out", cwd=tmp_path
    )
    assert proc.returncode == 0, proc.stderr
    assert "recognised a moodle download" in proc.stderr
    out = tmp_path / "out"
    reports = {p.stem: validate(json.loads(p.read_text())) for p in out.glob("1*.json")}
    assert sorted(reports) == ["101", "102", "103", "104"]
    assert [reports[s]["score"] for s in ("101", "102", "103")] == [10, 1, 10]
    assert reports["104"]["status"] == "missing"
    assert reports["102"]["identity"] == {
        "platform": "moodle",
        "id": "102",
        "name": "Jürgen Müller",
        "login": "jm@uni.example",
        "late": False,
        "folder": "Jürgen Müller_102_assignsubmission_file_",
    }
    sheet = _rows(out / "grades-moodle.csv")
    assert [(r["Identifier"], r["Full name"], r["Grade"]) for r in sheet] == [
        ("Participant 101", "Ada Lovelace", "10"),
        ("Participant 102", "Jürgen Müller", "1"),
        ("Participant 103", "Zoë Ñúñez", "10"),
        ("Participant 104", "Bob Ross", "0"),
    ]
    grades = _rows(out / "grades.csv")
    assert [(r["student"], r["name"], r["id"], r["login"], r["status"]) for r in grades][3] == (
        "104",
        "Bob Ross",
        "104",
        "bob@uni.example",
        "missing",
    )
    with zipfile.ZipFile(tmp_path / "fb" / "moodle-feedback.zip") as zf:
        assert {_moodle_import_target(n)[0] for n in zf.namelist()} == {"101", "102", "103", "104"}
        jurgen = zf.read("Jürgen Müller_102_assignsubmission_file_/feedback.md").decode()
    assert "1 / 10" in jurgen and "Ada" not in jurgen
    assert not list(out.glob(".*")) and stat.S_IMODE((out / "101.json").stat().st_mode) & 0o044
    # The same download again: nothing to grade, the same students.
    again = _batch(str(archive), "--roster", str(roster), "-o", "out", cwd=tmp_path)
    assert again.returncode == 0 and "3 up to date" in again.stdout, again.stdout + again.stderr


@pytest.mark.e2e
def test_canvas_submissions_zip_to_gradebook_import(tmp_path):
    """Canvas's submissions zip: flat renamed files, a late student, a re-upload (-1 is the
    latest and the one graded), an online-text entry; the gradebook export as the roster."""
    students = [ADA, JURGEN, ZOE]
    archive = dl.canvas(
        tmp_path / "submissions.zip", students, tmp_path / "work", late={"102"}, resubmitted={"101"}, text_entry={"103"}
    )
    roster = dl.canvas_gradebook(tmp_path / "gradebook.csv", students)
    proc = _batch(str(archive), "--roster", str(roster), "--feedback", "fb", "-o", "out", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    out = tmp_path / "out"
    canvas = _rows(out / "grades-canvas.csv")
    assert [(r["Student"], r["ID"], r["signals-profile"]) for r in canvas] == [
        ("Lovelace, Ada", "101", "10"),
        ("Müller, Jürgen", "102", "1"),
        ("Ñúñez, Zoë", "103", "10"),
    ]
    grades = {r["student"]: r for r in _rows(out / "grades.csv")}
    assert grades["102"]["late"] == "late" and grades["101"]["late"] == ""
    assert not (out / "grades-moodle.csv").exists()
    assert sorted(p.name for p in (tmp_path / "fb").iterdir()) == [
        "101.html",
        "101.md",
        "102.html",
        "102.md",
        "103.html",
        "103.md",
    ]
    assert "Müller" in (tmp_path / "fb" / "102.html").read_text()


@pytest.mark.e2e
def test_github_classroom_clones_with_the_roster(tmp_path):
    students = [dl.Student("Ada Lovelace", "ada-l", True, "s1001"), dl.Student("Bob Ross", "bobr", False, "s1002")]
    clones = dl.github(tmp_path / "signals-profile-submissions", students)
    roster = dl.github_roster(
        tmp_path / "classroom_roster.csv", [*students, dl.Student("Cy Absent", "cy", True, "s1003")]
    )
    proc = _batch(str(clones), "--roster", str(roster), "-o", "out", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    grades = [
        (r["student"], r["name"], r["login"], r["total"], r["status"]) for r in _rows(tmp_path / "out" / "grades.csv")
    ]
    assert grades == [
        ("ada-l", "Ada Lovelace", "s1001", "10", "graded"),
        ("bobr", "Bob Ross", "s1002", "1", "graded"),
        ("cy", "Cy Absent", "s1003", "0", "missing"),
    ]
    canvas = _rows(tmp_path / "out" / "grades-canvas.csv")
    assert canvas[0]["SIS User ID"] == "s1001"


@pytest.mark.e2e
def test_a_download_that_is_not_what_the_batch_expects(tmp_path):
    source = tmp_path / "class"
    for name in ("a", "b", "c", "d"):
        _touch(source / name / "project.rar", b"Rar!")
    build_submission(source / "e")
    proc = _batch(str(source), "-o", "out", cwd=tmp_path)
    assert proc.returncode == 2
    assert re.search(r"4 of 5 submissions hold only an archive the grader cannot open", proc.stderr)
    assert proc.stderr.count("4 of 5") == 1 and not (tmp_path / "out" / "a.json").exists()
    # Every submission an error: the batch writes the reports and says so with exit 1.
    (source / "e" / "manage.py").unlink()
    (source / "e" / "project.rar").write_bytes(b"Rar!")
    proc = _batch(str(source), "-o", "out", "--keep-going", cwd=tmp_path)
    assert proc.returncode == 1, proc.stderr
    assert "no submission could be graded" in proc.stderr
    assert json.loads((tmp_path / "out" / "a.json").read_text())["status"] == "error"


@pytest.mark.e2e
def test_grade_a_missing_path_or_an_archive(tmp_path):
    proc = run_cli("grade", str(tmp_path / "nope"), cwd=tmp_path)
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1 and "does not exist" in proc.stderr
    assert not (tmp_path / "reports").exists()
    archive = tmp_path / "ada-signals.zip"
    archive.write_bytes(dl.project_zip(ADA, tmp_path))
    proc = run_cli("grade", str(archive), "-q", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    report = validate(json.loads((tmp_path / "reports" / "ada-signals.json").read_text()))
    assert report["score"] == 10 and report["submission"] == "ada-signals"
