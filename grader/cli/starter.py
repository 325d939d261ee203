"""`grader starter`: write the project students receive for an assignment."""

from __future__ import annotations

import argparse
from pathlib import Path

from grader.cli._common import ExitCode, usage_error


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    s = sub.add_parser(
        "starter",
        help="write the starter project students receive for an assignment",
        description="Copy ASSIGNMENT's starter (the Django project students fill in, with its "
        ".grader-assignment marker, so `grader grade .` inside it needs no flag) "
        "to DEST, which must not exist or be empty. Never the solution, the "
        "variants or the hidden suite. Exit status: 0 when written, 2 for usage "
        "errors (unknown assignment, no starter, DEST not empty).",
    )
    s.add_argument("assignment", metavar="ASSIGNMENT", help="assignment name or folder with a rubric.toml")
    s.add_argument("dest", type=Path, metavar="DEST", help="the folder to write (made if missing)")
    s.set_defaults(run=run)


def run(args: argparse.Namespace) -> ExitCode:
    from grader import authoring, rubric

    assignment = rubric.find(args.assignment)
    try:
        dest = authoring.write_starter(assignment, args.dest)
    except authoring.AuthoringError as exc:
        return usage_error(exc)
    print(f"wrote {assignment.name}'s starter to {dest}\nnext: cd {dest} && python manage.py migrate && grader grade .")
    return ExitCode.OK
