"""Class downloads as learning platforms really produce them, built from the student template.

Each builder takes a list of :class:`Student` and writes the platform's download: Moodle's
"Download all submissions" (a folder per student and plugin, the student's own .zip inside,
online-text folders beside), Canvas's submissions zip (flat, renamed files, late flags,
re-uploads with -1), GitHub Classroom's clones (``<assignment>-<username>`` with .git).
"""

from __future__ import annotations

import io
import shutil
import zipfile
from dataclasses import dataclass
from pathlib import Path

from conftest import build_submission

ASSIGNMENT = "signals-profile"


@dataclass
class Student:
    name: str  # full name, as the platform shows it
    id: str  # Moodle participant id, Canvas user id, GitHub username
    solved: bool = True  # the reference solution (10/10) or the bare template (1/10)
    email: str = ""


def project_zip(student: Student, work: Path, top: str = "mysite-project", nested: bool = False) -> bytes:
    """The student's own .zip of their project: the project inside a folder (as "Send to >
    Compressed folder" makes it), with __MACOSX junk; `nested`: that zip inside another zip."""
    project = build_submission(work / f"p-{student.id}", solution=student.solved)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(project.rglob("*")):
            if path.is_file():
                zf.write(path, f"{top}/{path.relative_to(project).as_posix()}")
        zf.writestr(f"__MACOSX/{top}/._manage.py", b"\x00\x05\x16\x07junk")
    shutil.rmtree(project)
    if not nested:
        return buf.getvalue()
    outer = io.BytesIO()
    with zipfile.ZipFile(outer, "w") as zf:
        zf.writestr("submission/project.zip", buf.getvalue())
    return outer.getvalue()


def zip_folder(folder: Path, archive: Path) -> Path:
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(folder.rglob("*")):
            zf.write(path, path.relative_to(folder).as_posix())
    return archive


def moodle(dest: Path, students: list[Student], work: Path, *, online_text: bool = True, trailing: bool = True) -> Path:
    """Moodle's download, unzipped into `dest`: ``Full Name_<id>_assignsubmission_file_/`` with
    the student's .zip (the second student's is a zip inside a zip, the third's is a plain
    folder of files), and an online-text folder for every other student."""
    dest.mkdir(parents=True)
    end = "_" if trailing else ""
    for i, s in enumerate(students):
        folder = dest / f"{s.name}_{s.id}_assignsubmission_file{end}"
        folder.mkdir()
        if i % 3 == 2:
            build_submission(folder / "mysite", solution=s.solved)
        else:
            (folder / f"{s.name.split()[0]}-signals.zip").write_bytes(project_zip(s, work, nested=(i % 3 == 1)))
        if online_text and i % 2 == 0:
            text = dest / f"{s.name}_{s.id}_assignsubmission_onlinetext{end}"
            text.mkdir()
            (text / "onlinetext.html").write_text("<p>My project is attached.</p>", encoding="utf-8")
    return dest


def moodle_worksheet(path: Path, students: list[Student]) -> Path:
    """Moodle's "Download grading worksheet" for these students (the roster a Moodle course has)."""
    lines = [
        "Identifier,Full name,Email address,Status,Grade,Maximum Grade,Grade can be changed,"
        "Last modified (submission),Last modified (grade),Feedback comments"
    ]
    for s in students:
        lines.append(
            f"Participant {s.id},{s.name},{s.email},Submitted for grading,,10.00,Yes,"
            '"Monday, 2 November 2026, 10:00 AM",-,'
        )
    path.write_text("\n".join(lines) + "\n", encoding="utf-8-sig")
    return path


def canvas_name(s: Student) -> str:
    """Canvas's file-name form of a sortable name: "Lovelace, Ada" -> "lovelaceada"."""
    last, first = s.name.split()[-1], " ".join(s.name.split()[:-1])
    return "".join(ch for ch in f"{last}{first}" if ch.isalnum()).lower()


def canvas(
    archive: Path,
    students: list[Student],
    work: Path,
    *,
    late: set[str] = frozenset(),
    resubmitted: set[str] = frozenset(),
    text_entry: set[str] = frozenset(),
) -> Path:
    """Canvas's submissions zip: flat ``<name>[_late]_<user id>_<attachment id>_<file>`` files.
    A student in `resubmitted` uploaded project.zip twice: the first (broken: the template)
    stays as project.zip, the latest (theirs) is project-1.zip."""
    attachment = 9000
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        for s in students:
            prefix = canvas_name(s) + ("_late" if s.id in late else "") + f"_{s.id}"
            if s.id in text_entry:
                zf.writestr(f"{prefix}_text.html", "<p>see the zip</p>")
            if s.id in resubmitted:
                attachment += 1
                zf.writestr(
                    f"{prefix}_{attachment}_project.zip", project_zip(Student(s.name, s.id, solved=False), work)
                )
                attachment += 1
                zf.writestr(f"{prefix}_{attachment}_project-1.zip", project_zip(s, work))
            else:
                attachment += 1
                zf.writestr(f"{prefix}_{attachment}_project.zip", project_zip(s, work))
    return archive


def canvas_gradebook(path: Path, students: list[Student]) -> Path:
    """Canvas's gradebook export (Grades > Export): the roster of a Canvas course."""
    lines = ["Student,ID,SIS User ID,SIS Login ID,Section,Signals (4411)", "    Points Possible,,,,,10.00"]
    for s in students:
        last, first = s.name.split()[-1], " ".join(s.name.split()[:-1])
        lines.append(f'"{last}, {first}",{s.id},S{s.id},{s.email},Section 1,')
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def github(dest: Path, students: list[Student], assignment: str = "signals-profile") -> Path:
    """GitHub Classroom's clones (``gh classroom clone student-repos``)."""
    dest.mkdir(parents=True)
    for s in students:
        repo = build_submission(dest / f"{assignment}-{s.id}", solution=s.solved)
        (repo / ".git").mkdir()
        (repo / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    return dest


def github_roster(path: Path, students: list[Student]) -> Path:
    """GitHub Classroom's roster export."""
    lines = ['"identifier","github_username","github_id","name"']
    lines += [f'"{s.email}","{s.id}","{1000 + i}","{s.name}"' for i, s in enumerate(students)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
