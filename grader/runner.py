"""Stage 2: run the hidden suite against a copy of the submission in a sandboxed child.

The runner returns what happened, as raw material for the next stages: the
child's report (parsed JSON, not trusted), the path of a private copy of the
grading database, the captured output, and how the child ended.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import stat
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from grader import fstree, runtime, sandbox
from grader.discover import Project
from grader.harness._grader_harness.protocol import RunSettings, read_channel
from grader.rubric import Assignment

HARNESS = Path(__file__).resolve().parent / "harness"
REPORT_CAP = 8 * 1024 * 1024
COPY_IGNORE = shutil.ignore_patterns(
    ".git", ".venv", "venv", "__pycache__", "node_modules", ".tox", "*.pyc", ".pytest_cache"
)
# What the child may add to its writable folders (submission copy, db/, tmp/):
# checked while it runs, every WATCH_INTERVAL_S; past either cap the run is stopped.
WATCH_INTERVAL_S = 0.5
MAX_NEW_ENTRIES = 10_000


@dataclass
class Controls:
    """Tests whose outcome the grader knows in advance; their names change every run."""

    file: str
    must_pass: list[str]
    must_fail: list[str]

    @classmethod
    def generate(cls) -> Controls:
        tag = secrets.token_hex(4)
        return cls(
            file=f"test_{tag}.py",
            must_pass=[f"test_{secrets.token_hex(6)}" for _ in range(2)],
            must_fail=[f"test_{secrets.token_hex(6)}" for _ in range(2)],
        )

    def source(self) -> str:
        lines = []
        for name in self.must_pass:
            lines.append(f"def {name}():\n    assert True\n")
        for name in self.must_fail:
            lines.append(f"def {name}():\n    raise AssertionError('expected')\n")
        return "\n".join(lines)

    def expected(self) -> dict[str, str]:
        out = {f"{self.file}::{n}": "passed" for n in self.must_pass}
        out.update({f"{self.file}::{n}": "failed" for n in self.must_fail})
        return out


@dataclass
class RunResult:
    mode: str  # sandbox used: bwrap | none
    returncode: int | None
    timed_out: bool
    duration_s: float
    report: dict | None  # what the child wrote (untrusted)
    report_problem: str = ""  # why `report` is None or unusable
    db_copy: Path | None = None  # private copy of the grading database
    output: str = ""  # first part of what the child printed
    output_bytes: int = 0  # how much it printed in all
    controls: Controls | None = None
    token: str = ""
    private: Path | None = None  # grader-only folder; removed by cleanup()
    work: Path | None = None  # the run's work folder (gone after the run; its path is redacted)
    warnings: list[str] = field(default_factory=list)
    stopped: str = ""  # why the grader stopped the run early (a limit), if it did
    stack: list[str] = field(default_factory=list)  # at a time-out: the student's frames running, innermost first
    # What the child wrote on the authenticated channel as it happened (protocol.py):
    verdicts: dict[str, dict] = field(default_factory=dict)  # nodeid -> the child's verdict, as the test ended
    events: list[dict] = field(default_factory=list)  # connections, as they were made
    ledger: list[tuple[str, str, object]] = field(default_factory=list)  # (nodeid, entry, value)
    # why the channel cannot be trusted (a line the run's key did not sign, one missing or out
    # of place, the submission calling the grader's evidence functions): proof of tampering
    channel_problem: str = ""
    # the assignment's [folders] ("media", "mail") as the child left them, moved to the private
    # folder after it exited: for the assignment's verify.py
    folders: dict[str, Path] = field(default_factory=dict)

    def cleanup(self) -> None:
        if self.private:
            fstree.remove(self.private)


class Drain(threading.Thread):
    """Reads the child's output, keeping only the first `cap` bytes."""

    def __init__(self, stream, cap: int):
        super().__init__(daemon=True)
        self.stream, self.cap = stream, cap
        self.kept = bytearray()
        self.total = 0

    def run(self) -> None:
        while chunk := self.stream.read(65536):
            self.total += len(chunk)
            room = self.cap - len(self.kept)
            if room > 0:
                self.kept += chunk[:room]


# What a submission may be: the same limits as one student's folder of a class archive.
SUBMISSION_LIMITS = dict(max_depth=64, max_entries=20_000, max_bytes=256 * 1024 * 1024)


def _fill(project: Project, assignment: Assignment, work: Path, controls: Controls, deadline: float) -> list[str]:
    """Copy the submission and the hidden suite into the work folder (the harness is there
    already); returns warnings (files of the submission that could not be copied). Raises
    fstree.TreeLimit for a submission too deep, too large or too slow to copy."""
    warnings = []
    failed = fstree.copy(
        project.root, work / "submission", COPY_IGNORE, fstree.Limits(**SUBMISSION_LIMITS, deadline=deadline)
    )
    if failed:  # unreadable files: grade what could be copied, and say so
        warnings.append(
            f"{len(failed)} file(s) of the submission could not be read and were left out: "
            + ", ".join(failed[:5])
            + (" ..." if len(failed) > 5 else "")
        )
    shutil.copytree(assignment.tests_dir, work / "suite", ignore=COPY_IGNORE, dirs_exist_ok=True)
    (work / "suite" / controls.file).write_text(controls.source())
    return warnings


def disk_cap(assignment: Assignment) -> int:
    """Bytes the child may add to its writable folders (its files are capped one by one too)."""
    return max(256, 8 * assignment.limits.max_file_mb) * 1024 * 1024


def _usage(folders: list[Path], stop_bytes: int, stop_entries: int) -> tuple[int, int]:
    """(bytes allocated, entries) under folders, symlinks not followed; stops counting past the caps."""
    total = entries = 0
    stack = list(folders)
    while stack and total <= stop_bytes and entries <= stop_entries:
        try:
            with os.scandir(stack.pop()) as it:
                for entry in it:
                    entries += 1
                    try:
                        st = entry.stat(follow_symlinks=False)
                    except OSError:
                        continue
                    if stat.S_ISDIR(st.st_mode):
                        stack.append(Path(entry.path))
                    total += st.st_blocks * 512
                    if total > stop_bytes or entries > stop_entries:
                        break
        except OSError:
            continue
    return total, entries


class _DiskWatch:
    """What the child writes to its work folders, against the size it started with.

    Under bubblewrap the child writes only into size-capped tmpfs mounts (its /tmp and the
    folder it runs the submission from) and the one database file: those mounts are measured
    through the sandbox's /proc/<pid>/root with statvfs (bytes and files in use, deleted but
    open files included); `base_bytes`/`base_entries` are what the submission brought.
    """

    def __init__(
        self,
        folders: list[Path],
        max_bytes: int,
        max_entries: int = MAX_NEW_ENTRIES,
        mounts: Callable[[], list[str]] | None = None,
    ):
        self.folders = folders
        self.base_bytes, self.base_entries = _usage(folders, 1 << 62, 1 << 62)
        self.max_bytes, self.max_entries = max_bytes, max_entries
        self.mounts = mounts

    def _mounted(self) -> tuple[int, int]:
        used = entries = 0
        for mount in self.mounts() if self.mounts is not None else []:
            try:
                st = os.statvfs(mount)
            except OSError:
                continue
            used += (st.f_blocks - st.f_bfree) * st.f_frsize
            entries += st.f_files - st.f_ffree
        return used, entries

    def problem(self) -> str:
        used, entries = _usage(self.folders, self.base_bytes + self.max_bytes, self.base_entries + self.max_entries)
        new_bytes, new_entries = used - self.base_bytes, entries - self.base_entries
        margin = 0
        if self.mounts:
            # the mounts start with a copy of what the submission brought (the base)
            mounted, mounted_entries = self._mounted()
            new_bytes += max(0, mounted - self.base_bytes)
            new_entries += max(0, mounted_entries - self.base_entries)
            margin = 4 << 20  # a full tmpfs refuses the last bytes: stop just before its cap
        if new_bytes > self.max_bytes - margin:
            return f"the run was stopped: it wrote more than {self.max_bytes // (1024 * 1024)} MB of files"
        if new_entries > self.max_entries:
            return f"the run was stopped: it created more than {self.max_entries} files"
        return ""


def _sandbox_mounts(pid: int, inside: list[str]) -> Callable[[], list[str]]:
    """The child's tmpfs mounts as the grader can reach them: /proc/<first child of bwrap>/root/...
    (found on first use; none when /proc does not let us look, and then only the caps apply)."""
    found: list[str] = []

    def mounts() -> list[str]:
        if not found:
            try:
                children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
            except OSError:
                return []
            if children:
                found.extend(f"/proc/{children[0]}/root{path}" for path in inside)
        return found

    return mounts


def _read_capped(path: Path, cap: int) -> tuple[dict | None, str]:
    try:
        size = path.stat().st_size
    except OSError:
        return None, "the test run left no report"
    if size == 0:
        return None, "the test run ended before it could write its report"
    if size > cap:
        return None, f"the test run's report is {size} bytes, more than the {cap} allowed"
    try:
        data = json.loads(path.read_bytes())
    except (ValueError, UnicodeDecodeError):
        return None, "the test run's report is not valid JSON"
    except RecursionError:  # valid JSON nested deeper than Python's parser goes
        return None, "the test run's report is nested too deeply to read"
    if not isinstance(data, dict):
        return None, "the test run's report has the wrong shape"
    return data, ""


STACK_MARGIN_S = 0.7  # the child dumps its stack this long before the grader's deadline
_FRAME = re.compile(r'^\s*File "(?P<file>[^"]+)", line (?P<line>\d+) in (?P<func>\S+)')


def running_frames(path: Path, submission: str, cap: int = 64 * 1024) -> list[str]:
    """The student's frames in the stack the child's faulthandler wrote ("file:line in
    function", innermost first), from the first thread that was running student code."""
    try:
        with open(path, "rb") as fh:
            text = fh.read(cap).decode(errors="replace")
    except OSError:
        return []
    prefix = submission.rstrip("/") + "/"
    for block in re.split(r"(?m)^(?:Thread 0x[0-9a-f]+|Current thread 0x[0-9a-f]+|Stack)", text):
        frames = []
        for line in block.splitlines():
            match = _FRAME.match(line)
            if match and match.group("file").startswith(prefix):
                frames.append(f"{match.group('file')[len(prefix) :]}:{match.group('line')} in {match.group('func')}")
        if frames:
            return frames[:8]
    return []


MIN_FREE_BYTES = 64 * 1024 * 1024


def grader_disk_full(folder: Path | None) -> str:
    """Why the grader's own disk (where `folder` lives) is too full for a fair run, or ""."""
    try:
        free = shutil.disk_usage(folder if folder and folder.exists() else tempfile.gettempdir()).free
    except OSError:
        return ""
    if free < MIN_FREE_BYTES:
        return f"the grader's disk has only {free // (1024 * 1024)} MB free"
    return ""


CHANNEL_CAP = 16 * 1024 * 1024  # the channel's lines read at the most (a run writes a few kB)


def read_channel_file(path: Path, key: bytes, result: RunResult) -> None:
    """Fill `result` from what the child wrote on the channel: verdicts (one per test),
    connections, the ledger, and why the channel cannot be trusted, if it cannot."""
    try:
        with open(path, "rb") as fh:
            data = fh.read(CHANNEL_CAP + 1)
    except OSError:
        data = b""
    if len(data) > CHANNEL_CAP:  # the harness writes nothing near this: cut at a line (its rest unread)
        data = data[: data.rfind(b"\n", 0, CHANNEL_CAP) + 1]
    channel = read_channel(data, key)
    result.channel_problem = channel.broken
    for record in channel.records:
        kind, nodeid = record.get("kind"), record.get("nodeid")
        if (
            kind == "verdict"
            and isinstance(nodeid, str)
            and record.get("outcome") in ("passed", "failed", "skipped", "error")
        ):
            if nodeid in result.verdicts:
                result.channel_problem = f"the grader's channel holds two verdicts for {nodeid}"
            result.verdicts.setdefault(nodeid, record)
        elif kind == "connect" and len(result.events) < 10_000:
            result.events.append(record)
        elif kind == "ledger" and isinstance(nodeid, str) and isinstance(record.get("entry"), str):
            result.ledger.append((nodeid, record["entry"], record.get("value")))
        elif kind == "forged" and not result.channel_problem:
            where = str(record.get("where") or "")[:200]
            what = "a test's verdict" if record.get("what") == "verdict" else "what a test did"
            result.channel_problem = (
                f"code of the submission{f' ({where})' if where else ''} called the "
                f"grader's own helpers to record {what}"
            )


def _copy_db(src_dir: Path, dest_dir: Path) -> Path | None:
    src = src_dir / "grading.sqlite3"
    if not src.is_file() or src.is_symlink():
        return None
    dest = dest_dir / "evidence.sqlite3"
    for suffix in ("", "-wal", "-journal"):
        part = Path(str(src) + suffix)
        if part.is_file() and not part.is_symlink():
            shutil.copyfile(part, str(dest) + suffix)
    return dest


def _keep_folders(work: Path, private: Path, names: tuple[str, ...]) -> dict[str, Path]:
    """Move the run's [folders] out of the work folder (removed with the child) into the
    private one, for verify.py; the child is gone, so nothing changes them any more."""
    kept = {}
    for name in names:
        src = work / name
        if src.is_dir() and not src.is_symlink():
            dest = private / f"folder-{name}"
            os.rename(src, dest)
            kept[name] = dest
    return kept


class Child:
    """A grading child started ahead of its submission.

    The sandbox is set up and Python is importing pytest and Django (none of the
    student's code) while the grader finishes its own start-up and copies the
    submission in; the child then waits on stdin for its run settings. `run()`
    starts one itself when not handed one; the CLI starts it first thing, which
    takes the child's imports off the critical path of a grading run.
    """

    def __init__(self, assignment: Assignment, mode: str = "auto"):
        self.mode, warning = sandbox.resolve(mode)
        self.warnings = [warning] if warning else []
        self.runtime = runtime.ensure(assignment.runtime)
        if assignment.runtime.packages and not self.runtime.usable:
            self.warnings.append(
                "the grader could not install the packages your instructor allows "
                f"({', '.join(assignment.runtime.packages)}): {self.runtime.problem}. A project that "
                "needs one of them cannot be graded right now; this is not a problem of your code."
            )
        self.work = self._new_work()
        self.private = Path(tempfile.mkdtemp(prefix="grader-private-"))
        self.cgroup: sandbox.ChildCgroups | None = None
        self.proc: subprocess.Popen[bytes] | None = None
        self._waiter: threading.Thread | None = None
        self.report_path = self.private / f"{secrets.token_hex(8)}.json"
        self.stack_path = self.private / f"{secrets.token_hex(8)}.stack"
        self.channel_path = self.private / f"{secrets.token_hex(8)}.channel"
        self.channel_key = secrets.token_bytes(32)
        try:
            self._start(assignment)
        except BaseException:
            self.close()
            fstree.remove(self.private)
            raise

    def _new_work(self) -> Path:
        return Path(tempfile.mkdtemp(prefix="grader-work-"))

    def _make_folders(self, assignment: Assignment) -> None:
        """The run's folders in `work`: the submission and the hidden suite are copied in later
        (_fill); db/ holds the one file the child writes on this disk."""
        for name in ("submission", "suite", "db", "tmp", *assignment.folders):
            (self.work / name).mkdir()
        (self.work / "db" / "grading.sqlite3").touch()

    def _open_files(self) -> None:
        """The descriptors the child writes what the grader reads: its report, its stack just
        before the time limit (faulthandler), and the authenticated channel (what the grader
        believes of the run, written as it happens)."""
        self.report_fd = os.open(self.report_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        self.stack_fd = os.open(self.stack_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        self.channel_fd = os.open(self.channel_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND, 0o600)
        self._files_open = True

    def _close_files(self) -> None:
        """Once the child holds its own copies (their numbers stay in the run settings)."""
        if getattr(self, "_files_open", False):
            self._files_open = False
            for fd in (self.report_fd, self.stack_fd, self.channel_fd):
                os.close(fd)

    def inside(self, path: Path) -> str:
        return sandbox.Layout(self.work).inside(path, self.mode)

    @property
    def submission_inside(self) -> str:
        """Where the child runs the submission: under bubblewrap a size-capped tmpfs that it
        fills from the read-only copy (work/submission, seen as source); else the copy itself."""
        if self.mode == "bwrap":
            return str(Path(sandbox.MOUNT) / "run")
        return self.inside(self.work / "submission")

    def _start(self, assignment: Assignment) -> None:
        work, limits = self.work, assignment.limits
        self._make_folders(assignment)
        shutil.copytree(HARNESS, work / "harness", ignore=COPY_IGNORE)
        bootstrap = work / "harness" / "_grader_harness" / "bootstrap.py"
        # -I: no PYTHON* variables, no user site, no script folder on sys.path;
        # -S: no site module, so no .pth file of any installation runs: the child's
        # sys.path is the standard library plus the package folders named by the grader.
        command = [sys.executable, "-I", "-S", self.inside(bootstrap)]
        extra = self.runtime.roots
        if self.mode == "bwrap":
            # The child copies the submission from a read-only view into a size-capped tmpfs
            # before any student code runs (the grader copies it in after starting the child).
            layout, cap = sandbox.Layout(work), disk_cap(assignment)
            command = sandbox.bwrap_argv(
                layout,
                readonly=[work / "harness", work / "suite", work / "submission"],
                command=command,
                cwd=self.submission_inside,
                extra_roots=extra,
                tmp_bytes=cap,
                tmpfs=(
                    (self.submission_inside, cap + SUBMISSION_LIMITS["max_bytes"]),
                    (layout.inside(work / "db", "bwrap"), 64 * 1024),
                ),
                writable_files=(work / "db" / "grading.sqlite3",),
                writable_dirs=tuple(work / name for name in assignment.folders),
            )
        self.cgroup = sandbox.ChildCgroups(limits.max_processes, sandbox.memory_cap(limits))
        if not self.cgroup.pids and self.mode == "none":
            self.warnings.append("no pids cgroup available: the number of processes is not capped")
        # HOME and TMPDIR: under bubblewrap its size-capped tmpfs /tmp, else work/tmp
        tmp_inside = "/tmp" if self.mode == "bwrap" else self.inside(work / "tmp")
        self._open_files()
        try:
            self.proc = subprocess.Popen(
                sandbox.launcher(self.cgroup) + command,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                cwd=work / "submission",
                env=sandbox.child_env(tmp_inside, extra),
                pass_fds=(self.report_fd, self.stack_fd, self.channel_fd),
                start_new_session=True,
            )
        finally:
            self._close_files()
        assert self.proc.stdout is not None  # started with stdout=PIPE
        self.drain = Drain(self.proc.stdout, limits.max_output_kb * 1024)
        self.drain.start()

    @property
    def started(self) -> subprocess.Popen[bytes]:
        """The child's process (once start() ran; before, a bug of the grader's)."""
        if self.proc is None:
            raise RuntimeError("the grading child was not started")
        return self.proc

    def send(self, settings: RunSettings) -> None:
        stdin = self.started.stdin
        assert stdin is not None  # started with stdin=PIPE
        try:
            stdin.write(settings.to_line())
            stdin.close()
        except BrokenPipeError:
            pass

    def wait(self, timeout: float) -> bool:
        """Wait up to `timeout` s for the child to end; True once it has. Popen.wait(timeout)
        polls with sleeps of up to 50 ms; a thread blocked in wait() ends the moment the
        child does, and join() wakes right then."""
        if self._waiter is None:
            self._waiter = threading.Thread(target=self.started.wait, daemon=True)
            self._waiter.start()
        self._waiter.join(timeout=timeout)
        return not self._waiter.is_alive()

    @property
    def returncode(self) -> int | None:
        """How the child ended, as Popen says (bubblewrap's 128+N for a signal N as such)."""
        return self.started.returncode

    def mounts(self, inside: list[str]) -> Callable[[], list[str]]:
        """The child's tmpfs mounts `inside`, as the grader can measure them."""
        return _sandbox_mounts(self.started.pid, inside)

    def stop(self) -> None:
        """Kill the child and everything it started, and reap it."""
        if self.proc is not None:
            sandbox.kill_group(self.proc)
        if self.cgroup is not None:
            self.cgroup.kill_all()
        if self.proc is not None:
            self.proc.wait()

    def close(self) -> None:
        """Stop the child and remove its cgroups and work folder (not the private one)."""
        self.stop()
        if self.cgroup is not None:
            self.cgroup.remove()
        if self.proc is not None:
            for stream in (self.proc.stdin, self.proc.stdout):
                try:
                    if stream is not None:
                        stream.close()
                except (OSError, ValueError):
                    pass
        fstree.remove(self.work)

    def abandon(self) -> None:
        """The child will not be used (the submission could not be discovered)."""
        self.close()
        fstree.remove(self.private)


def run(project: Project, assignment: Assignment, mode: str = "auto", child: Child | None = None) -> RunResult:
    started = time.monotonic()
    child = child or Child(assignment, mode)
    limits, work = assignment.limits, child.work
    controls = Controls.generate()
    token = secrets.token_hex(3)
    result = RunResult(
        mode=child.mode,
        returncode=None,
        timed_out=False,
        duration_s=0.0,
        report=None,
        controls=controls,
        token=token,
        private=child.private,
        work=child.work,
        warnings=list(child.warnings),
    )
    deadline = started + limits.wall_time_s  # copying the submission is part of the run's time
    try:
        result.warnings += _fill(project, assignment, work, controls, deadline)
        own = [work / name for name in assignment.folders]  # on the grader's disk under bwrap too
        watch = _DiskWatch(
            [work / "submission", work / "db", work / "tmp", *own],
            disk_cap(assignment),
            mounts=child.mounts(["/tmp", child.submission_inside]) if child.mode == "bwrap" else None,
        )
        result.warnings += runtime.requirement_warnings(project.root, assignment.runtime, child.runtime)
        # The hidden files run in the rubric's order: the cheap checks first, so that a
        # receiver that hangs keeps the points already earned.
        tests = list(dict.fromkeys(t.split("::")[0] for t in assignment.test_ids)) + [controls.file]
        child.send(
            RunSettings(
                submission=child.submission_inside,
                settings=project.settings_module,
                db=child.inside(work / "db" / "grading.sqlite3"),
                suite=child.inside(work / "suite"),
                tests=tests,
                token=token,
                report_fd=child.report_fd,
                channel_fd=child.channel_fd,
                channel_key=child.channel_key.hex(),
                stack_fd=child.stack_fd,
                stack_after_s=max(0.5, deadline - time.monotonic() - STACK_MARGIN_S),
                source=child.inside(work / "submission") if child.mode == "bwrap" else None,
                models=dict(assignment.models),
                connections=dict(assignment.connections),
                allowed_packages=sorted(assignment.runtime.names),
                disk_cap_mb=disk_cap(assignment) // (1024 * 1024),
                runtime_ok=child.runtime.usable or not assignment.runtime.packages,
                rlimits=sandbox.rlimits(limits, child.mode),
                folders={name: child.inside(work / name) for name in assignment.folders},
            )
        )
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                result.timed_out = True
                break
            if child.wait(min(WATCH_INTERVAL_S, remaining)):
                break
            problem = watch.problem()
            if problem:
                result.stopped = problem
                break
        child.stop()
        child.drain.join(timeout=5)
        result.returncode = child.returncode
        if child.mode == "bwrap" and result.returncode is not None and 128 < result.returncode <= 128 + 64:
            # bubblewrap exits with 128+N when the child was killed by signal N
            # (the memory cgroup's OOM kill, a file-size limit): report it as Popen would.
            result.returncode = 128 - result.returncode
        result.output = child.drain.kept.decode(errors="replace")
        result.output_bytes = child.drain.total
        result.duration_s = time.monotonic() - started
        result.report, result.report_problem = _read_capped(child.report_path, REPORT_CAP)
        if result.timed_out:
            result.stack = running_frames(child.stack_path, child.submission_inside)
        read_channel_file(child.channel_path, child.channel_key, result)
        result.db_copy = _copy_db(work / "db", child.private)
        result.folders = _keep_folders(work, child.private, assignment.folders)
    except BaseException:
        fstree.remove(child.private)
        raise
    finally:
        child.close()
    return result
