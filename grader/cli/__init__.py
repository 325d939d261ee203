"""Command line: one small module per command (``grader/cli/<command>.py``: its parser and a
``run(args) -> ExitCode`` over the Python API), assembled here.

Exit statuses are :class:`ExitCode`: 0 done, 1 below the bar (``--fail-under``, nothing graded,
a check-assignment mismatch), 2 usage error, 3 grader fault, 130 interrupted.
"""

from __future__ import annotations

import argparse
import sys

from grader import __version__, rubric, sandbox
from grader.cli import (
    assignments,
    batch,
    check_assignment,
    grade,
    new_assignment,
    report,
    serve,
    similar,
    starter,
    submit,
    worker,
)
from grader.cli._common import ExitCode, default_output, format_path, parse_format, write_outputs

__all__ = ["ExitCode", "build_parser", "default_output", "format_path", "main", "parse_format", "write_outputs"]

COMMANDS = (
    grade,
    assignments,
    starter,
    batch,
    worker,
    serve,
    submit,
    check_assignment,
    new_assignment,
    report,
    similar,
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="grader", description="Grade Django signals exercises with hidden pytest suites."
    )
    parser.add_argument("--version", action="version", version=f"grader {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command in COMMANDS:
        command.add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.run(args))
    except (rubric.RubricError, sandbox.SandboxError) as exc:
        print(f"grader: error: {exc}", file=sys.stderr)
        return ExitCode.USAGE
    except KeyboardInterrupt:
        print("grader: interrupted", file=sys.stderr)
        return ExitCode.INTERRUPTED
    except Exception as exc:  # a bug in the grader, not the student's fault
        import traceback

        traceback.print_exc()
        print(f"grader: internal error: {exc}", file=sys.stderr)
        return ExitCode.FAULT


if __name__ == "__main__":
    sys.exit(main())
