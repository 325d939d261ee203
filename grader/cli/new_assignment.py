"""`grader new-assignment`: start an assignment from a working example."""

from __future__ import annotations

import argparse
from pathlib import Path

from grader.cli._common import ExitCode, usage_error


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    n = sub.add_parser(
        "new-assignment",
        help="start a new assignment from a working example",
        description="Make DIR/NAME (default DIR: ./assignments): a working assignment (an "
        "m2m_changed exercise with its rubric, starter, solution, hidden tests and "
        "variants) to change into yours; `grader check-assignment DIR/NAME` passes "
        "on it as it is.",
    )
    n.add_argument("name", metavar="NAME", help="the assignment's name (letters, digits, '.', '_', '-')")
    n.add_argument(
        "--dir", type=Path, default=Path("assignments"), metavar="DIR", help="where to make it (default: ./assignments)"
    )
    n.set_defaults(run=run)


def run(args: argparse.Namespace) -> ExitCode:
    from grader import authoring

    try:
        dest = authoring.new_assignment(args.name, parent=args.dir)
    except authoring.AuthoringError as exc:
        return usage_error(exc)
    print(
        f"made {dest}: rubric.toml, starter/, solution/, tests/, variants/\n"
        f"next: change them into your exercise, then run: grader check-assignment {dest}"
    )
    return ExitCode.OK
