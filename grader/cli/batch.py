"""`grader batch`: grade a class (a folder, a zip, a platform's download) into a gradebook."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from grader import rubric, sandbox
from grader.cli._common import ExitCode, print_feedback, print_gradebook, usage_error


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    b = sub.add_parser(
        "batch",
        help="grade every submission of a class and write the gradebook",
        description="Grade every sub-folder of SOURCE (a folder, or a .zip of folders; the "
        "folder name is the student id) in parallel, write DIR/<student>.json as "
        "each finishes, then DIR/grades.csv, DIR/grades-canvas.csv, DIR/report.html and "
        "DIR/summary.json (and DIR/grades-moodle.csv for a Moodle class). "
        "SOURCE may be a learning platform's download as it comes (see --layout). "
        "A re-run keeps reports that are up to date. Exit status: 0 when every "
        "submission has a report, 1 when no submission could be graded at all, "
        "2 for usage errors, 3 when a report could not be written, 130 when "
        "interrupted (run again to carry on).",
    )
    b.add_argument(
        "source", type=Path, help="the class: a folder (or .zip) of submissions, as a platform's download gives it"
    )
    b.add_argument(
        "--assignment",
        help="assignment name or folder with a rubric.toml (default: the only one the grader "
        "knows; a submission's own marker file is never read here)",
    )
    b.add_argument(
        "--jobs", "-j", type=int, metavar="N", help="submissions graded at the same time (default: the number of CPUs)"
    )
    b.add_argument(
        "--output-dir",
        "-o",
        type=Path,
        metavar="DIR",
        help="where the reports and the gradebook go (default: reports/<SOURCE name>)",
    )
    b.add_argument(
        "--force", action="store_true", help="grade every submission again, even when its report is up to date"
    )
    b.add_argument(
        "--sandbox",
        choices=sandbox.MODES,
        default="auto",
        help="isolation of student code: bubblewrap, none, or auto (bubblewrap when it works)",
    )
    b.add_argument(
        "--layout",
        default="auto",
        choices=("auto", "moodle", "canvas", "github", "folders"),
        help="the shape of SOURCE: Moodle's 'Download all submissions', Canvas's submissions "
        "zip, GitHub Classroom's clones, or a folder per student (default: recognised "
        "from the names)",
    )
    b.add_argument(
        "--roster",
        type=Path,
        metavar="CSV",
        help="the class list: GitHub Classroom's roster, a Moodle grading worksheet, a Canvas "
        "gradebook export, or a CSV with a 'student' column (and 'name', 'login'); fills "
        "names and gradebook ids, and lists students who submitted nothing as 'missing'",
    )
    b.add_argument(
        "--feedback",
        type=Path,
        metavar="DIR",
        help="also write each student's own feedback (Markdown and HTML) into DIR, in the shape "
        "their platform uploads (Moodle: a feedback-files zip)",
    )
    b.add_argument(
        "--release-after-due",
        action="store_true",
        help="show the after_due checks in the feedback files now (by default each is shown once the "
        "student's due date has passed, which a batch with --course knows; without one, never); "
        "hidden checks are never shown one by one",
    )
    b.add_argument(
        "--blank-errors",
        action="store_true",
        help="leave the total of error, timeout and tampered submissions empty in "
        "grades-canvas.csv and grades-moodle.csv, so the import flags them for review "
        "instead of recording 0",
    )
    b.add_argument(
        "--queue",
        metavar="REDIS_URL",
        help="grade on a Redis queue instead of here: enqueue one job per submission for "
        "`grader worker` processes (any number of machines) and write each report as its "
        "result arrives; interrupted, the same command carries on "
        "(e.g. redis://:PASSWORD@10.0.0.5:6379/0)",
    )
    b.add_argument(
        "--queue-name",
        default="grader",
        metavar="NAME",
        help="the queue's name (default: grader); workers must use the same",
    )
    b.add_argument(
        "--course",
        type=Path,
        metavar="COURSE_TOML",
        help="grade under the course's rules (course.toml: due dates, extensions, late policy, which "
        "submission counts): a GitHub Classroom clone's last commit before the student's due date, "
        "and the gradebook shows the raw score, late penalty, overrides and final score side by side",
    )
    b.add_argument(
        "--overrides",
        type=Path,
        metavar="FILE",
        help="the instructor's overrides (default: overrides.toml beside --course, when it exists)",
    )
    b.add_argument(
        "--cold",
        action="store_true",
        help="start a new grading child for every submission instead of forking it from a warm "
        "zygote per worker (slower; the grades are the same)",
    )
    b.add_argument(
        "--keep-going",
        action="store_true",
        help="grade even when most submissions cannot be found the same way (which usually "
        "means the wrong folder or --layout)",
    )
    b.set_defaults(run=run)


def run(args: argparse.Namespace) -> ExitCode:
    from grader import batch, gradebook

    assignment = rubric.find(args.assignment)
    source = args.source
    stem = source.name[:-4] if source.name.lower().endswith(".zip") else source.name
    output_dir = args.output_dir or Path.cwd() / "reports" / (stem or "batch")
    try:
        result = batch.run(
            source,
            assignment,
            output_dir,
            batch.BatchOptions(
                jobs=args.jobs,
                force=args.force,
                mode=args.sandbox,
                layout=args.layout,
                roster=args.roster,
                feedback=args.feedback,
                blank=args.blank_errors,
                keep_going=args.keep_going,
                release_after_due=args.release_after_due,
                queue=args.queue,
                queue_name=args.queue_name,
                course_file=args.course,
                overrides_file=args.overrides,
                cold=args.cold,
            ),
        )
    except (batch.BatchError, gradebook.GradebookError) as exc:
        return usage_error(exc)
    done = result.graded + result.faults + result.rejected
    print(
        f"{result.total} submissions: {done} graded now, {result.skipped} up to date"
        + (f", {result.faults} grader fault(s) (graded again next run)" if result.faults else "")
        + (f", {result.rejected} refused" if result.rejected else "")
        + (f"; {result.missing} on the roster submitted nothing" if result.missing else "")
    )
    if result.interrupted:
        print(
            f"grader: interrupted: the finished reports are in {output_dir}; run the same command again to carry on",
            file=sys.stderr,
        )
        return ExitCode.INTERRUPTED
    if result.gradebook is not None:
        print_gradebook(result.gradebook)
        for note in result.gradebook.notes:
            print(f"grader: {note}", file=sys.stderr)
    if result.feedback is not None:
        print_feedback(result.feedback)
    if result.regrade is not None:  # the class was graded before: who changed, and why
        from grader import regrade

        print("\n".join(regrade.printable_lines(result.regrade, output_dir)))
    if result.unwritten:
        print(f"grader: no report written for {len(result.unwritten)} submission(s)", file=sys.stderr)
        return ExitCode.FAULT
    if result.nothing_graded:
        print(
            "grader: no submission could be graded (every report is an error): see the reasons in "
            f"{output_dir / 'report.html'}",
            file=sys.stderr,
        )
        return ExitCode.BELOW
    return ExitCode.OK
