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
following links, within caps and within one time budget for the run (VERIFY_BUDGET_S). A
function that raises is the grader's problem (VerifyError: the run is an error, never
``tampered``); input the verifier will not or cannot read (over a cap, unparseable, more work
than the budget) is the submission's (VerifyRefused, with a message for the student).
"""

from __future__ import annotations

import contextlib
import email
import email.errors
import email.parser
import email.policy
import importlib.util
import os
import sqlite3
import stat
import sys
import time
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any, cast

from grader import fstree
from grader.gradingdb import model_map, open_readonly, render_sql

# What the grader reads of what the student's code left (each cap bounds one step the budget
# cannot interrupt; the budget bounds their sum). Over a cap, that input is not parsed at all:
# the verification is refused (VerifyRefused), the submission's failure.
MAX_FILES = 10_000  # a folder's entries read at the most
MAX_DEPTH = 32  # folders nested in a folder, at the most
MAX_READ = 4 * 1024 * 1024  # bytes of one file read at the most (Folder.read's default)
MAX_MAIL = 4 * 1024 * 1024  # bytes of all the mail of a run
MAX_MESSAGE = 1024 * 1024  # bytes of one e-mail
MAX_MESSAGES = 1_000  # e-mails in the mail folder
MAX_HEADER = 4_096  # characters of one header, its name and folded lines included
MAX_HEADERS = 200  # headers of one e-mail, its parts' included
MAX_HEADER_BYTES = 64 * 1024  # characters of all the headers of one e-mail
MAX_PARTS = 100  # parts of one e-mail (itself included)
MAX_NESTED = 10  # multipart/* and message/* parts of one e-mail (each can nest)
FEED_CHUNK = 16 * 1024  # the parser is fed this much at a time, the budget looked at between
# All of verify.py's work for one run (every test, every function), the database's queries
# included: past it, what is left is not checked and the run's verification is refused.
VERIFY_BUDGET_S = 10.0
# Django's file e-mail backend ends every message with a line of 79 dashes.
MESSAGE_END = b"\n" + b"-" * 79 + b"\n"
ORDINARY_MAIL = "your code must send ordinary e-mails (Django's send_mail or EmailMessage)"
ORDINARY_FILES = "your code must leave ordinary files"
_EMAIL_DIR = os.path.dirname(email.__file__) + os.sep


class VerifyError(Exception):
    """verify.py could not be loaded or one of its functions failed: the grader's problem."""


class VerifyRefused(Exception):
    """What the student's code left defeated the verifier: a file or e-mail over a cap, one
    that cannot be parsed, or more work than the time budget allows. The message is written
    for the student; it is the submission's failure (never a grader fault, never retried)."""


class _OutOfTime(BaseException):
    """The time budget is spent (a BaseException, so that a broad `except Exception` in
    verify.py cannot swallow it and loop on); the Verifier turns it into VerifyRefused."""


def _size(n: int) -> str:
    if n >= 1024 * 1024:
        return f"{n / (1024 * 1024):.3g} MB"
    return f"{n / 1024:.3g} KB" if n >= 1024 else f"{n} bytes"


class _Budget:
    """The time budget of one run's verification: started by the first check, looked at by
    every reader (folders, mail, database), by a progress handler on the database connection
    and by a trace function while a verify.py function runs (see Verifier). No signal: it
    works in any thread, and leaves SIGALRM to RQ's job timeout."""

    def __init__(self, seconds: float = VERIFY_BUDGET_S):
        self.seconds = seconds
        self.deadline: float | None = None
        self.refused: VerifyRefused | None = None  # the last refusal of the current function
        self._tracer: Any = None  # the trace function while a body runs

    def start(self) -> None:
        if self.deadline is None:
            self.deadline = time.monotonic() + self.seconds

    def spent(self) -> bool:
        return self.deadline is not None and time.monotonic() > self.deadline

    def check(self) -> None:
        if self.spent():
            raise _OutOfTime

    def refuse(self, message: str):
        self.refused = VerifyRefused(message[:300])
        raise self.refused

    def out_of_time(self) -> VerifyRefused:
        self.refused = VerifyRefused(
            f"checking what your code left (stored files, e-mail sent, the database) took longer than the "
            f"grader's {self.seconds:g} s budget, so it was stopped: {ORDINARY_FILES} and e-mails"
        )
        return self.refused

    @contextlib.contextmanager
    def traced(self, filename: str):
        """Run the body with a trace function that stops it past the deadline: at every call
        (any Python code) and at every line of `filename` (verify.py's own loops)."""
        deadline = self.deadline if self.deadline is not None else float("inf")
        clock = time.monotonic

        def local(frame, event, arg):
            if event == "line" and clock() > deadline:
                raise _OutOfTime
            return local

        def tracer(frame, event, arg):
            if clock() > deadline:
                raise _OutOfTime
            return local if frame.f_code.co_filename == filename else None

        previous = sys.gettrace()
        self._tracer = tracer
        sys.settrace(tracer)
        try:
            yield
        finally:
            sys.settrace(previous)
            self._tracer = None

    @contextlib.contextmanager
    def quiet(self):
        """The grader's own readers, which look at the budget themselves, run untraced (the
        trace function would make parsing mail about 2.5 times slower)."""
        tracer = sys.gettrace()
        if tracer is None or tracer is not self._tracer:
            yield
            return
        sys.settrace(None)
        try:
            yield
        finally:
            sys.settrace(tracer)


def _check(budget: _Budget | None) -> None:
    if budget is not None:
        budget.check()


def _refuse(budget: _Budget | None, message: str):
    if budget is not None:
        budget.refuse(message)
    raise VerifyRefused(message[:300])


class Folder:
    """A folder the child wrote into, read without following any link, within caps."""

    def __init__(self, root: Path, budget: _Budget | None = None, label: str = "the folder"):
        self.root = root
        self._budget = budget
        self.label = label

    def _lstat(self, name: str) -> os.stat_result | None:
        """The entry at `name` (a path relative to the folder, '/'-separated), or None when it
        is missing or any part of the way is a link or not a folder."""
        _check(self._budget)
        path = self.root
        parts = [p for p in str(name).replace("\\", "/").split("/") if p not in ("", ".")]
        if not parts or ".." in parts or len(parts) > MAX_DEPTH:
            return None
        for i, part in enumerate(parts):
            path = path / part
            try:
                st = os.lstat(path)
            except (OSError, ValueError):  # ValueError: a name with a NUL byte
                return None
            if stat.S_ISLNK(st.st_mode) or (i < len(parts) - 1 and not stat.S_ISDIR(st.st_mode)):
                return None
        return st

    def exists(self, name: str) -> bool:
        """`name` is a regular file in the folder (a link is not)."""
        st = self._lstat(name)
        return st is not None and stat.S_ISREG(st.st_mode)

    def read(self, name: str, cap: int = MAX_READ) -> bytes | None:
        """The first `cap` bytes (at most MAX_READ) of the regular file `name`, or None."""
        if not self.exists(name):
            return None
        try:
            fd = os.open(self.root / name, os.O_RDONLY | os.O_NOFOLLOW | getattr(os, "O_NONBLOCK", 0))
        except OSError:
            return None
        with os.fdopen(fd, "rb") as fh:
            return fh.read(max(0, min(cap, MAX_READ)))

    def files(self) -> dict[str, int]:
        """Every regular file under the folder: relative path -> size (links are not followed).
        Raises VerifyRefused for a folder of more than MAX_FILES entries or nested deeper than
        MAX_DEPTH: what it holds is not read."""
        found: dict[str, int] = {}
        budget = self._budget
        limits = fstree.Limits(
            max_depth=MAX_DEPTH,
            max_entries=MAX_FILES,
            max_bytes=1 << 62,
            deadline=budget.deadline if budget is not None else None,
        )
        try:
            for entry in fstree.walk(self.root, limits=limits):
                if entry.kind == "file":
                    found[entry.rel] = entry.st.st_size
        except fstree.TreeLimit:
            _check(budget)
            _refuse(
                budget,
                f"{self.label} holds more than {MAX_FILES} files and folders, or folders nested "
                f"more than {MAX_DEPTH} deep, over the grader's caps: {ORDINARY_FILES}",
            )
        return found


class _GuardedPolicy(email.policy.EmailPolicy):
    """email.policy.default, with the caps and the budget of a _MailGuard: the parser reports
    every header (header_source_parse) and every part (message_factory) as it reads them, and
    a header is parsed into its object once, within the budget, by the guard."""

    guard = None

    def header_source_parse(self, sourcelines):
        if self.guard is not None:
            self.guard.source(sourcelines)
        return super().header_source_parse(sourcelines)

    def header_fetch_parse(self, name, value):
        if self.guard is None or hasattr(value, "name"):
            return super().header_fetch_parse(name, value)
        return self.guard.parse(name, value, super().header_fetch_parse)

    def fold(self, name, value):
        if self.guard is None:
            return super().fold(name, value)
        return self.guard.run(name, lambda: super(_GuardedPolicy, self).fold(name, value))

    def fold_binary(self, name, value):
        if self.guard is None:
            return super().fold_binary(name, value)
        return self.guard.run(name, lambda: super(_GuardedPolicy, self).fold_binary(name, value))


class _MailGuard:
    """The caps of one e-mail while it is parsed, and the parsed headers of all of them."""

    def __init__(self, budget: _Budget | None):
        self.budget = budget
        self.parsed: dict[tuple[str, str], object] = {}  # (name, raw value) -> header object
        self.failed: dict[tuple[str, str], str] = {}  # (name, raw value) -> why it was refused
        self.parsing = False
        self.parts = self.headers = self.header_chars = self.nested = 0

    def begin(self) -> None:
        self.parsing = True
        self.parts = self.headers = self.header_chars = self.nested = 0

    def refuse(self, message: str):
        _refuse(self.budget, message)

    def part(self, policy=None) -> EmailMessage:
        """The parser's message_factory: every part it makes is counted."""
        if self.parsing:
            self.parts += 1
            if self.parts > MAX_PARTS:
                self.refuse(
                    f"an e-mail in the mail folder has more than {MAX_PARTS} parts, over the grader's "
                    f"cap: {ORDINARY_MAIL}"
                )
            _check(self.budget)
        return EmailMessage(policy=policy)

    def source(self, sourcelines: list[str]) -> None:
        """One header as the parser read it, before anything parses its value."""
        if not self.parsing:
            return
        size = (
            sum(len(line) for line in sourcelines) - len(sourcelines[-1]) + len(sourcelines[-1].rstrip("\r\n"))
            if sourcelines
            else 0
        )
        name = sourcelines[0].partition(":")[0].strip()[:40] if sourcelines else ""
        self.headers += 1
        self.header_chars += size
        if size > MAX_HEADER:
            self.refuse(
                f"an e-mail in the mail folder has a {name!r} header of {size} characters, over the "
                f"grader's cap of {MAX_HEADER} for one header: {ORDINARY_MAIL}"
            )
        if self.headers > MAX_HEADERS or self.header_chars > MAX_HEADER_BYTES:
            self.refuse(
                f"an e-mail in the mail folder has more than {MAX_HEADERS} headers or "
                f"{_size(MAX_HEADER_BYTES)} of them, over the grader's cap: {ORDINARY_MAIL}"
            )
        if name.lower() == "content-type":
            # a part that holds parts needs a multipart/* or message/* type, written as such
            value = "".join(sourcelines).lower()
            if "multipart" in value or "message" in value:
                self.nested += 1
                if self.nested > MAX_NESTED:
                    self.refuse(
                        f"an e-mail in the mail folder nests more than {MAX_NESTED} multipart or "
                        f"message parts, over the grader's cap: {ORDINARY_MAIL}"
                    )

    def run(self, name: str, work):
        """`work` (parsing or folding a header made by the student's code), within the budget;
        what it cannot do is a refusal."""
        _check(self.budget)
        try:
            with self.budget.quiet() if self.budget is not None else contextlib.nullcontext():
                return work()
        except RecursionError:
            self.refuse(
                f"an e-mail in the mail folder has a {str(name)[:40]!r} header nested too deeply "
                f"for the grader to read: {ORDINARY_MAIL}"
            )
        except (VerifyRefused, MemoryError):
            raise
        except Exception as exc:
            self.refuse(
                f"an e-mail in the mail folder has a {str(name)[:40]!r} header the grader cannot read "
                f"({type(exc).__name__}: {exc}): {ORDINARY_MAIL}"
            )

    def parse(self, name: str, value: str, fetch):
        key = (str(name).lower(), value)
        if key in self.failed:
            self.refuse(self.failed[key])
        if key not in self.parsed:
            try:
                if len(value) > MAX_HEADER:  # set by verify.py itself, never read from the folder
                    self.refuse(
                        f"an e-mail header of {len(value)} characters is over the grader's cap: {ORDINARY_MAIL}"
                    )
                self.parsed[key] = self.run(name, lambda: fetch(name, value))
            except VerifyRefused as exc:
                self.failed[key] = str(exc)
                raise
        return self.parsed[key]


class Mailbox:
    """The e-mail the run sent, as Django's file backend wrote it (one file per connection,
    each message ended by a line of dashes), parsed with the standard library's
    email.policy.default within caps: at most MAX_MESSAGES e-mails of MAX_MESSAGE bytes,
    MAX_MAIL in all; headers and parts capped as they are read (MAX_HEADER, MAX_HEADERS,
    MAX_HEADER_BYTES, MAX_PARTS, MAX_NESTED), so that no header is parsed with quadratic cost
    and no structure is deep enough to recurse far. Over a cap, or unparseable: VerifyRefused,
    every time `messages` is read."""

    def __init__(self, root: Path, budget: _Budget | None = None):
        self.folder = Folder(root, budget, "the mail folder")
        self._budget = budget
        self._guard = _MailGuard(budget)
        self._policy = _GuardedPolicy(guard=self._guard, message_factory=self._guard.part)  # type: ignore[call-overload]  # a Policy subclass with a field of its own
        self._messages: list[EmailMessage] | None = None
        self._refusal = ""

    @property
    def messages(self) -> list[EmailMessage]:
        if self._refusal:
            _refuse(self._budget, self._refusal)
        if self._messages is None:
            try:
                with self._budget.quiet() if self._budget is not None else contextlib.nullcontext():
                    self._messages = self._load()
            except VerifyRefused as exc:
                self._refusal = str(exc)
                raise
            finally:
                self._guard.parsing = False
        return self._messages

    def _load(self) -> list[EmailMessage]:
        files = self.folder.files()
        total = sum(files.values())
        if total > MAX_MAIL:
            _refuse(
                self._budget,
                f"the mail folder holds {_size(total)} of e-mail, over the grader's "
                f"{_size(MAX_MAIL)} cap for all the e-mail of a run: {ORDINARY_MAIL}",
            )
        messages: list[EmailMessage] = []
        read = 0
        for name in sorted(files):
            data = self.folder.read(name, MAX_MAIL + 1 - read) or b""
            read += len(data)
            if read > MAX_MAIL:
                _refuse(
                    self._budget,
                    f"the mail folder holds more than {_size(MAX_MAIL)} of e-mail, over the "
                    f"grader's cap for all the e-mail of a run: {ORDINARY_MAIL}",
                )
            for raw in data.split(MESSAGE_END):
                if not raw.strip():
                    continue
                if len(raw) > MAX_MESSAGE:
                    _refuse(
                        self._budget,
                        f"the mail folder holds a message of {_size(len(raw))}, over the "
                        f"grader's {_size(MAX_MESSAGE)} cap for one e-mail: {ORDINARY_MAIL}",
                    )
                if len(messages) >= MAX_MESSAGES:
                    _refuse(
                        self._budget,
                        f"the mail folder holds more than {MAX_MESSAGES} e-mails, over the "
                        f"grader's cap: {ORDINARY_MAIL}",
                    )
                messages.append(self._parse(raw))
        return messages

    def _parse(self, raw: bytes) -> EmailMessage:
        """One e-mail, fed to the parser a chunk at a time (the budget looked at between)."""
        self._guard.begin()
        parser = email.parser.BytesFeedParser(policy=self._policy)
        try:
            for start in range(0, len(raw), FEED_CHUNK):
                _check(self._budget)
                parser.feed(raw[start : start + FEED_CHUNK])
            message = parser.close()
        except RecursionError:
            _refuse(
                self._budget,
                f"an e-mail in the mail folder nests its parts too deeply for the grader to read: {ORDINARY_MAIL}",
            )
        except (VerifyRefused, MemoryError):
            raise
        except Exception as exc:
            _refuse(
                self._budget,
                f"an e-mail in the mail folder cannot be read ({type(exc).__name__}: {exc}): {ORDINARY_MAIL}",
            )
        finally:
            self._guard.parsing = False
        return cast(EmailMessage, message)  # the policy makes EmailMessage parts


@dataclass
class Run:
    """What one hidden test left, for a function of verify.py."""

    nodeid: str
    db: sqlite3.Connection  # the grading database, read-only
    tracked: dict[str, list[str]]  # role -> primary keys (text) the test tracked
    notes: dict[str, list[str]]  # name -> values the test noted (support.note)
    media: Folder | None = None  # MEDIA_ROOT ([folders] media)
    mail: Mailbox | None = None  # the e-mail sent ([folders] mail)
    _models: dict = field(default_factory=dict, repr=False)
    _roles: dict = field(default_factory=dict, repr=False)
    _budget: _Budget | None = field(default=None, repr=False)

    def note(self, name: str) -> str | None:
        """The last value the test noted under `name`, or None."""
        _check(self._budget)
        values = self.notes.get(name)
        return values[-1] if values else None

    def query(self, sql: str, params: tuple | list = ()) -> list[tuple]:
        """Rows of a query written against roles, as [evidence] sql is: {role}, {role.field},
        {role.pk}, {tracked.role}; `params` follow the tracked keys' placeholders."""
        _check(self._budget)
        text, tracked_params = render_sql(sql, self._models, self._roles, self.tracked)
        try:
            with self._budget.quiet() if self._budget is not None else contextlib.nullcontext():
                return self.db.execute(text, [*tracked_params, *params]).fetchmany(1000)
        except sqlite3.OperationalError:
            _check(self._budget)  # interrupted by the budget's progress handler
            raise


_LOADED: dict[tuple[str, int], object] = {}


def load(path: Path):
    """The assignment's verify.py as a module (loaded once per version of the file)."""
    try:
        key = (str(path.resolve()), path.stat().st_mtime_ns)
    except OSError as exc:
        raise VerifyError(f"{path.name} cannot be read: {exc}") from None
    if key not in _LOADED:
        spec = importlib.util.spec_from_file_location(f"_grader_verify_{abs(hash(key))}", path)
        if spec is None or spec.loader is None:
            raise VerifyError(f"{path.name} cannot be loaded as a Python module")
        module = importlib.util.module_from_spec(spec)
        try:
            spec.loader.exec_module(module)
        except Exception as exc:
            raise VerifyError(f"{path.name} does not load: {type(exc).__name__}: {exc}") from None
        _LOADED[key] = module
    return _LOADED[key]


# Errors the standard library's e-mail package raises on bytes it cannot make sense of (an
# unknown charset, bad base64, ...): raised there while verify.py reads the student's mail,
# they are the mail's fault; anything else a function raises is verify.py's.
_MAIL_ERRORS = (LookupError, ValueError, IndexError, RecursionError, email.errors.MessageError)


def _raised_in_email(exc: BaseException) -> bool:
    tb = exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename.startswith(_EMAIL_DIR):
            return True
        tb = tb.tb_next
    return False


class Verifier:
    """Calls the functions of verify.py for the tests whose pass is claimed. The database is
    opened once for all of them and the mail parsed once; close() when scoring is done.

    All of it shares one time budget, VERIFY_BUDGET_S from the first call: the readers (Folder,
    Mailbox, Run.query) look at it, the database connection's progress handler interrupts a
    query past it, and while a function of verify.py runs a trace function (sys.settrace, of
    this thread only) stops it at its next call or next line of verify.py past it. No signal
    and no thread: it works in the grader's main thread, in a worker's thread or process, and
    in RQ's work horse, whose SIGALRM is RQ's own job timeout. (Code that never returns to
    Python, a regular expression that backtracks forever, is not stopped: the caps keep what
    such code is given small.)

    A function's answer, or VerifyError when verify.py fails (the grader's problem), or
    VerifyRefused when what the student's code left is over a cap, cannot be parsed or takes
    more than the budget (the submission's failure, with a message for the student)."""

    def __init__(self, path: Path, db: Path | None, folders: dict[str, Path]):
        self.path, self.db, self.folders = path, db, folders
        self._conn: sqlite3.Connection | None = None
        self._maps: tuple[dict, dict] = ({}, {})
        self.budget = _Budget(VERIFY_BUDGET_S)
        self.media = Folder(folders["media"], self.budget, "MEDIA_ROOT") if "media" in folders else None
        self.mail = Mailbox(folders["mail"], self.budget) if "mail" in folders else None

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            if self.db is None or not self.db.is_file():
                raise VerifyError("the test run left no database")
            conn = open_readonly(self.db)
            deadline = self.budget.deadline if self.budget.deadline is not None else float("inf")
            conn.set_progress_handler(lambda: 1 if time.monotonic() > deadline else 0, 10_000)
            try:
                self._maps = model_map(conn)
            except BaseException:
                conn.close()
                raise
            self._conn = conn
        return self._conn

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def __call__(
        self, nodeid: str, names: tuple[str, ...], tracked: dict[str, list[str]], notes: dict[str, list[str]]
    ) -> str | None:
        """Why the pass of `nodeid` is not backed (the first function that says so), or None.
        Raises VerifyError when a function fails or the run left nothing to read, VerifyRefused
        when the student's files or mail defeat the verifier."""
        module = load(self.path)
        budget = self.budget
        budget.start()
        budget.refused = None
        if budget.spent():
            raise budget.out_of_time()
        try:
            conn = self._connection()
        except (sqlite3.Error, ValueError, TypeError) as exc:
            if budget.spent():
                raise budget.out_of_time() from None
            raise VerifyError(f"the grading database cannot be read: {type(exc).__name__}: {exc}"[:300]) from None
        run = Run(
            nodeid,
            conn,
            tracked,
            notes,
            media=self.media,
            mail=self.mail,
            _models=self._maps[0],
            _roles=self._maps[1],
            _budget=budget,
        )
        filename = getattr(module, "__file__", None) or str(self.path)
        for name in names:
            budget.refused = None
            try:
                with budget.traced(filename):
                    reason = getattr(module, name)(run)
            except _OutOfTime:
                raise budget.out_of_time() from None
            except VerifyRefused:
                raise
            except Exception as exc:
                if budget.refused is not None:  # refused, and verify.py raised something else
                    raise budget.refused from None
                if budget.spent():
                    raise budget.out_of_time() from None
                if isinstance(exc, _MAIL_ERRORS) and _raised_in_email(exc):
                    raise VerifyRefused(
                        f"an e-mail in the mail folder cannot be read ({type(exc).__name__}: {exc}): {ORDINARY_MAIL}"[
                            :300
                        ]
                    ) from None
                raise VerifyError(
                    f"verify.py's {name}() failed on {nodeid}: {type(exc).__name__}: {exc}"[:300]
                ) from None
            # a refusal verify.py caught (it is an Exception) still stands; past the budget,
            # the answer is not waited for
            if budget.refused is not None:
                raise budget.refused
            if budget.spent():
                raise budget.out_of_time()
            if reason:
                return str(reason)[:300]
        return None
