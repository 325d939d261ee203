"""Isolation of the grading child: bubblewrap when it works, else a plain child.

Both modes: an allowlisted environment, resource limits (address space, file
size, open files, core dumps), a new session whose whole process group is
killed at the end, and - where the machine lets us - a pids cgroup that caps
the number of processes and lets the grader kill every one of them, however
they were forked, and a memory cgroup that caps the memory all of them hold
together (the address-space limit is per process: 64 processes could
otherwise take 64 times memory_mb; files written to a tmpfs count too).

bubblewrap adds: no network, its own PID namespace (everything the child
forks dies with it), a user namespace mapping the child to nobody, a minimal
read-only view of the system (the Python installation and /usr only: no home
folders, no other submissions, no grader files; its root is read-only), and
writable places that cannot fill the grader's disk: size-capped tmpfs mounts
and the one database file (see bwrap_argv).
"""

from __future__ import annotations

import functools
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from grader.rubric import Limits

MODES = ("auto", "bwrap", "none")
MOUNT = "/grading"  # where the work folder appears inside the sandbox
ENV_ALLOWLIST = ("LANG", "LC_ALL", "LC_CTYPE", "TZ")
CGROUP_FS = Path("/sys/fs/cgroup")
# The memory cgroup allows this much beyond memory_mb, so that one process
# reaching its address-space limit gets a MemoryError (a clear message), not
# the cgroup's OOM kill; several processes together are stopped there.
MEMORY_SLACK_MB = 1024


class SandboxError(Exception):
    """The requested isolation is not available on this machine."""


@functools.cache
def bwrap_problem() -> str | None:
    """Why bubblewrap cannot be used here, or None when it can."""
    exe = shutil.which("bwrap")
    if not exe:
        return "bubblewrap (bwrap) is not installed"
    probe = [
        exe,
        "--ro-bind",
        "/",
        "/",
        "--unshare-all",
        "--unshare-user",
        "--uid",
        "65534",
        "--gid",
        "65534",
        "--die-with-parent",
        "--new-session",
        "true",
    ]
    try:
        done = subprocess.run(probe, capture_output=True, timeout=20, env={})
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"bubblewrap does not start: {exc}"
    if done.returncode != 0:
        return "bubblewrap cannot create namespaces here: " + done.stderr.decode(errors="replace").strip()
    return None


def resolve(mode: str) -> tuple[str, str | None]:
    """(mode to use, warning or None)."""
    if mode not in MODES:
        raise SandboxError(f"unknown sandbox mode {mode!r}; choose from {', '.join(MODES)}")
    if mode == "none":
        return "none", None
    problem = bwrap_problem()
    if problem is None:
        return "bwrap", None
    if mode == "bwrap":
        raise SandboxError(f"--sandbox bwrap was asked for, but {problem}")
    return "none", (
        f"{problem}; graded without the sandbox (resource limits and process-group "
        "kill only). Install the Debian package 'bubblewrap' for full isolation."
    )


def _own_cgroup(controller: str) -> str:
    """This process's cgroup for a v1 controller, or its v2 cgroup for "", from /proc/self/cgroup."""
    try:
        lines = Path("/proc/self/cgroup").read_text().splitlines()
    except OSError:
        return "/"
    for line in lines:
        parts = line.split(":", 2)
        if len(parts) == 3 and (parts[1] == controller if not controller else controller in parts[1].split(",")):
            return parts[2] or "/"
    return "/"


class ChildCgroups:
    """pids and memory cgroups for one child, when the machine allows creating them.

    They are created inside the grader's own cgroup, so that limits set on the
    grader (a container, a systemd unit) still apply to its child; the pids
    cgroup falls back to the hierarchy's root, as before. cgroup v1 has one
    cgroup per controller; under v2 one cgroup holds both limits. `pids` and
    `memory` tell which limits are in force.
    """

    def __init__(self, max_pids: int, memory_bytes: int | None = None):
        self.paths: list[Path] = []
        self.pids = self.memory = False
        if (CGROUP_FS / "pids" / "cgroup.procs").exists() or (CGROUP_FS / "memory" / "cgroup.procs").exists():
            self.pids = self._create_v1("pids", {"pids.max": str(max_pids)}, root_fallback=True)
            if memory_bytes:
                # memsw (memory + swap) exists only with swap accounting; it must follow the memory limit
                self.memory = self._create_v1(
                    "memory",
                    {"memory.limit_in_bytes": str(memory_bytes)},
                    {"memory.memsw.limit_in_bytes": str(memory_bytes)},
                )
        elif (CGROUP_FS / "cgroup.procs").exists():  # cgroup v2
            optional = {"memory.max": str(memory_bytes), "memory.swap.max": "0"} if memory_bytes else {}
            for base in dict.fromkeys([CGROUP_FS / _own_cgroup("").lstrip("/"), CGROUP_FS]):
                path = self._make(base, {"pids.max": str(max_pids)}, optional)
                if path is not None:
                    self.pids = True
                    try:
                        self.memory = bool(memory_bytes) and (path / "memory.max").read_text().strip() == str(
                            memory_bytes
                        )
                    except OSError:
                        pass
                    break

    def _create_v1(
        self,
        controller: str,
        required: dict[str, str],
        optional: dict[str, str] | None = None,
        root_fallback: bool = False,
    ) -> bool:
        root = CGROUP_FS / controller
        if not (root / "cgroup.procs").exists():
            return False
        bases = [root / _own_cgroup(controller).lstrip("/")] + ([root] if root_fallback else [])
        return any(self._make(base, required, optional or {}) is not None for base in dict.fromkeys(bases))

    def _make(self, base: Path, required: dict[str, str], optional: dict[str, str]) -> Path | None:
        if not (base / "cgroup.procs").exists():
            return None
        path = base / f"grader-{uuid.uuid4().hex[:12]}"
        try:
            path.mkdir()
            for name, value in required.items():
                (path / name).write_text(value)
        except OSError:
            try:
                path.rmdir()
            except OSError:
                pass
            return None
        for name, value in optional.items():
            try:
                (path / name).write_text(value)
            except OSError:
                pass
        self.paths.append(path)
        return path

    @property
    def path(self) -> Path | None:
        """The first cgroup created (None: no cgroup at all)."""
        return self.paths[0] if self.paths else None

    def members(self) -> set[int]:
        pids: set[int] = set()
        for path in self.paths:
            try:
                pids.update(int(p) for p in (path / "cgroup.procs").read_text().split())
            except (OSError, ValueError):
                pass
        return pids

    def kill_all(self) -> None:
        for _ in range(100):
            pids = self.members()
            if not pids:
                return
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            time.sleep(0.02)

    def remove(self) -> None:
        self.kill_all()
        for path in self.paths:
            for _ in range(100):
                try:
                    path.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    time.sleep(0.02)
        self.paths = []


@dataclass
class Layout:
    """The work folders of one run, as the grader sees them."""

    work: Path  # holds submission/, harness/, suite/, db/, tmp/

    def inside(self, path: Path, mode: str) -> str:
        """How `path` (under work) is seen by the child."""
        if mode == "bwrap":
            return str(Path(MOUNT) / path.relative_to(self.work))
        return str(path)


def child_env(tmp: str, extra_packages: tuple[str, ...] = ()) -> dict[str, str]:
    env = {k: os.environ[k] for k in ENV_ALLOWLIST if k in os.environ}
    env.update(
        {
            "PATH": "/usr/local/bin:/usr/bin:/bin",
            "HOME": tmp,
            "TMPDIR": tmp,
            "PYTHONDONTWRITEBYTECODE": "1",
            "PYTHONHASHSEED": "0",
            "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1",
            # python -S: the child puts these on sys.path itself (no site module, no .pth files)
            # the assignment's [runtime] packages come last: Django and pytest are the grader's
            "GRADER_PACKAGES": os.pathsep.join(package_dirs() + tuple(extra_packages)),
        }
    )
    return env


@functools.cache
def package_dirs() -> tuple[str, ...]:
    """The folders the child imports Django, pytest and their plugins from (found once)."""
    import importlib.util

    found: list[str] = []
    for name in (
        "django",
        "pytest",
        "_pytest",
        "pluggy",
        "pytest_django",
        "pytest_jsonreport",
        "asgiref",
        "sqlparse",
        "iniconfig",
        "packaging",
    ):
        spec = importlib.util.find_spec(name)
        if spec and spec.origin:
            folder = str(Path(spec.origin).resolve().parent.parent)
            if folder not in found:
                found.append(folder)
    return tuple(found)


def _python_roots() -> list[str]:
    """Folders the child's Python needs to see: its installation and its packages."""
    roots = {sys.prefix, sys.base_prefix, os.path.dirname(os.path.realpath(sys.executable)), *package_dirs()}
    # Keep only folders that /usr does not already cover, outermost first.
    result: list[str] = []
    for root in sorted(roots, key=len):
        if root.startswith("/usr/") or root == "/usr":
            continue
        if not any(root == r or root.startswith(r + "/") for r in result):
            result.append(root)
    return result


def _system_view(extra_roots: tuple[str, ...], tmp_bytes: int) -> list[str]:
    """What every sandbox sees of the machine: /usr and the Python installation read-only, its
    own /proc, /dev and a size-capped /tmp, the grader's own package hidden."""
    argv = ["--ro-bind", "/usr", "/usr"]
    for name in ("bin", "sbin", "lib", "lib32", "lib64", "libx32"):
        top = Path("/") / name
        if top.is_symlink():
            argv += ["--symlink", os.readlink(top), str(top)]
        elif top.is_dir():
            argv += ["--ro-bind", str(top), str(top)]
    for etc in ("/etc/localtime", "/etc/ld.so.cache", "/etc/alternatives"):
        if os.path.exists(etc):
            argv += ["--ro-bind", etc, etc]
    # /tmp first: a Python installation under /tmp (a CI venv) is mounted on top of it.
    argv += ["--proc", "/proc", "--dev", "/dev", "--size", str(tmp_bytes), "--tmpfs", "/tmp"]
    for root in _python_roots() + [r for r in extra_roots if r not in _python_roots()]:
        argv += ["--ro-bind", root, root]
    # The grader's own package, where an installation (a wheel) puts it inside the folders
    # mounted above: its assignments hold rubrics and reference solutions. An empty,
    # read-only folder hides it (the child runs its own copy of the harness).
    own = str(Path(__file__).resolve().parent)
    if any(own == r or own.startswith(r + "/") for r in _python_roots()):
        argv += ["--tmpfs", own, "--remount-ro", own]
    return argv


ZYGOTE_SPOOL = "/spool"  # inside a zygote's sandbox: its jobs' folders and its socket
ZYGOTE_HARNESS = "/harness"


def zygote_argv(spool: Path, harness: Path, command: list[str], extra_roots: tuple[str, ...] = ()) -> list[str]:
    """The bubblewrap command line of a warm zygote (grader/warm.py). It sees what a cold child
    sees of the machine, plus its spool folder (each job's folder and the socket) and its copy
    of the harness. It is uid 0 of a user namespace of its own, with CAP_SYS_ADMIN (to mount
    each job's folders in a mount namespace of the job's) and CAP_SETFCAP (to map the job to
    nobody in a user namespace of its own) there, and nothing else: no network, no host
    privilege. No student code runs in it; every job drops all of this before any does."""
    return [
        shutil.which("bwrap") or "bwrap",
        "--unshare-all",
        "--unshare-user",
        "--uid",
        "0",
        "--gid",
        "0",
        "--die-with-parent",
        "--new-session",
        "--cap-drop",
        "ALL",
        "--cap-add",
        "CAP_SYS_ADMIN",
        "--cap-add",
        "CAP_SETFCAP",
        "--hostname",
        "grader",
        *_system_view(extra_roots, 64 * 1024 * 1024),
        "--dir",
        MOUNT,
        "--ro-bind",
        str(harness),
        ZYGOTE_HARNESS,
        "--bind",
        str(spool),
        ZYGOTE_SPOOL,
        "--remount-ro",
        "/dev",
        "--remount-ro",
        "/",
        "--chdir",
        "/",
        *command,
    ]


def bwrap_argv(
    layout: Layout,
    readonly: list[Path],
    command: list[str],
    cwd: str,
    extra_roots: tuple[str, ...] = (),
    tmp_bytes: int = 512 * 1024 * 1024,
    tmpfs: tuple[tuple[str, int], ...] = (),
    writable_files: tuple[Path, ...] = (),
    writable_dirs: tuple[Path, ...] = (),
) -> list[str]:
    """The bubblewrap command line. Nothing the child writes reaches the grader's disk but
    `writable_files` (each capped by RLIMIT_FSIZE and, as a mount point, impossible to delete
    or multiply) and `writable_dirs` (the grader-owned folders an assignment reads after the
    run: the runner measures them while the child runs and stops it past the disk cap): /tmp
    and the `tmpfs` folders (path inside, bytes) are size-capped tmpfs, so space held by
    deleted-but-open files counts against the cap too."""
    argv = [
        shutil.which("bwrap") or "bwrap",
        "--unshare-all",
        "--unshare-user",
        "--uid",
        "65534",
        "--gid",
        "65534",
        "--disable-userns",
        "--die-with-parent",
        "--new-session",
        "--cap-drop",
        "ALL",
        "--hostname",
        "grader",
        *_system_view(extra_roots, tmp_bytes),
        "--dir",
        MOUNT,
    ]
    for path in readonly:
        argv += ["--ro-bind", str(path), layout.inside(path, "bwrap")]
    for inside, size in tmpfs:
        argv += ["--size", str(size), "--tmpfs", inside]
    for path in (*writable_files, *writable_dirs):
        argv += ["--bind", str(path), layout.inside(path, "bwrap")]
    # Everything is mounted: make the sandbox's own root (a tmpfs holding the mount
    # points) read-only, so that the child writes in its work folders only, and
    # /dev too: its tmpfs (/dev/shm) would be memory outside every limit but the cgroup's.
    argv += ["--remount-ro", "/dev", "--remount-ro", "/", "--chdir", cwd]
    return argv + command


def memory_cap(limits: Limits) -> int:
    """Bytes that all of the child's processes may hold together (the memory cgroup)."""
    return (limits.memory_mb + MEMORY_SLACK_MB) * 1024 * 1024


# Joins the cgroups named before "--", then becomes the command after it. A shell
# rather than a Python preexec_fn: Popen can then vfork (a plain fork of the
# grader costs 10-25 ms), and the API stays safe to call from threaded programs.
_JOIN_AND_EXEC = 'for f do [ "$f" = -- ] && break; echo $$ > "$f" || exit 97; shift; done; shift; exec "$@"'
LAUNCH_FAILED = 97


def launcher(cgroups: ChildCgroups) -> list[str]:
    """Command prefix that puts the child into `cgroups` before it starts."""
    if not cgroups.paths:
        return []
    return ["/bin/sh", "-c", _JOIN_AND_EXEC, "sh", *(str(p / "cgroup.procs") for p in cgroups.paths), "--"]


def rlimits(limits: Limits, mode: str) -> dict[str, int]:
    """Resource limits the child sets on itself before any student code runs."""
    values = {
        "RLIMIT_AS": limits.memory_mb * 1024 * 1024,
        "RLIMIT_FSIZE": limits.max_file_mb * 1024 * 1024,
        "RLIMIT_CORE": 0,
        "RLIMIT_NOFILE": 1024,
    }
    if mode == "none" and os.geteuid() != 0:  # root ignores NPROC, which counts all its processes
        values["RLIMIT_NPROC"] = limits.max_processes
    return values


def kill_group(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
