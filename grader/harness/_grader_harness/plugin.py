"""pytest plugin of the grading child (loaded with -p, never from a conftest).

- migrates the grading database once per run and gives every hidden test
  database access in autocommit mode, so what a test does is really written
  to the file the grader inspects afterwards;
- writes on the grader's authenticated channel (channel.py) every test's start, end and
  verdict, the objects it tracked and the notes it left (the grader's outside evidence);
- collects structured feedback from the tests and hands the final
  pytest-json-report document to the bootstrap.
"""

from __future__ import annotations

import json
import os
import sys

import pytest

from _grader_harness import channel, diagnose, errors, state
from _grader_harness.protocol import MODELS_TABLE, ROLES_TABLE

# The run's facts (state.py): db_error, the grading database could not be made (no test can
# run); migration_problem, the migrations do not match the models (only the check covering
# migrations fails: the tables are made from the models either way); the running test's
# nodeid, the feedback of each test, the warnings.


class Collector:
    """Receives the finished report from pytest-json-report."""

    report = None

    def pytest_json_modifyreport(self, json_report):
        json_report["grader_feedback"] = state.current().feedback
        json_report["grader_warnings"] = state.current().warnings
        self.report = json_report


# Each test's phases until its verdict is sent to the grader (channel.send) as it ends:
# after a time-out the grader keeps a test's points only with that verdict and the evidence.
_PHASES: dict[str, dict[str, str]] = {}


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    phases = _PHASES.setdefault(item.nodeid, {})
    phases[report.when] = report.outcome
    if report.when == "teardown":
        _send_verdict(item.nodeid, _PHASES.pop(item.nodeid))
    return report


def _send_verdict(nodeid: str, phases: dict[str, str]) -> None:
    """One JSON line per test, as pytest-json-report would sum up its outcome."""
    if phases.get("setup") == "failed" or phases.get("teardown") == "failed":
        outcome = "error"
    elif "skipped" in (phases.get("setup"), phases.get("call")):
        outcome = "skipped"
    else:
        outcome = phases.get("call", "error")
    channel.send("verdict", **{**state.current().feedback.get(nodeid, {}), "nodeid": nodeid, "outcome": outcome})


def record(**feedback) -> None:
    """Attach feedback (diagnosis, message, location, traceback) to the running test."""
    state.current().feedback.setdefault(state.current().nodeid, {}).update(feedback)


def evidence(entry: str, value: int | str = 0) -> None:
    """One entry of the running test's ledger, on the channel (never through the database
    connection the student's code shares)."""
    channel.send("ledger", nodeid=state.current().nodeid, entry=entry, value=value)


ASSIGNMENT_MODULE = "_grader_assignment"  # an assignment's own helpers, beside its hidden tests


def read_assignment_declarations() -> None:
    """What the assignment declares in its tests/_grader_assignment.py, read once its hidden
    tests have imported it: EXPLAINERS (functions (exc, when) -> (diagnosis, advice) or None,
    tried before the core's for mistakes only the exercise can name) and ADVICE ({diagnosis:
    advice in the exercise's terms}, replacing the core's words). Only the suite's own module
    counts (a module of that name elsewhere, the submission's, is ignored)."""
    run = state.current()
    module = sys.modules.get(ASSIGNMENT_MODULE)
    path = os.path.abspath(getattr(module, "__file__", None) or "")
    suite = os.path.abspath(run.suite) + os.sep if run.suite else ""
    if module is None or not suite or not path.startswith(suite):
        return
    run.explainers = tuple(getattr(module, "EXPLAINERS", ()))
    run.advice = dict(getattr(module, "ADVICE", {}))


def pytest_collection_finish(session):
    read_assignment_declarations()


@pytest.hookimpl(trylast=True)
def pytest_configure(config):
    # bootstrap pointed sys.stdout at /dev/null while pytest set up its terminal reporter
    # (its output would name hidden tests); what the student's code prints goes out again.
    sys.stdout = sys.__stdout__


@pytest.fixture(scope="session", autouse=True)
def _grading_database(django_db_blocker, django_test_environment):
    """Create the grading database once.

    The student's migrations are checked against the models with Django's
    autodetector (what `makemigrations --check` does) rather than applied; the
    tables are then created straight from the models with the schema editor,
    which leaves the same schema whenever the two agree, in a few milliseconds
    instead of the ~100 ms of the migrate command (post_migrate receivers do
    not run: nothing in the exercise depends on them).
    """
    from django.apps import apps
    from django.db import connection

    _mail_to_folder()
    with django_db_blocker.unblock():
        try:
            problem, notes = diagnose.migration_state()
            state.current().warnings.extend(notes)
            state.current().migration_problem = problem
        except Exception as exc:
            state.current().migration_problem = dict(
                errors.describe(exc),
                type="migrations",
                message="your migrations cannot be loaded: " + errors.one_line(exc),
            )
        state.current().warnings.extend(state.current().notes)
        try:
            state.current().warnings.extend(diagnose.warnings())
        except Exception:  # diagnosis must never break grading
            pass
        try:
            with connection.schema_editor() as editor:
                for model in apps.get_models():
                    meta = model._meta
                    if meta.managed and not meta.proxy and not meta.swapped:
                        editor.create_model(model)
        except Exception as exc:
            state.current().db_error = errors.describe(exc)
        try:  # the tables match the migrations: say so, or commands warn of unapplied ones
            _record_migrations_applied(connection)
        except Exception:
            pass
        try:
            record_model_map()
        except Exception:  # the grader then cannot check the passes and says so (an error)
            pass
    yield


def _mail_to_folder() -> None:
    """pytest-django's test environment sends e-mail to memory; an assignment that reads the
    e-mail sent (rubric [folders] mail) gets the grading settings' file backend back, whose
    files the grader reads after the run."""
    if not state.current().folders.get("mail"):
        return
    from django.conf import settings

    from _grader_harness import settings as grading

    for name in ("EMAIL_BACKEND", "EMAIL_FILE_PATH", "MAILERS"):
        if hasattr(grading, name):
            setattr(settings, name, getattr(grading, name))


def _record_migrations_applied(connection) -> None:
    """Mark every migration applied: the grading tables were made from the models, and
    otherwise `createsuperuser` and other commands print "You have N unapplied migration(s)"
    into every student's output (a warning the grader, not the student, would cause)."""
    from django.db.migrations.recorder import MigrationRecorder

    recorder = MigrationRecorder(connection)
    recorder.ensure_schema()
    recorder.migration_qs.bulk_create([recorder.Migration(app=app, name=name) for app, name in diagnose.MIGRATIONS])


def record_model_map() -> None:
    """Write every model's real table and column names (Meta.db_table, db_column, ...)
    and the exercise's roles, so the grader reads the database without guessing names."""
    from django.apps import apps
    from django.contrib.auth import get_user_model
    from django.db import connection

    rows = []
    for model in apps.get_models(include_auto_created=True):
        meta = model._meta
        if meta.proxy or meta.swapped or not meta.managed:
            continue
        columns = {f.name: f.column for f in meta.concrete_fields}
        related = {
            f.name: f.related_model._meta.label
            for f in meta.concrete_fields
            if f.is_relation and f.related_model is not None
        }
        rows.append((meta.label, meta.db_table, meta.pk.column, json.dumps(columns), json.dumps(related)))
    roles = [("user", get_user_model()._meta.label)]
    for role, label in sorted(state.current().models.items()):
        try:
            roles.append((role, apps.get_model(label)._meta.label))
        except (LookupError, ValueError):
            pass  # the project has no such model: the hidden tests say so
    with connection.cursor() as cursor:
        cursor.execute(
            f"CREATE TABLE IF NOT EXISTS {MODELS_TABLE} (label TEXT, db_table TEXT, "
            "pk_column TEXT, columns TEXT, related TEXT)"
        )
        cursor.execute(f"CREATE TABLE IF NOT EXISTS {ROLES_TABLE} (role TEXT, label TEXT)")
        cursor.executemany(f"INSERT INTO {MODELS_TABLE} VALUES (%s, %s, %s, %s, %s)", rows)
        cursor.executemany(f"INSERT INTO {ROLES_TABLE} VALUES (%s, %s)", roles)


@pytest.fixture(autouse=True)
def _grading_test(request, django_db_blocker, _grading_database):
    state.current().nodeid = request.node.nodeid
    evidence("start")
    with django_db_blocker.unblock():
        yield


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item):
    try:
        result = yield  # raises when the test failed or skipped: then there is nothing to mark
    except (pytest.skip.Exception, pytest.xfail.Exception) as exc:
        where = errors.location(exc)  # the innermost frame of the student's code, if any
        if not where:
            raise  # the hidden suite's own skip, with its own reason
        what = "pytest.skip()" if isinstance(exc, pytest.skip.Exception) else "pytest.xfail()"
        _not_a_skip(f"your code called {what} ({where}) while this check ran", where, exc)
    except pytest.fail.Exception:
        raise  # a failure (the hidden suite's own, with its feedback)
    except Exception as exc:
        if isinstance(exc, pytest.exit.Exception):  # pytest.exit() would end the whole run
            where = errors.location(exc)
            _not_a_skip(f"your code called pytest.exit(){f' ({where})' if where else ''}", where, exc)
        if errors.missing_at_import(exc):
            _skip_missing_package(exc)
        _explain_unexpected(item.nodeid, exc)
        raise
    except BaseException as exc:  # KeyboardInterrupt, SystemExit, GeneratorExit, ...
        where = errors.location(exc)
        _not_a_skip(
            f"your code raised {type(exc).__name__}{f' ({where})' if where else ''} while this check ran", where, exc
        )
    evidence("done")
    return result


def _explain_unexpected(nodeid: str, exc: BaseException) -> None:
    """An error the hidden test did not explain itself (a module of the project that fails to
    load on the request path: a SyntaxError in views.py, an ImportError in urls.py): say it
    as start-up errors are said, with the student's file:line and what to do."""
    if state.current().feedback.get(nodeid, {}).get("message") or not errors.location(exc):
        return
    info = errors.describe(exc, setup=True)
    record(
        message=f"{info['message']} ({info['location']}). {info['advice']}",
        diagnosis=info["diagnosis"],
        location=info["location"],
        traceback=info["traceback"],
    )


def _not_a_skip(what: str, where: str, exc: BaseException) -> None:
    """Turn what student code raised to stop a test (a skip, an interrupt, an exit) into a
    failure of that test: only the hidden suite may skip."""
    message = (
        f"{what}: only the grader may skip or stop a check, so it counts as failed. "
        "Remove that call (a receiver must not raise to get out of a test)."
    )
    record(message=message, diagnosis="test-stopped", location=where or "", traceback=errors.student_frames(exc))
    raise pytest.fail.Exception(message, pytrace=False) from None


def _skip_missing_package(exc: BaseException) -> None:
    """A package the grader does not have, imported while a module of the project loaded
    (a view behind the admin, a middleware): what this test checks cannot be judged here."""
    module = errors.missing_at_import(exc)
    where = errors.import_site(exc, module)
    reason = f"not judged: {errors.package_advice(module)}" + (f" (imported at {where})" if where else "")
    record(message=reason, diagnosis="package-not-available", location=where)
    note = f"{where}: {errors.package_advice(module)}" if where else errors.package_advice(module)
    if note not in state.current().warnings:
        state.current().warnings.append(note)
    raise pytest.skip.Exception(reason, _use_item_location=True) from None
