"""Keep the hidden suite and the grader's own paths out of everything a student sees.

The child must be able to read the hidden tests to run them, so student code can print
them, or raise an exception that quotes them. Before a report is written, every text a
student sees (message, output, warnings, each check's feedback, location and traceback)
is screened: a line of a hidden file found verbatim becomes HIDDEN, and the grader's
folders (its installation, the assignment, the run's work folders, the cache) become
<grader>. What a determined student can still learn is in the README (threat model).
"""

from __future__ import annotations

import re
import sys
from dataclasses import replace
from pathlib import Path

from grader.model import Report

HIDDEN = "[hidden test source]"
MIN_FRAGMENT = 16  # shorter lines ("return user") say nothing and would redact ordinary text


def fragments(folder: Path) -> list[str]:
    """The lines of the hidden files worth hiding, longest first."""
    found: set[str] = set()
    for path in sorted(folder.rglob("*")):
        if path.suffix not in (".py", ".ini", ".cfg", ".toml") or not path.is_file():
            continue
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
            line = line.strip()
            if len(line) >= MIN_FRAGMENT and not line.startswith(("#", "import ", "from ")):
                found.add(line)
    return sorted(found, key=len, reverse=True)


def grader_paths(*extra: Path | str | None) -> list[str]:
    """Folders of the grader's own, longest first (a longer path is replaced before its parent)."""
    here = Path(__file__).resolve().parent
    paths = {str(here), str(here.parent), sys.prefix, sys.base_prefix, *(str(p) for p in extra if p)}
    return sorted((p.rstrip("/") for p in paths if p and p not in ("/", "/usr")), key=len, reverse=True)


class Redactor:
    def __init__(self, hidden: list[str], paths: list[str]):
        self.hidden = hidden
        self.paths = re.compile("|".join(re.escape(p) for p in paths)) if paths else None

    def text(self, text: str) -> str:
        if not text:
            return text
        if self.paths is not None:
            text = self.paths.sub("<grader>", text)
        for fragment in self.hidden:
            if fragment in text:
                text = text.replace(fragment, HIDDEN)
        return text

    def report(self, report: Report) -> Report:
        checks = [
            replace(
                c,
                feedback=self.text(c.feedback),
                location=self.text(c.location),
                student_traceback=[self.text(t) for t in c.student_traceback],
            )
            for c in report.checks
        ]
        return replace(
            report,
            message=self.text(report.message),
            output=self.text(report.output),
            warnings=[self.text(w) for w in report.warnings],
            checks=checks,
        )
