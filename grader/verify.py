"""Stage 3b: an assignment's own checks of what the database cannot say (verify.py).

Some behaviour leaves no row behind: a stored file removed from MEDIA_ROOT, an e-mail sent.
For those the rubric names the grader-owned folders the child writes into (``[folders]``:
``media``, ``mail``) and, per hidden test, functions of the assignment's ``verify.py``
(``[evidence] verify = ["name"]``). After the child has exited, the grader calls each function
for a test the child says passed, with a :class:`Run`: the grading database (read-only), what
the test tracked and noted (``support.track``, ``support.note``) and the folders as the run
left them. The function returns why the pass is not backed (a sentence), or None.

verify.py is the instructor's code and runs in the grader; it never imports the student's
code, and what it reads was made by the student's code, so the helpers below read without
following links and within caps. A function that raises is the grader's problem (the run is
an error, never ``tampered``).
"""
from __future__ import annotations

import email
import email.policy
import importlib.util
import os
import sqlite3
import stat
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path

from grader import fstree

MAX_FILES = 10_000            # a folder's entries read at the most
MAX_READ = 4 * 1024 * 1024    # bytes of one file, or of all the mail, read at the most
# Django's file e-mail backend ends every message with a line of 79 dashes.
MESSAGE_END = b"\n" + b"-" * 79 + b"\n"


class Folder:
    """A folder the child wrote into, read without following any link."""

    def __init__(self, root: Path):
        self.root = root

    def _lstat(self, name: str) -> os.stat_result | None:
        """The entry at `name` (a path relative to the folder, '/'-separated), or None when it
        is missing or any part of the way is a link or not a folder."""
        path = self.root
        parts = [p for p in name.replace("\\", "/").split("/") if p not in ("", ".")]
        if not parts or ".." in parts:
            return None
        for i, part in enumerate(parts):
            path = path / part
            try:
                st = os.lstat(path)
            except OSError:
                return None
            if stat.S_ISLNK(st.st_mode) or (i < len(parts) - 1 and not stat.S_ISDIR(st.st_mode)):
                return None
        return st

    def exists(self, name: str) -> bool:
        """`name` is a regular file in the folder (a link is not)."""
        st = self._lstat(name)
        return st is not None and stat.S_ISREG(st.st_mode)

    def read(self, name: str, cap: int = MAX_READ) -> bytes | None:
        """The first `cap` bytes of the regular file `name`, or None."""
        if not self.exists(name):
            return None
        try:
            fd = os.open(self.root / name, os.O_RDONLY | os.O_NOFOLLOW | getattr(os, "O_NONBLOCK", 0))
        except OSError:
            return None
        with os.fdopen(fd, "rb") as fh:
            return fh.read(cap)

    def files(self) -> dict[str, int]:
        """Every regular file under the folder: relative path -> size (links are not followed;
        at most MAX_FILES entries are looked at)."""
        found: dict[str, int] = {}
        try:
            for entry in fstree.walk(self.root, limits=fstree.Limits(max_entries=MAX_FILES, max_bytes=1 << 62)):
                if entry.kind == "file":
                    found[entry.rel] = entry.st.st_size
        except fstree.TreeLimit:
            pass   # what was read so far
        return found


class Mailbox:
    """The e-mail the run sent, as Django's file backend wrote it (one file per connection,
    each message ended by a line of dashes), parsed with the standard library."""

    def __init__(self, root: Path):
        self.folder = Folder(root)
        self._messages: list[EmailMessage] | None = None

    @property
    def messages(self) -> list[EmailMessage]:
        if self._messages is None:
            self._messages, budget = [], MAX_READ
            for name in sorted(self.folder.files()):
                data = self.folder.read(name, budget) or b""
                budget -= len(data)
                for part in data.split(MESSAGE_END):
                    if part.strip():
                        self._messages.append(email.message_from_bytes(part, policy=email.policy.default))
                if budget <= 0:
                    break
        return self._messages


@dataclass
class Run:
    """What one hidden test left, for a function of verify.py."""

    nodeid: str
    db: sqlite3.Connection                    # the grading database, read-only
    tracked: dict[str, list[str]]             # role -> primary keys (text) the test tracked
    notes: dict[str, list[str]]               # name -> values the test noted (support.note)
    media: Folder | None = None               # MEDIA_ROOT ([folders] media)
    mail: Mailbox | None = None               # the e-mail sent ([folders] mail)
    _models: dict = field(default_factory=dict, repr=False)
    _roles: dict = field(default_factory=dict, repr=False)

    def note(self, name: str) -> str | None:
        """The last value the test noted under `name`, or None."""
        values = self.notes.get(name)
        return values[-1] if values else None

    def query(self, sql: str, params: tuple | list = ()) -> list[tuple]:
        """Rows of a query written against roles, as [evidence] sql is: {role}, {role.field},
        {role.pk}, {tracked.role}; `params` follow the tracked keys' placeholders."""
        from grader.evidence import render_sql

        text, tracked_params = render_sql(sql, self._models, self._roles, self.tracked)
        return self.db.execute(text, [*tracked_params, *params]).fetchmany(1000)


class VerifyError(Exception):
    """verify.py could not be loaded or one of its functions failed: the grader's problem."""


_LOADED: dict[tuple[str, int], object] = {}


def load(path: Path):
    """The assignment's verify.py as a module (loaded once per version of the file)."""
    try:
        key = (str(path.resolve()), path.stat().st_mtime_ns)
    except OSError as exc:
        raise VerifyError(f"{path.name} cannot be read: {exc}") from None
    if key not in _LOADED:
        spec = importlib.util.spec_from_file_location(f"_grader_verify_{abs(hash(key))}", path)
        module = importlib.util.module_from_spec(spec)
        try:
            spec.loader.exec_module(module)
        except Exception as exc:
            raise VerifyError(f"{path.name} does not load: {type(exc).__name__}: {exc}") from None
        _LOADED[key] = module
    return _LOADED[key]


class Verifier:
    """Calls the functions of verify.py for the tests whose pass is claimed. The database is
    opened once for all of them (one READ_TIMEOUT_S budget, as the evidence has) and the mail
    parsed once; close() when scoring is done."""

    def __init__(self, path: Path, db: Path | None, folders: dict[str, Path]):
        self.path, self.db, self.folders = path, db, folders
        self._conn: sqlite3.Connection | None = None
        self._maps: tuple[dict, dict] = ({}, {})
        self.media = Folder(folders["media"]) if "media" in folders else None
        self.mail = Mailbox(folders["mail"]) if "mail" in folders else None

    def _connection(self) -> sqlite3.Connection:
        from grader.evidence import _model_map, open_readonly

        if self._conn is None:
            if self.db is None or not self.db.is_file():
                raise VerifyError("the test run left no database")
            self._conn = open_readonly(self.db)
            self._maps = _model_map(self._conn)
        return self._conn

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def __call__(self, nodeid: str, names: tuple[str, ...], tracked: dict[str, list[str]],
                 notes: dict[str, list[str]]) -> str | None:
        """Why the pass of `nodeid` is not backed (the first function that says so), or None.
        Raises VerifyError when a function fails or the run left nothing to read."""
        module = load(self.path)
        try:
            conn = self._connection()
            run = Run(nodeid, conn, tracked, notes, media=self.media, mail=self.mail,
                      _models=self._maps[0], _roles=self._maps[1])
            for name in names:
                try:
                    reason = getattr(module, name)(run)
                except Exception as exc:
                    raise VerifyError(f"verify.py's {name}() failed on {nodeid}: "
                                      f"{type(exc).__name__}: {exc}"[:300]) from None
                if reason:
                    return str(reason)[:300]
            return None
        except (sqlite3.Error, ValueError, TypeError) as exc:
            raise VerifyError(f"the grading database cannot be read: {type(exc).__name__}: {exc}"[:300]) from None
