"""Unpack a student's own archive (``.zip``, ``.tar``, ``.tar.gz``, ``.tgz``, ``.tar.bz2``,
``.tar.xz``) into a folder, safely.

The archive is the student's: member names are checked (no absolute paths, no ``..``), only
folders and regular files are created (no links, devices or FIFOs), encrypted members are left
out, and the whole archive is capped by the limits a submission has (files, bytes, depth)
*before* anything is written, from the sizes it declares; a member that inflates past its
declared size stops the unpacking. File names of zips made without the UTF-8 flag (Windows'
"Send to > Compressed folder", older Moodle) are decoded as the UTF-8 they usually are.
"""
from __future__ import annotations

import re
import stat
import tarfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

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
    for unit, factor in (("GB", 1024 ** 3), ("MB", 1024 ** 2), ("kB", 1024)):
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


def _junk(parts: list[str]) -> bool:
    return any(p in JUNK_DIRS for p in parts) or parts[-1] in JUNK_FILES or parts[-1].startswith("._")


def _check_totals(entries: list[tuple[list[str], str, int]], archive: Path, limits: fstree.Limits) -> None:
    files = [e for e in entries if e[1] == "file"]
    total = sum(size for _, _, size in files)
    deepest = max((len(parts) for parts, _, _ in entries), default=0)
    label = archive.name
    if len(entries) > limits.max_entries:
        raise ArchiveError(f"{label} holds {len(entries)} files and folders, more than the "
                           f"{limits.max_entries} a submission may have")
    if total > limits.max_bytes:
        raise ArchiveError(f"{label} is {size_text(total)} unpacked, more than the "
                           f"{size_text(limits.max_bytes)} a submission may have")
    if deepest > limits.max_depth:
        raise ArchiveError(f"{label} has folders nested more than {limits.max_depth} levels deep")


def _write(src, target: Path, declared: int) -> int:
    written = 0
    with open(target, "wb") as out:
        while chunk := src.read(CHUNK):
            written += len(chunk)
            if written > declared:
                raise ArchiveError("a member is larger than the archive says")
            out.write(chunk)
    return written


def _place(dest: Path, entries: list, opener, result: Unpacked) -> None:
    """Create the checked `entries` (parts, kind, declared size, member) under `dest`;
    `opener(member)` gives a member's content (None: nothing to write)."""
    for parts, member, size, info in entries:
        target = dest.joinpath(*parts)
        if member == "dir":
            target.mkdir(parents=True, exist_ok=True)
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.is_dir():
            continue
        src = opener(info)
        if src is None:
            continue
        with src:
            result.bytes += _write(src, target, size)
        result.files += 1


def unpack(archive: Path, dest: Path, limits: fstree.Limits | None = None) -> Unpacked:
    """Unpack `archive` into the folder `dest` (created). Raises ArchiveError (for the student)
    when the archive is damaged, encrypted as a whole, of a kind the grader cannot read, or over
    a limit; `dest` then holds nothing of it."""
    limits = limits or fstree.Limits()
    what = kind(archive)
    if what == "unsupported" or what is None:
        raise ArchiveError(f"{archive.name} is not an archive the grader can open (it reads .zip and "
                           ".tar.gz); submit the project as a .zip")
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
    except (zipfile.BadZipFile, zipfile.LargeZipFile, tarfile.TarError, EOFError, RuntimeError,
            NotImplementedError, ValueError) as exc:
        fstree.remove(dest)
        raise ArchiveError(f"{archive.name} is damaged or not a complete archive ({exc})") from None


def _unpack_zip(archive: Path, dest: Path, limits: fstree.Limits) -> Unpacked:
    result = Unpacked()
    with zipfile.ZipFile(archive) as zf:
        infos = zf.infolist()
        if len(infos) > limits.max_entries * 2:
            raise ArchiveError(f"{archive.name} holds {len(infos)} members, more than a submission may have")
        entries: list[tuple[list[str], str, int, zipfile.ZipInfo]] = []
        skipped = {"unsafe": 0, "link": 0, "encrypted": 0}
        for info in infos:
            parts = member_parts(zip_name(info))
            if parts is None:
                skipped["unsafe"] += 1
                continue
            if not parts or _junk(parts):
                continue
            member = zip_member_kind(info)
            if member in ("symlink", "special"):
                skipped["link"] += 1
                continue
            if member == "file" and info.flag_bits & 0x1:
                skipped["encrypted"] += 1
                continue
            entries.append((parts, member, info.file_size, info))
        if skipped["encrypted"] and not any(e[1] == "file" for e in entries):
            raise ArchiveError(f"{archive.name} is password-protected; submit it without a password")
        _check_totals([(p, k, s) for p, k, s, _ in entries], archive, limits)
        _place(dest, entries, zf.open, result)
    _notes(result, archive, skipped)
    return result


def _unpack_tar(archive: Path, dest: Path, limits: fstree.Limits) -> Unpacked:
    result = Unpacked()
    skipped = {"unsafe": 0, "link": 0, "encrypted": 0}
    with tarfile.open(archive, mode="r:*") as tf:
        entries: list[tuple[list[str], str, int, tarfile.TarInfo]] = []
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
                entries.append((parts, "dir", 0, info))
            elif info.isreg():
                entries.append((parts, "file", info.size, info))
            else:
                skipped["link"] += 1
        _check_totals([(p, k, s) for p, k, s, _ in entries], archive, limits)
        _place(dest, entries, tf.extractfile, result)
    _notes(result, archive, skipped)
    return result


def _notes(result: Unpacked, archive: Path, skipped: dict[str, int]) -> None:
    for key, what in (("unsafe", "with an absolute or '..' path"), ("link", "that are links or special files"),
                      ("encrypted", "that are password-protected")):
        if skipped[key]:
            result.notes.append(f"{archive.name}: {skipped[key]} member(s) {what} were not unpacked")

