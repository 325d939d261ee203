"""Names in a batch: a student's id from a folder name, a distinct and safe file name for
each student's report, and text safe to print on the instructor's terminal."""
from __future__ import annotations

import hashlib
from pathlib import Path

from grader import archives, gradebook
from grader.renderers import safe

# Report names that would collide with the gradebook's own files (or, with --feedback in the
# same folder, a student's feedback page with report.html).
RESERVED_STEMS = frozenset(Path(name).stem.casefold() for name in gradebook.OWN_FILES) | {"moodle-feedback"}
MAX_NAME_BYTES = 200



def student_id(name: str) -> str:
    """The student id of a folder name: control characters and undecodable bytes replaced."""
    return archives.CONTROL_CHARS.sub("_", name).strip() or "_"


def report_names(students: list[str]) -> dict[str, str]:
    """A distinct, safe file name (``<student>.json``) for every student id."""
    names: dict[str, str] = {}
    taken: set[str] = set()
    for student in sorted(students):
        base = student.replace("/", "_").replace("\\", "_")
        if base.startswith("."):
            base = "_" + base[1:]
        if len(base.encode()) > MAX_NAME_BYTES:
            digest = hashlib.sha256(student.encode("utf-8", "replace")).hexdigest()[:10]
            base = base.encode()[:MAX_NAME_BYTES - 12].decode("utf-8", "ignore") + "-" + digest
        candidate, n = base, 1
        while candidate.casefold() in taken or candidate.casefold() in RESERVED_STEMS:
            n += 1
            candidate = f"{base}~{n}"
        taken.add(candidate.casefold())
        names[student] = candidate + ".json"
    return names


def printable(text: str) -> str:
    """Text safe to print on a terminal (no escape sequences, on one line)."""
    return safe.terminal(text, keep_newlines=False)
