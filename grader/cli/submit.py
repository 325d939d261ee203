"""`grader submit`: send a project to a grading service (`grader serve`)."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from grader.cli._common import ExitCode, usage_error

TOKEN_ENV = "GRADER_TOKEN"


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    s = sub.add_parser(
        "submit",
        help="send your project to the course's grading service",
        description="Zip the project (without .git, virtual environments and caches) and send it to the "
        "grading service at URL, which grades it and keeps the result as your submission. "
        f"Your token comes from --token or ${TOKEN_ENV}. Exit status: 0 sent (with --wait: "
        "graded), 1 the service could not grade it, 2 refused or unreachable.",
    )
    s.add_argument("url", metavar="URL", help="the service, e.g. https://grader.example.edu")
    s.add_argument("path", metavar="PATH", type=Path, nargs="?", default=Path("."), help="the project (default: .)")
    s.add_argument("--assignment", "-a", required=True, metavar="NAME", help="the assignment this is for")
    s.add_argument("--token", default=None, metavar="TOKEN", help=f"your token (default: ${TOKEN_ENV})")
    s.add_argument("--commit", default="", metavar="SHA", help="the commit this is (CI)")
    s.add_argument("--wait", action="store_true", help="wait for the result and print it")
    s.add_argument("--timeout", type=float, default=600, metavar="S", help="how long --wait waits (default: 600)")
    s.add_argument("--json", action="store_true", help="print the service's answer as JSON")
    s.add_argument(
        "--classroom",
        type=Path,
        metavar="FILE",
        help="with --wait: also write the result as GitHub Classroom's autograding JSON to FILE "
        "(the official score, as the service shows it to you), for Classroom's reporter action",
    )
    s.set_defaults(run=run)


def run(args: argparse.Namespace) -> ExitCode:
    import json

    from grader import submitclient

    token = (args.token or os.environ.get(TOKEN_ENV, "")).strip()
    if not token:
        return usage_error(f"no token: pass --token or set {TOKEN_ENV} (your instructor gives you one)")
    if args.classroom is not None and not args.wait:
        return usage_error("--classroom needs --wait (the result is written once the service has graded it)")
    if not args.path.exists():
        return usage_error(f"{args.path} does not exist (give the folder that holds manage.py)")
    try:
        result = submitclient.submit(args.url, args.path, args.assignment, token, args.commit)
        where = args.url.rstrip("/") + result.get("url", "")
        if not args.json:
            print(f"submitted: {args.assignment} #{result.get('id')}, {result.get('status')}: {where}", file=sys.stderr)
        if args.wait:
            result = submitclient.wait(args.url, int(result["id"]), token, args.timeout)
    except submitclient.SubmitError as exc:
        if args.classroom is not None:  # the reporter then says why there are no points
            submitclient.write_classroom({"status": "error", "error": str(exc)}, args.classroom)
        return usage_error(exc)
    if args.classroom is not None:
        submitclient.write_classroom(result, args.classroom)
        if not args.json:
            print(f"GitHub Classroom's result written to {args.classroom}", file=sys.stderr)
    if args.json:
        print(json.dumps(result, indent=2))
    elif args.wait:
        if result.get("status") == "error":
            print(f"not graded: {result.get('error', '')}")
        else:
            print(f"{result.get('score', 0):g}/{result.get('max_score', 0):g}: {result.get('message', '')}")
            for note in result.get("notes", []):
                print(f"  {note}")
    if args.wait and result.get("status") == "error":
        return ExitCode.BELOW
    return ExitCode.OK
