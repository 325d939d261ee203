"""Walk, copy, hash and remove file trees a submission made, always within limits.

Everything here is iterative (a folder 1,000 levels deep does not exhaust Python's
recursion limit), follows no symbolic link, and stops with TreeLimit past a depth, a
number of entries, a number of bytes (apparent size: a sparse 2 GB file counts as 2 GB)
or a deadline. A TreeLimit is the submission's doing: the caller turns it into a report.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

Ignore = Callable[[str, list[str]], set[str]]


class TreeLimit(Exception):
    """The tree is over a limit; the message says which, for the student."""


class DiskFull(OSError):
    """The grader's own disk is full: its fault, never the student's."""


def _is_disk_full(exc: OSError) -> bool:
    import errno

    return exc.errno in (errno.ENOSPC, errno.EDQUOT)


@dataclass(frozen=True)
class Limits:
    max_depth: int = 64
    max_entries: int = 20_000
    max_bytes: int = 256 * 1024 * 1024
    deadline: float | None = None  # time.monotonic() value


@dataclass(frozen=True)
class Entry:
    path: str  # absolute
    rel: str  # relative to the root, '/'-separated
    st: os.stat_result
    depth: int

    @property
    def kind(self) -> str:
        mode = self.st.st_mode
        if stat.S_ISDIR(mode):
            return "dir"
        if stat.S_ISREG(mode):
            return "file"
        if stat.S_ISLNK(mode):
            return "link"
        return "other"  # FIFOs, sockets, devices: never copied or read


def walk(root: Path, ignore: Ignore | None = None, limits: Limits = Limits()) -> Iterator[Entry]:
    """Every entry below `root` (not root itself), folders before what they hold, in a
    stable order; raises TreeLimit past a limit."""
    stack = [(str(root), "", 0)]
    entries = total = 0
    while stack:
        folder, rel, depth = stack.pop()
        if limits.deadline is not None and time.monotonic() > limits.deadline:
            raise TreeLimit("reading the submission's files took longer than the time allowed")
        try:
            with os.scandir(folder) as it:
                names = sorted((e.name, e) for e in it)
        except OSError:
            continue
        ignored = ignore(folder, [n for n, _ in names]) if ignore else set()
        subfolders = []
        for name, item in names:
            if name in ignored:
                continue
            try:
                st = item.stat(follow_symlinks=False)
            except OSError:
                continue
            entries += 1
            if entries > limits.max_entries:
                raise TreeLimit(f"the submission has more than {limits.max_entries} files and folders")
            entry = Entry(item.path, f"{rel}/{name}" if rel else name, st, depth + 1)
            if entry.kind == "file":
                total += st.st_size
                if total > limits.max_bytes:
                    raise TreeLimit(
                        f"the submission's files add up to more than {limits.max_bytes // (1024 * 1024)} MB"
                    )
            yield entry
            if entry.kind == "dir":
                if depth + 1 >= limits.max_depth:
                    raise TreeLimit(
                        f"the submission has folders nested more than {limits.max_depth} "
                        f"levels deep ({entry.rel[:120]}...)"
                    )
                subfolders.append((entry.path, entry.rel, depth + 1))
        stack.extend(reversed(subfolders))


def copy(src: Path, dst: Path, ignore: Ignore | None = None, limits: Limits = Limits()) -> list[str]:
    """Copy the tree under `src` into `dst` (links as links, nothing but files, folders and
    links); returns the files that could not be read. Raises TreeLimit."""
    dst.mkdir(parents=True, exist_ok=True)
    unreadable = []
    for entry in walk(src, ignore, limits):
        target = dst / entry.rel
        try:
            if entry.kind == "dir":
                target.mkdir(exist_ok=True)
            elif entry.kind == "link":
                os.symlink(os.readlink(entry.path), target)
            elif entry.kind == "file":
                shutil.copyfile(entry.path, target, follow_symlinks=False)
                os.chmod(target, stat.S_IMODE(entry.st.st_mode) | stat.S_IRUSR | stat.S_IWUSR)
        except OSError as exc:
            if _is_disk_full(exc):
                raise DiskFull(exc.errno, f"the grader's disk is full while copying the submission: {exc}") from None
            unreadable.append(entry.rel)
    return unreadable


def digest(root: Path, ignore: Ignore | None = None, limits: Limits = Limits()) -> str:
    """A hash of what grading reads of the tree: names, kinds, link targets, file contents."""
    h = hashlib.sha256()
    for entry in walk(root, ignore, limits):
        h.update(f"{entry.kind}\0{entry.rel}\0".encode(errors="surrogateescape"))
        if entry.kind == "link":
            h.update(os.fsencode(os.readlink(entry.path)))
        elif entry.kind == "file":
            try:
                with open(entry.path, "rb") as fh:
                    while chunk := fh.read(1 << 20):
                        h.update(chunk)
            except OSError:
                h.update(b"\0unreadable")
        h.update(b"\n")
    return h.hexdigest()


def remove(path: Path, timeout: float = 120) -> None:
    """Remove a tree whatever its depth (shutil.rmtree recurses); never raises."""
    try:
        shutil.rmtree(path, ignore_errors=True)
        return
    except RecursionError:
        pass
    try:  # rm works iteratively and is bounded in time here
        subprocess.run(
            ["rm", "-rf", "--one-file-system", "--", str(path)],
            timeout=timeout,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
    except (OSError, subprocess.TimeoutExpired):
        pass
