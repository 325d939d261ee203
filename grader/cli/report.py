"""`grader report`: rewrite a class's gradebook, or a lesson's, from its JSON reports."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from grader.cli._common import ExitCode, print_feedback, print_gradebook, usage_error


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    r = sub.add_parser(
        "report",
        help="rewrite the gradebook from the JSON reports in a folder, or a lesson's from a folder per assignment",
        description="Read DIR/*.json (per-student reports) and write DIR/grades.csv, "
        "DIR/grades-canvas.csv, DIR/report.html and DIR/summary.json (and "
        "DIR/grades-moodle.csv for a Moodle class). "
        "With several DIRs, one per assignment of a lesson (or with "
        "--output-dir), write one sheet for the lesson into the --output-dir "
        "instead, the DIRs being only read: grades.csv (a column per assignment "
        "in the order given, the lesson's total, each assignment's status), "
        "grades-canvas.csv (a column per assignment and a Points Possible row; no "
        "total, Canvas computes its own), grades-moodle-<assignment>.csv (Moodle's "
        "grading worksheet is per assignment: one for each assignment of a Moodle "
        "class), report.html and summary.json. Students are matched across the DIRs "
        "by their student id (the report's submission). A student without a report "
        "in a DIR gets an empty cell there and counts as missing there; the total "
        "sums the points that exist. Exit status: 0 when written, 2 for usage errors "
        "(a DIR without reports, or with reports of several assignments, two DIRs "
        "of the same assignment).",
    )
    r.add_argument(
        "folders",
        type=Path,
        nargs="+",
        metavar="DIR",
        help="folder with the per-student JSON reports (of one assignment); several for a lesson",
    )
    r.add_argument(
        "--output-dir",
        "-o",
        type=Path,
        metavar="OUT",
        help="where the lesson's sheet goes (default: reports/lesson in the current folder); "
        "with one DIR, writes that assignment's sheet as a lesson of one there",
    )
    r.add_argument(
        "--blank-errors",
        action="store_true",
        help="leave the total of error, timeout and tampered submissions empty in the "
        "platform CSVs (for a lesson: their assignment's cell)",
    )
    r.add_argument(
        "--feedback",
        type=Path,
        metavar="FB",
        help="also write each student's own feedback into FB (as grader batch --feedback); "
        "for a lesson, each assignment's into FB/<assignment>/",
    )
    r.add_argument(
        "--release-after-due",
        action="store_true",
        help="show the after_due checks in the feedback files now (by default each is shown once the "
        "student's due date has passed, which a batch with --course knows; without one, never); "
        "hidden checks are never shown one by one",
    )
    r.add_argument(
        "--diff",
        type=Path,
        metavar="OLD_DIR",
        help="also compare DIR's reports with those of OLD_DIR (an earlier grading of the same "
        "class): print who changed, by how much and why, check by check, and write "
        "DIR/regrade.csv and DIR/regrade.md",
    )
    r.add_argument(
        "--course",
        type=Path,
        metavar="COURSE_TOML",
        help="apply the overrides beside this course.toml (overrides.toml); by default those the "
        "batch of DIR used (grader batch --course)",
    )
    r.add_argument("--overrides", type=Path, metavar="FILE", help="apply the overrides of FILE")
    r.set_defaults(run=run)


def run(args: argparse.Namespace) -> ExitCode:
    from grader import batch, gradebook
    from grader.batch.command import lesson_command

    try:
        if args.diff is not None and (len(args.folders) > 1 or args.output_dir is not None):
            raise gradebook.GradebookError("--diff compares one DIR with OLD_DIR, not a lesson")
        if len(args.folders) > 1 or args.output_dir is not None:
            output = args.output_dir or Path.cwd() / gradebook.DEFAULT_LESSON_DIR
            lesson = lesson_command(
                args.folders,
                output,
                blank=args.blank_errors,
                feedback=args.feedback,
                course_file=args.course,
                overrides_file=args.overrides,
                release_after_due=args.release_after_due,
            )
            written, feedback = lesson.gradebook, lesson.feedback
        else:
            written = batch.report_command(
                args.folders[0], blank=args.blank_errors, course_file=args.course, overrides_file=args.overrides
            )
            feedback = []
            if args.feedback is not None:
                from grader import handback

                feedback.append(
                    handback.write(args.folders[0], args.feedback, release_after_due=args.release_after_due)
                )
        diff = None
        if args.diff is not None:
            from grader import regrade

            diff = regrade.compare_folders(args.diff, args.folders[0])
            diff.write(args.folders[0])
    except gradebook.GradebookError as exc:
        return usage_error(exc)
    print_gradebook(written)
    for note in written.notes:
        print(f"grader: {note}", file=sys.stderr)
    for each in feedback:
        print_feedback(each)
    if diff is not None:
        print("\n".join(regrade.printable_lines(diff, args.folders[0])))
    return ExitCode.OK
