"""File and folder names the grader makes from names it did not choose: a student id, the
folder and file names of a platform's download, a name on a roster, an assignment's name.

Every such name goes through :func:`component` (or :func:`moodle_folder`, which is made of
them): one path component, valid UTF-8, never hidden, never ``.`` or ``..``, with nothing a
file system or an unzip tool could read differently (no ``/``, ``\\``, control characters or
bidirectional controls), and at most MAX_NAME_BYTES bytes, so that a report, a feedback file
or a zip entry can be written whatever the student's name is (a file system takes NAME_MAX
bytes in one component, and the grader adds suffixes: ``.json``, ``.html``, the temporary
name of an atomic write). A longer name is cut on a character boundary with a short hash of
the whole name (:func:`fit`): two long names that begin alike stay distinct.

The text of a name, as pages and CSV files show it, is :func:`grader.renderers.safe.text`.
"""

from __future__ import annotations

import hashlib
import re

from grader.renderers import safe

NAME_MAX = 255  # bytes in one path component (ext4, XFS, btrfs, tmpfs)
MAX_NAME_BYTES = 200  # bytes in a name the grader makes: room for ".json", ".html", ".tmp"
HASH_CHARS = 10
# What no file or folder name the grader makes holds: the separators, the control characters,
# and the characters Windows refuses (an instructor unzips moodle-feedback.zip there too).
_NOT_IN_NAMES = re.compile('[\x00-\x1f\x7f-\x9f/\\\\:*?"<>|]')
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")
_SURROGATE = re.compile("[\ud800-\udfff]")
_BIDI = re.compile(f"[{safe.BIDI}]")


def _utf8(text: str) -> bytes:
    return text.encode("utf-8", "surrogatepass")


def fit(name: str, max_bytes: int = MAX_NAME_BYTES, tail: int = 0, key: str | None = None) -> str:
    """`name` in at most `max_bytes` bytes of UTF-8. A longer name keeps its first bytes and
    its last `tail` bytes (both cut on character boundaries) with ``-`` and a short hash of
    `key` (by default the whole name) between them, so that names sharing a long beginning
    (or end) stay distinct."""
    raw = _utf8(name)
    if len(raw) <= max_bytes:
        return name
    digest = hashlib.sha256(_utf8(name if key is None else key)).hexdigest()[:HASH_CHARS]
    end = raw[len(raw) - min(max(tail, 0), max_bytes // 2) :].decode("utf-8", "ignore") if tail else ""
    room = max_bytes - 2 - HASH_CHARS - len(_utf8(end))
    return raw[:room].decode("utf-8", "ignore") + "-" + digest + end


def component(name: str, max_bytes: int = MAX_NAME_BYTES, tail: int = 0) -> str:
    """A file or folder name (one path component) made from `name`: bidi controls removed,
    control characters and ``/ \\ : * ? " < > |`` as ``_``, each undecodable byte (a lone
    surrogate) as U+FFFD, a leading ``.`` as ``_`` (never hidden, never ``.`` or ``..``), never
    empty, and at most `max_bytes` bytes of UTF-8 (see :func:`fit`: the hash is of `name`
    itself, so names that differ only in what was replaced stay distinct when cut)."""
    clean = _NOT_IN_NAMES.sub("_", _SURROGATE.sub("\ufffd", _BIDI.sub("", name or "")))
    if clean.startswith("."):
        clean = "_" + clean[1:]
    return fit(clean or "_", max_bytes, tail, key=name)


def member(name: str) -> str:
    """One component of an archive member's name as the grader unpacks it: control characters
    and undecodable bytes as ``_``, bidi controls removed, and a name longer than a file
    system takes (NAME_MAX bytes) cut to MAX_NAME_BYTES keeping its end (its extension, the
    participant id and plugin of a Moodle folder). Checking for ``..`` is the caller's, after
    this (a name can become ``..`` once its bidi controls are gone)."""
    clean = _CONTROL.sub("_", _SURROGATE.sub("_", _BIDI.sub("", name)))
    if len(_utf8(clean)) <= NAME_MAX:
        return clean
    return fit(clean, MAX_NAME_BYTES, tail=MAX_NAME_BYTES // 2, key=name)


def student_id(name: str) -> str:
    """The student id of a folder name (or a roster's key): bidi controls removed, control
    characters as ``_``, undecodable bytes as U+FFFD, no spaces around; never empty. An id is
    text (it is not cut: the file names made from it are)."""
    clean = _CONTROL.sub("_", _SURROGATE.sub("\ufffd", _BIDI.sub("", name or "")))
    return clean.strip() or "_"


def label(text: str) -> str:
    """A name as text on one line (a student's name, a folder's name in a report): bidi and
    control characters removed, tab and line breaks as spaces, undecodable bytes as U+FFFD."""
    return re.sub("[\t\n\r]", " ", safe.text(text or ""))


class Distinct:
    """Distinct names in one folder (or one zip): a name already given, case apart (a
    case-insensitive file system, or Windows unzipping), or reserved gets ``~2``, ``~3``..."""

    def __init__(self, reserved: frozenset[str] | set[str] = frozenset()):
        self.taken = {name.casefold() for name in reserved}

    def __call__(self, base: str) -> str:
        candidate, n = base, 1
        while candidate.casefold() in self.taken:
            n += 1
            candidate = f"{base}~{n}"
        self.taken.add(candidate.casefold())
        return candidate


def moodle_folder(
    name: str, participant: str, plugin: str = "assignsubmission_file", end: str = "_", max_bytes: int = MAX_NAME_BYTES
) -> str:
    """The folder name Moodle gives a participant's submission (``Full Name_<id>_<plugin>_``)
    and reads back from a feedback-files zip: it splits the name at ``_`` (full name,
    participant id, plugin type, plugin name), so the full name holds no ``_``. A long full name
    is cut (see :func:`fit`), never the participant id and plugin after it."""
    rest = f"_{participant}_{plugin}{end}"
    room = max(max_bytes - len(_utf8(rest)), 24)
    # (no '_' in the name; nor a '.' or space first or last: not hidden, and Windows keeps it)
    full = component(name, room).replace("_", " ").strip(" .") or "Participant"
    return full + rest
