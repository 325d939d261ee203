"""What a learning platform's download looks like, and who each submission belongs to.

``grader batch SOURCE`` reads SOURCE (a folder, or a class .zip already unpacked) in one of
these layouts, recognised from its names or named with ``--layout``:

moodle
    "Download all submissions": a folder per student and submission plugin,
    ``Full Name_<participant id>_assignsubmission_file_`` (Moodle 4.1+ drops the last ``_``),
    and ``..._assignsubmission_onlinetext_`` beside it; or, with folders turned off, flat files
    ``Full Name_<participant id>_assignsubmission_file_<file name>``. All entries of one
    participant are one student.
canvas
    The submissions zip: flat files ``<sortable name>[_late]_<user id>_<attachment id>_<file>``
    (an anonymous assignment leaves the name out; a file uploaded again gets ``-1``, ``-2``
    before its extension). Online-text entries are ``<name>_<user id>_text.html``.
github
    GitHub Classroom's clones: ``<assignment>-<username>`` folders; the assignment prefix
    (common to all folders, or known from the roster) is not part of the student id.
folders
    A folder per student; the folder's name is the student id.

:func:`gather` returns one :class:`Found` per student: the entries of SOURCE that are theirs
and their :class:`~grader.model.Identity`. Turning those entries into one folder to grade
(unpacking archives, finding the project) is :mod:`grader.batch`'s job. Nothing here reads a
file's content except the roster.
"""

from __future__ import annotations

import csv
import io
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from grader import archives, names
from grader.discover import IGNORED_DIRS
from grader.model import Identity

LAYOUTS = ("auto", "moodle", "canvas", "github", "folders")

MOODLE = re.compile(r"^(?P<name>.+?)_(?P<id>\d+)_(?P<plugin>assignsubmission_[a-z0-9]+)(?:_(?P<rest>.*))?$", re.S)
CANVAS = re.compile(r"^(?:(?P<name>.*?)_)??(?:(?P<late>late)_)?(?P<uid>\d+)_(?P<aid>\d+)_(?P<file>.+)$", re.S | re.I)
CANVAS_TEXT = re.compile(r"^(?:(?P<name>.*?)_)??(?:(?P<late>late)_)?(?P<uid>\d+)_(?:text|link)\.html$", re.I)
RESUBMITTED = re.compile(r"^(?P<base>.+?)-(?P<n>\d+)$")
ONLINE_TEXT = "assignsubmission_onlinetext"
SKIP_NAMES = IGNORED_DIRS | archives.JUNK_DIRS
# What a download may hold beside its submissions and is never a student's: tool and version
# control folders, what archivers, operating systems and editors leave. Every other entry is a
# submission whatever its name: a folder ``.alice`` is the student ``.alice``'s, not hidden.
NOT_SUBMISSIONS = (
    SKIP_NAMES
    | archives.JUNK_FILES
    | frozenset(
        {
            ".svn",
            ".hg",
            ".github",
            ".gitignore",
            ".gitattributes",
            ".gitkeep",
            ".keep",
            ".idea",
            ".vscode",
            ".cache",
            ".pytest_cache",
            ".mypy_cache",
            ".ruff_cache",
            ".ipynb_checkpoints",
            ".Trashes",
            ".Spotlight-V100",
            ".fseventsd",
            ".TemporaryItems",
            ".DocumentRevisions-V100",
            ".directory",
            ".localized",
        }
    )
)
# ... and these patterns: macOS's AppleDouble files (._name), trash folders, LibreOffice's lock
# files, the temporary files of an atomic write and the grader's own (.grader-batch.lock).
_NOT_SUBMISSION = re.compile(r"\._.*|\.Trash(?:-\d+)?|\.~lock\..*#|\..*\.tmp|\.grader-.*", re.S)
MAX_ROSTER_BYTES = 16 * 1024 * 1024


def is_submission(name: str) -> bool:
    """Whether an entry of a download named `name` may be a student's (see NOT_SUBMISSIONS)."""
    return bool(name) and name not in NOT_SUBMISSIONS and not _NOT_SUBMISSION.fullmatch(name)


class LayoutError(Exception):
    """SOURCE is not in the layout that was named; the message says what was found."""


@dataclass
class Found:
    student: str  # the id reports and files are named by
    identity: Identity
    items: list[Path] = field(default_factory=list)  # the download's entries that are theirs
    extra: list[str] = field(default_factory=list)  # entries not graded (online text, ...)


@dataclass
class Gathered:
    layout: str
    found: list[Found] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    missing: list[Found] = field(default_factory=list)  # on the roster, nothing submitted


def _visible(root: Path) -> tuple[list[Path], list[str]]:
    """The entries of a download that may be submissions, and notes on what was left out
    (symbolic links: a link to another student's folder must not be graded as theirs)."""
    entries, notes = [], []
    for e in sorted(root.iterdir()):
        if not is_submission(e.name):
            continue
        if e.is_symlink():
            notes.append(f"{e.name}: a symbolic link, not a folder; left out")
            continue
        entries.append(e)
    return entries, notes


# --------------------------------------------------------------------------- detection


def detect(entries: list[Path]) -> str:
    """The layout of a download from its entries' names (most of them must agree)."""
    if not entries:
        return "folders"
    moodle = sum(1 for e in entries if MOODLE.match(e.name))
    canvas = sum(1 for e in entries if not e.is_dir() and (CANVAS.match(e.name) or CANVAS_TEXT.match(e.name)))
    if moodle * 2 > len(entries):
        return "moodle"
    if canvas * 2 > len(entries):
        return "canvas"
    folders = [e for e in entries if e.is_dir() and not e.is_symlink()]
    if (
        len(folders) >= 2
        and _common_prefix([f.name for f in folders])
        and sum(1 for f in folders if (f / ".git").exists()) * 2 > len(folders)
    ):
        return "github"
    return "folders"


def _common_prefix(names: list[str]) -> str:
    """The longest prefix ending in '-' that every name has and none is only made of."""
    if len(names) < 2:
        return ""
    first, last = min(names), max(names)
    n = 0
    while n < min(len(first), len(last)) and first[n] == last[n]:
        n += 1
    prefix = first[:n]
    cut = prefix.rfind("-")
    prefix = prefix[: cut + 1] if cut >= 0 else ""
    return prefix if prefix and all(len(x) > len(prefix) for x in names) else ""


# --------------------------------------------------------------------------- layouts


def moodle_folder(name: str, participant: str, plugin: str = "assignsubmission_file") -> str:
    """The folder name Moodle gives a participant's submission in its download, and reads back
    from a feedback-files zip (:func:`grader.names.moodle_folder`: the full name without '_',
    cut when it is long, then the participant id and plugin)."""
    return names.moodle_folder(name, participant, plugin)


def own_name(entry: Path, platform: str) -> str:
    """The name the student gave a file the platform renamed in its flat download
    (Canvas: ``<name>_<uid>_<aid>_<file>``; Moodle's older layout:
    ``<name>_<id>_assignsubmission_file_<file>``)."""
    if platform == "canvas":
        m = CANVAS.match(entry.name)
        return m["file"] if m else entry.name
    if platform == "moodle":
        m = MOODLE.match(entry.name)
        return m["rest"] if m and m["rest"] else entry.name
    return entry.name


def _moodle(entries: list[Path]) -> tuple[list[Found], list[str]]:
    by_id: dict[str, Found] = {}
    notes: list[str] = []
    other = 0
    for entry in entries:
        m = MOODLE.match(entry.name)
        if not m:
            other += 1
            continue
        pid, plugin, rest = m["id"], m["plugin"], m["rest"] or ""
        name = m["name"].strip()
        found = by_id.setdefault(pid, Found(pid, Identity(platform="moodle", id=pid, name=name)))
        if entry.is_dir() and not rest:
            if plugin == ONLINE_TEXT:
                found.extra.append(entry.name)
            else:
                found.items.append(entry)
                if not found.identity.folder or plugin == "assignsubmission_file":
                    found.identity.folder = entry.name
        elif not entry.is_dir() and rest:
            # The older flat layout: the student's file, its name after the plugin's.
            if plugin == ONLINE_TEXT:
                found.extra.append(entry.name)
            else:
                found.items.append(entry)
                if not found.identity.folder:
                    found.identity.folder = moodle_folder(m["name"], pid, plugin)
        else:
            other += 1
    if other:
        notes.append(
            f"{other} entr{'y' if other == 1 else 'ies'} of the download are not Moodle "
            "submission folders or files; left out"
        )
    for found in by_id.values():
        if not found.identity.folder:
            found.identity.folder = moodle_folder(found.identity.name, found.identity.id)
    return list(by_id.values()), notes


def _canvas(entries: list[Path]) -> tuple[list[Found], list[str]]:
    by_uid: dict[str, Found] = {}
    latest: dict[tuple[str, str], tuple[int, int, Path]] = {}
    notes: list[str] = []
    other = replaced = 0
    for entry in entries:
        text = CANVAS_TEXT.match(entry.name)
        m = CANVAS.match(entry.name)
        if entry.is_dir() or not (m or text):
            other += 1
            continue
        match = text or m
        assert match is not None  # one of them matched (checked above)
        uid = match["uid"]
        found = by_uid.setdefault(uid, Found(uid, Identity(platform="canvas", id=uid, name=(match["name"] or ""))))
        found.identity.late = found.identity.late or bool(match["late"])
        if text:
            found.extra.append(entry.name)
            continue
        assert m is not None  # a submission file, not the text entry
        file = m["file"]
        base, n = file, 0
        stem = archives.stem(Path(file)) if archives.kind(Path(file)) else Path(file).stem
        suffix = file[len(stem) :]
        r = RESUBMITTED.match(stem)
        if r:
            base, n = r["base"] + suffix, int(r["n"])
        key = (uid, base.lower())
        candidate = (n, int(m["aid"]), entry)
        if key in latest:
            replaced += 1
            if candidate[:2] < latest[key][:2]:
                continue
        latest[key] = candidate
    for (uid, _), (_, _, entry) in sorted(latest.items()):
        by_uid[uid].items.append(entry)
    for found in by_uid.values():
        found.identity.folder = found.items[0].name if found.items else ""
    if replaced:
        notes.append(
            f"{replaced} earlier upload(s) of a file uploaded again (-1, -2, ...) were "
            "left out: the latest one is graded"
        )
    if other:
        notes.append(
            f"{other} entr{'y' if other == 1 else 'ies'} of the download are not Canvas submission files; left out"
        )
    return list(by_uid.values()), notes


def _github(entries: list[Path], usernames: set[str]) -> tuple[list[Found], list[str]]:
    folders = [e for e in entries if e.is_dir() and not e.is_symlink()]
    notes = []
    if len(folders) < len(entries):
        notes.append(
            f"{len(entries) - len(folders)} entr{'y' if len(entries) - len(folders) == 1 else 'ies'} "
            "of the source are not folders; left out"
        )
    prefix = _common_prefix([f.name for f in folders])
    found = []
    for folder in folders:
        name = folder.name
        user = next(
            (u for u in sorted(usernames, key=len, reverse=True) if name.lower().endswith("-" + u.lower())), None
        )
        if user is not None:
            username = name[len(name) - len(user) :]
        elif prefix and name.startswith(prefix):
            username = name[len(prefix) :]
        else:
            username = name
        found.append(Found(username, Identity(platform="github", id=username, folder=name), [folder]))
    return found, notes


def _folders(entries: list[Path]) -> tuple[list[Found], list[str]]:
    found, notes = [], []
    files = 0
    for entry in entries:
        if entry.is_dir():
            found.append(Found(entry.name, Identity(platform="folder", id=entry.name, folder=entry.name), [entry]))
        elif archives.kind(entry):
            # A class folder of one archive per student: the archive's name is the student id.
            sid = archives.stem(entry)
            found.append(Found(sid, Identity(platform="folder", id=sid, folder=entry.name), [entry]))
        else:
            files += 1
    if files:
        notes.append(f"{files} file(s) at the top of the source are not folders or archives; left out")
    return found, notes


# --------------------------------------------------------------------------- roster


@dataclass
class RosterEntry:
    key: str  # what a submission is matched by (participant id, user id, username)
    name: str = ""
    login: str = ""  # the identifier the gradebook uses
    email: str = ""
    sis_user_id: str = ""
    sis_login_id: str = ""
    section: str = ""
    submitted: str = ""  # a Moodle worksheet's "Last modified (submission)", as it says it


@dataclass
class Roster:
    kind: str  # github | moodle | canvas | generic
    entries: list[RosterEntry] = field(default_factory=list)

    def lookup(self) -> dict[str, RosterEntry]:
        return {e.key.casefold(): e for e in self.entries}


class RosterError(Exception):
    """The roster cannot be read; the message says why."""


def _header_index(header: list[str]) -> dict[str, int]:
    return {h.strip().lstrip("\ufeff").casefold(): i for i, h in enumerate(header)}


def read_roster(path: Path) -> Roster:
    """A class roster: GitHub Classroom's roster export (identifier, github_username, ...), a
    Moodle grading worksheet (Identifier "Participant N", Full name, Email address, ...), a
    Canvas gradebook export (Student, ID, SIS User ID, SIS Login ID, Section, ...), or any CSV
    with a ``student`` column (and optional ``name`` and ``login``)."""
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise RosterError(f"the roster {path} cannot be read ({exc.strerror or exc})") from None
    if len(raw) > MAX_ROSTER_BYTES:
        raise RosterError(f"the roster {path} is larger than a class roster can be")
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):  # Excel's "Unicode text"
        text = raw.decode("utf-16", errors="replace")
    else:
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            text = raw.decode("cp1252", errors="replace")  # an older Excel's "CSV"
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    rows = [r for r in csv.reader(io.StringIO(text), dialect) if any(c.strip() for c in r)]
    if not rows:
        raise RosterError(f"the roster {path} is empty")
    cols = _header_index(rows[0])

    def cell(row: list[str], *names: str) -> str:
        for n in names:
            i = cols.get(n)
            if i is not None and i < len(row):
                return row[i].strip()
        return ""

    body = rows[1:]
    roster: Roster
    if "github_username" in cols:
        roster = Roster(
            "github", [RosterEntry(cell(r, "github_username"), cell(r, "name"), cell(r, "identifier")) for r in body]
        )
    elif "identifier" in cols and any(cell(r, "identifier").lower().startswith("participant") for r in body):
        entries = []
        for r in body:
            ident = re.search(r"(\d+)\s*$", cell(r, "identifier"))
            if ident:
                email = cell(r, "email address", "email")
                entries.append(
                    RosterEntry(
                        ident[1],
                        cell(r, "full name"),
                        cell(r, "id number") or email,
                        email,
                        submitted=cell(r, "last modified (submission)"),
                    )
                )
        roster = Roster("moodle", entries)
    elif "id" in cols and "student" in cols:
        entries = []
        for r in body:
            uid = cell(r, "id")
            if uid.isdigit():  # not the "Points Possible" row
                entries.append(
                    RosterEntry(
                        uid,
                        cell(r, "student"),
                        cell(r, "sis login id") or cell(r, "sis user id"),
                        "",
                        cell(r, "sis user id"),
                        cell(r, "sis login id"),
                        cell(r, "section"),
                    )
                )
        roster = Roster("canvas", entries)
    elif cols.keys() & {"student", "submission", "username"}:
        roster = Roster(
            "generic",
            [
                RosterEntry(
                    cell(r, "student", "submission", "username"),
                    cell(r, "name"),
                    cell(r, "login", "identifier", "email", "sis user id"),
                    cell(r, "email"),
                )
                for r in body
            ],
        )
    else:
        raise RosterError(
            f"the roster {path} has none of the columns the grader knows (github_username; Identifier; "
            "ID and Student; or student): its first line is " + ", ".join(rows[0][:8])
        )
    roster.entries = [e for e in roster.entries if e.key]
    duplicates = [k for k, n in Counter(e.key.casefold() for e in roster.entries).items() if n > 1]
    if duplicates:
        raise RosterError(f"the roster {path} names {', '.join(sorted(duplicates)[:5])} more than once")
    if not roster.entries:
        raise RosterError(f"the roster {path} lists no students")
    return roster


# --------------------------------------------------------------------------- gather


def gather(root: Path, layout: str = "auto", roster: Roster | None = None) -> Gathered:
    """The students of the download in `root` (see the module's docstring)."""
    entries, left_out = _visible(root)
    chosen = detect(entries) if layout == "auto" else layout
    if chosen == "moodle":
        found, notes = _moodle(entries)
    elif chosen == "canvas":
        found, notes = _canvas(entries)
    elif chosen == "github":
        usernames = {e.key for e in roster.entries} if roster and roster.kind in ("github", "generic") else set()
        found, notes = _github(entries, usernames)
    elif chosen == "folders":
        found, notes = _folders(entries)
    else:
        raise LayoutError(f"unknown layout {layout!r} (choose from {', '.join(LAYOUTS)})")
    if layout != "auto" and entries and not found:
        raise LayoutError(
            f"nothing in {root.name or root} looks like a {layout} download "
            f"(it holds {', '.join(e.name for e in entries[:3])}"
            f"{', ...' if len(entries) > 3 else ''}); try --layout auto"
        )
    result = Gathered(chosen, found, left_out + notes)
    _merge_duplicates(result)
    if roster is not None:
        _apply_roster(result, roster)
    return result


def _merge_duplicates(result: Gathered) -> None:
    """Two entries that give the same student id (case apart): one student, all entries."""
    by_key: dict[str, Found] = {}
    merged = []
    for found in result.found:
        key = found.student.casefold()
        if key in by_key:
            by_key[key].items.extend(found.items)
            by_key[key].extra.extend(found.extra)
            merged.append(found.student)
        else:
            by_key[key] = found
    if merged:
        result.notes.append(f"entries of the same student taken together: {', '.join(sorted(merged)[:5])}")
    result.found = list(by_key.values())


def _apply_roster(result: Gathered, roster: Roster) -> None:
    lookup = roster.lookup()
    matched: set[str] = set()
    strays = []
    for found in result.found:
        entry = lookup.get(found.student.casefold())
        if entry is None:
            strays.append(found.student)
            continue
        matched.add(entry.key.casefold())
        ident = found.identity
        ident.name = entry.name or ident.name
        ident.login = entry.login
    for entry in roster.entries:
        if entry.key.casefold() in matched:
            continue
        platform = {"github": "github", "moodle": "moodle", "canvas": "canvas"}.get(roster.kind, "roster")
        ident = Identity(platform=platform, id=entry.key, name=entry.name, login=entry.login)
        if platform == "moodle":
            ident.folder = moodle_folder(entry.name, entry.key)
        result.missing.append(Found(entry.key, ident))
    if strays:
        shown = ", ".join(sorted(strays)[:8]) + (" ..." if len(strays) > 8 else "")
        result.notes.append(f"{len(strays)} submission(s) are not on the roster (graded anyway): {shown}")
    if result.missing:
        result.notes.append(
            f"{len(result.missing)} student(s) on the roster submitted nothing: their status is 'missing'"
        )
