"""Unpack an archive into a folder, safely: the one extractor of the grader, for a student's
own archive (``.zip``, ``.tar``, ``.tar.gz``, ``.tgz``, ``.tar.bz2``, ``.tar.xz``:
:func:`unpack`) and for a class's download zip (:func:`extract_class`, which ``grader batch``
reads a .zip SOURCE with). Both read members with :func:`zip_members` (or the tar's), and
create them with :func:`place`: the traversal guard (:func:`member_parts`, and the target
resolved inside the destination), what is created (folders and regular files only) and the
guard against a member that inflates past its declared size are said there once; the size
guards (files, bytes, depth) are :func:`_check_totals` for an archive that is one submission
and :func:`_top_problem` for each submission of a class's zip.

The archive is the student's: member names are checked (no absolute paths, no ``..``), only
folders and regular files are created (no links, devices or FIFOs), encrypted members are left
out, and the whole archive is capped by the limits a submission has (files, bytes, depth)
*before* anything is written, from the sizes it declares; a member that inflates past its
declared size stops the unpacking. File names of zips made without the UTF-8 flag (Windows'
"Send to > Compressed folder", older Moodle) are decoded as the UTF-8 they usually are.
"""

from __future__ import annotations

import contextlib
import os
import re
import stat
import tarfile
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from dataclasses import replace as dataclasses_replace
from pathlib import Path
from typing import Any

from grader import fstree, names

ZIP_SUFFIXES = (".zip",)
TAR_SUFFIXES = (".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tbz2", ".tar.xz", ".txz")
# Archives the grader cannot open (no pure-Python reader in the standard library): named in
# the message so that the instructor can ask for a .zip.
UNSUPPORTED_SUFFIXES = (".rar", ".7z", ".gz", ".bz2", ".xz", ".zst")
# Folders archivers add that are never part of a project.
JUNK_DIRS = frozenset({"__MACOSX"})
JUNK_FILES = frozenset({".DS_Store", "Thumbs.db", "desktop.ini"})
CHUNK = 1024 * 1024


class ArchiveError(Exception):
    """The archive cannot be unpacked; the message says why, for the student."""


class MemberTooLarge(ArchiveError):
    """A member inflates past the size the archive declares for it (a zip bomb's trick)."""


@dataclass
class Member:
    """A member of an archive whose name is safe (member_parts)."""

    parts: list[str]  # its path components under the destination
    kind: str  # dir | file | symlink | special
    size: int  # the size the archive declares
    encrypted: bool
    info: Any  # the zipfile.ZipInfo or tarfile.TarInfo


@dataclass
class Unpacked:
    files: int = 0
    bytes: int = 0
    notes: list[str] = field(default_factory=list)


def kind(path: Path) -> str | None:
    """'zip', 'tar', 'unsupported' or None (not an archive), from the file name."""
    name = path.name.lower()
    if name.endswith(ZIP_SUFFIXES):
        return "zip"
    if name.endswith(TAR_SUFFIXES):
        return "tar"
    if name.endswith(UNSUPPORTED_SUFFIXES):
        return "unsupported"
    return None


def kind_label(path: Path) -> str:
    """The archive suffix of a file name, as people call it (".rar", ".tar.gz")."""
    name = path.name.lower()
    for suffix in sorted(ZIP_SUFFIXES + TAR_SUFFIXES + UNSUPPORTED_SUFFIXES, key=len, reverse=True):
        if name.endswith(suffix):
            return suffix
    return path.suffix


def stem(path: Path) -> str:
    """The name of an archive without its archive suffix (``site.tar.gz`` -> ``site``)."""
    name = path.name
    for suffix in sorted(ZIP_SUFFIXES + TAR_SUFFIXES + UNSUPPORTED_SUFFIXES, key=len, reverse=True):
        if name.lower().endswith(suffix):
            return name[: -len(suffix)] or name
    return name


def size_text(n: int) -> str:
    """A size as people read it: 4.9 kB, 256.0 MB."""
    for unit, factor in (("GB", 1024**3), ("MB", 1024**2), ("kB", 1024)):
        if n >= factor:
            return f"{n / factor:.1f} {unit}"
    return f"{n} bytes"


def member_parts(name: str) -> list[str] | None:
    """The path components of an archive member name as the grader creates them (see
    :func:`grader.names.member`: no control or bidi characters, none longer than a file system
    takes), or None when it is unsafe: absolute, a drive letter, or a ``..`` component."""
    name = name.replace("\\", "/")
    if name.startswith("/") or re.match(r"^[A-Za-z]:", name):
        return None
    parts = [p for p in (names.member(p) for p in name.split("/")) if p not in ("", ".")]
    if any(p == ".." for p in parts):
        return None
    return parts


def zip_name(info: zipfile.ZipInfo) -> str:
    """A zip member's name, decoded as UTF-8 when the archive did not say (flag 0x800 unset:
    Python read it as cp437, but Windows and most tools wrote UTF-8)."""
    if info.flag_bits & 0x800:
        return info.filename
    try:
        return info.filename.encode("cp437").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return info.filename


def zip_member_kind(info: zipfile.ZipInfo) -> str:
    mode = info.external_attr >> 16
    if info.is_dir():
        return "dir"
    if mode and stat.S_IFMT(mode) not in (0, stat.S_IFREG):
        return "symlink" if stat.S_ISLNK(mode) else "special"
    return "file"


def zip_members(zf: zipfile.ZipFile) -> tuple[list[Member], int]:
    """The members of a zip whose names are safe (decoded: zip_name; checked: member_parts),
    in the archive's order, and how many were left out as unsafe."""
    members, unsafe = [], 0
    for info in zf.infolist():
        parts = member_parts(zip_name(info))
        if parts is None:
            unsafe += 1
            continue
        members.append(Member(parts, zip_member_kind(info), info.file_size, bool(info.flag_bits & 0x1), info))
    return members, unsafe


def inside(path: Path, folder: Path) -> bool:
    """Is `path` (resolved: links followed) inside `folder`?"""
    try:
        path.resolve().relative_to(folder.resolve())
        return True
    except ValueError:
        return False


def place(dest: Path, member: Member, opener: Callable[[Any], Any]) -> str:
    """Create one member (a folder or a regular file; nothing else is ever created) under
    `dest`; `opener(member.info)` gives a file's content (None: nothing to read). What
    happened: "outside" (the target is not inside `dest`: nothing created), "dir", "file"
    (written, at most its declared size: MemberTooLarge past it), or "kept" (a folder
    already where the file would go, or nothing to read)."""
    target = dest.joinpath(*member.parts)
    if not inside(target if member.kind == "dir" else target.parent, dest):
        return "outside"
    if member.kind == "dir":
        target.mkdir(parents=True, exist_ok=True)
        return "dir"
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.is_dir():
        return "kept"
    src = opener(member.info)
    if src is None:
        return "kept"
    with src, open(target, "wb") as out:
        written = 0
        while chunk := src.read(CHUNK):
            written += len(chunk)
            if written > member.size:
                raise MemberTooLarge("a member is larger than the archive says")
            out.write(chunk)
    return "file"


def _junk(parts: list[str]) -> bool:
    return any(p in JUNK_DIRS for p in parts) or parts[-1] in JUNK_FILES or parts[-1].startswith("._")


def _check_totals(entries: list[tuple[list[str], str, int]], archive: Path, limits: fstree.Limits) -> None:
    files = [e for e in entries if e[1] == "file"]
    total = sum(size for _, _, size in files)
    deepest = max((len(parts) for parts, _, _ in entries), default=0)
    label = archive.name
    if len(entries) > limits.max_entries:
        raise ArchiveError(
            f"{label} holds {len(entries)} files and folders, more than the {limits.max_entries} a submission may have"
        )
    if total > limits.max_bytes:
        raise ArchiveError(
            f"{label} is {size_text(total)} unpacked, more than the {size_text(limits.max_bytes)} a submission may have"
        )
    if deepest > limits.max_depth:
        raise ArchiveError(f"{label} has folders nested more than {limits.max_depth} levels deep")


def _place(dest: Path, entries: list[Member], opener, result: Unpacked) -> None:
    """Create the checked `entries` under `dest` (see place)."""
    for member in entries:
        if place(dest, member, opener) == "file":
            result.bytes += (dest.joinpath(*member.parts)).stat().st_size
            result.files += 1


def unpack(archive: Path, dest: Path, limits: fstree.Limits | None = None) -> Unpacked:
    """Unpack `archive` into the folder `dest` (created). Raises ArchiveError (for the student)
    when the archive is damaged, encrypted as a whole, of a kind the grader cannot read, or over
    a limit; `dest` then holds nothing of it."""
    limits = limits or fstree.Limits()
    what = kind(archive)
    if what == "unsupported" or what is None:
        raise ArchiveError(
            f"{archive.name} is not an archive the grader can open (it reads .zip and "
            ".tar.gz); submit the project as a .zip"
        )
    dest.mkdir(parents=True, exist_ok=True)
    try:
        if what == "zip":
            return _unpack_zip(archive, dest, limits)
        return _unpack_tar(archive, dest, limits)
    except ArchiveError:
        fstree.remove(dest)
        raise
    except fstree.DiskFull:
        fstree.remove(dest)
        raise
    except OSError as exc:
        fstree.remove(dest)
        if exc.errno in (28, 122):  # ENOSPC, EDQUOT: the grader's disk, not the student
            raise fstree.DiskFull(exc.errno, f"no space left to unpack {archive.name}") from None
        raise ArchiveError(f"{archive.name} cannot be unpacked ({exc})") from None
    except (
        zipfile.BadZipFile,
        zipfile.LargeZipFile,
        tarfile.TarError,
        EOFError,
        RuntimeError,
        NotImplementedError,
        ValueError,
    ) as exc:
        fstree.remove(dest)
        raise ArchiveError(f"{archive.name} is damaged or not a complete archive ({exc})") from None


def _unpack_zip(archive: Path, dest: Path, limits: fstree.Limits) -> Unpacked:
    result = Unpacked()
    with zipfile.ZipFile(archive) as zf:
        count = len(zf.infolist())
        if count > limits.max_entries * 2:
            raise ArchiveError(f"{archive.name} holds {count} members, more than a submission may have")
        members, unsafe = zip_members(zf)
        entries: list[Member] = []
        skipped = {"unsafe": unsafe, "link": 0, "encrypted": 0}
        for member in members:
            if not member.parts or _junk(member.parts):
                continue
            if member.kind in ("symlink", "special"):
                skipped["link"] += 1
                continue
            if member.kind == "file" and member.encrypted:
                skipped["encrypted"] += 1
                continue
            entries.append(member)
        if skipped["encrypted"] and not any(e.kind == "file" for e in entries):
            raise ArchiveError(f"{archive.name} is password-protected; submit it without a password")
        _check_totals([(e.parts, e.kind, e.size) for e in entries], archive, limits)
        _place(dest, entries, zf.open, result)
    _notes(result, archive, skipped)
    return result


def _unpack_tar(archive: Path, dest: Path, limits: fstree.Limits) -> Unpacked:
    result = Unpacked()
    skipped = {"unsafe": 0, "link": 0, "encrypted": 0}
    with tarfile.open(archive, mode="r:*") as tf:
        entries: list[Member] = []
        for count, info in enumerate(tf):
            if count > limits.max_entries * 2:
                raise ArchiveError(f"{archive.name} holds more members than a submission may have")
            parts = member_parts(info.name)
            if parts is None:
                skipped["unsafe"] += 1
                continue
            if not parts or _junk(parts):
                continue
            if info.isdir():
                entries.append(Member(parts, "dir", 0, False, info))
            elif info.isreg():
                entries.append(Member(parts, "file", info.size, False, info))
            else:
                skipped["link"] += 1
        _check_totals([(e.parts, e.kind, e.size) for e in entries], archive, limits)
        _place(dest, entries, tf.extractfile, result)
    _notes(result, archive, skipped)
    return result


def _notes(result: Unpacked, archive: Path, skipped: dict[str, int]) -> None:
    for key, what in (
        ("unsafe", "with an absolute or '..' path"),
        ("link", "that are links or special files"),
        ("encrypted", "that are password-protected"),
    ):
        if skipped[key]:
            result.notes.append(f"{archive.name}: {skipped[key]} member(s) {what} were not unpacked")


# ----------------------------------------------------------------------------- a class's zip


def _zip_time(info: zipfile.ZipInfo, ceiling: float) -> float:
    try:
        return min(time.mktime((*info.date_time, 0, 0, -1)), ceiling)
    except (OverflowError, ValueError):
        return ceiling


def _top_problem(files: int, size: int, depth: int, max_files: int, max_bytes: int, max_depth: int) -> str | None:
    """Why one submission of a class's zip (a top-level entry) is over a limit, or None."""
    if depth > max_depth:
        return f"the submission has folders nested more than {max_depth} levels deep"
    if size > max_bytes:
        return (
            f"the submission is {size_text(size)} uncompressed, more than the {size_text(max_bytes)} the grader accepts"
        )
    if files > max_files:
        return f"the submission has {files} files, more than the {max_files} the grader accepts"
    return None


def extract_class(
    archive: Path,
    dest: Path,
    *,
    keep: Callable[[str], bool],
    unwrap: Callable[[list[Member]], str | None],
    max_total: int,
    max_submission: int,
    max_files: int,
    max_depth: int,
    max_members: int,
    stand_ins: bool = False,
) -> tuple[list[str], dict[str, str], list[str]]:
    """Extract the submissions of a class's zip `archive` (its top-level entries whose name
    `keep` accepts, below the single folder `unwrap` names when it wraps them all) into `dest`.

    Member names are checked and only folders and regular files are created (place);
    encrypted members are left out, and sizes are capped: a submission over its cap is
    rejected (not extracted), an archive over the total cap is refused (ArchiveError). File
    times come from the archive. With `stand_ins`, a rejected top-level entry is left as an
    empty folder (or file) of the same name.

    Returns (the top-level names extracted, {top-level name: why rejected}, notes)."""
    try:
        zf = zipfile.ZipFile(archive)
    except (OSError, zipfile.BadZipFile) as exc:
        raise ArchiveError(f"{archive}: not a readable zip archive ({exc})") from None
    notes: list[str] = []
    rejected: dict[str, str] = {}
    ceiling = archive.stat().st_mtime
    with zf:
        count = len(zf.infolist())
        if count > max_members:
            raise ArchiveError(f"{archive}: {count} members, more than the {max_members} accepted")
        members, unsafe = zip_members(zf)
        entries = [m for m in members if m.parts and keep(m.parts[0])]
        if unsafe:
            notes.append(f"{unsafe} member(s) with an absolute or '..' path were not extracted")
        wrapper = unwrap(entries)
        if wrapper is not None:
            entries = [dataclasses_replace(m, parts=m.parts[1:]) for m in entries if len(m.parts) > 1]
        # Files at the top are kept: a Canvas download is nothing but files, and a class of
        # archives is one archive per student. The layout decides what they are.
        entries = [m for m in entries if m.parts]

        sizes: dict[str, int] = {}
        counts: dict[str, int] = {}
        deepest: dict[str, int] = {}
        for m in entries:
            top = m.parts[0]
            sizes[top] = sizes.get(top, 0) + m.size
            counts[top] = counts.get(top, 0) + 1
            deepest[top] = max(deepest.get(top, 0), len(m.parts) - 1)
        if sum(sizes.values()) > max_total:
            raise ArchiveError(
                f"{archive}: {size_text(sum(sizes.values()))} uncompressed, more than the "
                f"{size_text(max_total)} accepted"
            )
        for top in sizes:
            why = _top_problem(counts[top], sizes[top], deepest[top], max_files, max_submission, max_depth)
            if why:
                rejected[top] = why

        skipped = {"symlink": 0, "special": 0, "encrypted": 0}
        dir_times: dict[Path, float] = {}
        for m in entries:
            top = m.parts[0]
            if top in rejected:
                continue
            if m.kind in ("symlink", "special"):
                skipped[m.kind] += 1
                continue
            if m.kind == "file" and m.encrypted:
                skipped["encrypted"] += 1
                continue
            target = dest.joinpath(*m.parts)
            try:
                done = place(dest, m, zf.open)
            except MemberTooLarge:
                done, error = "", "member larger than it claims"
            except (
                zipfile.BadZipFile,
                zipfile.LargeZipFile,
                OSError,
                EOFError,
                NotImplementedError,
                RuntimeError,
            ) as exc:
                done, error = "", str(exc)
            if not done:
                rejected[top] = f"the archive entry {'/'.join(m.parts[1:])} cannot be extracted ({error})"
                fstree.remove(dest / top)
                continue
            if done == "dir":
                dir_times[target] = _zip_time(m.info, ceiling)
            elif done == "file":
                t = _zip_time(m.info, ceiling)
                os.utime(target, (t, t))
        # Folder times: their own entry's, or their newest content's (bottom-up).
        for folder, dirnames, filenames in os.walk(dest, topdown=False):
            path = Path(folder)
            if path == dest:
                continue
            times = [os.lstat(path / n).st_mtime for n in (*dirnames, *filenames)]
            t = max([dir_times.get(path, 0.0), *times]) or ceiling
            os.utime(path, (t, t))
    if stand_ins:
        was_dir = {m.parts[0] for m in entries if len(m.parts) > 1 or m.kind == "dir"}
        for top in rejected:
            with contextlib.suppress(OSError):
                if top in was_dir:
                    (dest / top).mkdir(exist_ok=True)
                else:
                    (dest / top).touch()
    for n, what in (
        (skipped["symlink"], "symbolic link(s)"),
        (skipped["special"], "special file(s)"),
        (skipped["encrypted"], "encrypted member(s)"),
    ):
        if n:
            notes.append(f"{n} {what} in the archive were not extracted")
    tops = sorted({m.parts[0] for m in entries if m.parts[0] not in rejected})
    return [t for t in tops if (dest / t).exists()], rejected, notes
