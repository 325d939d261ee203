"""The warm zygote: one per grading worker, inside its own bubblewrap sandbox.

It imports Python's test tools, Django and the harness once (bootstrap.prepare), then serves
jobs on a unix socket in its spool folder, one at a time. Each job is graded in a fresh fork
that gets namespaces and mounts of its own before any code of the submission runs:

  zygote (uid 0 of its user namespace; CAP_SYS_ADMIN and CAP_SETFCAP there only; no network)
   +- job process M: joins the job's cgroups, new mount, PID and cgroup namespaces; mounts the
      |  job's folders under /grading (tmpfs; the submission and the suite read-only), a fresh
      |  /tmp; unmounts the spool (no other job, no socket is reachable from here on)
      +- grader-init I: PID 1 of the job, mounts its /proc; a new user namespace that maps it to
         |  nobody (and refuses any further one), new network, IPC and UTS namespaces; every
         |  capability dropped, no_new_privs
         +- R: the run (bootstrap.run_one), with the job's environment, limits and descriptors

Nothing of a job outlives it: its processes die with I (the kernel kills a PID namespace with
its init), its mounts with its mount namespace, its memory with its fork. The zygote never runs
code of a submission; a job cannot see it (another PID namespace, not dumpable).

Protocol (SOCK_SEQPACKET, one connection per job): the grader sends one JSON message with the
descriptors [output, report, stack, channel, cgroup.procs...]; the zygote answers {"ready": true}
once the job runs (or {"error": why}: the grader then grades it cold), then {"status": code}
when it ended: the exit code of R, or 128+N for a signal N, as bubblewrap reports it. A message
"kill", or the grader closing the connection, ends the job at once.
"""

import ctypes
import json
import os
import select
import signal
import socket
import struct
import sys

_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(_HERE))  # python -I: the harness's parent is not on sys.path

from _grader_harness import bootstrap  # noqa: E402

_libc = ctypes.CDLL(None, use_errno=True)
_libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong, ctypes.c_char_p]

MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 32, 4096, 16384, 1 << 18
MNT_DETACH = 2
CLONE_NEWNS, CLONE_NEWCGROUP, CLONE_NEWUTS, CLONE_NEWIPC = 0x20000, 0x02000000, 0x04000000, 0x08000000
CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNET = 0x10000000, 0x20000000, 0x40000000
PR_SET_PDEATHSIG, PR_SET_DUMPABLE, PR_SET_NAME, PR_CAPBSET_DROP = 1, 4, 15, 24
PR_SET_NO_NEW_PRIVS, PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL = 38, 47, 4
NOBODY = 65534
_NAME = b"python"  # this process's name as it started (each run gets it back from grader-init)
MAX_MESSAGE = 1 << 20
MAX_FDS = 16
SETUP_FAILED = 70  # M's exit code when it could not set the job up (it said why on the ready pipe)


def _check(result: int, what: str) -> None:
    if result != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def _mount(source, target: str, fstype, flags: int, data: str = "") -> None:
    _check(
        _libc.mount(
            source.encode() if source else None,
            target.encode(),
            fstype.encode() if fstype else None,
            flags,
            data.encode() if data else None,
        ),
        f"mount {target}",
    )


def _tmpfs(target: str, size: int, mode: str = "1777") -> None:
    _mount("tmpfs", target, "tmpfs", MS_NOSUID | MS_NODEV, f"size={int(size)},mode={mode}")


def _bind(source: str, target: str, readonly: bool) -> None:
    _mount(source, target, None, MS_BIND | MS_REC)
    if readonly:
        _mount(None, target, None, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV)


def _prctl(option: int, arg: int = 0) -> int:
    return _libc.prctl(option, ctypes.c_ulong(arg), 0, 0, 0)


def _close_except(keep: set[int]) -> None:
    for name in os.listdir("/proc/self/fd"):
        fd = int(name)
        if fd not in keep and fd > 2:
            try:
                os.close(fd)
            except OSError:
                pass


def _set_up_mounts(job: str, request: dict) -> None:
    """In M's new mount namespace: the layout a cold child sees, from the job's folder."""
    _mount(None, "/", None, MS_REC | MS_PRIVATE)
    _tmpfs("/grading", 64 * 1024, "755")
    folders = [str(name) for name in request.get("folders", [])]
    for name in ("harness", "suite", "submission", "run", "db", *folders):
        os.mkdir(f"/grading/{name}")
    _bind(os.path.dirname(_HERE), "/grading/harness", readonly=True)
    _bind(f"{job}/suite", "/grading/suite", readonly=True)
    _bind(f"{job}/submission", "/grading/submission", readonly=True)
    _tmpfs("/grading/run", int(request["run_bytes"]))
    _tmpfs("/grading/db", 64 * 1024)
    open("/grading/db/grading.sqlite3", "wb").close()
    _bind(f"{job}/db/grading.sqlite3", "/grading/db/grading.sqlite3", readonly=False)
    for name in folders:
        _bind(f"{job}/{name}", f"/grading/{name}", readonly=False)
    _mount(None, "/grading", None, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV, "size=65536")
    _tmpfs("/tmp", int(request["tmp_bytes"]))
    _check(_libc.umount2(b"/spool", MNT_DETACH), "umount /spool")


def _become_nobody() -> None:
    """In I: a user namespace of its own that maps it to nobody and allows none further, the
    namespaces owned by it, and no capability left (none can be regained: no_new_privs)."""
    _check(_libc.unshare(CLONE_NEWUSER), "unshare user")
    with open("/proc/self/setgroups", "w") as fh:
        fh.write("deny")
    for name in ("uid_map", "gid_map"):
        with open(f"/proc/self/{name}", "w") as fh:
            fh.write(f"{NOBODY} 0 1")
    with open("/proc/sys/user/max_user_namespaces", "w") as fh:
        fh.write("0")
    _check(_libc.unshare(CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS), "unshare net, ipc, uts")
    _check(_libc.sethostname(b"grader", 6), "sethostname")
    _loopback_up()
    for cap in range(64):
        _prctl(PR_CAPBSET_DROP, cap)
    _prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL)
    _check(_prctl(PR_SET_NO_NEW_PRIVS, 1), "no_new_privs")
    header = (ctypes.c_uint32 * 2)(0x20080522, 0)  # _LINUX_CAPABILITY_VERSION_3, this thread
    _check(_libc.capset(header, (ctypes.c_uint32 * 6)()), "capset")


def _loopback_up() -> None:
    """`lo` up, as bubblewrap leaves it (a project's tests may talk to localhost)."""
    import fcntl

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        flags = 0x1 | 0x8 | 0x40  # IFF_UP | IFF_LOOPBACK | IFF_RUNNING
        fcntl.ioctl(sock, 0x8914, struct.pack("16sH22x", b"lo", flags))  # SIOCSIFFLAGS


def _exit_code(status: int) -> int:
    return 128 + os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.waitstatus_to_exitcode(status)


def _init(ready_w: int, request: dict, settings) -> None:
    """I: PID 1 of the job. Starts R and reaps whatever is orphaned, until R ends."""
    _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)  # M killed (the grader stopped the job): all dies
    _libc.prctl(PR_SET_NAME, b"grader-init", 0, 0, 0)
    _mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
    _become_nobody()
    os.write(ready_w, b"ok")
    os.close(ready_w)
    run = os.fork()
    if run == 0:
        _run(request, settings)
    while True:
        try:
            pid, status = os.wait()
        except ChildProcessError:
            os._exit(1)
        if pid == run:
            os._exit(_exit_code(status))


def _run(request: dict, settings) -> None:
    """R: the job's run, as a cold child would do it."""
    try:
        _prctl(PR_SET_DUMPABLE, 1)  # its own process (the zygote's forks are not dumpable)
        _libc.prctl(PR_SET_NAME, _NAME, 0, 0, 0)  # the interpreter's name, as a cold child's
        os.environ.clear()
        os.environ.update({str(k): str(v) for k, v in request.get("env", {}).items()})
        import random

        random.seed()  # every fork starts from the zygote's state: a random sequence of its own
        sys.modules["__main__"] = bootstrap  # what a cold child runs as its main module
        bootstrap.run_one(settings)
    finally:
        os._exit(1)


def _job(ready_w: int, request: dict, fds: list[int]) -> None:
    """M: sets the job up (its cgroups, namespaces, mounts) and waits for I."""
    try:
        _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        out, report, stack, channel, *cgroups = fds
        for fd in cgroups:  # "0": the writing process, whatever its PID namespace
            os.write(fd, b"0")
            os.close(fd)
        from _grader_harness.protocol import RunSettings

        settings = RunSettings.from_line(json.dumps(request["settings"]))
        settings.report_fd, settings.stack_fd, settings.channel_fd = report, stack, channel
        request["settings"]["channel_key"] = ""  # from here on only in `settings` (run_one clears it)
        _check(_libc.unshare(CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWCGROUP), "unshare")
        _set_up_mounts(f"/spool/{request['job']}", request)
        null = os.open("/dev/null", os.O_RDONLY)
        os.dup2(null, 0)
        os.dup2(out, 1)
        os.dup2(out, 2)
        _close_except({report, stack, channel, ready_w})
        init = os.fork()
    except BaseException as exc:
        try:
            os.write(ready_w, f"!{type(exc).__name__}: {exc}".encode()[:4000])
        finally:
            os._exit(SETUP_FAILED)
    if init == 0:
        try:
            _init(ready_w, request, settings)
        except BaseException as exc:
            try:
                os.write(ready_w, f"!{type(exc).__name__}: {exc}".encode()[:4000])
            finally:
                os._exit(SETUP_FAILED)
    os.close(ready_w)
    for fd in (report, stack, channel, 1, 2):
        os.close(fd)
    while True:
        try:
            pid, status = os.waitpid(init, 0)
        except ChildProcessError:
            os._exit(1)
        if pid == init:
            os._exit(_exit_code(status))


def _send(conn: socket.socket, message: dict) -> None:
    try:
        conn.send(json.dumps(message).encode())
    except OSError:
        pass


def _serve_one(conn: socket.socket, listener: socket.socket) -> None:
    data, fds, _, _ = socket.recv_fds(conn, MAX_MESSAGE, MAX_FDS)
    try:
        request = json.loads(data)
        del data  # the run's key is in it: no frame of the fork keeps it
        job = str(request["job"])
        if not job.isalnum() or not os.path.isdir(f"/spool/{job}") or len(fds) < 4:
            raise ValueError(f"not a job of this zygote: {job!r}")
    except (ValueError, KeyError, TypeError) as exc:
        for fd in fds:
            os.close(fd)
        _send(conn, {"error": f"the request cannot be read: {exc}"})
        return
    ready_r, ready_w = os.pipe()
    pid = os.fork()
    if pid == 0:
        listener.close()
        conn.close()
        os.close(ready_r)
        _job(ready_w, request, fds)
    os.close(ready_w)
    for fd in fds:
        os.close(fd)
    job_fd = os.pidfd_open(pid)
    said, ready = b"", False
    watched = [ready_r, conn.fileno(), job_fd]
    while True:
        readable, _, _ = select.select(watched, [], [])
        if ready_r in readable:
            chunk = os.read(ready_r, 4096)
            said += chunk
            if not chunk or said.startswith(b"ok") or said.startswith(b"!"):
                watched.remove(ready_r)
                if said.startswith(b"ok"):
                    ready = True
                    _send(conn, {"ready": True})
        if conn.fileno() in readable:  # "kill", or the grader is gone: end the job now
            try:
                conn.recv(64)
            except OSError:
                pass
            os.kill(pid, signal.SIGKILL)
            watched.remove(conn.fileno())
        if job_fd in readable:
            _, status = os.waitpid(pid, 0)
            break
    os.close(job_fd)
    os.close(ready_r)
    if not ready:
        why = said[1:].decode(errors="replace") if said.startswith(b"!") else "the job ended during its set-up"
        _send(conn, {"error": why})
    else:
        _send(conn, {"status": _exit_code(status)})


def main() -> None:
    global _NAME
    with open("/proc/self/comm", "rb") as fh:
        _NAME = fh.read().strip()[:15]
    bootstrap.prepare()
    # the harness's modules a cold child imports before any student code runs, and no other:
    # a module imported later (api, support) binds names as the submission left them, in both
    from _grader_harness import channel, errors, plugin, probe, protocol, state  # noqa: F401

    _prctl(PR_SET_DUMPABLE, 0)  # nothing can read this process's memory or trace it
    path = sys.argv[1]
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    listener.bind(path)
    os.chmod(path, 0o600)
    listener.listen(4)
    import gc

    gc.collect()
    gc.freeze()  # what is imported now stays shared with every fork (no copy on write by the collector)
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    null = os.open("/dev/null", os.O_RDWR)
    os.dup2(null, 1)
    os.dup2(null, 2)
    os.close(null)
    while True:
        conn, _ = listener.accept()
        with conn:
            try:
                _serve_one(conn, listener)
            except OSError:
                pass


if __name__ == "__main__":
    main()
