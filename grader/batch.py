"""Grade a whole class: ``grader batch SOURCE``.

SOURCE is a folder whose sub-folders are the submissions (the sub-folder's name
is the student id), or a .zip of such folders. Each submission is graded by
:func:`grader.api.grade` in its own worker process (forked from a
single-threaded fork server with the grader preloaded: a crash or a hang of
one grading cannot take the batch with it), several at a time. Each report is written atomically to ``DIR/<student>.json`` as soon as
it is done, so an interrupted batch loses nothing it finished; the next run
skips every report that is newer than its submission and made by the same
grader and rubric. At the end the gradebook is (re)written from the reports
(:mod:`grader.gradebook`).

A worker that crashes, hangs past its deadline or cannot write its report
gets an error report for its student (marked as a grader fault, so the next
run grades it again); the batch carries on.
"""
from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import multiprocessing
import multiprocessing.connection
import os
import re
import shutil
import signal
import stat
import sys
import tempfile
import time
import zipfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from grader import __version__, api, archives, discover, fstree, gradebook, platforms, rubric, runtime, sandbox
from grader.discover import IGNORED_DIRS
from grader.model import Identity, Report, RunStatus
from grader.renderers import json_report, safe, write_atomic
from grader.runner import COPY_IGNORE, SUBMISSION_LIMITS

# Time a worker may take beyond the assignment's wall_time_s (copying, start-up, evidence).
WORKER_GRACE_S = 120.0
STOP_WAIT_S = 10.0
LOCK_NAME = ".grader-batch.lock"   # what graders before 0.2 left behind
SKIP_NAMES = frozenset({"__MACOSX"}) | IGNORED_DIRS
# Report names that would collide with the gradebook's own files (or, with --feedback in the
# same folder, a student's feedback page with report.html).
RESERVED_STEMS = frozenset(Path(name).stem.casefold() for name in gradebook.OWN_FILES) | {"moodle-feedback"}
MAX_NAME_BYTES = 200

# Zip extraction limits.
ZIP_MAX_TOTAL_BYTES = 4 * 1024 ** 3          # the whole archive, uncompressed
ZIP_MAX_SUBMISSION_BYTES = SUBMISSION_LIMITS["max_bytes"]    # one student's folder, uncompressed
ZIP_MAX_SUBMISSION_FILES = SUBMISSION_LIMITS["max_entries"]
ZIP_MAX_MEMBERS = 500_000

_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")


class BatchError(Exception):
    """A usage problem of the batch (bad SOURCE, output folder busy, ...): exit status 2."""


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


# --------------------------------------------------------------------------- names

def student_id(name: str) -> str:
    """The student id of a folder name: control characters and undecodable bytes replaced."""
    return _CONTROL.sub("_", name).strip() or "_"


def report_names(students: list[str]) -> dict[str, str]:
    """A distinct, safe file name (``<student>.json``) for every student id."""
    names: dict[str, str] = {}
    taken: set[str] = set()
    for student in sorted(students):
        base = student.replace("/", "_").replace("\\", "_")
        if base.startswith("."):
            base = "_" + base[1:]
        if len(base.encode()) > MAX_NAME_BYTES:
            digest = hashlib.sha256(student.encode("utf-8", "replace")).hexdigest()[:10]
            base = base.encode()[:MAX_NAME_BYTES - 12].decode("utf-8", "ignore") + "-" + digest
        candidate, n = base, 1
        while candidate.casefold() in taken or candidate.casefold() in RESERVED_STEMS:
            n += 1
            candidate = f"{base}~{n}"
        taken.add(candidate.casefold())
        names[student] = candidate + ".json"
    return names


def printable(text: str) -> str:
    """Text safe to print on a terminal (no escape sequences, on one line)."""
    return safe.terminal(text, keep_newlines=False)


# --------------------------------------------------------------------------- source

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
            if parts and parts[0] not in SKIP_NAMES and not parts[0].startswith("."):
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
    students = {student_id(f.student): f for f in kept}
    if len(students) < len(kept):
        result.notes.append("some student ids differ only in unprintable characters; one of each kept")
    missing = {student_id(f.student): f for f in gathered.missing if student_id(f.student) not in students}
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
        return archives.unpack(archive, dest / archives.stem(archive),
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
                failed = fstree.copy(item, work / item.name, COPY_IGNORE, fstree.Limits(**SUBMISSION_LIMITS))
                notes += [f"{f} could not be copied" for f in failed[:3]]
            for archive in bundled:
                notes += _unpack_into(archive, work)
        elif archives.kind(item):
            notes += _unpack_into(item, work)
        else:
            name = item.name
            m = platforms.CANVAS.match(name) if found.identity.platform == "canvas" else None
            if found.identity.platform == "canvas" and m:
                name = m["file"]
            elif found.identity.platform == "moodle":
                mm = platforms.MOODLE.match(name)
                name = (mm["rest"] if mm and mm["rest"] else name)
            if item.stat().st_size > SUBMISSION_LIMITS["max_bytes"]:
                raise Unprepared(f"{name} is larger than a submission may be", "over-a-limit")
            shutil.copyfile(item, work / name)
    if not _has_project(work):
        inner = _archives_in(work, depth=4)
        if len(inner) == 1:  # an archive inside the archive
            notes += _unpack_into(inner[0], inner[0].parent)
    return work, notes


# --------------------------------------------------------------------------- up to date?

@dataclass(frozen=True)
class Decision:
    grade: bool
    reason: str


def submission_digest(folder: Path) -> str:
    """A hash of what grading copies of `folder` (not .git, caches or virtual environments):
    a resubmission counts as new when its content differs, whatever its files' times.
    Raises fstree.TreeLimit for a folder over the limits a submission has."""
    return fstree.digest(folder, COPY_IGNORE, fstree.Limits(**SUBMISSION_LIMITS))


def decide(report_path: Path, submission: Path, student: str, digest: str,
           version: str = __version__, force: bool = False) -> Decision:
    """Grade `submission` again, or keep its report? Keep it only when the report was made
    from the same content (submission_digest), names the same student, was made by the same
    grader version and rubric, and is not a grader fault."""
    if force:
        return Decision(True, "--force")
    try:
        data = json.loads(report_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return Decision(True, "no report yet")
    except (OSError, ValueError, RecursionError):
        return Decision(True, "the report cannot be read")
    if not isinstance(data, dict) or data.get("submission") != student:
        return Decision(True, "the report is not this student's")
    if data.get("rubric_digest") != digest:
        return Decision(True, "the rubric or hidden suite changed")
    if data.get("grader_version") != version:
        return Decision(True, "another grader version made the report")
    if data.get("grader_fault"):  # set by the grader only; a warning's text decides nothing
        return Decision(True, "the grader failed last time")
    try:
        if submission_digest(submission) != data.get("submission_digest"):
            return Decision(True, "the submission changed")
    except fstree.TreeLimit as exc:
        return Decision(True, f"the submission is over a limit ({exc})")
    except OSError as exc:
        return Decision(True, f"the submission cannot be read ({exc})")
    return Decision(False, "up to date")


# --------------------------------------------------------------------------- reports

PROBLEMS = {
    "no-manage-py": "hold no manage.py",
    "online-text-only": "hold only an online text, no files",
    "unsupported-archive": "hold only an archive the grader cannot open (.rar, .7z, ...)",
    "damaged-archive": "hold an archive that cannot be unpacked",
    "empty": "hold no files",
    "several-projects": "hold several Django projects",
    "settings": "have a manage.py that names no settings module the grader can find",
    "link": "are links to folders outside the submission",
}


def check_common_problem(problems: dict[str, str], whys: dict[str, str], total: int, layout: str) -> None:
    """Stop before grading when most submissions fail to be found the same way: that is the
    shape of the download (the wrong folder, the wrong --layout), not 30 students' mistakes."""
    if not problems:
        return
    kind, count = Counter(problems.values()).most_common(1)[0]
    if count < 3 or count * 2 <= total or kind not in PROBLEMS:
        return
    example = next(s for s, k in sorted(problems.items()) if k == kind)
    raise BatchError(
        f"{count} of {total} submissions {PROBLEMS[kind]} (for example {printable(example)}: "
        f"{printable(whys.get(example, ''))}). This looks like the shape of the download, not the "
        f"students' work: the source was read as a {layout} download; check that it is the "
        "platform's download, name its layout with --layout, or pass --keep-going to grade it anyway.")


def refresh_identity(path: Path, identity: Identity | None) -> None:
    """Put the current identity (a name or login from a new roster) in a kept report."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return
    wanted = None if identity is None else dataclasses.asdict(identity)
    if isinstance(data, dict) and data.get("identity") != wanted:
        data["identity"] = wanted
        write_atomic(path, json.dumps(data, indent=2, ensure_ascii=False) + "\n")

def fault_report(assignment: rubric.Assignment, student: str, what: str, mode: str) -> Report:
    """The report of a student whose grading failed because of the grader, not the student."""
    return api.grader_fault_report(assignment, student, what, time.monotonic(),
                                   mode if mode in ("bwrap", "none") else "none")


def rejected_report(assignment: rubric.Assignment, student: str, why: str, mode: str) -> Report:
    return api.error_report(assignment, student, f"Your submission could not be graded: {why}.",
                            time.monotonic(), mode if mode in ("bwrap", "none") else "none")


def write_report(path: Path, report: Report) -> None:
    write_atomic(path, json_report.render(report))


def read_outcome(path: Path) -> dict[str, Any] | None:
    """status, score and max_score of a report file, or None when it is not readable."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return {"status": str(data["status"]), "score": float(data["score"]),
                "max_score": float(data["max_score"])}
    except (OSError, ValueError, KeyError, TypeError):
        return None


# --------------------------------------------------------------------------- workers

def _children(pid: int) -> list[int]:
    """Direct child processes of `pid` (Linux /proc; empty elsewhere)."""
    found = []
    try:
        entries = os.listdir("/proc")
    except OSError:
        return found
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as fh:
                text = fh.read().decode(errors="replace")
            if int(text[text.rindex(")") + 2:].split()[1]) == pid:
                found.append(int(entry))
        except (OSError, ValueError, IndexError):
            continue
    return found


def _kill_children() -> None:
    """Kill the grading child (and its process group) of this worker. The runner starts it in
    a session of its own, so it would outlive a worker that is stopped mid-run."""
    for pid in _children(os.getpid()):
        for kill in (os.killpg, os.kill):
            try:
                kill(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass


def _stop_worker(signum, frame):  # noqa: ARG001  (signal handler)
    _kill_children()
    raise SystemExit(128 + signum)


def become_worker() -> None:
    """Set up a worker process: its own process group (a Ctrl-C in the terminal reaches the
    batch, which stops the workers), stop cleanly on SIGTERM, and die with the batch."""
    with contextlib.suppress(OSError):
        os.setpgid(0, 0)
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, _stop_worker)
    # A forkserver child holds a copy of the pipe by which the fork server notices that the
    # batch died; drop it, or the fork server (and so PDEATHSIG below) waits for every worker.
    with contextlib.suppress(Exception):
        from multiprocessing import forkserver

        alive = forkserver._forkserver._forkserver_alive_fd
        if alive is not None:
            forkserver._forkserver._forkserver_alive_fd = None
            os.close(alive)
    if sys.platform.startswith("linux"):
        with contextlib.suppress(Exception):
            import ctypes

            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(1, signal.SIGTERM, 0, 0, 0)  # PR_SET_PDEATHSIG: the fork server died
        if os.getppid() == 1:
            raise SystemExit(1)


def grade_worker(sub: Submission, assignment: rubric.Assignment, mode: str, scratch: str) -> None:
    """Worker process: grade one submission and write its report (a grader fault inside
    the grading becomes a fault report; anything else is left to the batch).

    The grading's temporary folders go under `scratch` (which the batch removes at the end,
    whatever happened to the worker), and are removed here too when the worker is stopped.
    """
    become_worker()
    own = tempfile.mkdtemp(prefix="w-", dir=scratch)
    tempfile.tempdir = own
    try:
        try:
            content = submission_digest(sub.path)
        except (fstree.TreeLimit, OSError):
            content = ""  # grading refuses it with the reason; the next run looks again
        try:
            report = api.grade(sub.path, assignment, sandbox=mode, name=sub.student)
        except Exception as exc:  # noqa: BLE001  (a bug of the grader: this student only)
            report = fault_report(assignment, sub.student, f"{type(exc).__name__}: {exc}", mode)
        report.submission_digest = content
        report.identity = sub.identity
        write_report(sub.report, report)
    finally:
        fstree.remove(own)


def mp_context(method: str | None = None):
    """A fork server (single-threaded, with the grader preloaded) where available."""
    methods = multiprocessing.get_all_start_methods()
    method = method or ("forkserver" if "forkserver" in methods else "spawn")
    ctx = multiprocessing.get_context(method)
    if method == "forkserver":
        ctx.set_forkserver_preload(["grader.batch"])
    return ctx


Finish = Callable[[Submission, "int | None"], None]   # exit code; None when past its deadline


def execute(subs: list[Submission], target: Callable, args: tuple, jobs: int, deadline_s: float,
            on_finish: Finish, ctx=None, poll_s: float = 0.5) -> None:
    """Run ``target(sub, *args)`` for every submission in its own process, `jobs` at a time.

    `on_finish` is called in this process for every submission that ended (exit code) or
    that was stopped past `deadline_s` (None). On KeyboardInterrupt (or any exception) the
    running workers are stopped (SIGTERM, then SIGKILL) before it propagates; they get no
    `on_finish`.
    """
    ctx = ctx or mp_context()
    pending = list(reversed(subs))
    running: dict[int, tuple[Any, Submission, float]] = {}
    try:
        while pending or running:
            while pending and len(running) < jobs:
                sub = pending.pop()
                proc = ctx.Process(target=target, args=(sub, *args), name=f"grader-{sub.student}",
                                   daemon=False)
                proc.start()
                running[proc.sentinel] = (proc, sub, time.monotonic())
            ready = multiprocessing.connection.wait(list(running), timeout=poll_s)
            for sentinel in ready:
                proc, sub, _ = running.pop(sentinel)
                proc.join()
                on_finish(sub, proc.exitcode)
            now = time.monotonic()
            for sentinel, (proc, sub, started) in list(running.items()):
                if now - started > deadline_s:
                    running.pop(sentinel)
                    _stop([proc])
                    on_finish(sub, None)
    finally:
        _stop([proc for proc, _, _ in running.values()])


def _stop(procs: list) -> None:
    for proc in procs:
        with contextlib.suppress(Exception):
            proc.terminate()
    end = time.monotonic() + STOP_WAIT_S
    for proc in procs:
        proc.join(max(0.0, end - time.monotonic()))
        if proc.exitcode is None:
            with contextlib.suppress(Exception):
                proc.kill()
            proc.join(5)


# --------------------------------------------------------------------------- display

class PlainDisplay:
    """One line per finished submission, for logs and CI (stderr is not a terminal)."""

    def __init__(self, stream=None):
        self.stream = stream or sys.stderr
        self.total = self.done = self.failed = 0
        self.started = time.monotonic()

    def note(self, text: str) -> None:
        print(f"grader: {printable(text)}", file=self.stream, flush=True)

    def start(self, total: int) -> None:
        self.total, self.started = total, time.monotonic()

    def finished(self, sub: Submission, outcome: dict[str, Any] | None, failed: bool) -> None:
        self.done += 1
        self.failed += failed
        result = (f"{outcome['status']} {gradebook.num(outcome['score'])}/{gradebook.num(outcome['max_score'])}"
                  if outcome else "no report")
        elapsed = time.monotonic() - self.started
        left = elapsed / self.done * (self.total - self.done)
        eta = f", about {left:.0f} s left" if self.done < self.total else ""
        print(f"[{self.done}/{self.total}] {printable(sub.student)}: {result} "
              f"({self.failed} failed{eta})", file=self.stream, flush=True)

    def close(self) -> None:
        pass


class RichDisplay(PlainDisplay):
    """A progress bar on the terminal: done/total, failures, time elapsed and left."""

    def __init__(self, stream=None, force_terminal: bool | None = None):
        super().__init__(stream)
        from rich.console import Console
        from rich.progress import (BarColumn, MofNCompleteColumn, Progress, SpinnerColumn,
                                   TextColumn, TimeElapsedColumn, TimeRemainingColumn)

        self.console = Console(file=self.stream, force_terminal=force_terminal)
        self.progress = Progress(
            SpinnerColumn(), TextColumn("[bold]grading"), BarColumn(), MofNCompleteColumn(),
            TextColumn("[red]{task.fields[failed]} failed"), TextColumn("•"), TimeElapsedColumn(),
            TextColumn("• left"), TimeRemainingColumn(), console=self.console)
        self.task = None

    def note(self, text: str) -> None:
        from rich.text import Text

        self.console.print(Text(f"grader: {printable(text)}"))

    def start(self, total: int) -> None:
        super().start(total)
        self.task = self.progress.add_task("grading", total=total, failed=0)
        self.progress.start()

    def finished(self, sub: Submission, outcome: dict[str, Any] | None, failed: bool) -> None:
        from rich.text import Text

        self.done += 1
        self.failed += failed
        if failed:
            result = (f"{outcome['status']} {gradebook.num(outcome['score'])}/"
                      f"{gradebook.num(outcome['max_score'])}" if outcome else "no report")
            self.progress.console.print(Text(f"{printable(sub.student)}: {result}", style="red"))
        self.progress.update(self.task, advance=1, failed=self.failed)

    def close(self) -> None:
        self.progress.stop()


def make_display(stream=None):
    stream = stream or sys.stderr
    try:
        tty = stream.isatty()
    except (AttributeError, ValueError):
        tty = False
    return RichDisplay(stream) if tty else PlainDisplay(stream)


# --------------------------------------------------------------------------- the batch

def default_jobs() -> int:
    """One worker per CPU this process may run on."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return os.cpu_count() or 1


@dataclass
class BatchResult:
    total: int = 0                     # submissions in SOURCE
    graded: int = 0                    # graded in this run
    skipped: int = 0                   # reports kept (up to date)
    faults: int = 0                    # reports written by the batch because the grader failed
    rejected: int = 0                  # submissions refused (too large, damaged)
    unwritten: list[str] = field(default_factory=list)   # students without a report
    interrupted: bool = False
    missing: int = 0                   # on the roster, nothing submitted
    layout: str = "folders"
    gradebook: gradebook.Written | None = None
    feedback: Any = None               # handback.Written, with --feedback
    notes: list[str] = field(default_factory=list)

    @property
    def nothing_graded(self) -> bool:
        """Every submission is an error (no report of the class says 'graded')."""
        data = self.gradebook.data if self.gradebook else None
        return bool(data) and data["count"] > data["by_status"].get("missing", 0) and \
            not data["by_status"].get("graded", 0)


@contextlib.contextmanager
def _lock(folder: Path):
    """Hold the output folder for this batch: a lock on the folder itself (flock on its
    descriptor), so that nothing is left behind when the batch ends, however it ends."""
    import fcntl

    folder.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(OSError):  # a lock file of an older grader
        (folder / LOCK_NAME).unlink()
    fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            raise BatchError(f"another grader batch is writing to {folder}") from None
        yield
    finally:
        os.close(fd)


@contextlib.contextmanager
def _interrupt_on_signals():
    """SIGTERM and SIGHUP stop the batch like Ctrl-C: workers stopped, finished reports kept."""
    def handler(signum, frame):  # noqa: ARG001
        raise KeyboardInterrupt

    previous = {}
    for sig in (signal.SIGTERM, signal.SIGHUP):
        with contextlib.suppress(ValueError):  # not the main thread
            previous[sig] = signal.signal(sig, handler)
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def run(source: Path, assignment: rubric.Assignment, output_dir: Path, *, jobs: int | None = None,
        force: bool = False, mode: str = "auto", display=None, worker: Callable = grade_worker,
        ctx=None, layout: str = "auto", roster: Path | None = None, feedback: Path | None = None,
        blank: bool = False, keep_going: bool = False) -> BatchResult:
    """Grade every submission of `source` into `output_dir`, then write the gradebook.

    A class is never graded without the sandbox by accident: where bubblewrap cannot run,
    --sandbox auto is refused (a usage error) and only an explicit --sandbox none goes on,
    with one loud line here and a banner in report.html and summary.json."""
    resolved, _ = sandbox.resolve(mode)  # an unavailable --sandbox bwrap is a usage error, before any work
    if resolved == "none" and mode != "none":
        raise BatchError(
            f"{sandbox.bwrap_problem()}: without the sandbox every submission of the class could read "
            "and change the grader, the other students' files and their reports. Install the "
            "Debian package 'bubblewrap' (or grade on a machine that has it), or pass --sandbox none "
            "to grade without isolation anyway.")
    if not Path(source).exists():
        raise BatchError(f"{source} does not exist")
    if jobs is None:
        jobs = default_jobs()
    if jobs < 1:
        raise BatchError("--jobs must be at least 1")
    display = display or make_display()
    if resolved == "none":
        display.note("WARNING: grading WITHOUT the sandbox (--sandbox none): each submission runs "
                     "with this user's rights and can read or change the grader, the other "
                     "submissions and their reports. Do not use these marks as grades.")
    output_dir = Path(output_dir)
    if output_dir.exists() and not output_dir.is_dir():
        raise BatchError(f"{output_dir} exists and is not a folder")
    if layout not in platforms.LAYOUTS:
        raise BatchError(f"unknown --layout {layout!r} (choose from {', '.join(platforms.LAYOUTS)})")
    class_roster = None
    if roster is not None:
        try:
            class_roster = platforms.read_roster(Path(roster))
        except platforms.RosterError as exc:
            raise BatchError(str(exc)) from None
    result = BatchResult()
    with _lock(output_dir):
        for stale in output_dir.glob(".*.tmp"):  # left by a batch that was killed mid-write
            with contextlib.suppress(OSError):
                stale.unlink()
        scratch = Path(tempfile.mkdtemp(prefix="grader-batch-"))
        try:
            src = open_source(Path(source), output_dir, scratch, layout, class_roster)
        except BaseException:
            fstree.remove(scratch)
            raise
        try:
            result.layout = src.layout
            result.notes = list(src.notes)
            if layout == "auto" and src.layout != "folders":
                display.note(f"recognised a {src.layout} download")
            for note in src.notes:
                display.note(note)
            result.total = len(src.submissions) + len(src.rejected)
            if not result.total:
                raise BatchError(f"no submissions found in {source} (layout: {src.layout})")
            problems = dict(src.kinds)
            whys = dict(src.rejected)
            for sub in src.submissions:
                try:
                    discover.discover(sub.path)
                except discover.DiscoveryError as exc:
                    problems[sub.student], whys[sub.student] = exc.kind, str(exc)
            if not keep_going:
                check_common_problem(problems, whys, result.total, src.layout)
            for student, why in sorted(src.rejected.items()):
                report = rejected_report(assignment, student, why, mode)
                report.identity = src.identities.get(student)
                write_report(src.reports[student], report)
                result.rejected += 1
                display.note(f"{printable(student)}: {why}")
            for student in src.missing:
                report = api.missing_report(assignment, student)
                report.identity = src.identities.get(student)
                write_report(src.reports[student], report)
                result.missing += 1

            todo = []
            for sub in src.submissions:
                decision = decide(sub.report, sub.path, sub.student, assignment.digest, force=force)
                if decision.grade:
                    todo.append(sub)
                else:
                    result.skipped += 1
                    refresh_identity(sub.report, sub.identity)
            if result.skipped:
                display.note(f"{result.skipped} of {len(src.submissions)} report(s) are up to date and kept "
                             "(--force grades them again)")
            jobs = max(1, min(jobs, len(todo) or 1))

            def on_finish(sub: Submission, exitcode: int | None) -> None:
                outcome = read_outcome(sub.report) if exitcode == 0 else None
                if outcome is None:
                    what = ("the worker did not finish within "
                            f"{assignment.limits.wall_time_s + WORKER_GRACE_S:g} s" if exitcode is None
                            else f"the worker process ended with exit code {exitcode}" if exitcode
                            else "the worker wrote no readable report")
                    try:
                        write_report(sub.report, fault_report(assignment, sub.student, what, mode))
                        outcome = read_outcome(sub.report)
                        result.faults += 1
                    except OSError as exc:
                        result.unwritten.append(sub.student)
                        display.note(f"{printable(sub.student)}: report not written ({exc})")
                else:
                    result.graded += 1
                display.finished(sub, outcome, outcome is None or outcome["status"] != "graded")

            if todo and not runtime.installed(assignment.runtime):
                # once, here: a worker waiting for the install would spend its own deadline
                display.note(f"installing the packages {assignment.name} allows (once): "
                             + ", ".join(assignment.runtime.packages))
                env = runtime.ensure(assignment.runtime)
                if not env.usable:
                    display.note(f"the allowed packages could not be installed ({env.problem}); "
                                 "grading goes on without them and every report says so")
            if todo:
                display.start(len(todo))
                try:
                    with _interrupt_on_signals():
                        execute(todo, worker, (assignment, mode, str(scratch)), jobs,
                                assignment.limits.wall_time_s + WORKER_GRACE_S, on_finish, ctx=ctx)
                except KeyboardInterrupt:
                    result.interrupted = True
                finally:
                    display.close()
        finally:
            src.cleanup()
            fstree.remove(scratch)
        if not result.interrupted:
            result.gradebook = gradebook.write_all(output_dir, blank=blank)
            if feedback is not None:
                from grader import handback

                result.feedback = handback.write(output_dir, Path(feedback))
    return result


def report_command(folder: Path, blank: bool = False) -> gradebook.Written:
    """``grader report DIR``: (re)write the gradebook from the reports in DIR."""
    return gradebook.write_all(Path(folder), blank=blank)

