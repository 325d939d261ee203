"""`grader assignments`: the assignments the grader knows, with what each teaches."""

from __future__ import annotations

import argparse

from grader import rubric
from grader.cli._common import ExitCode


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "assignments",
        help="list the assignments the grader knows, with what each teaches",
        description="List every assignment the grader finds ($GRADER_ASSIGNMENTS, the installed "
        "package, the source checkout): name, points, title and what it teaches.",
    )
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> ExitCode:
    """Every assignment the grader finds: its name, points and title, and what it teaches."""
    for name in rubric.available():
        try:
            found = rubric.find(name)
        except rubric.RubricError as exc:
            print(f"{name}\n    (its rubric does not load: {exc})")
            continue
        print(f"{name}  ({found.max_score:g} points)  {found.title}")
        if found.teaches:
            print(f"    {found.teaches}")
    return ExitCode.OK
