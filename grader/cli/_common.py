"""What the commands share: exit statuses, output paths, the gradebook's summary lines."""

from __future__ import annotations

import argparse
import enum
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from grader.model import Report

if TYPE_CHECKING:  # the gradebook is imported where a class is written, not for every grade
    from grader.gradebook import Written

from grader.renderers import EXTENSIONS, RENDERERS, json_report, render, safe, write_atomic


class ExitCode(enum.IntEnum):
    """The exit status of every command (documented in the docs' CLI page)."""

    OK = 0  # done: a report or gradebook was written (whatever the score)
    BELOW = 1  # grade: score below --fail-under; batch: nothing could be graded;
    # check-assignment: a case, a diagnosis or a mutant is not as expected
    USAGE = 2  # bad arguments, unknown assignment, unavailable sandbox, unreadable input
    FAULT = 3  # the grader itself failed (a bug: please report it), or a report was not written
    INTERRUPTED = 130  # Ctrl-C: run the same command again to carry on


def usage_error(exc: BaseException | str) -> ExitCode:
    print(f"grader: error: {exc}", file=sys.stderr)
    return ExitCode.USAGE


def default_output(submission: Path) -> Path:
    """reports/<name>.json in the current folder, but never inside the submission (the name
    made a safe file name of at most names.MAX_NAME_BYTES bytes: names.component)."""
    from grader import names

    name = names.component(Path(submission).resolve().name)
    candidate = Path.cwd() / "reports" / f"{name}.json"
    try:
        candidate.resolve().relative_to(submission.resolve())
    except ValueError:
        return candidate
    return Path.home() / ".cache" / "grader" / "reports" / f"{name}.json"


def parse_format(value: str) -> tuple[str, str | None]:
    name, _, path = value.partition(":")
    if name not in RENDERERS:
        raise argparse.ArgumentTypeError(f"unknown format {name!r} (choose from {', '.join(sorted(RENDERERS))})")
    return name, path or None


def format_path(json_output: Path, name: str) -> Path:
    stem = json_output.name[:-5] if json_output.name.endswith(".json") else json_output.name
    return json_output.with_name(stem + EXTENSIONS[name])


def write_outputs(
    report: Report, output: Path, formats: Iterable[tuple[str, str | None]]
) -> tuple[list[Path], list[str]]:
    """Write the JSON and every --format with a file; (files written, formats to print)."""
    write_atomic(output, json_report.render(report))
    written, to_stdout = [output], list[str]()
    for name, path in formats:
        if path == "-":
            to_stdout.append(name)
        elif name != "json" or path:
            target = Path(path) if path else format_path(output, name)
            write_atomic(target, render(name, report))
            written.append(target)
    return written, to_stdout


def print_gradebook(written: Written) -> None:
    from grader.classmodel import LessonSummary

    s = written.model
    mean = "-" if s.mean is None else f"{s.mean:.2f}".rstrip("0").rstrip(".")
    median = "-" if s.median is None else f"{s.median:g}"
    if isinstance(s, LessonSummary):
        names = safe.terminal(", ".join(a.assignment for a in s.assignments), keep_newlines=False)
        print(
            f"lesson: {s.count} students, {len(s.assignments)} assignments ({names}); mean total "
            f"{mean} / {s.max_score:g}, median {median}"
            + (f"; {s.incomplete} without a report in some assignment" if s.incomplete else "")
        )
    else:
        statuses = ", ".join(f"{n} {k}" for k, n in s.by_status.items() if n)
        print(f"class: {s.count} students ({statuses}); mean {mean} / {s.max_score:g}, median {median}")
    for path in written.files:
        print(f"written: {path}")
    for problem in written.skipped:  # (a file name in DIR is anyone's: no escape sequences)
        print(f"grader: left out {safe.terminal(problem, keep_newlines=False)}", file=sys.stderr)


def print_feedback(written: Any) -> None:
    where = written.moodle_zip or written.folder
    print(
        f"feedback: {written.students} student(s) in {where}"
        + (" (Moodle: Upload multiple feedback files in a zip)" if written.moodle_zip else "")
    )
