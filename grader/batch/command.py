"""The batch itself (``grader batch``): lock the output folder, read SOURCE, write the reports
of the submissions that cannot be graded, grade the others that are not up to date in the
workers, then write the gradebook; and ``grader report``, which only rewrites the gradebook
(of one folder, or the sheet of a lesson from a folder per assignment)."""

from __future__ import annotations

import contextlib
import os
import signal
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from grader import (
    api,
    course,
    discover,
    fstree,
    gradebook,
    overrides,
    platforms,
    regrade,
    rubric,
    runtime,
    sandbox,
    warm,
)
from grader.batch import timing
from grader.batch.display import make_display
from grader.batch.errors import BatchError
from grader.batch.freshness import decide, refresh_identity
from grader.batch.names import printable
from grader.batch.reports import check_common_problem, fault_report, read_outcome, rejected_report, write_report
from grader.batch.sources import Submission, open_source
from grader.batch.workers import WORKER_GRACE_S, default_jobs, execute, grade_worker
from grader.classmodel import ClassSummary

LOCK_NAME = ".grader-batch.lock"  # what graders before 0.2 left behind


@dataclass
class BatchResult:
    total: int = 0  # submissions in SOURCE
    graded: int = 0  # graded in this run
    skipped: int = 0  # reports kept (up to date)
    faults: int = 0  # reports written by the batch because the grader failed
    rejected: int = 0  # submissions refused (too large, damaged)
    unwritten: list[str] = field(default_factory=list)  # students without a report
    interrupted: bool = False
    missing: int = 0  # on the roster, nothing submitted
    layout: str = "folders"
    gradebook: gradebook.Written | None = None
    feedback: Any = None  # handback.Written, with --feedback
    notes: list[str] = field(default_factory=list)
    regrade: Any = None  # regrade.Diff: who changed since the reports this run found (none: a first grading)

    @property
    def nothing_graded(self) -> bool:
        """Every submission is an error (no report of the class says 'graded')."""
        summary = self.gradebook.model if self.gradebook else None
        return (
            isinstance(summary, ClassSummary)
            and summary.count > summary.by_status.get("missing", 0)
            and not summary.by_status.get("graded", 0)
        )


@contextlib.contextmanager
def _lock(folder: Path):
    """Hold the output folder for this batch: a lock on the folder itself (flock on its
    descriptor), so that nothing is left behind when the batch ends, however it ends."""
    import fcntl

    folder.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(OSError):  # a lock file of an older grader
        (folder / LOCK_NAME).unlink()
    fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            raise BatchError(f"another grader batch is writing to {folder}") from None
        yield
    finally:
        os.close(fd)


@contextlib.contextmanager
def _interrupt_on_signals():
    """SIGTERM and SIGHUP stop the batch like Ctrl-C: workers stopped, finished reports kept."""

    def handler(signum, frame):
        raise KeyboardInterrupt

    previous = {}
    for sig in (signal.SIGTERM, signal.SIGHUP):
        with contextlib.suppress(ValueError):  # not the main thread
            previous[sig] = signal.signal(sig, handler)
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


@dataclass(frozen=True)
class BatchOptions:
    """What the instructor chooses for a batch: one field per option of ``grader batch`` (the
    option's name in brackets)."""

    jobs: int | None = None  # submissions graded at the same time (--jobs); None: one per CPU
    force: bool = False  # grade every submission again, even when its report is up to date (--force)
    mode: str = "auto"  # the sandbox: "auto", "bwrap" or "none" (--sandbox)
    layout: str = "auto"  # the shape of SOURCE, one of platforms.LAYOUTS; "auto": recognised (--layout)
    roster: Path | None = None  # the class list (--roster): names, gradebook ids, who submitted nothing
    feedback: Path | None = None  # also write each student's feedback files here (--feedback)
    blank: bool = False  # leave error totals empty in the platforms' sheets (--blank-errors)
    keep_going: bool = False  # grade even when most submissions cannot be found the same way (--keep-going)
    release_after_due: bool = False  # the feedback files show the after_due checks now (--release-after-due)
    queue: str | None = None  # a Redis URL: grade on `grader worker`s instead of here (--queue)
    queue_name: str = "grader"  # the queue's name, as the workers know it (--queue-name)
    course_file: Path | None = None  # course.toml: grade under the course's rules (--course)
    overrides_file: Path | None = None  # the instructor's overrides (--overrides; default: beside course.toml)
    cold: bool = False  # a new grading child for every submission, no warm zygote (--cold)


def run(
    source: Path,
    assignment: rubric.Assignment,
    output_dir: Path,
    options: BatchOptions | None = None,
    *,
    display=None,
    worker: Callable = grade_worker,
    ctx=None,
) -> BatchResult:
    """Grade every submission of `source` into `output_dir`, then write the gradebook, as
    `options` say (see BatchOptions). `display` shows the progress (default: make_display());
    `worker` grades one submission in a worker process and `ctx` is the multiprocessing context
    the workers start in (tests put their own).

    With a course file (course.toml) each submission is graded under the course's rules
    (batch/timing.py: a clone's last commit before the student's due date, or HEAD, or both;
    when it was submitted) and its report carries its Timing (the late penalty); the
    overrides of the overrides file (default: overrides.toml beside course.toml, when it
    exists) apply in the gradebook.

    A class is never graded without the sandbox by accident: where bubblewrap cannot run,
    --sandbox auto is refused (a usage error) and only an explicit --sandbox none goes on,
    with one loud line here and a banner in report.html and summary.json. With a queue (a
    Redis URL) the submissions are graded by `grader worker`s (batch/rqueue.py), which make
    that choice themselves."""
    opts = options or BatchOptions()
    resolved, _ = sandbox.resolve(opts.mode if opts.queue is None else "none")  # an unavailable --sandbox bwrap
    if resolved == "none" and opts.mode != "none" and opts.queue is None:  # is a usage error, before any work
        raise BatchError(
            f"{sandbox.bwrap_problem()}: without the sandbox every submission of the class could read "
            "and change the grader, the other students' files and their reports. Install the "
            "Debian package 'bubblewrap' (or grade on a machine that has it), or pass --sandbox none "
            "to grade without isolation anyway."
        )
    if not Path(source).exists():
        raise BatchError(f"{source} does not exist")
    jobs = default_jobs() if opts.jobs is None else opts.jobs
    if jobs < 1:
        raise BatchError("--jobs must be at least 1")
    display = display or make_display()
    if opts.queue is not None:
        from grader.batch import rqueue

        rqueue.connect(opts.queue)  # an unreachable Redis is a usage error, before any work
    elif resolved == "none":
        display.note(
            "WARNING: grading WITHOUT the sandbox (--sandbox none): each submission runs "
            "with this user's rights and can read or change the grader, the other "
            "submissions and their reports. Do not use these marks as grades."
        )
    output_dir = Path(output_dir)
    if output_dir.exists() and not output_dir.is_dir():
        raise BatchError(f"{output_dir} exists and is not a folder")
    if opts.layout not in platforms.LAYOUTS:
        raise BatchError(f"unknown --layout {opts.layout!r} (choose from {', '.join(platforms.LAYOUTS)})")
    class_roster = None
    if opts.roster is not None:
        try:
            class_roster = platforms.read_roster(Path(opts.roster))
        except platforms.RosterError as exc:
            raise BatchError(str(exc)) from None
    rules, fixes = course_rules(opts.course_file, opts.overrides_file, assignment.name)
    result = BatchResult()
    with _lock(output_dir):
        for stale in output_dir.glob(".*.tmp"):  # left by a batch that was killed mid-write
            with contextlib.suppress(OSError):
                stale.unlink()
        regrade.begin(output_dir)  # what the reports say before this run rewrites any
        scratch = Path(tempfile.mkdtemp(prefix="grader-batch-"))
        try:
            src = open_source(Path(source), output_dir, scratch, opts.layout, class_roster)
        except BaseException:
            fstree.remove(scratch)
            raise
        try:
            result.layout = src.layout
            result.notes = list(src.notes)
            if opts.layout == "auto" and src.layout != "folders":
                display.note(f"recognised a {src.layout} download")
            for note in src.notes:
                display.note(note)
            result.total = len(src.submissions) + len(src.rejected)
            if not result.total:
                raise BatchError(f"no submissions found in {source} (layout: {src.layout})")
            problems = dict(src.kinds)
            whys = dict(src.rejected)
            for sub in src.submissions:
                try:
                    discover.discover(sub.path)
                except discover.DiscoveryError as exc:
                    problems[sub.student], whys[sub.student] = exc.kind, str(exc)
            if not opts.keep_going:
                check_common_problem(problems, whys, result.total, src.layout)
            for student, why in sorted(src.rejected.items()):
                report = rejected_report(assignment, student, why, opts.mode)
                report.identity = src.identities.get(student)
                write_report(src.reports[student], report)
                result.rejected += 1
                display.note(f"{printable(student)}: {why}")
            for student in src.missing:
                report = api.missing_report(assignment, student)
                report.identity = src.identities.get(student)
                write_report(src.reports[student], report)
                result.missing += 1

            plans: list[timing.Plan] = []
            graded = src.submissions
            commits: dict[Path, str] = {}
            if rules is not None:
                worksheet = (
                    {e.key: e.submitted for e in class_roster.entries}
                    if class_roster is not None and class_roster.kind == "moodle"
                    else None
                )
                candidates_dir = output_dir / timing.CANDIDATES_DIR
                for n, sub in enumerate(src.submissions):
                    work = scratch / "commits" / str(n)
                    found = timing.plan(sub, rules, assignment.name, work, candidates_dir, worksheet)
                    plans.append(found)
                    for note in found.notes:
                        display.note(f"{printable(sub.student)}: {note}")
                graded = [c.sub for found in plans for c in found.candidates]
                if len(graded) > len(plans):
                    display.note(
                        f"counts = best: {len(graded) - len(plans)} student(s) are graded at two commits "
                        "(the last before the due date and HEAD), the better final score kept"
                    )
                commits = {c.sub.report: c.commit for found in plans for c in found.candidates}
                timing.clean_candidates(candidates_dir, set(commits))
            todo = []
            for sub in graded:
                commit = commits[sub.report] if rules is not None else None
                decision = decide(sub.report, sub.path, sub.student, assignment.digest, force=opts.force, commit=commit)
                if decision.grade:
                    todo.append(sub)
                else:
                    result.skipped += 1
                    if decision.kept is not None:
                        refresh_identity(sub.report, decision.kept, sub.identity)
            if result.skipped:
                display.note(
                    f"{result.skipped} of {len(src.submissions)} report(s) are up to date and kept "
                    "(--force grades them again)"
                )
            jobs = max(1, min(jobs, len(todo) or 1))

            def on_finish(sub: Submission, exitcode: int | None, why: str = "") -> None:
                outcome = read_outcome(sub.report) if exitcode == 0 else None
                if outcome is None:
                    what = why or (
                        f"the worker did not finish within {assignment.limits.wall_time_s + WORKER_GRACE_S:g} s"
                        if exitcode is None
                        else f"the worker process ended with exit code {exitcode}"
                        if exitcode
                        else "the worker wrote no readable report"
                    )
                    try:
                        write_report(sub.report, fault_report(assignment, sub.student, what, opts.mode))
                        outcome = read_outcome(sub.report)
                        result.faults += 1
                    except OSError as exc:
                        result.unwritten.append(sub.student)
                        display.note(f"{printable(sub.student)}: report not written ({exc})")
                else:
                    result.graded += 1
                display.finished(sub, outcome, outcome is None or outcome["status"] != "graded")

            if todo and opts.queue is None and not runtime.installed(assignment.runtime):
                # once, here: a worker waiting for the install would spend its own deadline
                display.note(
                    f"installing the packages {assignment.name} allows (once): "
                    + ", ".join(assignment.runtime.packages)
                )
                env = runtime.ensure(assignment.runtime)
                if not env.usable:
                    display.note(
                        f"the allowed packages could not be installed ({env.problem}); "
                        "grading goes on without them and every report says so"
                    )
            if todo:
                display.start(len(todo))
                try:
                    with _interrupt_on_signals():
                        if opts.queue is not None:
                            rqueue.execute(
                                todo, assignment, opts.queue, opts.queue_name, on_finish, display, force=opts.force
                            )
                        else:
                            with warm.slots(opts.mode, assignment, jobs, cold=opts.cold) as handles:
                                execute(
                                    todo,
                                    worker,
                                    (assignment, opts.mode, str(scratch)),
                                    jobs,
                                    assignment.limits.wall_time_s + WORKER_GRACE_S,
                                    on_finish,
                                    ctx=ctx,
                                    slots=handles,
                                )
                except KeyboardInterrupt:
                    result.interrupted = True
                finally:
                    display.close()
            for found in plans:  # finished reports get their timing, interrupted or not
                timing.settle(found, fixes)
        finally:
            src.cleanup()
            fstree.remove(scratch)
        if rules is not None or fixes is not None:  # grader report DIR applies them again
            timing.remember(output_dir, opts.course_file, fixes)
        if not result.interrupted:
            result.gradebook = gradebook.write_all(output_dir, blank=opts.blank, overrides=fixes)
            result.regrade = regrade.finish(output_dir, present=src.reports)
            if opts.feedback is not None:
                from grader import handback

                result.feedback = handback.write(
                    output_dir, Path(opts.feedback), release_after_due=opts.release_after_due
                )
    return result


def course_rules(
    course_file: Path | None, overrides_file: Path | None, assignment: str | None = None
) -> tuple[course.Course | None, overrides.Overrides | None]:
    """The course (with `assignment` among its assignments) and the overrides a batch or
    gradebook applies: `overrides_file`, or overrides.toml beside `course_file` when it
    exists. A usage error (BatchError) when either cannot be read."""
    rules = None
    if course_file is not None:
        try:
            rules = course.load(Path(course_file))
            if assignment is not None:
                rules.assignment(assignment)
        except course.CourseError as exc:
            raise BatchError(str(exc)) from None
    path = overrides_file
    if path is None and course_file is not None and overrides.beside(Path(course_file)).is_file():
        path = overrides.beside(Path(course_file))
    fixes = None
    if path is not None:
        if not Path(path).is_file():
            raise BatchError(f"{path}: no such overrides file")
        try:
            fixes = overrides.load(Path(path))
        except overrides.OverridesError as exc:
            raise BatchError(str(exc)) from None
    return rules, fixes


def report_command(
    folder: Path, blank: bool = False, course_file: Path | None = None, overrides_file: Path | None = None
) -> gradebook.Written:
    """``grader report DIR``: (re)write the gradebook from the reports in DIR, with the
    overrides given, or those the batch of DIR used (``grader batch --course``)."""
    if course_file is None and overrides_file is None:
        overrides_file = timing.remembered(Path(folder))
    try:
        _, fixes = course_rules(course_file, overrides_file)
    except BatchError as exc:
        raise gradebook.GradebookError(str(exc)) from None
    return gradebook.write_all(Path(folder), blank=blank, overrides=fixes)


@dataclass
class LessonResult:
    gradebook: gradebook.Written
    feedback: list[Any] = field(default_factory=list)  # handback.Written per assignment, with --feedback


def lesson_command(
    folders: list[Path],
    output_dir: Path,
    blank: bool = False,
    feedback: Path | None = None,
    course_file: Path | None = None,
    overrides_file: Path | None = None,
    release_after_due: bool = False,
) -> LessonResult:
    """``grader report DIR DIR... [-o OUT]``: one sheet for a lesson, one folder of reports per
    assignment, written into `output_dir` (the folders are only read). With `feedback`, each
    assignment's feedback goes into a folder of its own, ``feedback/<assignment>/``, in the
    shape its platform uploads (a Moodle assignment takes its own feedback zip)."""
    if course_file is None and overrides_file is None:
        overrides_file = next(filter(None, (timing.remembered(Path(f)) for f in folders)), None)
    try:
        _, fixes = course_rules(course_file, overrides_file)
    except BatchError as exc:
        raise gradebook.GradebookError(str(exc)) from None
    written = gradebook.write_lesson([Path(f) for f in folders], Path(output_dir), blank=blank, overrides=fixes)
    result = LessonResult(written)
    if feedback is not None:
        from grader import handback

        stems = gradebook.file_stems(list(written.assignments))
        for name, folder in written.assignments.items():
            result.feedback.append(
                handback.write(folder, Path(feedback) / stems[name], release_after_due=release_after_due)
            )
    return result
