"""Entry point of the grading child: ``python -I bootstrap.py`` with settings on stdin.

1. Reads the run settings from stdin before any student code runs.
2. Puts the harness, then the submission, on sys.path (python -I left both off).
3. Installs the signal probe and starts Django with the grading settings.
4. Runs the hidden suite with pytest, plugins named explicitly, and writes one
   JSON document to the file descriptor the grader handed over, then exits
   without running atexit handlers.
"""

import json
import os
import sys

_ORIGINAL_PID = os.getpid()
# Bound before any student code runs: a submission that patches os._exit or os.fdopen (to run
# code of its own at the end of the run) does not reach the grader's own exit and report.
_exit, _fdopen, _getpid = os._exit, os.fdopen, os.getpid


def _write(fd: int, payload: dict) -> None:
    if _getpid() != _ORIGINAL_PID:  # a process the student's code forked: it has no say
        _exit(0)
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:
            pass
    data = json.dumps(payload, default=str).encode()
    with _fdopen(fd, "wb", closefd=True) as out:
        out.write(data)


def _preload() -> None:
    """Import the test tools and Django's core before the run settings arrive.

    The grader starts this process before the submission is in place, so these
    imports overlap with its own work. Nothing here reads settings or touches the
    student's code; the package folders are found the way the run will find them.
    """
    packages = os.environ.get("GRADER_PACKAGES", "")
    sys.path += [p for p in packages.split(os.pathsep) if p and p not in sys.path]
    try:
        import django.apps
        import django.contrib.admin.sites
        import django.db.models
        import django.test  # noqa: F401
        import pytest  # noqa: F401
        import pytest_django.plugin  # noqa: F401
        import pytest_jsonreport.plugin  # noqa: F401
    except Exception:  # a preload is only a head start: the run imports what it needs again
        return
    import importlib

    for name in RUN_MODULES:
        try:
            importlib.import_module(name)
        except Exception:
            pass


# What every run imports once Django starts (django.setup, the database, the migrations
# check, pytest's own plugins, a request through the middleware), and that defines no model,
# reads no setting and connects no receiver on import: a warm zygote has them once for all
# its runs, a cold child while the grader copies the submission in.
RUN_MODULES = (
    "django.contrib.admin.apps",
    "django.contrib.auth.apps",
    "django.contrib.auth.checks",
    "django.contrib.auth.validators",
    "django.contrib.contenttypes.apps",
    "django.contrib.contenttypes.checks",
    "django.contrib.messages.apps",
    "django.contrib.messages.middleware",
    "django.contrib.messages.storage.fallback",
    "django.contrib.messages.storage.session",
    "django.contrib.sessions.apps",
    "django.contrib.sessions.backends.base",
    "django.contrib.sessions.middleware",
    "django.contrib.sessions.serializers",
    "django.contrib.staticfiles.apps",
    "django.contrib.staticfiles.checks",
    "django.contrib.staticfiles.finders",
    "django.db.backends.sqlite3.base",
    "django.db.backends.sqlite3.client",
    "django.db.backends.sqlite3.creation",
    "django.db.backends.sqlite3.features",
    "django.db.backends.sqlite3.introspection",
    "django.db.backends.sqlite3.operations",
    "django.db.backends.sqlite3.schema",
    "django.db.migrations.autodetector",
    "django.db.migrations.executor",
    "django.db.migrations.loader",
    "django.db.migrations.questioner",
    "django.db.migrations.recorder",
    "django.db.models.sql.compiler",
    "django.middleware.clickjacking",
    "django.middleware.common",
    "django.middleware.csrf",
    "django.middleware.security",
    "django.template.context_processors",
    "django.template.loaders.app_directories",
    "django.template.loaders.cached",
    "django.template.loaders.filesystem",
    "django.templatetags.cache",
    "django.templatetags.l10n",
    "django.templatetags.static",
    "django.templatetags.tz",
    "_pytest.faulthandler",
    "_pytest.helpconfig",
    "_pytest.skipping",
    "_pytest.unittest",
    "_pytest.warnings",
    "faulthandler",
    "getpass",
    "resource",
    "statistics",
)


def _set_limits(limits: dict) -> list[str]:
    """Apply the grader's resource limits; return those this platform refused (macOS does
    not support every one): grading goes on without them, and the report says so."""
    refused = []
    try:
        import resource
    except ImportError:
        return sorted(limits)
    for name, value in limits.items():
        try:
            soft, hard = resource.getrlimit(getattr(resource, name))
            value = value if hard == resource.RLIM_INFINITY else min(value, hard)
            resource.setrlimit(getattr(resource, name), (value, value))
        except (AttributeError, ValueError, OSError):
            refused.append(name)
    return refused


# Variables a .env file may not set: they change how Python, the loader or programs start.
_ENV_BLOCKED_PREFIXES = ("PYTHON", "LD_", "DYLD_", "GRADER_", "PYTEST", "DJANGO_SETTINGS_MODULE")
_ENV_BLOCKED = frozenset({"PATH", "HOME", "TMPDIR", "SHELL", "ENV", "BASH_ENV", "IFS", "LANG", "LC_ALL"})
MAX_DOTENV_BYTES = 64 * 1024


def load_dotenv(path: str) -> list[str]:
    """Put the KEY=value lines of the project's .env file into the environment (as
    python-dotenv and the IDEs do, without overriding what is set); return the keys refused."""
    import re

    try:
        if os.path.islink(path) or not os.path.isfile(path):
            return []
        with open(path, "rb") as fh:
            data = fh.read(MAX_DOTENV_BYTES)
    except OSError:
        return []
    text = data.decode("utf-8-sig", errors="replace")
    refused = []
    for line in text.splitlines()[:1000]:
        match = re.match(r"\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*?)\s*$", line)
        if not match:
            continue
        key, value = match.groups()
        if value[:1] in ("'", '"') and value.count(value[0]) >= 2:
            value = value[1 : value.index(value[0], 1)]
        else:
            value = re.split(r"\s+#", value, maxsplit=1)[0]
        if key.upper().startswith(_ENV_BLOCKED_PREFIXES) or key.upper() in _ENV_BLOCKED:
            refused.append(key)
            continue
        if "\0" not in value:
            os.environ.setdefault(key, value)
    return refused


def prepare() -> None:
    """What every grading child does before its run settings arrive: a cold child (main) and
    the warm zygote (zygote.py, which forks one child per submission from here)."""
    import gc

    # Fewer cyclic collections while Django and pytest import thousands of objects
    # (about 5% of a run); reference counting frees everything as usual.
    gc.set_threshold(20000, 50, 50)
    _preload()  # while the grader copies the submission in
    harness_parent = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    if harness_parent not in sys.path:  # before the submission: nothing of it can shadow the harness
        sys.path.insert(0, harness_parent)


def main() -> None:
    prepare()
    from _grader_harness.protocol import RunSettings

    run_one(RunSettings.from_line(sys.stdin.readline()))


def run_one(run) -> None:
    """Grade one submission in this process, as `run` says, and exit (never returns)."""
    global _ORIGINAL_PID
    _ORIGINAL_PID = _getpid()  # a forked warm child is the run's own process too
    if run.stack_fd is not None:
        # Just before the grader's time limit, write where every thread is (a C-level
        # watchdog: it works in an endless loop too); the grader shows the student's frame.
        import faulthandler

        faulthandler.dump_traceback_later(float(run.stack_after_s), file=int(run.stack_fd))
    limits_not_set = _set_limits(run.rlimits)  # before any student code runs
    sys.stdin.close()
    sys.stdin = open(os.devnull)  # the student's code never reads the grader's input
    report_fd = int(run.report_fd)
    if run.source:  # under bubblewrap: fill the size-capped tmpfs from the read-only copy
        import shutil

        shutil.copytree(run.source, run.submission, symlinks=True, dirs_exist_ok=True)
    sys.path.insert(1, run.submission)
    os.chdir(run.submission)

    from _grader_harness import state

    current = state.start(
        submission=run.submission,
        student_settings=run.settings,
        db_path=run.db,
        token=run.token,
        suite=run.suite,
        models=dict(run.models),
        connections=dict(run.connections),
        allowed_packages=list(run.allowed_packages),
        disk_cap_mb=int(run.disk_cap_mb),
        runtime_ok=bool(run.runtime_ok),
        folders=dict(run.folders),
    )
    os.environ["DJANGO_SETTINGS_MODULE"] = "_grader_harness.settings"

    from _grader_harness import channel, errors, plugin, probe

    if run.channel_fd is not None:  # the ledger, verdicts and connections, as they happen
        channel.open_channel(int(run.channel_fd), bytes.fromhex(run.channel_key))
    run.channel_key = ""
    refused = load_dotenv(os.path.join(run.submission, ".env"))
    if refused:
        current.warnings.append(
            f".env: {', '.join(refused)} {'was' if len(refused) == 1 else 'were'} not loaded: the grader "
            "loads plain KEY=value settings only, never variables that change how Python or programs start"
        )
    if limits_not_set:
        current.warnings.append(
            "this system refused some resource limits of the grader ("
            + ", ".join(limits_not_set)
            + "): the run went on without them"
        )
    probe.install()
    try:
        import django

        django.setup()
    except BaseException as exc:  # SystemExit too: report it, never let it end the run silently
        try:
            described = errors.describe(exc, setup=True)
            from _grader_harness import environment

            described = environment.refine(exc, described)
        except Exception:  # describing must never cost the report
            described = {
                "type": type(exc).__name__,
                "message": type(exc).__name__,
                "location": "",
                "traceback": [],
                "diagnosis": "startup-error",
                "advice": "",
            }
        _write(report_fd, {"phase": "setup", "setup_error": described, "pytest": None})
        _exit(0)

    probe.release_debug_references()

    import pytest

    args = [
        *[os.path.join(run.suite, t) for t in run.tests],
        "-c",
        os.path.join(run.suite, "pytest.ini"),
        "--rootdir",
        run.suite,
        "-p",
        "pytest_django.plugin",
        "-p",
        "pytest_jsonreport.plugin",
        "-p",
        "no:cacheprovider",
        "-p",
        "no:stepwise",
        "-p",
        "no:doctest",
        # unraisableexception runs two full garbage collections at exit (~50 ms); the
        # others have nothing to do in a grading run.
        "-p",
        "no:unraisableexception",
        "-p",
        "no:threadexception",
        "-p",
        "no:junitxml",
        "-p",
        "no:pastebin",
        "-p",
        "no:setuponly",
        "-p",
        "no:setupplan",
        "--noconftest",
        "--assert=plain",
        "--capture=no",
        "-q",
        "--tb=no",
        "--json-report",
        "--json-report-file=none",
        # nargs="+": this option must come last
        "--json-report-omit",
        "collectors",
        "log",
        "streams",
        "keywords",
        "warnings",
    ]
    collector = plugin.Collector()
    sys.stdout = open(os.devnull, "w")  # pytest's own terminal output; plugin restores stdout
    exitcode = pytest.main(args, plugins=[plugin, collector])
    _write(report_fd, {"phase": "tests", "setup_error": None, "exitcode": int(exitcode), "pytest": collector.report})
    _exit(0)


if __name__ == "__main__":
    main()
