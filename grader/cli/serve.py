"""`grader serve`: the grading service; `grader service`: its management commands."""

from __future__ import annotations

import argparse
from pathlib import Path

from grader import sandbox
from grader.cli._common import ExitCode, usage_error
from grader.service.config import ServiceConfig

DEFAULT_DATA = "grader-service"


def _data_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--data",
        default=DEFAULT_DATA,
        metavar="DIR",
        help=f"the service's folder: its configuration, secret key and SQLite database (default: ./{DEFAULT_DATA})",
    )
    p.add_argument(
        "--db",
        default=None,
        metavar="URL",
        help="the database: postgresql://USER:PASSWORD@HOST:5432/NAME (default: SQLite in --data)",
    )


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    s = sub.add_parser(
        "serve",
        help="run the grading service (students submit, it grades, instructors see the class)",
        description="Run the grading service: a Django site (gunicorn, whitenoise) where students submit "
        "(the web page, `grader submit`, a CI job), the service grades each submission in its "
        "sandbox and shows the student the result their assignment's visibility allows, and "
        "instructors have Django's admin, a live dashboard and the gradebook exports. The "
        "database (SQLite in --data, or PostgreSQL) holds every submission and report: stop and "
        "start the service at will. Add students with `grader service students ROSTER.csv`, an "
        "instructor with `grader service createsuperuser`. Exit status: 0 when stopped, 2 for "
        "usage errors, 3 when the web server died.",
    )
    _data_arguments(s)
    s.add_argument(
        "--queue",
        default="",
        metavar="REDIS_URL",
        help="grade on RQ workers (`grader worker REDIS_URL`) instead of here",
    )
    s.add_argument("--course", type=Path, default=None, metavar="course.toml", help="due dates, late policy, limits")
    s.add_argument(
        "--bind", default="127.0.0.1:8000", metavar="HOST:PORT", help="where to listen (default: %(default)s)"
    )
    s.add_argument("--public-url", default="", metavar="URL", help="the address students use (https://...)")
    s.add_argument(
        "--workers", type=int, default=2, metavar="N", help="grading workers here (default: 2; not with --queue)"
    )
    s.add_argument("--web-workers", type=int, default=2, metavar="N", help="gunicorn processes (default: 2)")
    s.add_argument(
        "--assignment",
        action="append",
        default=[],
        metavar="NAME",
        help="offer this assignment (repeat; default: the course's, else every installed one)",
    )
    s.add_argument("--upload-mb", type=float, default=20.0, metavar="MB", help="the largest archive (default: 20)")
    s.add_argument("--rate", type=int, default=10, metavar="N", help="submissions per student per minute (default: 10)")
    s.add_argument(
        "--oidc-audience",
        default="",
        metavar="AUD",
        help="accept GitHub Actions OIDC tokens with this audience from students' repositories",
    )
    s.add_argument("--oidc-jwks", default="", metavar="URL", help=argparse.SUPPRESS)
    s.add_argument("--oidc-issuer", default="", metavar="URL", help=argparse.SUPPRESS)
    s.add_argument(
        "--sandbox",
        choices=sandbox.MODES,
        default="auto",
        help="isolation of student code (default: bubblewrap, refused without it; 'none' grades without isolation)",
    )
    s.set_defaults(run=run)

    m = sub.add_parser(
        "service",
        help="the grading service's management commands (students, token, createsuperuser, ...)",
        description="Run a management command on the service's database: `students ROSTER.csv` adds "
        "students and prints their tokens, `token STUDENT_ID` makes a new one, `createsuperuser` "
        "adds an instructor; any of Django's commands works (`help` lists them).",
    )
    _data_arguments(m)
    m.add_argument("argv", nargs=argparse.REMAINDER, metavar="COMMAND ...")
    m.set_defaults(run=run_service)


def _config(args: argparse.Namespace, **more: object) -> ServiceConfig:
    from grader.service import config as service_config

    data = Path(args.data).resolve()
    existing = None
    if service_config.path_of(data).exists():
        existing = service_config.read(service_config.path_of(data))
    db = args.db if args.db is not None else (existing.db if existing else "")
    base = dict(existing.__dict__) if existing else {}
    base.update(data=str(data), db=db, **more)
    return ServiceConfig(**base)


def run(args: argparse.Namespace) -> ExitCode:
    from grader.service import config as service_config
    from grader.service.server import ServiceError, serve

    if args.course is not None and not args.course.is_file():
        return usage_error(f"{args.course} does not exist (give the course.toml of the term)")
    cfg = _config(
        args,
        queue=args.queue,
        course=str(args.course.resolve()) if args.course else "",
        bind=args.bind,
        public_url=args.public_url,
        workers=args.workers,
        web_workers=args.web_workers,
        sandbox=args.sandbox,
        upload_mb=args.upload_mb,
        rate=args.rate,
        oidc_audience=args.oidc_audience,
        oidc_jwks=args.oidc_jwks or service_config.GITHUB_JWKS,
        oidc_issuer=args.oidc_issuer or service_config.GITHUB_ISSUER,
        assignments=args.assignment,
    )
    try:
        return ExitCode(serve(cfg))
    except ServiceError as exc:
        return usage_error(exc)


def run_service(args: argparse.Namespace) -> ExitCode:
    from grader.service.server import ServiceError, manage

    argv = [a for a in args.argv if a != "--"] or ["help"]
    try:
        code = manage(_config(args), argv)
    except ServiceError as exc:
        return usage_error(exc)
    return ExitCode.OK if code == 0 else ExitCode.USAGE
