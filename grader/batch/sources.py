"""What a batch grades: SOURCE (a folder, or a .zip extracted safely) read in its platform's
layout, one :class:`Submission` per student, each ready to grade (the student's own archives
unpacked); what cannot be graded is rejected with a reason for the student."""

from __future__ import annotations

import dataclasses
import shutil
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from grader import archives, discover, fstree, platforms
from grader.batch.errors import BatchError
from grader.batch.names import printable, report_names, student_id
from grader.model import Identity
from grader.names import Distinct, component, label
from grader.runner import COPY_IGNORE, SUBMISSION_LIMITS

SKIP_NAMES = platforms.SKIP_NAMES  # never submissions: tool folders, __MACOSX

# Zip extraction limits.
ZIP_MAX_TOTAL_BYTES = 4 * 1024**3  # the whole archive, uncompressed
ZIP_MAX_SUBMISSION_BYTES = SUBMISSION_LIMITS["max_bytes"]  # one student's folder, uncompressed
ZIP_MAX_SUBMISSION_FILES = SUBMISSION_LIMITS["max_entries"]
ZIP_MAX_MEMBERS = 500_000


@dataclass(frozen=True)
class Submission:
    student: str  # the student id: platform id, username or folder name (made printable)
    path: Path  # the folder to grade (discovery finds a project nested below it)
    report: Path  # DIR/<student>.json
    identity: Identity | None = None


@dataclass
class Source:
    root: Path  # the folder holding the submissions
    submissions: list[Submission] = field(default_factory=list)
    rejected: dict[str, str] = field(default_factory=dict)  # student -> why it cannot be graded
    missing: list[str] = field(default_factory=list)  # on the roster, nothing submitted
    identities: dict[str, Identity] = field(default_factory=dict)
    layout: str = "folders"
    kinds: dict[str, str] = field(default_factory=dict)  # student -> kind of problem (rejected)
    reports: dict[str, Path] = field(default_factory=dict)  # student -> DIR/<student>.json
    notes: list[str] = field(default_factory=list)  # things the instructor should know
    tempdir: Path | None = None  # extraction folder (removed at the end)

    def cleanup(self) -> None:
        if self.tempdir is not None:
            fstree.remove(self.tempdir)
            self.tempdir = None


_inside = archives.inside


def _wrapper(entries: list[archives.Member]) -> str | None:
    """The single folder wrapping all submissions of an archive (``class.zip`` holding
    ``class/alice/...``, ``class/bob/...``), or None. A lone folder is a wrapper only when
    it has no manage.py itself and at least two of its entries are submissions: folders that
    hold a project, a platform's submission folders or files, or archives."""
    tops = {m.parts[0] for m in entries}
    if len(tops) != 1 or any(len(m.parts) == 1 and m.kind != "dir" for m in entries):
        return None
    top = tops.pop()
    projects: set[str] = set()
    for parts in (m.parts for m in entries):
        if parts[-1] == "manage.py":
            if len(parts) == 2:
                return None
            if len(parts) in (3, 4):
                projects.add(parts[1])
        elif len(parts) >= 2 and (
            platforms.MOODLE.match(parts[1])
            or (len(parts) == 2 and (platforms.CANVAS.match(parts[1]) or archives.kind(Path(parts[1]))))
        ):
            projects.add(parts[1])
    return top if len(projects) >= 2 else None


def extract_zip(
    archive: Path,
    dest: Path,
    *,
    max_total: int = ZIP_MAX_TOTAL_BYTES,
    max_submission: int = ZIP_MAX_SUBMISSION_BYTES,
    max_files: int = ZIP_MAX_SUBMISSION_FILES,
    max_members: int = ZIP_MAX_MEMBERS,
    stand_ins: bool = False,
) -> tuple[list[str], dict[str, str], list[str]]:
    """Extract the submissions of `archive` into `dest`, safely (archives.extract_class, the
    grader's one extractor: names checked, no links or devices, encrypted members left out,
    sizes capped).

    A submission over its cap is rejected (not extracted), an archive over the total cap is
    refused (BatchError). File times come from the archive, so that re-running on the same
    archive finds the reports up to date. With `stand_ins`, a rejected top-level entry is left
    as an empty folder (or file) of the same name, so that the platform's layout still tells
    whose it was. The single folder wrapping all submissions (``class/alice/...``) is unwrapped.

    Returns (the top-level folder names extracted, {folder: why rejected}, notes).
    """
    try:
        return archives.extract_class(
            archive,
            dest,
            keep=platforms.is_submission,
            unwrap=_wrapper,
            max_total=max_total,
            max_submission=max_submission,
            max_files=max_files,
            max_depth=SUBMISSION_LIMITS["max_depth"],
            max_members=max_members,
            stand_ins=stand_ins,
        )
    except archives.ArchiveError as exc:
        raise BatchError(str(exc)) from None


def open_source(
    source: Path,
    output_dir: Path,
    scratch: Path | None = None,
    layout: str = "auto",
    roster: platforms.Roster | None = None,
) -> Source:
    """The submissions of SOURCE (a folder, or a .zip extracted into a temporary folder,
    under `scratch` when given), in the platform `layout`, each ready to grade (its own
    archives unpacked under `scratch`)."""
    source = Path(source)
    if not source.exists():
        raise BatchError(f"{source} does not exist")
    scratch = Path(scratch or tempfile.mkdtemp(prefix="grader-batch-"))
    stand_ins: dict[Path, str] = {}
    if source.is_dir():
        result = Source(root=source)
    elif zipfile.is_zipfile(source):
        tempdir = Path(tempfile.mkdtemp(prefix="grader-batch-source-", dir=scratch))
        result = Source(root=tempdir, tempdir=tempdir)
        try:
            _, rejected, notes = extract_zip(source, tempdir, stand_ins=True)
            stand_ins = {tempdir / top: why for top, why in rejected.items()}
        except BaseException:
            result.cleanup()
            raise
        result.notes = notes
    else:
        raise BatchError(f"{source} is neither a folder nor a .zip archive")
    try:
        gathered = platforms.gather(result.root, layout, roster)
    except platforms.LayoutError as exc:
        result.cleanup()
        raise BatchError(str(exc)) from None
    result.layout = gathered.layout
    result.notes += gathered.notes
    # Leave out the output folder (a batch writing its reports inside SOURCE).
    kept = []
    for found in gathered.found:
        if any(_inside(output_dir, item) for item in found.items if item.is_dir()):
            result.notes.append(f"{printable(found.student)}: holds the output folder; left out")
        else:
            kept.append(found)
    # The student id is text made from the platform's name (names.student_id): two students
    # whose names differ only in what that leaves out (undecodable bytes, controls) are both
    # graded, told apart by "~2".
    students: dict[str, platforms.Found] = {}
    distinct = Distinct()
    for found in sorted(kept, key=lambda f: f.student.encode("utf-8", "surrogatepass")):
        sid = distinct(student_id(found.student))
        if sid != student_id(found.student):
            result.notes.append(
                f"{printable(sid)}: another student's name reads the same once its "
                "unprintable characters are replaced; told apart by its ~ number"
            )
        students[sid] = found
    missing = {
        student_id(f.student): f for f in gathered.missing if student_id(f.student).casefold() not in distinct.taken
    }
    for found in [*students.values(), *missing.values()]:
        found.identity = _readable(found.identity)
    names = report_names([*students, *missing])
    result.reports = {s: output_dir / name for s, name in names.items()}
    result.missing = sorted(missing)
    for sid, found in missing.items():
        result.identities[sid] = found.identity
    work = scratch / "submissions"
    for n, (sid, found) in enumerate(sorted(students.items())):
        result.identities[sid] = found.identity
        why = next((stand_ins[i] for i in found.items if i in stand_ins), None)
        if why:
            result.rejected[sid] = why
            result.kinds[sid] = "over-a-limit"
            continue
        try:
            path, notes = prepare(found, work / str(n))
        except Unprepared as exc:
            result.rejected[sid] = str(exc)
            result.kinds[sid] = exc.kind
            continue
        result.notes += [f"{printable(sid)}: {note}" for note in notes]
        result.submissions.append(Submission(sid, path, result.reports[sid], found.identity))
    return result


class Unprepared(Exception):
    """A student's entries of the download hold nothing to grade; the message is for them."""

    def __init__(self, message: str, kind: str):
        super().__init__(message)
        self.kind = kind


def _readable(identity: Identity) -> Identity:
    """The identity as reports show it: names as text (names.label: no bidi or control
    characters, undecodable bytes as U+FFFD)."""
    readable: dict[str, Any] = {key: label(getattr(identity, key)) for key in ("id", "name", "login", "folder")}
    return dataclasses.replace(identity, **readable)


def _archives_in(folder: Path, depth: int = 2) -> list[Path]:
    """Archives in `folder` and (up to `depth` levels) below it, leaving out __MACOSX."""
    found, level = [], [folder]
    for _ in range(depth):
        following = []
        for f in level:
            try:
                children = sorted(f.iterdir())
            except OSError:
                continue
            for child in children:
                if child.name.startswith(".") or child.name in archives.JUNK_DIRS or child.is_symlink():
                    continue
                if child.is_dir():
                    following.append(child)
                elif archives.kind(child):
                    found.append(child)
        level = following
    return found


def _has_project(folder: Path) -> bool:
    try:
        discover.find_project_root(folder)
        return True
    except discover.DiscoveryError as exc:
        return exc.kind != "no-manage-py"


def _unpack_into(archive: Path, dest: Path) -> list[str]:
    if archives.kind(archive) == "unsupported":
        raise Unprepared(
            f"{archive.name} is a {archives.kind_label(archive)} archive, which the grader "
            "cannot open: submit the project as a .zip",
            "unsupported-archive",
        )
    try:
        # its own folder, named as a file the grader makes: never hidden (discovery would not
        # look inside), never '..' (an archive named '...zip')
        return archives.unpack(
            archive, dest / component(archives.stem(archive)), fstree.Limits(**SUBMISSION_LIMITS)
        ).notes
    except archives.ArchiveError as exc:
        raise Unprepared(str(exc), "damaged-archive") from None


def prepare(found: platforms.Found, work: Path) -> tuple[Path, list[str]]:
    """The folder to grade for one student of a download: their own folder when it holds a
    project; otherwise a folder under `work` where their archives are unpacked (one more level
    of archives inside those too) and their loose files copied. Raises Unprepared."""
    if not found.items:
        if found.extra:
            raise Unprepared(
                "only an online text was submitted, no files: the project must be "
                "uploaded as files (a .zip of the project folder)",
                "online-text-only",
            )
        raise Unprepared("the submission holds no files", "empty")
    if (
        len(found.items) == 1
        and found.items[0].is_dir()
        and (_has_project(found.items[0]) or not _archives_in(found.items[0]))
    ):
        return found.items[0], []
    notes: list[str] = []
    work.mkdir(parents=True, exist_ok=True)
    for item in found.items:
        if item.is_dir():
            bundled = _archives_in(item)
            if _has_project(item) or not bundled:
                failed = fstree.copy(item, work / component(item.name), COPY_IGNORE, fstree.Limits(**SUBMISSION_LIMITS))
                notes += [f"{f} could not be copied" for f in failed[:3]]
            for archive in bundled:
                notes += _unpack_into(archive, work)
        elif archives.kind(item):
            notes += _unpack_into(item, work)
        else:
            name = platforms.own_name(item, found.identity.platform)
            if item.stat().st_size > SUBMISSION_LIMITS["max_bytes"]:
                raise Unprepared(f"{name} is larger than a submission may be", "over-a-limit")
            shutil.copyfile(item, work / component(name))  # (a Canvas name may end in '..')
    if not _has_project(work):
        inner = _archives_in(work, depth=4)
        if len(inner) == 1:  # an archive inside the archive
            notes += _unpack_into(inner[0], inner[0].parent)
    return work, notes
