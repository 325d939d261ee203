"""What a batch grades: SOURCE (a folder, or a .zip extracted safely) read in its platform's
layout, one :class:`Submission` per student, each ready to grade (the student's own archives
unpacked); what cannot be graded is rejected with a reason for the student."""
from __future__ import annotations

import contextlib
import dataclasses
import os
import shutil
import tempfile
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from grader import archives, discover, fstree, platforms
from grader.batch.errors import BatchError
from grader.batch.names import printable, report_names, student_id
from grader.names import Distinct, component, label
from grader.model import Identity
from grader.runner import COPY_IGNORE, SUBMISSION_LIMITS

SKIP_NAMES = platforms.SKIP_NAMES   # never submissions: tool folders, __MACOSX

# Zip extraction limits.
ZIP_MAX_TOTAL_BYTES = 4 * 1024 ** 3          # the whole archive, uncompressed
ZIP_MAX_SUBMISSION_BYTES = SUBMISSION_LIMITS["max_bytes"]    # one student's folder, uncompressed
ZIP_MAX_SUBMISSION_FILES = SUBMISSION_LIMITS["max_entries"]
ZIP_MAX_MEMBERS = 500_000


@dataclass(frozen=True)
class Submission:
    student: str            # the student id: platform id, username or folder name (made printable)
    path: Path              # the folder to grade (discovery finds a project nested below it)
    report: Path            # DIR/<student>.json
    identity: Identity | None = None


@dataclass
class Source:
    root: Path                                               # the folder holding the submissions
    submissions: list[Submission] = field(default_factory=list)
    rejected: dict[str, str] = field(default_factory=dict)   # student -> why it cannot be graded
    missing: list[str] = field(default_factory=list)         # on the roster, nothing submitted
    identities: dict[str, Identity] = field(default_factory=dict)
    layout: str = "folders"
    kinds: dict[str, str] = field(default_factory=dict)      # student -> kind of problem (rejected)
    reports: dict[str, Path] = field(default_factory=dict)   # student -> DIR/<student>.json
    notes: list[str] = field(default_factory=list)           # things the instructor should know
    tempdir: Path | None = None                              # extraction folder (removed at the end)

    def cleanup(self) -> None:
        if self.tempdir is not None:
            fstree.remove(self.tempdir)
            self.tempdir = None


def _inside(path: Path, folder: Path) -> bool:
    try:
        path.resolve().relative_to(folder.resolve())
        return True
    except ValueError:
        return False


_size = archives.size_text


_zip_parts = archives.member_parts
_member_kind = archives.zip_member_kind


def _zip_time(info: zipfile.ZipInfo, ceiling: float) -> float:
    try:
        return min(time.mktime((*info.date_time, 0, 0, -1)), ceiling)
    except (OverflowError, ValueError):
        return ceiling


def _wrapper(entries: list[tuple[list[str], zipfile.ZipInfo]]) -> str | None:
    """The single folder wrapping all submissions of an archive (``class.zip`` holding
    ``class/alice/...``, ``class/bob/...``), or None. A lone folder is a wrapper only when
    it has no manage.py itself and at least two of its entries are submissions: folders that
    hold a project, a platform's submission folders or files, or archives."""
    tops = {parts[0] for parts, _ in entries}
    if len(tops) != 1 or any(len(parts) == 1 and _member_kind(i) != "dir" for parts, i in entries):
        return None
    top = tops.pop()
    projects: set[str] = set()
    for parts, _ in entries:
        if parts[-1] == "manage.py":
            if len(parts) == 2:
                return None
            if len(parts) in (3, 4):
                projects.add(parts[1])
        elif len(parts) >= 2 and (platforms.MOODLE.match(parts[1]) or
                                  (len(parts) == 2 and (platforms.CANVAS.match(parts[1])
                                                        or archives.kind(Path(parts[1]))))):
            projects.add(parts[1])
    return top if len(projects) >= 2 else None


def extract_zip(archive: Path, dest: Path, *, max_total: int = ZIP_MAX_TOTAL_BYTES,
                max_submission: int = ZIP_MAX_SUBMISSION_BYTES,
                max_files: int = ZIP_MAX_SUBMISSION_FILES,
                max_members: int = ZIP_MAX_MEMBERS,
                stand_ins: bool = False) -> tuple[list[str], dict[str, str], list[str]]:
    """Extract the submissions of `archive` into `dest`, safely.

    Member names are checked (no absolute paths, no ``..``), only folders and regular
    files are created (no symbolic links or devices), encrypted members are left out,
    and sizes are capped: a submission over its cap is rejected (not extracted), an
    archive over the total cap is refused. File times come from the archive, so that
    re-running on the same archive finds the reports up to date. With `stand_ins`, a rejected
    top-level entry is left as an empty folder (or file) of the same name, so that the
    platform's layout still tells whose it was.

    Returns (the top-level folder names extracted, {folder: why rejected}, notes).
    """
    try:
        zf = zipfile.ZipFile(archive)
    except (OSError, zipfile.BadZipFile) as exc:
        raise BatchError(f"{archive}: not a readable zip archive ({exc})") from None
    notes: list[str] = []
    rejected: dict[str, str] = {}
    ceiling = archive.stat().st_mtime
    with zf:
        infos = zf.infolist()
        if len(infos) > max_members:
            raise BatchError(f"{archive}: {len(infos)} members, more than the {max_members} accepted")
        entries: list[tuple[list[str], zipfile.ZipInfo]] = []
        unsafe = 0
        for info in infos:
            parts = _zip_parts(archives.zip_name(info))
            if parts is None:
                unsafe += 1
                continue
            if parts and platforms.is_submission(parts[0]):
                entries.append((parts, info))
        if unsafe:
            notes.append(f"{unsafe} member(s) with an absolute or '..' path were not extracted")
        wrapper = _wrapper(entries)
        if wrapper is not None:
            entries = [(parts[1:], info) for parts, info in entries if len(parts) > 1]
        # Files at the top are kept: a Canvas download is nothing but files, and a class of
        # archives is one archive per student. The layout decides what they are.
        entries = [(parts, info) for parts, info in entries if parts]

        sizes: dict[str, int] = {}
        counts: dict[str, int] = {}
        for parts, info in entries:
            sizes[parts[0]] = sizes.get(parts[0], 0) + info.file_size
            counts[parts[0]] = counts.get(parts[0], 0) + 1
        if sum(sizes.values()) > max_total:
            raise BatchError(f"{archive}: {_size(sum(sizes.values()))} uncompressed, more than the "
                             f"{_size(max_total)} accepted")
        deepest: dict[str, int] = {}
        for parts, _ in entries:
            deepest[parts[0]] = max(deepest.get(parts[0], 0), len(parts) - 1)
        for top in sizes:
            if deepest[top] > SUBMISSION_LIMITS["max_depth"]:
                rejected[top] = (f"the submission has folders nested more than "
                                 f"{SUBMISSION_LIMITS['max_depth']} levels deep")
            elif sizes[top] > max_submission:
                rejected[top] = (f"the submission is {_size(sizes[top])} uncompressed, more than the "
                                 f"{_size(max_submission)} the grader accepts")
            elif counts[top] > max_files:
                rejected[top] = (f"the submission has {counts[top]} files, more than the {max_files} "
                                 "the grader accepts")

        skipped_links = skipped_special = skipped_encrypted = 0
        dir_times: dict[Path, float] = {}
        for parts, info in entries:
            top = parts[0]
            if top in rejected:
                continue
            kind = _member_kind(info)
            target = dest.joinpath(*parts)
            if not _inside(target.parent if kind != "dir" else target, dest):
                unsafe += 1
                continue
            if kind == "symlink":
                skipped_links += 1
                continue
            if kind == "special":
                skipped_special += 1
                continue
            if kind == "file" and info.flag_bits & 0x1:
                skipped_encrypted += 1
                continue
            try:
                if kind == "dir":
                    target.mkdir(parents=True, exist_ok=True)
                    dir_times[target] = _zip_time(info, ceiling)
                    continue
                target.parent.mkdir(parents=True, exist_ok=True)
                if target.is_dir():
                    continue
                with zf.open(info) as src, open(target, "wb") as out:
                    written = 0
                    while chunk := src.read(1024 * 1024):
                        written += len(chunk)
                        if written > info.file_size:
                            raise zipfile.BadZipFile("member larger than it claims")
                        out.write(chunk)
            except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError,
                    NotImplementedError, RuntimeError) as exc:
                rejected[top] = f"the archive entry {'/'.join(parts[1:])} cannot be extracted ({exc})"
                fstree.remove(dest / top)
                continue
            t = _zip_time(info, ceiling)
            os.utime(target, (t, t))
        # Folder times: their own entry's, or their newest content's (bottom-up).
        for folder, dirnames, filenames in os.walk(dest, topdown=False):
            path = Path(folder)
            if path == dest:
                continue
            times = [os.lstat(path / n).st_mtime for n in (*dirnames, *filenames)]
            t = max([dir_times.get(path, 0.0), *times]) or ceiling
            os.utime(path, (t, t))
    if stand_ins:
        was_dir = {parts[0] for parts, info in entries if len(parts) > 1 or _member_kind(info) == "dir"}
        for top in rejected:
            with contextlib.suppress(OSError):
                if top in was_dir:
                    (dest / top).mkdir(exist_ok=True)
                else:
                    (dest / top).touch()
    for count, what in ((skipped_links, "symbolic link(s)"), (skipped_special, "special file(s)"),
                        (skipped_encrypted, "encrypted member(s)")):
        if count:
            notes.append(f"{count} {what} in the archive were not extracted")
    tops = sorted({parts[0] for parts, _ in entries if parts[0] not in rejected})
    return [t for t in tops if (dest / t).exists()], rejected, notes


def open_source(source: Path, output_dir: Path, scratch: Path | None = None, layout: str = "auto",
                roster: platforms.Roster | None = None) -> Source:
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
            result.notes.append(f"{printable(sid)}: another student's name reads the same once its "
                                "unprintable characters are replaced; told apart by its ~ number")
        students[sid] = found
    missing = {student_id(f.student): f for f in gathered.missing if student_id(f.student).casefold()
               not in distinct.taken}
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
    return dataclasses.replace(identity, **{key: label(getattr(identity, key))
                                            for key in ("id", "name", "login", "folder")})


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
        raise Unprepared(f"{archive.name} is a {archives.kind_label(archive)} archive, which the grader "
                         "cannot open: submit the project as a .zip", "unsupported-archive")
    try:
        # its own folder, named as a file the grader makes: never hidden (discovery would not
        # look inside), never '..' (an archive named '...zip')
        return archives.unpack(archive, dest / component(archives.stem(archive)),
                               fstree.Limits(**SUBMISSION_LIMITS)).notes
    except archives.ArchiveError as exc:
        raise Unprepared(str(exc), "damaged-archive") from None


def prepare(found: platforms.Found, work: Path) -> tuple[Path, list[str]]:
    """The folder to grade for one student of a download: their own folder when it holds a
    project; otherwise a folder under `work` where their archives are unpacked (one more level
    of archives inside those too) and their loose files copied. Raises Unprepared."""
    if not found.items:
        if found.extra:
            raise Unprepared("only an online text was submitted, no files: the project must be "
                             "uploaded as files (a .zip of the project folder)", "online-text-only")
        raise Unprepared("the submission holds no files", "empty")
    if len(found.items) == 1 and found.items[0].is_dir() and \
            (_has_project(found.items[0]) or not _archives_in(found.items[0])):
        return found.items[0], []
    notes: list[str] = []
    work.mkdir(parents=True, exist_ok=True)
    for item in found.items:
        if item.is_dir():
            bundled = _archives_in(item)
            if _has_project(item) or not bundled:
                failed = fstree.copy(item, work / component(item.name), COPY_IGNORE,
                                     fstree.Limits(**SUBMISSION_LIMITS))
                notes += [f"{f} could not be copied" for f in failed[:3]]
            for archive in bundled:
                notes += _unpack_into(archive, work)
        elif archives.kind(item):
            notes += _unpack_into(item, work)
        else:
            name = platforms.own_name(item, found.identity.platform)
            if item.stat().st_size > SUBMISSION_LIMITS["max_bytes"]:
                raise Unprepared(f"{name} is larger than a submission may be", "over-a-limit")
            shutil.copyfile(item, work / component(name))   # (a Canvas name may end in '..')
    if not _has_project(work):
        inner = _archives_in(work, depth=4)
        if len(inner) == 1:  # an archive inside the archive
            notes += _unpack_into(inner[0], inner[0].parent)
    return work, notes
