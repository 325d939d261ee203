"""`grader grade`: grade one submission, write its JSON score and the formats asked for."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from grader import rubric, sandbox
from grader.cli._common import ExitCode, default_output, parse_format, usage_error, write_outputs
from grader.renderers import RENDERERS, render


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    g = sub.add_parser(
        "grade",
        help="grade one submission and write its JSON score",
        description="Run the hidden suite against a Django project and write a JSON score. "
        "Exit status: 0 when a report was written (whatever the score; "
        "1 when below --fail-under), 2 for usage errors, 3 for grader faults.",
    )
    g.add_argument(
        "submission",
        nargs="?",
        default=".",
        type=Path,
        help="the project folder (the one with manage.py); default: the current folder",
    )
    g.add_argument(
        "--assignment",
        help="assignment name or folder with a rubric.toml (default: the one the project's "
        f"{rubric.MARKER} file names, else the only one the grader knows)",
    )
    g.add_argument(
        "--output", "-o", type=Path, help="where to write the JSON (default: reports/<submission-name>.json)"
    )
    g.add_argument(
        "--sandbox",
        choices=sandbox.MODES,
        default="auto",
        help="isolation of student code: bubblewrap, none, or auto (bubblewrap when it works)",
    )
    g.add_argument(
        "--format",
        "-f",
        action="append",
        default=[],
        metavar="FORMAT[:PATH]",
        type=parse_format,
        help="also render the report as FORMAT (" + ", ".join(sorted(RENDERERS)) + "); "
        "written next to the JSON (same name, the format's extension), or to PATH; "
        "PATH '-' prints it instead of the table. Repeat for several formats.",
    )
    g.add_argument(
        "--fail-under", type=float, metavar="SCORE", help="exit with status 1 when the score is below SCORE (for CI)"
    )
    g.add_argument("--quiet", "-q", action="store_true", help="do not print the table")
    g.set_defaults(run=run)


def run(args: argparse.Namespace) -> ExitCode:
    from grader import api

    try:
        report = api.grade_path(args.submission, assignment=args.assignment, sandbox=args.sandbox, notify=_notify)
    except api.UsageError as exc:
        return usage_error(exc)
    # an archive's report is named after it: reports/<archive stem>.json
    output = args.output or default_output(
        args.submission.resolve().parent / report.submission if args.submission.is_file() else args.submission
    )
    written, to_stdout = write_outputs(report, output, args.format)
    for name in to_stdout:
        sys.stdout.write(render(name, report))
    if not args.quiet and not to_stdout:
        from grader.renderers import table

        table.print_table(report)
        for path in written:
            print(f"report written to {path}")
    if args.fail_under is not None and report.score < args.fail_under:
        print(f"grader: score {report.score:g} is below --fail-under {args.fail_under:g}", file=sys.stderr)
        return ExitCode.BELOW
    return ExitCode.OK


def _notify(text: str) -> None:
    print(f"grader: {text}", file=sys.stderr)
