"""`grader worker`: grade jobs from a Redis queue (for `grader batch --queue`)."""

from __future__ import annotations

import argparse

from grader import sandbox
from grader.cli._common import ExitCode, usage_error


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    w = sub.add_parser(
        "worker",
        help="grade jobs from a Redis queue (for grader batch --queue)",
        description="Grade the submissions `grader batch --queue REDIS_URL` enqueues, each in "
        "its own sandbox with the assignment's limits, as a local batch does. Run "
        "one worker per core, on as many machines as you like; every worker needs "
        "the same grader version and assignments as the batch, and bubblewrap. "
        "Stop it with Ctrl-C or SIGTERM (the job it holds is graded again "
        "elsewhere). Exit status: 0 when stopped (or, with --burst, when the "
        "queue is empty), 2 for usage errors (Redis unreachable, no bubblewrap).",
    )
    w.add_argument("redis_url", metavar="REDIS_URL", help="the queue's Redis, e.g. redis://:PASSWORD@10.0.0.5:6379/0")
    w.add_argument("--queue", default="grader", metavar="NAME", help="the queue's name (default: grader)")
    w.add_argument("--burst", action="store_true", help="stop when the queue is empty")
    w.add_argument(
        "--sandbox",
        choices=sandbox.MODES,
        default="auto",
        help="isolation of student code (default: bubblewrap, refused without it; 'none' grades without isolation)",
    )
    w.set_defaults(run=run)


def run(args: argparse.Namespace) -> ExitCode:
    from grader import batch
    from grader.batch import rqueue

    try:
        rqueue.work(args.redis_url, args.queue, burst=args.burst, mode=args.sandbox)
    except batch.BatchError as exc:
        return usage_error(exc)
    return ExitCode.OK
