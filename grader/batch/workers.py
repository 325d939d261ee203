"""The worker processes: each submission graded in its own process, forked from a
single-threaded fork server with the grader preloaded, `jobs` at a time; a worker past its
deadline is stopped, and takes its grading child (and that child's process group) with it."""

from __future__ import annotations

import contextlib
import multiprocessing
import multiprocessing.connection
import os
import signal
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from grader import api, fstree, rubric, warm
from grader.batch.freshness import submission_digest
from grader.batch.reports import fault_report, write_report
from grader.batch.sources import Submission

# Time a worker may take beyond the assignment's wall_time_s (copying, start-up, evidence).
WORKER_GRACE_S = 120.0
STOP_WAIT_S = 10.0
STOP_SIGNALS = {signal.SIGINT, signal.SIGTERM, signal.SIGHUP}


def default_jobs() -> int:
    """One worker per CPU this process may run on."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return os.cpu_count() or 1


def _children(pid: int) -> list[int]:
    """Direct child processes of `pid` (Linux /proc; empty elsewhere)."""
    found: list[int] = []
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
            if int(text[text.rindex(")") + 2 :].split()[1]) == pid:
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


def _stop_worker(signum, frame):
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

        server: Any = forkserver._forkserver  # CPython's private fork server: no typed attribute
        alive = server._forkserver_alive_fd
        if alive is not None:
            server._forkserver_alive_fd = None
            os.close(alive)
    if sys.platform.startswith("linux"):
        with contextlib.suppress(Exception):
            import ctypes

            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(1, signal.SIGTERM, 0, 0, 0)  # PR_SET_PDEATHSIG: the fork server died
        if os.getppid() == 1:
            raise SystemExit(1)


def grade_worker(
    sub: Submission, assignment: rubric.Assignment, mode: str, scratch: str, handle: warm.Handle | None = None
) -> None:
    """Worker process: grade one submission and write its report (a grader fault inside
    the grading becomes a fault report; anything else is left to the batch). `handle`: the
    warm zygote of this worker's slot (grader.warm), None to start a cold child.

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
            report = api.grade(sub.path, assignment, sandbox=mode, name=sub.student, warm=handle)
        except Exception as exc:
            report = fault_report(assignment, sub.student, f"{type(exc).__name__}: {exc}", mode)
        report.submission_digest = content
        report.identity = sub.identity
        if not Path(scratch).is_dir() or (handle is not None and not handle.owner_alive()):
            # the batch has ended (it removes its scratch folder last), or was killed (and its
            # zygotes with it, which ended this grading): a worker it could not stop in time
            # writes nothing, so its report cannot pass for the batch's
            raise SystemExit(1)
        write_report(sub.report, report)
    finally:
        fstree.remove(Path(own))


def mp_context(method: str | None = None):
    """A fork server (single-threaded, with the grader preloaded) where available."""
    methods = multiprocessing.get_all_start_methods()
    method = method or ("forkserver" if "forkserver" in methods else "spawn")
    ctx = multiprocessing.get_context(method)
    if method == "forkserver":
        ctx.set_forkserver_preload(["grader.batch"])
    return ctx


Finish = Callable[[Submission, "int | None"], None]  # exit code; None when past its deadline


def execute(
    subs: list[Submission],
    target: Callable,
    args: tuple,
    jobs: int,
    deadline_s: float,
    on_finish: Finish,
    ctx=None,
    poll_s: float = 0.5,
    slots: Sequence[object] | None = None,
) -> None:
    """Run ``target(sub, *args)`` for every submission in its own process, `jobs` at a time.
    With `slots` (one per job slot: a warm zygote's handle), the slot's entry is passed last,
    ``target(sub, *args, slot)``, and no two running workers share one.

    `on_finish` is called in this process for every submission that ended (exit code) or
    that was stopped past `deadline_s` (None). On KeyboardInterrupt (or any exception) the
    running workers are stopped (SIGTERM, then SIGKILL) before it propagates; they get no
    `on_finish`.
    """
    ctx = ctx or mp_context()
    if ctx.get_start_method() == "forkserver":  # started now, not with the stop signals held
        from multiprocessing import forkserver

        forkserver.ensure_running()
    pending = list(reversed(subs))
    running: dict[int, tuple[Any, Submission, float, int]] = {}
    free = list(range(jobs))
    try:
        while pending or running:
            while pending and len(running) < jobs:
                sub, slot = pending.pop(), free.pop()
                extra = (slots[slot],) if slots is not None else ()
                proc = ctx.Process(
                    target=_unblocked, args=(target, sub, *args, *extra), name=f"grader-{sub.student}", daemon=False
                )
                # A stop signal (Ctrl-C) waits until the worker is started and known: one that
                # came in the middle of start() left a worker nobody stopped, grading on after
                # the batch had ended.
                held = signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
                try:
                    proc.start()
                    running[proc.sentinel] = (proc, sub, time.monotonic(), slot)
                finally:
                    signal.pthread_sigmask(signal.SIG_SETMASK, held)
            ready = multiprocessing.connection.wait(list(running), timeout=poll_s)
            for sentinel in ready:
                proc, sub, _, slot = running.pop(sentinel)  # type: ignore[arg-type]  # a sentinel is an int
                proc.join()
                free.append(slot)
                on_finish(sub, proc.exitcode)
            now = time.monotonic()
            for sentinel, (proc, sub, started, slot) in list(running.items()):
                if now - started > deadline_s:
                    running.pop(sentinel)
                    _stop([proc])
                    free.append(slot)
                    on_finish(sub, None)
    finally:
        _stop([proc for proc, _, _, _ in running.values()])


def _unblocked(target: Callable, *args: Any) -> None:
    """A worker: `target(*args)` with the stop signals the batch held while starting it let through."""
    signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)
    target(*args)


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
