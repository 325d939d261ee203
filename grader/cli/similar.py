"""`grader similar`: the students of a class whose own code is most alike (copydetect), as a
hint for a human, never a verdict."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from grader.cli._common import ExitCode, usage_error


def _share(value: str) -> float:
    try:
        share = float(value.rstrip("%")) / (100 if value.endswith("%") else 1)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a share (0.3, or 30%)") from None
    if not 0 <= share <= 1:
        raise argparse.ArgumentTypeError(f"{value!r}: a share is between 0 and 1 (or 0% and 100%)")
    return share


def _positive(value: str) -> int:
    try:
        n = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a whole number") from None
    if n < 1:
        raise argparse.ArgumentTypeError("--top is at least 1")
    return n


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from grader import similar

    s = sub.add_parser(
        "similar",
        help="find the students whose own code is most alike (a hint for a human, never a verdict)",
        description="Compare the students of SOURCE (what `grader batch` reads: a folder of "
        "submissions, or a Moodle, Canvas or GitHub Classroom download) on their own Python files "
        "and templates, with copydetect, leaving out the starter's code, and write DIR/similar.html "
        "(the closest pairs, the code in common marked) and DIR/similar.csv (every pair at or above "
        "--threshold). Similar code is a reason to read two submissions, not evidence of copying. "
        f"Needs copydetect: {similar.INSTALL}. Exit status: 0 written, 2 for usage errors "
        "(copydetect missing, no starter, fewer than two students).",
    )
    s.add_argument("source", type=Path, help="the class: a folder (or .zip) of submissions, as a platform gives it")
    s.add_argument(
        "--starter",
        type=Path,
        metavar="DIR",
        help="the project students received, whose code is left out (default: the starter of "
        "--assignment, else of the assignment the submissions' marker files name, else of the only one)",
    )
    s.add_argument("--assignment", metavar="NAME", help="the assignment whose starter is the boilerplate")
    s.add_argument(
        "--output", "-o", type=Path, metavar="DIR", help="where the reports go (default: reports/<SOURCE name>-similar)"
    )
    s.add_argument(
        "--threshold",
        type=_share,
        default=similar.DEFAULT_THRESHOLD,
        metavar="SHARE",
        help=f"list pairs where at least this share of one student's code is in the other's "
        f"(default: {similar.DEFAULT_THRESHOLD:g}; 0.5 or 50%%)",
    )
    s.add_argument(
        "--top",
        type=_positive,
        default=similar.DEFAULT_TOP,
        metavar="N",
        help=f"pairs shown with their code in the HTML (default: {similar.DEFAULT_TOP})",
    )
    s.add_argument(
        "--layout",
        default="auto",
        choices=("auto", "moodle", "canvas", "github", "folders"),
        help="the shape of SOURCE, as for grader batch (default: recognised from the names)",
    )
    s.add_argument("--roster", type=Path, metavar="CSV", help="the class list, as for grader batch: students' names")
    s.set_defaults(run=run)


def run(args: argparse.Namespace) -> ExitCode:
    from grader import archives, names, similar
    from grader.renderers import safe

    source = args.source.resolve()
    stem = archives.stem(source) if source.is_file() else source.name
    output = args.output or Path.cwd() / "reports" / f"{names.component(stem)}-similar"
    try:
        written = similar.run(
            args.source,
            output,
            starter=args.starter,
            assignment=args.assignment,
            threshold=args.threshold,
            top=args.top,
            layout=args.layout,
            roster=args.roster,
        )
    except similar.SimilarError as exc:
        return usage_error(exc)
    print(f"grader: recognised a {written.layout} download", file=sys.stderr)
    for note in written.notes[1:]:
        print(f"grader: {safe.terminal(note, keep_newlines=False)}", file=sys.stderr)
    print(
        f"{written.students} students, {len(written.pairs)} pair(s) sharing at least "
        f"{similar.percent(args.threshold)} of one student's own code"
    )
    for n, pair in enumerate(written.pairs[:5], 1):
        a, b = pair.a, pair.b
        print(
            f"  {n}. {safe.terminal(a.student.label, False)} and {safe.terminal(b.student.label, False)}: "
            f"{similar.percent(a.share)} / {similar.percent(b.share)}"
        )
    print(f"written: {written.html}\nwritten: {written.csv}")
    print(similar.HINT)
    return ExitCode.OK
