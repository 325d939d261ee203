"""Command line: a thin layer over grader.api.

Exit status of `grader grade`: 0 when a report was written, whatever the score
(1 instead when --fail-under is given and the score is below it); 2 for a usage
error (bad arguments, unknown assignment, unavailable sandbox); 3 when the
grader itself failed (a bug: please report it).
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from grader import __version__, rubric, sandbox
from grader.renderers import EXTENSIONS, RENDERERS, json_report, render, safe, write_atomic

EXIT_OK, EXIT_BELOW, EXIT_USAGE, EXIT_FAULT = 0, 1, 2, 3


def default_output(submission: Path) -> Path:
    """reports/<name>.json in the current folder, but never inside the submission (the name
    made a safe file name of at most names.MAX_NAME_BYTES bytes: names.component)."""
    from grader import names

    name = names.component(Path(submission).resolve().name)
    candidate = Path.cwd() / "reports" / f"{name}.json"
    try:
        candidate.resolve().relative_to(submission.resolve())
    except ValueError:
        return candidate
    return Path.home() / ".cache" / "grader" / "reports" / f"{name}.json"


def parse_format(value: str) -> tuple[str, str | None]:
    name, _, path = value.partition(":")
    if name not in RENDERERS:
        raise argparse.ArgumentTypeError(
            f"unknown format {name!r} (choose from {', '.join(sorted(RENDERERS))})")
    return name, path or None


def format_path(json_output: Path, name: str) -> Path:
    stem = json_output.name[:-5] if json_output.name.endswith(".json") else json_output.name
    return json_output.with_name(stem + EXTENSIONS[name])


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="grader", description="Grade Django signals exercises with hidden pytest suites.")
    parser.add_argument("--version", action="version", version=f"grader {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    g = sub.add_parser("grade", help="grade one submission and write its JSON score",
                       description="Run the hidden suite against a Django project and write a JSON score. "
                                   "Exit status: 0 when a report was written (whatever the score; "
                                   "1 when below --fail-under), 2 for usage errors, 3 for grader faults.")
    g.add_argument("submission", nargs="?", default=".", type=Path,
                   help="the project folder (the one with manage.py); default: the current folder")
    g.add_argument("--assignment",
                   help="assignment name or folder with a rubric.toml (default: the one the project's "
                        f"{rubric.MARKER} file names, else the only one the grader knows)")
    g.add_argument("--output", "-o", type=Path,
                   help="where to write the JSON (default: reports/<submission-name>.json)")
    g.add_argument("--sandbox", choices=sandbox.MODES, default="auto",
                   help="isolation of student code: bubblewrap, none, or auto (bubblewrap when it works)")
    g.add_argument("--format", "-f", action="append", default=[], metavar="FORMAT[:PATH]",
                   type=parse_format,
                   help="also render the report as FORMAT (" + ", ".join(sorted(RENDERERS)) + "); "
                        "written next to the JSON (same name, the format's extension), or to PATH; "
                        "PATH '-' prints it instead of the table. Repeat for several formats.")
    g.add_argument("--fail-under", type=float, metavar="SCORE",
                   help="exit with status 1 when the score is below SCORE (for CI)")
    g.add_argument("--quiet", "-q", action="store_true", help="do not print the table")

    sub.add_parser("assignments", help="list the assignments the grader knows, with what each teaches",
                   description="List every assignment the grader finds ($GRADER_ASSIGNMENTS, the installed "
                               "package, the source checkout): name, points, title and what it teaches.")

    b = sub.add_parser("batch", help="grade every submission of a class and write the gradebook",
                       description="Grade every sub-folder of SOURCE (a folder, or a .zip of folders; the "
                                   "folder name is the student id) in parallel, write DIR/<student>.json as "
                                   "each finishes, then DIR/grades.csv, DIR/grades-canvas.csv, DIR/report.html and "
                                   "DIR/summary.json (and DIR/grades-moodle.csv for a Moodle class). "
                                   "SOURCE may be a learning platform's download as it comes (see --layout). "
                                   "A re-run keeps reports that are up to date. Exit status: 0 when every "
                                   "submission has a report, 1 when no submission could be graded at all, "
                                   "2 for usage errors, 3 when a report could not be written, 130 when "
                                   "interrupted (run again to carry on).")
    b.add_argument("source", type=Path,
                   help="the class: a folder (or .zip) of submissions, as a platform's download gives it")
    b.add_argument("--assignment",
                   help="assignment name or folder with a rubric.toml (default: the only one the grader "
                        "knows; a submission's own marker file is never read here)")
    b.add_argument("--jobs", "-j", type=int, metavar="N",
                   help="submissions graded at the same time (default: the number of CPUs)")
    b.add_argument("--output-dir", "-o", type=Path, metavar="DIR",
                   help="where the reports and the gradebook go (default: reports/<SOURCE name>)")
    b.add_argument("--force", action="store_true",
                   help="grade every submission again, even when its report is up to date")
    b.add_argument("--sandbox", choices=sandbox.MODES, default="auto",
                   help="isolation of student code: bubblewrap, none, or auto (bubblewrap when it works)")
    b.add_argument("--layout", default="auto", choices=("auto", "moodle", "canvas", "github", "folders"),
                   help="the shape of SOURCE: Moodle's 'Download all submissions', Canvas's submissions "
                        "zip, GitHub Classroom's clones, or a folder per student (default: recognised "
                        "from the names)")
    b.add_argument("--roster", type=Path, metavar="CSV",
                   help="the class list: GitHub Classroom's roster, a Moodle grading worksheet, a Canvas "
                        "gradebook export, or a CSV with a 'student' column (and 'name', 'login'); fills "
                        "names and gradebook ids, and lists students who submitted nothing as 'missing'")
    b.add_argument("--feedback", type=Path, metavar="DIR",
                   help="also write each student's own feedback (Markdown and HTML) into DIR, in the shape "
                        "their platform uploads (Moodle: a feedback-files zip)")
    b.add_argument("--blank-errors", action="store_true",
                   help="leave the total of error, timeout and tampered submissions empty in "
                        "grades-canvas.csv and grades-moodle.csv, so the import flags them for review "
                        "instead of recording 0")
    b.add_argument("--queue", metavar="REDIS_URL",
                   help="grade on a Redis queue instead of here: enqueue one job per submission for "
                        "`grader worker` processes (any number of machines) and write each report as its "
                        "result arrives; interrupted, the same command carries on "
                        "(e.g. redis://:PASSWORD@10.0.0.5:6379/0)")
    b.add_argument("--queue-name", default="grader", metavar="NAME",
                   help="the queue's name (default: grader); workers must use the same")
    b.add_argument("--keep-going", action="store_true",
                   help="grade even when most submissions cannot be found the same way (which usually "
                        "means the wrong folder or --layout)")

    w = sub.add_parser("worker", help="grade jobs from a Redis queue (for grader batch --queue)",
                       description="Grade the submissions `grader batch --queue REDIS_URL` enqueues, each in "
                                   "its own sandbox with the assignment's limits, as a local batch does. Run "
                                   "one worker per core, on as many machines as you like; every worker needs "
                                   "the same grader version and assignments as the batch, and bubblewrap. "
                                   "Stop it with Ctrl-C or SIGTERM (the job it holds is graded again "
                                   "elsewhere). Exit status: 0 when stopped (or, with --burst, when the "
                                   "queue is empty), 2 for usage errors (Redis unreachable, no bubblewrap).")
    w.add_argument("redis_url", metavar="REDIS_URL", help="the queue's Redis, e.g. redis://:PASSWORD@10.0.0.5:6379/0")
    w.add_argument("--queue", default="grader", metavar="NAME", help="the queue's name (default: grader)")
    w.add_argument("--burst", action="store_true", help="stop when the queue is empty")
    w.add_argument("--sandbox", choices=sandbox.MODES, default="auto",
                   help="isolation of student code (default: bubblewrap, refused without it; "
                        "'none' grades without isolation)")

    c = sub.add_parser("check-assignment", help="prove an assignment's hidden suite right with its known submissions",
                       description="Grade the assignment's reference solution (full marks), its starter (its "
                                   "[authoring] starter_score) and every variants/<case>/ (what its expect.toml "
                                   "says), print a matrix of cases x checks, and exit 1 on any mismatch or on a "
                                   "diagnosis the rubric names that no variant shows.")
    c.add_argument("path", metavar="PATH", help="the assignment folder (with rubric.toml), or its name")
    c.add_argument("--jobs", "-j", type=int, metavar="N", help="cases graded at the same time (default: CPUs)")
    c.add_argument("--sandbox", choices=sandbox.MODES, default="auto",
                   help="isolation of the cases' code (default: bubblewrap when it works)")
    c.add_argument("--mutants", action="store_true",
                   help="also grade every mutant of the solution (one signal mistake each, made with "
                        "libcst) and print a table per operator; a mutant graded full marks that "
                        "mutants.toml does not list as equivalent fails the check")
    c.add_argument("--only-mutants", action="store_true", help="with --mutants: skip the variants")
    c.add_argument("--json", type=Path, metavar="FILE", help="with --mutants: write the mutants' results as JSON")

    n = sub.add_parser("new-assignment", help="start a new assignment from a working example",
                       description="Make DIR/NAME (default DIR: ./assignments): a working assignment (an "
                                   "m2m_changed exercise with its rubric, starter, solution, hidden tests and "
                                   "variants) to change into yours; `grader check-assignment DIR/NAME` passes "
                                   "on it as it is.")
    n.add_argument("name", metavar="NAME", help="the assignment's name (letters, digits, '.', '_', '-')")
    n.add_argument("--dir", type=Path, default=Path("assignments"), metavar="DIR",
                   help="where to make it (default: ./assignments)")

    r = sub.add_parser("report", help="rewrite the gradebook from the JSON reports in a folder, or a "
                                      "lesson's from a folder per assignment",
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
                                   "of the same assignment).")
    r.add_argument("folders", type=Path, nargs="+", metavar="DIR",
                   help="folder with the per-student JSON reports (of one assignment); several for a lesson")
    r.add_argument("--output-dir", "-o", type=Path, metavar="OUT",
                   help="where the lesson's sheet goes (default: reports/lesson in the current folder); "
                        "with one DIR, writes that assignment's sheet as a lesson of one there")
    r.add_argument("--blank-errors", action="store_true",
                   help="leave the total of error, timeout and tampered submissions empty in the "
                        "platform CSVs (for a lesson: their assignment's cell)")
    r.add_argument("--feedback", type=Path, metavar="FB",
                   help="also write each student's own feedback into FB (as grader batch --feedback); "
                        "for a lesson, each assignment's into FB/<assignment>/")
    return parser


def cmd_grade(args) -> int:
    from grader import api

    try:
        report = api.grade_path(args.submission, args.assignment, args.sandbox, notify=_notify)
    except api.UsageError as exc:
        print(f"grader: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    # an archive's report is named after it: reports/<archive stem>.json
    output = args.output or default_output(args.submission.resolve().parent / report.submission
                                           if args.submission.is_file() else args.submission)
    written, to_stdout = write_outputs(report, output, args.format)
    for name in to_stdout:
        sys.stdout.write(render(name, report))
    if not args.quiet and not to_stdout:
        from grader.renderers import table

        table.print_table(report)
        for path in written:
            print(f"report written to {path}")
    if args.fail_under is not None and report.score < args.fail_under:
        print(f"grader: score {report.score:g} is below --fail-under {args.fail_under:g}", file=sys.stderr)
        return EXIT_BELOW
    return EXIT_OK


def _notify(text: str) -> None:
    print(f"grader: {text}", file=sys.stderr)


def write_outputs(report, output: Path, formats) -> tuple[list[Path], list[str]]:
    """Write the JSON and every --format with a file; (files written, formats to print)."""
    write_atomic(output, json_report.render(report))
    written, to_stdout = [output], []
    for name, path in formats:
        if path == "-":
            to_stdout.append(name)
        elif name != "json" or path:
            target = Path(path) if path else format_path(output, name)
            write_atomic(target, render(name, report))
            written.append(target)
    return written, to_stdout


def _print_gradebook(written) -> None:
    from grader import gradebook

    s = written.data
    mean = "-" if s["mean"] is None else f"{s['mean']:.2f}".rstrip("0").rstrip(".")
    median = "-" if s["median"] is None else f"{s['median']:g}"
    if s["kind"] == gradebook.LESSON_KIND:
        names = safe.terminal(", ".join(a["assignment"] for a in s["assignments"]), keep_newlines=False)
        print(f"lesson: {s['count']} students, {len(s['assignments'])} assignments ({names}); mean total "
              f"{mean} / {s['max_score']:g}, median {median}"
              + (f"; {s['incomplete']} without a report in some assignment" if s["incomplete"] else ""))
    else:
        statuses = ", ".join(f"{n} {k}" for k, n in s["by_status"].items() if n)
        print(f"class: {s['count']} students ({statuses}); mean {mean} / {s['max_score']:g}, median {median}")
    for path in written.files:
        print(f"written: {path}")
    for problem in written.skipped:   # (a file name in DIR is anyone's: no escape sequences)
        print(f"grader: left out {safe.terminal(problem, keep_newlines=False)}", file=sys.stderr)


def cmd_batch(args) -> int:
    from grader import batch, gradebook

    assignment = rubric.find(args.assignment)
    source = args.source
    stem = source.name[:-4] if source.name.lower().endswith(".zip") else source.name
    output_dir = args.output_dir or Path.cwd() / "reports" / (stem or "batch")
    try:
        result = batch.run(source, assignment, output_dir, jobs=args.jobs, force=args.force,
                           mode=args.sandbox, layout=args.layout, roster=args.roster,
                           feedback=args.feedback, blank=args.blank_errors, keep_going=args.keep_going,
                           queue=args.queue, queue_name=args.queue_name)
    except (batch.BatchError, gradebook.GradebookError) as exc:
        print(f"grader: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    done = result.graded + result.faults + result.rejected
    print(f"{result.total} submissions: {done} graded now, {result.skipped} up to date"
          + (f", {result.faults} grader fault(s) (graded again next run)" if result.faults else "")
          + (f", {result.rejected} refused" if result.rejected else "")
          + (f"; {result.missing} on the roster submitted nothing" if result.missing else ""))
    if result.interrupted:
        print(f"grader: interrupted: the finished reports are in {output_dir}; run the same command "
              "again to carry on", file=sys.stderr)
        return 130
    if result.gradebook is not None:
        _print_gradebook(result.gradebook)
    if result.feedback is not None:
        _print_feedback(result.feedback)
    if result.unwritten:
        print(f"grader: no report written for {len(result.unwritten)} submission(s)", file=sys.stderr)
        return EXIT_FAULT
    if result.nothing_graded:
        print("grader: no submission could be graded (every report is an error): see the reasons in "
              f"{output_dir / 'report.html'}", file=sys.stderr)
        return EXIT_BELOW
    return EXIT_OK


def _print_feedback(written) -> None:
    where = written.moodle_zip or written.folder
    print(f"feedback: {written.students} student(s) in {where}"
          + (" (Moodle: Upload multiple feedback files in a zip)" if written.moodle_zip else ""))


def cmd_report(args) -> int:
    from grader import batch, gradebook
    from grader.batch.command import lesson_command

    try:
        if len(args.folders) > 1 or args.output_dir is not None:
            output = args.output_dir or Path.cwd() / gradebook.DEFAULT_LESSON_DIR
            lesson = lesson_command(args.folders, output, blank=args.blank_errors, feedback=args.feedback)
            written, feedback = lesson.gradebook, lesson.feedback
        else:
            written = batch.report_command(args.folders[0], blank=args.blank_errors)
            feedback = []
            if args.feedback is not None:
                from grader import handback

                feedback.append(handback.write(args.folders[0], args.feedback))
    except gradebook.GradebookError as exc:
        print(f"grader: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    _print_gradebook(written)
    for each in feedback:
        _print_feedback(each)
    return EXIT_OK


def cmd_worker(args) -> int:
    from grader import batch
    from grader.batch import rqueue

    try:
        rqueue.work(args.redis_url, args.queue, burst=args.burst, mode=args.sandbox)
    except batch.BatchError as exc:
        print(f"grader: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    return EXIT_OK


def cmd_assignments(args) -> int:
    """Every assignment the grader finds: its name, points and title, and what it teaches."""
    for name in rubric.available():
        try:
            found = rubric.find(name)
        except rubric.RubricError as exc:
            print(f"{name}\n    (its rubric does not load: {exc})")
            continue
        print(f"{name}  ({found.max_score:g} points)  {found.title}")
        if found.teaches:
            print(f"    {found.teaches}")
    return EXIT_OK


def cmd_check_assignment(args) -> int:
    from grader import authoring

    try:
        checked = authoring.check_assignment(args.path, jobs=args.jobs, mode=args.sandbox,
                                             mutants=args.mutants or args.only_mutants,
                                             variants=not args.only_mutants)
    except authoring.AuthoringError as exc:
        print(f"grader: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if checked.outcomes:
        sys.stdout.write(authoring.matrix(checked))
    if checked.mutants is not None:
        sys.stdout.write(authoring.mutant_table(checked))
        if args.json:
            args.json.write_text(json.dumps(authoring.mutant_json(checked), indent=2) + "\n", encoding="utf-8")
        sys.stdout.write(("OK: every case gives what it expects and every mutant is killed or explained\n"
                          if checked.outcomes else "OK: every mutant is killed or explained\n")
                         if checked.ok else "FAILED\n")
    return EXIT_OK if checked.ok else EXIT_BELOW


def cmd_new_assignment(args) -> int:
    from grader import authoring

    try:
        dest = authoring.new_assignment(args.name, args.dir)
    except authoring.AuthoringError as exc:
        print(f"grader: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    print(f"made {dest}: rubric.toml, starter/, solution/, tests/, variants/\n"
          f"next: change them into your exercise, then run: grader check-assignment {dest}")
    return EXIT_OK


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        if args.command == "grade":
            return cmd_grade(args)
        if args.command == "batch":
            return cmd_batch(args)
        if args.command == "report":
            return cmd_report(args)
        if args.command == "check-assignment":
            return cmd_check_assignment(args)
        if args.command == "new-assignment":
            return cmd_new_assignment(args)
        if args.command == "assignments":
            return cmd_assignments(args)
        if args.command == "worker":
            return cmd_worker(args)
    except (rubric.RubricError, sandbox.SandboxError) as exc:
        print(f"grader: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("grader: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # a bug in the grader, not the student's fault
        import traceback
        traceback.print_exc()
        print(f"grader: internal error: {exc}", file=sys.stderr)
        return EXIT_FAULT
    return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
