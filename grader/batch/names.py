"""Names in a batch: a student's id from a folder name, a distinct and safe file name for
each student's report, and text safe to print on the instructor's terminal. The rules for
names are :mod:`grader.names`'s, the same for every file the grader writes."""

from __future__ import annotations

from pathlib import Path

from grader import gradebook, names
from grader.names import MAX_NAME_BYTES, student_id
from grader.renderers import safe

# Report names that would collide with the gradebook's own files (or, with --feedback in the
# same folder, a student's feedback page with report.html).
RESERVED_STEMS = frozenset(Path(name).stem.casefold() for name in gradebook.OWN_FILES) | {"moodle-feedback"}

__all__ = ["MAX_NAME_BYTES", "RESERVED_STEMS", "printable", "report_names", "student_id"]


def report_names(students: list[str]) -> dict[str, str]:
    """A distinct, safe file name (``<student>.json``, see :func:`grader.names.component`) for
    every student id."""
    distinct = names.Distinct(RESERVED_STEMS)
    return {student: distinct(names.component(student)) + ".json" for student in sorted(students)}


def printable(text: str) -> str:
    """Text safe to print on a terminal (no escape sequences, on one line)."""
    return safe.terminal(text, keep_newlines=False)
