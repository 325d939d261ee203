"""Starting the service: ``grader serve`` and ``grader service``. Configures Django with the
service's settings (this process never imports a student's code: grading runs in the
sandboxed child), migrates the database, loads course.toml, then runs gunicorn (the web, in
its own processes) and the dispatcher (grading, in this one) until stopped."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path
from urllib.parse import urlsplit

from grader.service import config as service_config
from grader.service.config import ServiceConfig


class ServiceError(Exception):
    """The service cannot start as asked (a usage error: the message says what to change)."""


def describe_db(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme.startswith("sqlite"):
        return f"SQLite ({parts.path or url})"
    host = parts.hostname or "localhost"
    return f"{parts.scheme} {host}:{parts.port or ''}{parts.path}".replace(":/", "/")


def setup(cfg: ServiceConfig) -> None:
    """Write service.json, configure Django in this process and migrate the database."""
    path = service_config.write(cfg)
    os.environ[service_config.ENV] = str(path)
    os.environ["DJANGO_SETTINGS_MODULE"] = "grader.service.settings"
    import django
    from django.core.management import call_command
    from django.db import OperationalError

    try:
        django.setup()
        call_command("migrate", interactive=False, verbosity=0)
    except OperationalError as exc:
        raise ServiceError(f"cannot use the database {describe_db(cfg.database_url())}: {exc}".strip()) from None
    except ImportError as exc:
        raise ServiceError(
            f"{exc}: the service needs its packages: pip install 'django-signals-grader[service]'"
        ) from None


def load_course(cfg: ServiceConfig) -> str:
    """course.toml checked and recorded (the admin shows it); its name."""
    if not cfg.course:
        return ""
    from grader import course
    from grader.service.models import Course

    try:
        rules = course.load(Path(cfg.course))
    except course.CourseError as exc:
        raise ServiceError(str(exc)) from None
    Course.objects.update_or_create(name=rules.name, defaults={"rules": Path(cfg.course).read_text(encoding="utf-8")})
    return rules.name


def check_sandbox(mode: str) -> str:
    from grader import sandbox

    resolved, _ = sandbox.resolve(mode)
    if resolved == "none" and mode != "none":
        raise ServiceError(
            f"{sandbox.bwrap_problem()}: the service grades a whole course's submissions, so it needs the "
            "sandbox. Install the Debian package 'bubblewrap', or pass --sandbox none to grade without "
            "isolation (never for a real course)."
        )
    return resolved


def gunicorn_command(cfg: ServiceConfig) -> list[str]:
    return [
        sys.executable,
        "-m",
        "gunicorn",
        "grader.service.wsgi:application",
        "--bind",
        cfg.bind,
        "--workers",
        str(max(1, cfg.web_workers)),
        "--threads",
        "4",
        "--timeout",
        "60",
        "--graceful-timeout",
        "10",
        "--limit-request-line",
        "4094",
        "--access-logfile",
        "-" if os.environ.get("GRADER_SERVICE_ACCESS_LOG") else "/dev/null",
        "--log-level",
        "warning",
    ]


def serve(cfg: ServiceConfig, *, out=sys.stdout) -> int:
    """Run the service until SIGTERM or SIGINT; 0 when stopped, 3 when gunicorn died."""
    resolved = check_sandbox(cfg.sandbox)
    cfg = ServiceConfig(**{**cfg.__dict__, "sandbox": resolved})
    setup(cfg)
    name = load_course(cfg)
    from grader.service.dispatch import Dispatcher

    stop = threading.Event()

    def _stop(signum, frame) -> None:
        stop.set()

    # The grading threads see the stop signal the moment it arrives (the handler runs later, in
    # the main thread): a grading it cut short is not stored as the student's result.
    wakeup_read, wakeup_write = os.pipe()
    os.set_blocking(wakeup_write, False)
    previous_wakeup = signal.set_wakeup_fd(wakeup_write, warn_on_full_buffer=False)
    previous = {s: signal.signal(s, _stop) for s in (signal.SIGTERM, signal.SIGINT)}
    env = dict(os.environ)
    web = subprocess.Popen(gunicorn_command(cfg), env=env)
    dispatcher = Dispatcher(cfg, signalled=wakeup_read)
    dispatcher.start()
    workers = f"RQ workers on {cfg.queue.split('@')[-1]}" if cfg.queue else f"{cfg.workers} in-process worker(s)"
    print(
        f"grader serve: http://{cfg.bind}/ (data: {cfg.data}; database: {describe_db(cfg.database_url())}; "
        f"grading: {workers}, sandbox {resolved}{'; course: ' + name if name else ''}). Stop with Ctrl-C.",
        file=out,
        flush=True,
    )
    code = 0
    try:
        while not stop.wait(0.5):
            if web.poll() is not None:
                print(f"grader serve: gunicorn stopped (exit status {web.returncode}); stopping", file=sys.stderr)
                code = 3
                break
    finally:
        if web.poll() is None:
            web.terminate()
            try:
                web.wait(15)
            except subprocess.TimeoutExpired:
                web.kill()
        dispatcher.close()
        for s, handler in previous.items():
            signal.signal(s, handler)
        signal.set_wakeup_fd(previous_wakeup)
        os.close(wakeup_write)  # the read end then stays readable: stopping() holds
        if not any(thread.is_alive() for thread in dispatcher.threads):
            os.close(wakeup_read)
    return code


def manage(cfg: ServiceConfig, argv: list[str]) -> int:
    """``grader service COMMAND ...``: one of Django's management commands (createsuperuser,
    changepassword, ...) or the service's own (students, token) on the service's database."""
    setup(cfg)
    from django.core.management import execute_from_command_line

    try:
        execute_from_command_line(["grader service", *argv])
    except SystemExit as exc:
        return int(exc.code or 0) if isinstance(exc.code, int) else 1
    return 0
