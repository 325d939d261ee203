"""Warm grading children: a zygote per worker, a fresh fork of it per submission.

A cold child (runner.Child) starts Python in a new bubblewrap sandbox and imports pytest,
Django and the harness for every submission: most of a grading. A `Zygote` is a sandboxed
process that has imported them once and forks a child per submission; the harness's
zygote.py says how each fork gets namespaces, mounts, cgroups and limits of its own, so that
nothing of one submission reaches the next. `WarmChild` is a runner.Child served by a zygote:
the runner grades through it exactly as through a cold one.

Who keeps zygotes: a `Pool` per worker (a batch's slot, a queue worker, a service thread),
one zygote per set of [runtime] package folders. A pool hands out a `Handle` (picklable: a
batch's worker processes get theirs as an argument). A zygote that cannot start, or goes away
during a run, costs nothing but time: `ChildLost`, and api.grade grades that submission cold.

GRADER_WARM=0 turns the warm path off everywhere (`grader batch --cold` for one batch);
GRADER_WARM=force makes `grader grade` use it too (one submission gains nothing from it: the
tests use it to grade hostile submissions on the warm path).
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import json
import logging
import os
import secrets
import select
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

from grader import fstree, runner, runtime, sandbox
from grader.harness._grader_harness.protocol import RunSettings
from grader.rubric import Assignment

START_TIMEOUT_S = 60.0  # a zygote imports Django and pytest: seconds on a loaded machine
READY_TIMEOUT_S = 20.0  # a job's set-up (namespaces, mounts) takes milliseconds
STOP_TIMEOUT_S = 10.0
SOCKET = "ctl.sock"
log = logging.getLogger("grader.warm")


class ChildLost(Exception):
    """The warm child could not be started (grade the submission cold: nothing of it ran), or its
    zygote went away while it ran (`during_run`: a grader fault, never the student's result; a
    stop of the whole worker, as systemd's, ends the zygote too)."""

    def __init__(self, why: str, during_run: bool = False):
        super().__init__(why)
        self.during_run = during_run


def setting() -> str:
    return os.environ.get("GRADER_WARM", "").strip().lower()


@functools.cache
def _cgroups_problem() -> str:
    probe = sandbox.ChildCgroups(16)
    try:
        return "" if probe.pids else "no pids cgroup can be created"
    finally:
        probe.remove()


def usable(mode: str) -> bool:
    """Whether submissions graded with sandbox `mode` can use the warm path here: bubblewrap
    and a pids cgroup (a job's processes are stopped through its cgroup), GRADER_WARM not 0."""
    if setting() in ("0", "no", "off", "false") or not sys.platform.startswith("linux"):
        return False
    try:
        if sandbox.resolve(mode)[0] != "bwrap":
            return False
    except sandbox.SandboxError:
        return False
    return not _cgroups_problem()


@dataclasses.dataclass(frozen=True)
class Handle:
    """How a worker reaches a zygote: its spool folder (each job's folder, and the socket)."""

    spool: str
    extra: tuple[str, ...] = ()
    owner: int = 0  # the process that keeps the zygote (a batch): the zygote dies with it

    def owner_alive(self) -> bool:
        """False once the owner has exited, even while nobody has reaped it yet (a zombie)."""
        if not self.owner:
            return True
        try:
            with open(f"/proc/{self.owner}/stat", "rb") as fh:
                stat = fh.read()
        except FileNotFoundError:
            return False
        except OSError:
            return True
        return stat[stat.rindex(b")") + 2 : stat.rindex(b")") + 3] not in (b"Z", b"X")

    @property
    def socket(self) -> str:
        return os.path.join(self.spool, SOCKET)


class Zygote:
    """One zygote: a bubblewrap sandbox running the harness's zygote.py (sandbox.zygote_argv)."""

    def __init__(self, extra: tuple[str, ...] = ()):
        self.dir = Path(tempfile.mkdtemp(prefix="grader-zygote-"))
        self.proc: subprocess.Popen[bytes] | None = None
        self._owner = os.getpid()
        try:
            shutil.copytree(runner.HARNESS, self.dir / "harness", ignore=runner.COPY_IGNORE)
            (self.dir / "jobs").mkdir(mode=0o700)
            script = f"{sandbox.ZYGOTE_HARNESS}/_grader_harness/zygote.py"
            command = [sys.executable, "-I", "-S", script, f"{sandbox.ZYGOTE_SPOOL}/{SOCKET}"]
            self.proc = subprocess.Popen(
                sandbox.zygote_argv(self.dir / "jobs", self.dir / "harness", command, extra),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                env=sandbox.child_env("/tmp", extra),
                start_new_session=True,
            )
            self._await_ready()
        except BaseException:
            self.close()
            raise
        self.handle = Handle(str(self.dir / "jobs"), extra, os.getpid())

    def _await_ready(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        out, end = b"", time.monotonic() + START_TIMEOUT_S
        fd = self.proc.stdout.fileno()
        while b"\n" not in out:
            left = end - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                raise ChildLost(f"the warm zygote did not start within {START_TIMEOUT_S:.0f} s")
            chunk = os.read(fd, 65536)
            if not chunk:
                break
            out += chunk
        if not out.startswith(b"ready\n"):
            raise ChildLost("the warm zygote did not start: " + out.decode(errors="replace")[-2000:].strip())
        self.proc.stdout.close()

    def alive(self) -> bool:
        if self.proc is None:
            return False
        if os.getpid() == self._owner:
            return self.proc.poll() is None
        try:  # a fork of the owner (RQ's work horse): poll() would wait for another's child
            os.kill(self.proc.pid, 0)
        except OSError:
            return False
        return True

    def close(self) -> None:
        if self.proc is not None:
            sandbox.kill_group(self.proc)
            self.proc.wait()
            if self.proc.stdout is not None:
                self.proc.stdout.close()
        fstree.remove(self.dir)


class Pool:
    """The zygotes of one worker, one per set of [runtime] package folders, started on first
    use and started again when one has gone away. Not for concurrent use: one per worker."""

    def __init__(self) -> None:
        self.zygotes: dict[tuple[str, ...], Zygote] = {}

    def handle(self, assignment: Assignment) -> Handle | None:
        """A live zygote for `assignment`, or None (then it is graded cold, as it would be anyway)."""
        extra = runtime.ensure(assignment.runtime).roots
        zygote = self.zygotes.get(extra)
        if zygote is not None and zygote.alive():
            return zygote.handle
        if zygote is not None:
            zygote.close()
        try:
            self.zygotes[extra] = zygote = Zygote(extra)
        except (ChildLost, OSError) as exc:
            self.zygotes.pop(extra, None)
            log.warning("grading cold: %s", exc)
            return None
        return zygote.handle

    def running(self, assignment: Assignment) -> Handle | None:
        """The handle of a live zygote for `assignment`, without starting one (in a process
        that will not outlive its job: RQ's work horse)."""
        zygote = self.zygotes.get(runtime.ensure(assignment.runtime).roots)
        return zygote.handle if zygote is not None and zygote.alive() else None

    def close(self) -> None:
        for zygote in self.zygotes.values():
            zygote.close()
        self.zygotes.clear()


@contextlib.contextmanager
def pool(mode: str):
    """A Pool when the warm path is usable with `mode`, else None; closed at the end."""
    found = Pool() if usable(mode) else None
    try:
        yield found
    finally:
        if found is not None:
            found.close()


@contextlib.contextmanager
def slots(mode: str, assignment: Assignment, count: int, cold: bool = False):
    """A zygote's handle for each of `count` worker slots of a batch (None where it is graded
    cold: `cold`, the warm path unusable, a zygote that did not start); closed at the end."""
    pools = [Pool() for _ in range(count)] if not cold and usable(mode) else []
    try:
        yield [p.handle(assignment) for p in pools] if pools else [None] * count
    finally:
        for p in pools:
            p.close()


class WarmChild(runner.Child):
    """A grading child forked by a zygote (see the module's docstring): the runner's Child,
    with the job's folder in the zygote's spool and the zygote's socket for its process."""

    def __init__(self, assignment: Assignment, handle: Handle):
        self.handle = handle
        self.conn: socket.socket | None = None
        self._ended = threading.Event()
        self._status: int | None = None
        self._lost = ""
        self._stopping = False
        self._running = False
        self._out_w = -1
        super().__init__(assignment, "bwrap")

    def _new_work(self) -> Path:
        work = Path(self.handle.spool) / secrets.token_hex(8)
        try:
            work.mkdir(mode=0o700)
        except OSError as exc:  # the zygote's spool is gone (its batch is ending)
            raise ChildLost(f"the warm zygote's folder is gone: {exc}") from None
        return work

    def _start(self, assignment: Assignment) -> None:
        limits, cap = assignment.limits, runner.disk_cap(assignment)
        self._make_folders(assignment)
        self._folders = list(assignment.folders)
        self._sizes = {"tmp_bytes": cap, "run_bytes": cap + runner.SUBMISSION_LIMITS["max_bytes"]}
        self.cgroup = sandbox.ChildCgroups(limits.max_processes, sandbox.memory_cap(limits))
        if not self.cgroup.pids:
            raise ChildLost("no pids cgroup for the warm child")
        self.conn = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            self.conn.connect(self.handle.socket)
        except OSError as exc:
            raise ChildLost(f"the warm zygote does not answer: {exc}") from None
        self._open_files()
        out_r, self._out_w = os.pipe()
        self.drain = runner.Drain(open(out_r, "rb", buffering=0), limits.max_output_kb * 1024)
        self.drain.start()

    def send(self, settings: RunSettings) -> None:
        assert self.conn is not None and self.cgroup is not None
        request = {
            "job": self.work.name,
            "settings": dataclasses.asdict(settings),
            "env": sandbox.child_env("/tmp", self.handle.extra),
            "folders": self._folders,
            **self._sizes,
        }
        procs = [os.open(path / "cgroup.procs", os.O_WRONLY) for path in self.cgroup.paths]
        try:
            socket.send_fds(
                self.conn,
                [json.dumps(request).encode()],
                [self._out_w, self.report_fd, self.stack_fd, self.channel_fd, *procs],
            )
        except OSError as exc:
            raise ChildLost(f"the warm zygote does not answer: {exc}") from None
        finally:
            for fd in procs:
                os.close(fd)
            os.close(self._out_w)
            self._out_w = -1
            self._close_files()
        reply = self._receive(READY_TIMEOUT_S)
        if not reply.get("ready"):
            raise ChildLost(f"the warm child did not start: {reply.get('error') or 'no answer'}")
        self._running = True
        threading.Thread(target=self._await_status, daemon=True).start()

    def _receive(self, timeout: float | None) -> dict:
        assert self.conn is not None
        self.conn.settimeout(timeout)
        try:
            data = self.conn.recv(65536)
        except (OSError, TimeoutError):
            return {}
        try:
            reply = json.loads(data) if data else {}
        except ValueError:
            return {}
        return reply if isinstance(reply, dict) else {}

    def _await_status(self) -> None:
        reply = self._receive(None)
        if isinstance(reply.get("status"), int):
            self._status = reply["status"]
        elif not self._stopping:  # not the grader stopping the run: the zygote itself is gone
            self._lost = "the grader's warm worker (its zygote) went away during the run"
        self._ended.set()

    def wait(self, timeout: float) -> bool:
        return self._ended.wait(timeout)

    @property
    def returncode(self) -> int | None:
        if self._lost:
            raise ChildLost(self._lost, during_run=True)
        return self._status

    def mounts(self, inside: list[str]) -> Callable[[], list[str]]:
        """Through any process of the job (all of them are in its cgroup and mount namespace)."""
        found: list[str] = []

        def mounts() -> list[str]:
            if not found and self.cgroup is not None:
                members = sorted(self.cgroup.members())
                if members:
                    found.extend(f"/proc/{members[0]}/root{path}" for path in inside)
            return found

        return mounts

    def stop(self) -> None:
        self._stopping = True
        if self.conn is not None:
            with contextlib.suppress(OSError):
                self.conn.send(b"kill")
        if self.cgroup is not None:
            self.cgroup.kill_all()
        if self._running:  # the zygote says when the job's processes are gone
            self._ended.wait(STOP_TIMEOUT_S)

    def close(self) -> None:
        self.stop()
        if self.cgroup is not None:
            self.cgroup.remove()
        if self.conn is not None:
            self.conn.close()
        if self._out_w != -1:
            os.close(self._out_w)
            self._out_w = -1
        self._close_files()
        drain = getattr(self, "drain", None)
        if drain is not None:
            drain.join(timeout=5)
            with contextlib.suppress(OSError):
                drain.stream.close()
        fstree.remove(self.work)
