"""The Python API: grade one submission, end to end, into a Report.

from grader.api import grade
report = grade("path/to/project")            # -> grader.model.Report
"""

from __future__ import annotations

import datetime as _dt
import platform
import time
from collections.abc import Callable
from pathlib import Path

from grader import __version__, evidence, fstree, redact, renderers, rubric, runner, runtime, scoring, verify, warm
from grader.discover import DiscoveryError, Project, discover
from grader.model import CheckResult, CheckStatus, Report, RunStatus
from grader.warm import ChildLost, Handle


def _django_version() -> str:
    """The version of the Django the child uses, read from its files (never imported here)."""
    import importlib.util

    spec = importlib.util.find_spec("django")
    if not spec or not spec.origin:
        return "unknown"
    for dist in Path(spec.origin).parent.parent.glob("[Dd]jango-*.dist-info"):
        return dist.name[len("django-") : -len(".dist-info")]
    return "unknown"


def _now() -> str:
    return _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")


def submission_name(path: Path) -> str:
    return Path(path).resolve().name


def error_report(
    assignment: rubric.Assignment, submission: str, message: str, started: float, sandbox: str = "none"
) -> Report:
    checks = scoring.all_checks(assignment, CheckStatus.ERROR, message)
    return _report(assignment, submission, RunStatus.ERROR, message, checks, started, sandbox, [])


def missing_report(assignment: rubric.Assignment, submission: str) -> Report:
    """The report of a student on the class roster who submitted nothing: no points, and a
    status ('missing') a gradebook import can tell from a zero."""
    message = "No submission was found for you in the class download."
    checks = scoring.all_checks(assignment, CheckStatus.SKIPPED, "nothing was submitted")
    return _report(assignment, submission, RunStatus.MISSING, message, checks, time.monotonic(), "none", [])


def _report(
    assignment: rubric.Assignment,
    submission: str,
    status: RunStatus,
    message: str,
    checks: list[CheckResult],
    started: float,
    sandbox: str,
    warnings: list[str],
    output: str = "",
) -> Report:
    if assignment.withheld is not None:  # a students' package: say that this is not the grade
        message = f"{message.rstrip()} {renderers.withheld_sentence(assignment.withheld)}".strip()
    return Report(
        assignment=assignment.name,
        submission=submission,
        status=status,
        score=round(sum(c.score for c in checks), 4),
        max_score=assignment.max_score,
        message=message,
        checks=scoring.apply_visibility(assignment, checks),
        withheld=assignment.withheld,
        duration_s=round(time.monotonic() - started, 3),
        grader_version=__version__,
        django_version=_django_version(),
        python_version=platform.python_version(),
        graded_at=_now(),
        sandbox=sandbox,
        warnings=warnings,
        rubric_digest=assignment.digest,
        output=output,
    )


def grade(
    path: str | Path,
    assignment: str | rubric.Assignment | None = None,
    *,
    sandbox: str = "auto",
    name: str | None = None,
    child: runner.Child | None = None,
    warm: Handle | None = None,
) -> Report:
    """Grade the Django project at `path`. Never raises for a student's mistake.

    Raises rubric.RubricError for a broken assignment and sandbox.SandboxError
    when the requested isolation is unavailable (instructor/CI set-up errors).
    `child`: a runner.Child started earlier for this assignment (see runner.Child).
    `warm`: a zygote of this worker's (grader.warm) to fork the grading child from; when it
    cannot serve, the submission is graded by a cold child as usual.
    """
    started = time.monotonic()
    if not isinstance(assignment, rubric.Assignment):
        assignment = rubric.find(assignment or rubric.default_name(Path(path)))
    path = Path(path)
    name = name or submission_name(path)
    try:
        project = discover(path)
    except DiscoveryError as exc:
        if child is not None:
            child.abandon()
        return error_report(assignment, name, str(exc), started)
    mode = child.mode if child is not None else "none"
    try:
        run = _run(project, assignment, sandbox, child, warm)
    except fstree.TreeLimit as exc:  # too deep, too large, too slow to copy: the submission's doing
        return error_report(assignment, name, f"Your submission could not be graded: {exc}.", started, mode)
    except fstree.DiskFull as exc:
        return grader_fault_report(assignment, name, str(exc), started, mode)
    except ChildLost as exc:  # the worker's zygote went away while the submission ran
        return grader_fault_report(assignment, name, str(exc), started, "bwrap")
    verifier = (
        verify.Verifier(assignment.verify_file, run.db_copy, run.folders)
        if any(spec.verify for spec in assignment.evidence.values())
        else None
    )
    try:
        ev = evidence.read(run.db_copy, assignment.evidence, verifier, run.ledger)
        scored = scoring.score(assignment, run, ev)
    except verify.VerifyRefused as exc:
        # What the student's code left defeated the verifier (over a cap, unparseable, past its
        # time budget) and nothing on the way made it one check's failure: still the
        # submission's failure, never a grader fault (a batch or a queue never grades it again).
        why = f"the grader did not check what your code left: {exc}"
        scored = scoring.Scored(RunStatus.ERROR, why, scoring.all_checks(assignment, CheckStatus.ERROR, why))
    finally:
        if verifier is not None:
            verifier.close()
        run.cleanup()
    output = run.output
    if run.output_bytes > len(run.output.encode()):
        output += f"\n[... {run.output_bytes - len(run.output.encode())} more bytes of output not kept]"
    if assignment.visibility.get("output") == "hidden":
        output = "[the assignment does not show what the submission printed]" if output else ""
    report = _report(
        assignment, name, scored.status, scored.message, scored.checks, started, run.mode, scored.warnings, output
    )
    full = runner.grader_disk_full(run.work)
    if full:  # the database could not grow, files could not be written: not the student's doing
        return grader_fault_report(assignment, name, full, started, run.mode)
    return redactor(assignment, run.work, run.private).report(report)


def _run(
    project: Project, assignment: rubric.Assignment, sandbox: str, child: runner.Child | None, handle: Handle | None
) -> runner.RunResult:
    if child is None and handle is not None:
        try:
            return runner.run(project, assignment, sandbox, child=warm.WarmChild(assignment, handle))
        except warm.ChildLost as exc:  # the grader's trouble, never the student's: grade it cold
            if exc.during_run:
                raise
            warm.log.warning("%s: graded cold: %s", project.root.name, exc)
    return runner.run(project, assignment, sandbox, child=child)


class UsageError(Exception):
    """What was asked cannot be graded as asked (no such path, a file that is no archive)."""


def grade_path(
    path: Path,
    *,
    assignment: str | rubric.Assignment | None = None,
    sandbox: str = "auto",
    notify: Callable[[str], None] | None = None,
    pool: warm.Pool | None = None,
) -> Report:
    """`grader grade`: grade a project folder, or an archive of one (unpacked into a temporary
    folder with a submission's limits; the report is named after the archive). The grading
    child is started first: it imports pytest and Django while this process copies the
    submission; with a `pool` (a worker's warm zygotes), it is forked from one instead.
    `notify(text)` hears of slow set-up (installing the [runtime] packages).
    Raises UsageError, rubric.RubricError, sandbox.SandboxError."""
    import tempfile

    from grader import archives

    path = Path(path)
    if not path.exists():
        raise UsageError(f"{path} does not exist (give the folder that holds manage.py, or a .zip of it)")
    if path.is_file() and not archives.kind(path):
        raise UsageError(f"{path} is a file, not a project folder or an archive of one (.zip, .tar.gz)")
    if pool is None and warm.setting() == "force" and warm.usable(sandbox):
        with warm.pool(sandbox) as forced:  # the tests' way to grade one submission warm
            return grade_path(path, assignment=assignment, sandbox=sandbox, notify=notify, pool=forced)
    if not path.is_file():
        return _grade_started(path, assignment or rubric.default_name(path), sandbox, None, notify, pool)
    with tempfile.TemporaryDirectory(prefix="grader-archive-") as tmp:
        folder = Path(tmp) / "submission"
        try:
            archives.unpack(path, folder)
            return _grade_started(
                folder,
                assignment or rubric.default_name(_project_root(folder)),
                sandbox,
                archives.stem(path),
                notify,
                pool,
            )
        except archives.ArchiveError as exc:
            raise UsageError(str(exc)) from None
        finally:
            fstree.remove(folder)


def _project_root(folder: Path) -> Path:
    """Where the project is in an unpacked archive (its marker file names the assignment)."""
    try:
        return discover(folder).root
    except DiscoveryError:
        return folder


def _grade_started(
    path: Path,
    assignment: str | rubric.Assignment,
    sandbox: str,
    name: str | None,
    notify: Callable[[str], None] | None,
    pool: warm.Pool | None = None,
) -> Report:
    if not isinstance(assignment, rubric.Assignment):
        assignment = rubric.find(assignment)
    if notify and not runtime.installed(assignment.runtime):
        notify(
            f"installing the packages {assignment.name} allows (once; later runs reuse them): "
            f"{', '.join(assignment.runtime.packages)}"
        )
    handle = pool.handle(assignment) if pool is not None else None
    if handle is not None:
        return grade(path, assignment, sandbox=sandbox, warm=handle, name=name)
    return grade(path, assignment, sandbox=sandbox, child=runner.Child(assignment, sandbox), name=name)


def grader_fault_report(
    assignment: rubric.Assignment, submission: str, what: str, started: float, sandbox: str = "none"
) -> Report:
    """The report of a submission the grader could not grade for a reason of its own."""
    message = (
        f"The grader could not grade this submission ({what}). This is a fault of the grader, "
        "not a mark: the instructor will grade it again."
    )
    report = error_report(assignment, submission, message, started, sandbox)
    report.grader_fault = what
    return report


def redactor(assignment: rubric.Assignment, *run_folders: Path | None) -> redact.Redactor:
    """What must not reach a student: the hidden files' lines, the grader's own folders."""
    return redact.Redactor(
        redact.fragments(assignment.tests_dir), redact.grader_paths(assignment.root, runtime.cache_root(), *run_folders)
    )
