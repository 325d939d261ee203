"""`grader check-assignment`: prove an assignment's suite with its variants and mutants."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from grader import sandbox
from grader.cli._common import ExitCode, usage_error


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    c = sub.add_parser(
        "check-assignment",
        help="prove an assignment's hidden suite right with its known submissions",
        description="Grade the assignment's reference solution (full marks), its starter (its "
        "[authoring] starter_score) and every variants/<case>/ (what its expect.toml "
        "says), print a matrix of cases x checks, and exit 1 on any mismatch or on a "
        "diagnosis the rubric names that no variant shows.",
    )
    c.add_argument("path", metavar="PATH", help="the assignment folder (with rubric.toml), or its name")
    c.add_argument("--jobs", "-j", type=int, metavar="N", help="cases graded at the same time (default: CPUs)")
    c.add_argument(
        "--sandbox",
        choices=sandbox.MODES,
        default="auto",
        help="isolation of the cases' code (default: bubblewrap when it works)",
    )
    c.add_argument(
        "--mutants",
        action="store_true",
        help="also grade every mutant of the solution (one signal mistake each, made with "
        "libcst) and print a table per operator; a mutant graded full marks that "
        "mutants.toml does not list as equivalent fails the check",
    )
    c.add_argument("--only-mutants", action="store_true", help="with --mutants: skip the variants")
    c.add_argument("--json", type=Path, metavar="FILE", help="with --mutants: write the mutants' results as JSON")
    c.set_defaults(run=run)


def run(args: argparse.Namespace) -> ExitCode:
    from grader import authoring

    try:
        checked = authoring.check_assignment(
            args.path,
            jobs=args.jobs,
            mode=args.sandbox,
            mutants=args.mutants or args.only_mutants,
            variants=not args.only_mutants,
        )
    except authoring.AuthoringError as exc:
        return usage_error(exc)
    if checked.outcomes:
        sys.stdout.write(authoring.matrix(checked))
    if checked.mutants is not None:
        sys.stdout.write(authoring.mutant_table(checked))
        if args.json:
            args.json.write_text(json.dumps(authoring.mutant_json(checked), indent=2) + "\n", encoding="utf-8")
        sys.stdout.write(
            (
                "OK: every case gives what it expects and every mutant is killed or explained\n"
                if checked.outcomes
                else "OK: every mutant is killed or explained\n"
            )
            if checked.ok
            else "FAILED\n"
        )
    return ExitCode.OK if checked.ok else ExitCode.BELOW
