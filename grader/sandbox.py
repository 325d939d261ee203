"""Isolation of the grading child: bubblewrap when it works, else a plain child.

Both modes: an allowlisted environment, resource limits (address space, file
size, open files, core dumps), a new session whose whole process group is
killed at the end, and - where the machine lets us - a pids cgroup that caps
the number of processes and lets the grader kill every one of them, however
they were forked.

bubblewrap adds: no network, its own PID namespace (everything the child
forks dies with it), a user namespace mapping the child to nobody, a minimal
read-only view of the system (the Python installation and /usr only: no home
folders, no other submissions, no grader files), and a writable view of the
run's own work folders only.
"""
from __future__ import annotations

import functools
import os
import resource
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
CGROUP_ROOTS = (Path("/sys/fs/cgroup/pids"), Path("/sys/fs/cgroup"))


class SandboxError(Exception):
    """The requested isolation is not available on this machine."""


@functools.lru_cache(maxsize=None)
def bwrap_problem() -> str | None:
    """Why bubblewrap cannot be used here, or None when it can."""
    exe = shutil.which("bwrap")
    if not exe:
        return "bubblewrap (bwrap) is not installed"
    probe = [exe, "--ro-bind", "/", "/", "--unshare-all", "--unshare-user", "--uid", "65534",
             "--gid", "65534", "--die-with-parent", "--new-session", "true"]
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
    return "none", (f"{problem}; graded without the sandbox (resource limits and process-group "
                    "kill only). Install the Debian package 'bubblewrap' for full isolation.")


class PidsCgroup:
    """A pids cgroup for one child, when the machine allows creating one."""

    def __init__(self, max_pids: int):
        self.path: Path | None = None
        for root in CGROUP_ROOTS:
            if not (root / "cgroup.procs").exists():
                continue
            path = root / f"grader-{uuid.uuid4().hex[:12]}"
            try:
                path.mkdir()
                (path / "pids.max").write_text(str(max_pids))
            except OSError:
                try:
                    path.rmdir()
                except OSError:
                    pass
                continue
            self.path = path
            break

    def join_self(self) -> None:  # runs in the child before exec
        if self.path is not None:
            with open(self.path / "cgroup.procs", "w") as fh:
                fh.write(str(os.getpid()))

    def kill_all(self) -> None:
        if self.path is None:
            return
        for _ in range(50):
            try:
                pids = [int(p) for p in (self.path / "cgroup.procs").read_text().split()]
            except (OSError, ValueError):
                return
            if not pids:
                return
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            time.sleep(0.02)

    def remove(self) -> None:
        if self.path is None:
            return
        self.kill_all()
        for _ in range(50):
            try:
                self.path.rmdir()
                return
            except OSError:
                time.sleep(0.02)


@dataclass
class Layout:
    """The work folders of one run, as the grader sees them."""

    work: Path          # holds submission/, harness/, suite/, db/, tmp/

    def inside(self, path: Path, mode: str) -> str:
        """How `path` (under work) is seen by the child."""
        if mode == "bwrap":
            return str(Path(MOUNT) / path.relative_to(self.work))
        return str(path)


def child_env(tmp: str) -> dict[str, str]:
    env = {k: os.environ[k] for k in ENV_ALLOWLIST if k in os.environ}
    env.update({
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "HOME": tmp, "TMPDIR": tmp,
        "PYTHONDONTWRITEBYTECODE": "1", "PYTHONHASHSEED": "0",
        "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1",
        "DJANGO_SUPERUSER_PASSWORD": "Grader-pw-7f3K!q",
    })
    return env


def _python_roots() -> list[str]:
    """Folders the child's Python needs to see: its installation and its packages."""
    import importlib.util

    roots = {sys.prefix, sys.base_prefix, os.path.dirname(os.path.realpath(sys.executable))}
    for name in ("django", "pytest", "_pytest", "pluggy", "pytest_django", "pytest_jsonreport"):
        spec = importlib.util.find_spec(name)  # where it is, without importing it
        if spec and spec.origin:
            roots.add(str(Path(spec.origin).resolve().parent.parent))
    # Keep only folders that /usr does not already cover, outermost first.
    result: list[str] = []
    for root in sorted(roots, key=len):
        if root.startswith("/usr/") or root == "/usr":
            continue
        if not any(root == r or root.startswith(r + "/") for r in result):
            result.append(root)
    return result


def bwrap_argv(layout: Layout, writable: list[Path], readonly: list[Path], command: list[str],
               cwd: Path) -> list[str]:
    argv = [shutil.which("bwrap") or "bwrap",
            "--unshare-all", "--unshare-user", "--uid", "65534", "--gid", "65534",
            "--disable-userns", "--die-with-parent", "--new-session", "--cap-drop", "ALL",
            "--hostname", "grader", "--ro-bind", "/usr", "/usr"]
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
    argv += ["--proc", "/proc", "--dev", "/dev", "--bind", str(layout.work / "tmp"), "/tmp"]
    for root in _python_roots():
        argv += ["--ro-bind", root, root]
    argv += ["--dir", MOUNT]
    for path in readonly:
        argv += ["--ro-bind", str(path), layout.inside(path, "bwrap")]
    for path in writable:
        argv += ["--bind", str(path), layout.inside(path, "bwrap")]
    argv += ["--chdir", layout.inside(cwd, "bwrap")]
    return argv + command


def preexec(limits: Limits, cgroup: PidsCgroup, mode: str):
    """Limits applied in the child between fork and exec (inherited by bwrap's children)."""
    mem = limits.memory_mb * 1024 * 1024
    fsize = limits.max_file_mb * 1024 * 1024
    nproc = None
    if mode == "none" and os.geteuid() != 0:
        nproc = limits.max_processes

    def apply() -> None:
        cgroup.join_self()
        resource.setrlimit(resource.RLIMIT_AS, (mem, mem))
        resource.setrlimit(resource.RLIMIT_FSIZE, (fsize, fsize))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        resource.setrlimit(resource.RLIMIT_NOFILE, (1024, 1024))
        if nproc is not None:
            resource.setrlimit(resource.RLIMIT_NPROC, (nproc, nproc))

    return apply


def kill_group(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
