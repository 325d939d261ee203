"""The class view of a batch: read the per-student JSON reports of a folder (as typed
:class:`~grader.model.Report` objects) and write the gradebook (``grades.csv``, and
``grades-canvas.csv`` in the layout Canvas imports), the instructor's ``report.html`` and a
machine-readable ``summary.json``.

Everything here is pure data work on the JSON contract (no student code runs,
no Django): ``grader report DIR`` and the end of ``grader batch`` call
:func:`write_all`. ``grader report DIR DIR...`` (one folder per assignment of a lesson) calls
:func:`write_lesson`, which writes one sheet for the lesson: a column per assignment and the
lesson's total.
"""

from __future__ import annotations

import csv
import datetime as _dt
import io
import json
import os
import re
import statistics
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from grader import classreport, reportfile
from grader.classdata import FAILED_CHECK, STATUSES, Marks, marks, num

# Re-exported: summary.json's kinds and versions, as gradebook.SUMMARY_KIND, ... (the CLI, the tests).
from grader.classmodel import LESSON_VERSION as LESSON_VERSION
from grader.classmodel import SUMMARY_VERSION as SUMMARY_VERSION
from grader.classmodel import (
    Bin,
    CheckMark,
    CheckSummary,
    ClassSummary,
    DiagnosisSummary,
    LessonAssignment,
    LessonCell,
    LessonRow,
    LessonSummary,
    StudentRow,
)
from grader.model import CheckStatus, Identity, Report
from grader.names import fit
from grader.renderers import safe, write_atomic
from grader.reportfile import LESSON_KIND as LESSON_KIND
from grader.reportfile import SUMMARY_KIND as SUMMARY_KIND
from grader.reportfile import ReportProblem, load_report

GRADES_CSV = "grades.csv"
CANVAS_CSV = "grades-canvas.csv"
MOODLE_CSV = "grades-moodle.csv"
# The columns of Moodle's grading worksheet ("Download grading worksheet"), in its order. Its
# upload ("Upload grading worksheet") needs Identifier, Grade and Last modified (grade), and
# reads Feedback comments when the assignment has comment feedback.
MOODLE_COLUMNS = (
    "Identifier",
    "Full name",
    "Email address",
    "Status",
    "Grade",
    "Maximum Grade",
    "Grade can be changed",
    "Last modified (submission)",
    "Last modified (grade)",
    "Feedback comments",
)
# Statuses whose points --blank-errors leaves empty in every CSV (grades.csv, the platform CSVs,
# the lesson's sheets): the import flags them for review instead of recording a 0 the grader
# cannot vouch for (a run the grading environment stopped is an `error`).
REVIEW_STATUSES = frozenset({"error", "timeout", "tampered"})
# The columns grades.csv gains when a grade has a timing (grader batch --course) or overrides:
# raw, penalty, override and final beside each other before total (== final) and status, the
# rest after them.
MARK_COLUMNS = ("raw", "penalty", "override", "final", "submitted", "due", "commit", "timing", "overrides")
MAX_COMMENT_CHARS = 1500
# The student columns Canvas's gradebook import requires, in its order.
CANVAS_COLUMNS = ("Student", "ID", "SIS User ID", "SIS Login ID", "Section")
REPORT_HTML = "report.html"
SUMMARY_JSON = "summary.json"
# A lesson's Moodle grading worksheets, one per assignment (a worksheet belongs to one assignment).
MOODLE_LESSON_CSV = "grades-moodle-{}.csv"
# Where `grader report DIR DIR...` writes the lesson's sheet unless told (--output-dir).
DEFAULT_LESSON_DIR = Path("reports") / "lesson"
# Files of the output folder that are not per-student reports.
OWN_FILES = frozenset({GRADES_CSV, CANVAS_CSV, MOODLE_CSV, REPORT_HTML, SUMMARY_JSON})
MAX_REPORT_BYTES = reportfile.MAX_REPORT_BYTES  # (a module global: tests lower it)
# Spreadsheet programs run a cell starting with these as a formula (CSV injection).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"-?[0-9]+(?:\.[0-9]+)?")
# An assignment's name as a piece of a file or folder name (grades-moodle-<name>.csv,
# --feedback FB/<name>/) takes at most this many bytes.
MAX_STEM_BYTES = 100


clean = safe.valid_unicode  # lone surrogates as U+FFFD in every text of a report's data


class GradebookError(Exception):
    """The folder holds no usable reports, or reports that cannot go in one gradebook."""


@dataclass
class Loaded:
    reports: list[Report] = field(default_factory=list)  # sorted by student
    files: list[str] = field(default_factory=list)  # file name of each report
    skipped: list[str] = field(default_factory=list)  # "name: why" of unusable files


def load_reports(folder: Path) -> Loaded:
    """Every per-student report (``*.json``) directly in `folder`, read into the typed model
    and sorted by student. A file that is not a usable report (unreadable, larger than
    MAX_REPORT_BYTES, not a report, an unknown status or check status: the one definition,
    :func:`grader.reportfile.load_report`) is left out, with why in ``skipped``; lone
    surrogates are replaced in every text first."""
    folder = Path(folder)
    if not folder.is_dir():
        raise GradebookError(f"{folder} is not a folder")
    found: list[tuple[str, str, Report]] = []
    loaded = Loaded()
    for path in sorted(folder.glob("*.json")):
        if path.name in OWN_FILES or path.name.startswith(".") or not path.is_file():
            continue
        report = load_report(path, MAX_REPORT_BYTES)
        if isinstance(report, ReportProblem):
            loaded.skipped.append(f"{path.name}: {report}")
            continue
        found.append((report.submission, path.name, report))
    found.sort(key=lambda item: (item[0], item[1]))
    loaded.reports = [report for _, _, report in found]
    loaded.files = [name for _, name, _ in found]
    return loaded


# ----------------------------------------------------------------------------- maths


def bins(scores: list[float], max_score: float) -> list[Bin]:
    """Bins of the score distribution: one per whole point for small integer scales,
    else ten equal bins (the last one includes the maximum)."""
    integral = all(float(s).is_integer() for s in scores) and float(max_score).is_integer()
    if max_score <= 0:
        return [Bin(label=num(max_score), start=0.0, end=float(max_score), count=len(scores))]
    if integral and max_score <= 20:
        counts = Counter(int(s) for s in scores)
        return [
            Bin(label=str(i), start=float(i), end=float(i), count=counts.get(i, 0)) for i in range(int(max_score) + 1)
        ]
    width = max_score / 10
    found = [
        Bin(label=f"{num(i * width)}-{num((i + 1) * width)}", start=round(i * width, 4), end=round((i + 1) * width, 4))
        for i in range(10)
    ]
    for score in scores:
        found[min(int(max(score, 0) / width), 9)].count += 1
    return found


def distribution(scores: list[float], max_score: float) -> list[dict[str, Any]]:
    """The bins of the score distribution as summary.json lists them (see bins)."""
    return [b.to_dict() for b in bins(scores, max_score)]


def _stat(func, values: list[float]) -> float | None:
    return round(func(values), 4) if values else None


def summarize_class(
    reports: list[Report],
    files: list[str] | None = None,
    generated_at: str | None = None,
    overrides: Any = None,
) -> ClassSummary:
    """The class summary (what summary.json holds) of per-student reports; with `overrides`
    (an overrides.Overrides), each student's final score is theirs (classdata.marks: raw,
    late penalty, overrides), and every statistic is of the final scores."""
    assignments = sorted({r.assignment for r in reports})
    if len(assignments) > 1:
        raise GradebookError(
            f"the reports belong to several assignments ({', '.join(assignments)}); keep one assignment per folder"
        )
    files = files or [f"{r.submission}.json" for r in reports]
    maxima = Counter(float(r.max_score) for r in reports)
    max_score = maxima.most_common(1)[0][0] if maxima else 0.0
    graded = [marks(r, overrides) for r in reports]
    scores = [m.final for m in graded]
    n = len(reports)

    # Checks in rubric order, as the reports list them (union, first seen first).
    checks: dict[str, CheckSummary] = {}
    for report in reports:
        for c in report.checks:
            checks.setdefault(c.id, CheckSummary(id=c.id, title=c.title, max_score=float(c.max_score))).add(c.status)
    for entry in checks.values():
        entry.pass_rate = round(entry.passed / n, 4) if n else None

    # The diagnoses of failed checks, most common first; a student counts once per diagnosis.
    diag_students: dict[str, list[str]] = {}
    diag_checks: dict[str, list[str]] = {}
    for report in reports:
        seen: set[str] = set()
        for c in report.checks:
            name = c.diagnosis or ""
            if c.status.value not in FAILED_CHECK or not isinstance(name, str) or not name:
                continue
            if c.id not in diag_checks.setdefault(name, []):
                diag_checks[name].append(c.id)
            if name not in seen:
                seen.add(name)
                diag_students.setdefault(name, []).append(report.submission)
    diagnoses = [
        DiagnosisSummary(
            diagnosis=name,
            count=len(students),
            share=round(len(students) / n, 4) if n else None,
            checks=diag_checks[name],
            students=students,
        )
        for name, students in diag_students.items()
    ]
    diagnoses.sort(key=lambda d: (-d.count, d.diagnosis))

    by_status = dict.fromkeys(STATUSES, 0)
    for report in reports:
        by_status[report.status.value] += 1

    # (a 'missing' student ran nothing, so nothing ran outside the sandbox)
    unsandboxed = sorted(r.submission for r in reports if r.sandbox != "bwrap" and r.status.value != "missing")

    return ClassSummary(
        assignment=assignments[0] if assignments else "",
        generated_at=generated_at or _now(),
        count=n,
        max_score=max_score,
        by_status=by_status,
        mean=_stat(statistics.fmean, scores),
        median=_stat(statistics.median, scores),
        min=_stat(min, scores),
        max=_stat(max, scores),
        full_marks=sum(1 for r, m in zip(reports, graded) if m.final >= float(r.max_score) > 0),
        distribution=bins(scores, max_score),
        checks=list(checks.values()),
        diagnoses=diagnoses,
        unsandboxed=unsandboxed,
        grader_versions=sorted({str(r.grader_version) for r in reports}),
        rubric_digests=sorted({str(r.rubric_digest) for r in reports}),
        students=[_student_row(r, file, m) for r, file, m in zip(reports, files, graded)],
    )


def _student_row(report: Report, file: str, mark: Marks | None = None) -> StudentRow:
    ident = report.identity or Identity()  # (none: ``grader grade`` reports, old reports)
    mark = mark or marks(report)
    timing = report.timing
    return StudentRow(
        student=report.submission,
        name=ident.name,
        platform=ident.platform,
        id=ident.id,
        login=ident.login,
        late=ident.late,
        folder=ident.folder,
        score=mark.final,
        max_score=float(report.max_score),
        status=report.status.value,
        report=file,
        graded_at=report.graded_at,
        checks={c.id: CheckMark(status=c.status.value, score=float(c.score)) for c in report.checks},
        raw=mark.raw,
        penalty=mark.penalty,
        override=mark.override,
        accepted=mark.accepted,
        timed=mark.timed,
        submitted_at=timing.submitted_at if timing else "",
        due=timing.due if timing else "",
        commit=timing.commit if timing else "",
        late_note=mark.late_note,
        override_notes=list(mark.notes),
    )


def summarize(
    reports: list[Report], files: list[str] | None = None, generated_at: str | None = None, overrides: Any = None
) -> dict[str, Any]:
    """The contents of summary.json (summarize_class(...).to_dict())."""
    return summarize_class(reports, files, generated_at, overrides).to_dict()


def _now() -> str:
    return _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")


# ----------------------------------------------------------------------------- CSV


def csv_cell(text: Any) -> str:
    """Text for a CSV cell: without bidi and control characters (safe.text: undecodable bytes
    as U+FFFD), and with a leading "'" when it would start with =, +, -, @, tab or carriage
    return, so that no spreadsheet runs it as a formula (a number, -1.5, is left as it is)."""
    text = safe.text(str(text))
    return "'" + text if text.startswith(FORMULA_START) and not _NUMBER.fullmatch(text) else text


def _csv(rows: list[list[Any]]) -> str:
    """A CSV file of `rows` as every sheet of the gradebook is written: UTF-8, comma-separated,
    CRLF line ends, every cell through csv_cell."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerows([csv_cell(cell) for cell in row] for row in rows)
    return out.getvalue()


def build_csv(summary: ClassSummary | dict[str, Any], blank: bool = False) -> str:
    """grades.csv: a header row, then one row per student: the student id, their name, their
    platform id and gradebook login (when known), whether Canvas marked them late, one column
    per check (its points), the total and the run status. Plain UTF-8, comma-separated, "." as
    the decimal point, no extra rows: what the CSV grade imports of Moodle and Canvas read.
    `blank`: the check points and total of an error, timeout or tampered run are left empty.
    (`summary` given as summary.json's dict is read with ClassSummary.from_dict.)"""
    summary = ClassSummary.of(summary)
    check_ids = [c.id for c in summary.checks]
    adjusted = any(st.adjusted for st in summary.students)
    marks_head = list(MARK_COLUMNS) if adjusted else []
    rows: list[list[Any]] = [
        ["student", "name", "id", "login", "late", *check_ids, *marks_head[:4], "total", "status", *marks_head[4:]]
    ]
    for student in summary.students:
        cells: list[Any] = [student.student, student.name, student.id, student.login, "late" if student.late else ""]
        held = blank and student.status in REVIEW_STATUSES
        for cid in check_ids:
            check = student.checks.get(cid)
            cells.append(num(check.score) if check and not held else "")
        if adjusted:
            raw = student.score if student.raw is None else student.raw
            cells += ["" if held else num(raw), num(student.penalty), num(student.override), _total(student, blank)]
        cells += [_total(student, blank), student.status]
        if adjusted:
            cells += [
                student.submitted_at,
                student.due,
                student.commit,
                student.late_note,
                "; ".join(student.override_notes),
            ]
        rows.append(cells)
    return _csv(rows)


def _total(result: StudentRow | LessonCell, blank: bool) -> str:
    """The points of a student (or of a lesson's cell) as a sheet shows them."""
    return "" if blank and result.status in REVIEW_STATUSES else num(result.score)


def build_canvas_csv(summary: ClassSummary | dict[str, Any], blank: bool = False) -> str:
    """grades-canvas.csv: the layout Canvas's gradebook import requires (its student columns,
    then one column per assignment) with the total in a column named after the assignment.
    Canvas matches a row by ID, then SIS User ID, then SIS Login ID, then the student's name.
    A Canvas download gives the user id (ID); otherwise the gradebook login from the roster
    (or the student id) goes in SIS User ID and SIS Login ID."""
    summary = ClassSummary.of(summary)
    return _csv(
        [
            [*CANVAS_COLUMNS, summary.assignment or "grader"],
            *([*_canvas_student(student), _total(student, blank)] for student in summary.students),
        ]
    )


def _canvas_student(student: StudentRow | LessonRow) -> list[str]:
    """The five student cells of a row Canvas imports (CANVAS_COLUMNS): a Canvas download
    gives the user id (ID); otherwise the gradebook login (or the student id) goes in SIS User
    ID and SIS Login ID."""
    name = student.name or student.student
    if student.platform == "canvas":
        return [name, student.id, "", student.login, ""]
    sid = student.login or student.student
    return [name, "", sid, sid, ""]


def comment(report: Report, row: StudentRow | None = None) -> str:
    """A short plain-text feedback comment for a gradebook (Moodle's Feedback comments): the
    score (with `row`, the final one and how it was reached: raw, late penalty, overrides),
    then what to change for each check that did not pass. HTML-escaped: Moodle shows the
    comment as HTML, and all of it may come from the student."""
    import html

    score = row.score if row is not None else float(report.score)
    lines = [f"{num(score)}/{num(report.max_score)} points ({report.status.value}). {report.message}".strip()]
    if row is not None and row.adjusted:
        raw = row.score if row.raw is None else row.raw
        how = [f"raw score {num(raw)}"]
        if row.late_note:
            how.append(f"{row.late_note} (-{num(row.penalty)} points)" if row.penalty else row.late_note)
        how += row.override_notes
        lines.append("; ".join(how))
    seen = {str(report.message).strip()}
    for c in report.checks:
        feedback = str(c.feedback).strip()
        if c.status != CheckStatus.PASSED and feedback not in seen:
            seen.add(feedback)
            where = f" ({c.location})" if c.location else ""
            lines.append(f"{c.title}: {feedback}{where}".strip())
    text = "\n".join(lines)
    if len(text) > MAX_COMMENT_CHARS:
        text = text[: MAX_COMMENT_CHARS - 40].rstrip() + " [... see your feedback file]"
    return html.escape(text, quote=False).replace("\n", "<br>")


def build_moodle_csv(summary: ClassSummary | dict[str, Any], reports: list[Report], blank: bool = False) -> str:
    """grades-moodle.csv: Moodle's grading worksheet, one row per Moodle participant, keyed
    ``Participant <id>`` as Moodle's "Upload grading worksheet" reads it, with a feedback comment.
    Last modified (grade) is the grading time, so that Moodle keeps a grade changed by hand
    after it (unless the upload is told to overwrite those)."""
    summary = ClassSummary.of(summary)
    rows: list[list[Any]] = [list(MOODLE_COLUMNS)]
    by_student = {r.submission: r for r in reports}
    for student in summary.students:
        if student.platform != "moodle" or not student.id.isdigit():
            continue
        report = by_student.get(student.student)
        graded = student.graded_at.replace("T", " ")
        rows.append(
            [
                f"Participant {student.id}",
                student.name,
                student.login if "@" in student.login else "",
                student.status,
                _total(student, blank),
                num(student.max_score),
                "Yes",
                "",
                graded,
                comment(report, student) if report is not None else "",
            ]
        )
    return _csv(rows)


# ----------------------------------------------------------------------------- files


@dataclass
class Written:
    csv: Path
    canvas: Path
    html: Path
    summary: Path
    model: ClassSummary | LessonSummary  # what summary.json holds, typed
    skipped: list[str]
    moodle: Path | None = None
    # A lesson only (write_lesson): its Moodle worksheets (one per assignment) and the folder
    # of each assignment, in the lesson's order.
    moodle_sheets: list[Path] = field(default_factory=list)
    assignments: dict[str, Path] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)  # what the overrides' file says of these reports

    @property
    def data(self) -> dict[str, Any]:
        """What summary.json holds, as its JSON (model.to_dict())."""
        return self.model.to_dict()

    @property
    def files(self) -> list[Path]:
        return [
            self.csv,
            self.canvas,
            *([self.moodle] if self.moodle else []),
            *self.moodle_sheets,
            self.html,
            self.summary,
        ]


def write_all(folder: Path, blank: bool = False, overrides: Any = None) -> Written:
    """(Re)write grades.csv, grades-canvas.csv, grades-moodle.csv (when the class came from
    Moodle), report.html and summary.json from the reports in `folder`. `blank`: leave the
    points of error, timeout and tampered submissions empty in every CSV. `overrides` (an
    overrides.Overrides): applied to every grade (the reports themselves stay as they are)."""
    folder = Path(folder)
    loaded = load_reports(folder)
    if not loaded.reports:
        extra = f" ({len(loaded.skipped)} unusable: {'; '.join(loaded.skipped[:3])})" if loaded.skipped else ""
        raise GradebookError(f"no grader reports (*.json) in {folder}{extra}")
    summary = summarize_class(loaded.reports, loaded.files, overrides=overrides)
    paths = Written(
        folder / GRADES_CSV, folder / CANVAS_CSV, folder / REPORT_HTML, folder / SUMMARY_JSON, summary, loaded.skipped
    )
    if overrides is not None:
        paths.notes = list(overrides.warnings(loaded.reports))
    write_atomic(paths.csv, build_csv(summary, blank))
    write_atomic(paths.canvas, build_canvas_csv(summary, blank))
    moodle = folder / MOODLE_CSV
    if any(st.platform == "moodle" for st in summary.students):
        write_atomic(moodle, build_moodle_csv(summary, loaded.reports, blank))
        paths.moodle = moodle
    elif moodle.exists():
        moodle.unlink()  # left by an earlier batch of another platform
    write_atomic(paths.summary, json.dumps(summary.to_dict(), indent=2, ensure_ascii=False) + "\n")
    write_atomic(paths.html, classreport.render(summary, loaded.reports))
    return paths


# ----------------------------------------------------------------------------- a lesson


@dataclass
class Part:
    """One assignment of a lesson: the folder of its reports, those reports and their summary
    (what ``grader report`` of that folder alone would write in its summary.json)."""

    folder: Path
    loaded: Loaded
    summary: ClassSummary

    @property
    def assignment(self) -> str:
        return self.summary.assignment


def file_stems(assignments: list[str]) -> dict[str, str]:
    """Each assignment's name as a piece of a file or folder name (letters, digits, '.', '_',
    '-'; at most MAX_STEM_BYTES, cut with a hash of the name), distinct for distinct assignments."""
    stems: dict[str, str] = {}
    for name in assignments:
        base = fit(re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._") or "assignment", MAX_STEM_BYTES, key=name)
        stem, n = base, 1
        while stem in stems.values():
            n += 1
            stem = f"{base}-{n}"
        stems[name] = stem
    return stems


def load_lesson(
    folders: list[Path], output_dir: Path, generated_at: str | None = None, overrides: Any = None
) -> tuple[list[Part], list[str]]:
    """The assignments of a lesson, one folder of reports each, in the order given, and what
    was left out ("where: why"). A usage error (GradebookError) for a folder that is not one,
    holds no reports, reports of several assignments or two reports of one student, two
    folders of one assignment, and an output folder that is one of the assignment folders. The
    output folder itself, given as one of `folders` without reports in it (``grader report
    reports/*``), is left out."""
    output = Path(output_dir).resolve()
    parts: list[Part] = []
    skipped: list[str] = []
    seen: dict[str, Path] = {}
    for folder in map(Path, folders):
        loaded = load_reports(folder)
        if folder.resolve() == output:
            if loaded.reports:
                raise GradebookError(
                    f"the --output-dir {folder} is one of the assignment folders: "
                    "give the lesson's sheet a folder of its own"
                )
            skipped.append(f"{folder}: the --output-dir itself, not an assignment's folder")
            continue
        if not loaded.reports:
            extra = f" ({len(loaded.skipped)} unusable: {'; '.join(loaded.skipped[:3])})" if loaded.skipped else ""
            raise GradebookError(f"no grader reports (*.json) in {folder}{extra}")
        # One report per student and assignment (a second one is a copy under another name:
        # which one counts is for the instructor to say).
        for (first, a), (second, b) in zip(
            zip(loaded.reports, loaded.files), zip(loaded.reports[1:], loaded.files[1:])
        ):
            if first.submission == second.submission:
                raise GradebookError(f"{folder}: {a} and {b} are both reports of {first.submission!r}: keep one")
        try:
            summary = summarize_class(loaded.reports, loaded.files, generated_at, overrides)
        except GradebookError as exc:
            raise GradebookError(f"{folder}: {exc}") from None
        name = summary.assignment
        if name in seen:
            if seen[name].resolve() == folder.resolve():
                raise GradebookError(f"{folder} is given twice")
            raise GradebookError(
                f"{seen[name]} and {folder} both hold reports of {name}: give one folder per assignment"
            )
        seen[name] = folder
        skipped += [f"{folder}{os.sep}{why}" for why in loaded.skipped]
        parts.append(Part(folder, loaded, summary))
    if not parts:
        raise GradebookError("no assignment folder with grader reports among " + ", ".join(map(str, folders)))
    return parts, skipped


def _relative(target: Path, start: Path) -> str:
    """`target` as a path relative to the folder `start` ("/"-separated), or "" when there is none."""
    try:
        return Path(os.path.relpath(Path(target).resolve(), Path(start).resolve())).as_posix()
    except ValueError:  # another drive
        return ""


def summarize_lesson(
    parts: list[Part], output_dir: Path, generated_at: str | None = None, overrides: Any = None
) -> LessonSummary:
    """The lesson's sheet (what its summary.json holds): per assignment, its points, mean and
    full marks; per student (matched across the assignments by the report's ``submission``),
    each assignment's score and status (None: no report in that assignment's folder) and the
    total, which sums the scores that exist."""
    names = [part.assignment for part in parts]
    max_total = round(sum(float(part.summary.max_score) for part in parts), 4)
    students: dict[str, LessonRow] = {}
    for part in parts:
        for report, file in zip(part.loaded.reports, part.loaded.files):
            ident = report.identity or Identity()
            entry = students.setdefault(
                report.submission,
                LessonRow(student=report.submission, max_score=max_total, assignments=dict.fromkeys(names)),
            )
            # The identity of the first assignment that knows it (platform and id go together).
            if not entry.platform and not entry.id:
                entry.platform, entry.id = ident.platform, ident.id
            entry.name = entry.name or ident.name
            entry.login = entry.login or ident.login
            mark = marks(report, overrides)
            entry.assignments[part.assignment] = LessonCell(
                score=mark.final,
                raw=mark.raw,
                penalty=mark.penalty,
                override=mark.override,
                late_note=mark.late_note,
                max_score=float(report.max_score),
                status=report.status.value,
                late=ident.late,
                report=file,
            )
    rows = []
    for sid in sorted(students):
        entry = students[sid]
        cells = entry.assignments
        entry.late = [name for name in names if (cell := cells[name]) is not None and cell.late]
        entry.missing = [name for name in names if cells[name] is None]
        entry.total = round(sum(cell.score for cell in cells.values() if cell is not None), 4)
        rows.append(entry)
    totals = [entry.total for entry in rows]
    output = Path(output_dir)
    assignments = []
    for part in parts:
        s = part.summary
        page = part.folder / REPORT_HTML
        assignments.append(
            LessonAssignment(
                assignment=part.assignment,
                folder=_relative(part.folder, output),
                report=_relative(page, output) if page.is_file() else "",
                max_score=s.max_score,
                count=s.count,
                no_report=sum(1 for entry in rows if entry.assignments[part.assignment] is None),
                by_status=s.by_status,
                mean=s.mean,
                median=s.median,
                min=s.min,
                max=s.max,
                full_marks=s.full_marks,
                unsandboxed=s.unsandboxed,
            )
        )
    return LessonSummary(
        generated_at=generated_at or _now(),
        assignments=assignments,
        count=len(rows),
        max_score=max_total,
        mean=_stat(statistics.fmean, totals),
        median=_stat(statistics.median, totals),
        min=_stat(min, totals),
        max=_stat(max, totals),
        full_marks=sum(
            1
            for entry in rows
            if all(
                cell is not None and cell.status == "graded" and cell.score >= cell.max_score > 0
                for cell in entry.assignments.values()
            )
        ),
        incomplete=sum(1 for entry in rows if entry.missing),
        students=rows,
    )


def lesson_summary(parts: list[Part], output_dir: Path, generated_at: str | None = None) -> dict[str, Any]:
    """The contents of the lesson's summary.json (summarize_lesson(...).to_dict())."""
    return summarize_lesson(parts, output_dir, generated_at).to_dict()


def build_lesson_csv(lesson: LessonSummary | dict[str, Any], blank: bool = False) -> str:
    """The lesson's grades.csv: the student columns of grades.csv (``late`` names the
    assignments submitted late), one column per assignment (its points; empty when the
    student has no report in that assignment's folder), the total (the sum of the points that
    exist), then each assignment's status (``missing`` where there is no report). `blank`: an
    error, timeout or tampered assignment's cell is empty, and so is the total of its student.
    (`lesson` given as its summary.json's dict is read with LessonSummary.from_dict.)"""
    lesson = LessonSummary.of(lesson)
    names = [a.assignment for a in lesson.assignments]
    # With a timing or overrides in an assignment: its raw score, penalty and override beside it.
    adjusted = [
        name for name in names if any((c := st.assignments[name]) is not None and c.adjusted for st in lesson.students)
    ]
    rows: list[list[Any]] = [
        [
            "student",
            "name",
            "id",
            "login",
            "late",
            *names,
            "total",
            *(f"{name} status" for name in names),
            *(f"{name} {what}" for name in adjusted for what in ("raw", "penalty", "override", "timing")),
        ]
    ]
    for student in lesson.students:
        cells = [student.assignments[name] for name in names]
        held = blank and any(cell is not None and cell.status in REVIEW_STATUSES for cell in cells)
        rows.append(
            [
                student.student,
                student.name,
                student.id,
                student.login,
                " ".join(student.late),
                *("" if cell is None else _total(cell, blank) for cell in cells),
                "" if held else num(student.total),
                *("missing" if cell is None else cell.status for cell in cells),
                *_lesson_marks(student, adjusted, blank),
            ]
        )
    return _csv(rows)


def _lesson_marks(student: LessonRow, adjusted: list[str], blank: bool) -> list[str]:
    """The raw, penalty, override and timing cells of a lesson's row, per adjusted assignment."""
    out: list[str] = []
    for name in adjusted:
        cell = student.assignments[name]
        if cell is None:
            out += ["", "", "", ""]
            continue
        held = blank and cell.status in REVIEW_STATUSES
        raw = cell.score if cell.raw is None else cell.raw
        out += ["" if held else num(raw), num(cell.penalty), num(cell.override), cell.late_note]
    return out


def build_lesson_canvas_csv(lesson: LessonSummary | dict[str, Any], blank: bool = False) -> str:
    """The lesson's grades-canvas.csv: Canvas's student columns, then one column per assignment
    named after it (Canvas matches an existing assignment of that name, or creates one), and a
    "Points Possible" row (as in Canvas's own export: a new assignment gets its points from
    it). No total: Canvas computes its own from the assignments, and a column it does not
    know would become one more assignment. A student with no report in an assignment's folder
    has an empty cell (Canvas leaves that grade as it is); with `blank`, so do error, timeout
    and tampered submissions."""
    lesson = LessonSummary.of(lesson)
    names = [a.assignment for a in lesson.assignments]
    rows: list[list[Any]] = [
        [*CANVAS_COLUMNS, *names],
        ["Points Possible", "", "", "", "", *(num(a.max_score) for a in lesson.assignments)],
    ]
    for student in lesson.students:
        cells = [student.assignments[name] for name in names]
        rows.append([*_canvas_student(student), *("" if cell is None else _total(cell, blank) for cell in cells)])
    return _csv(rows)


def write_lesson(folders: list[Path], output_dir: Path, blank: bool = False, overrides: Any = None) -> Written:
    """Write the sheet of a lesson, one folder of reports per assignment, into `output_dir`:
    grades.csv, grades-canvas.csv, one Moodle grading worksheet per assignment of a Moodle
    class (grades-moodle-<assignment>.csv), report.html and summary.json. The assignment
    folders are only read. `blank` as for write_all."""
    output = Path(output_dir)
    if output.exists() and not output.is_dir():
        raise GradebookError(f"{output} exists and is not a folder")
    generated_at = _now()
    parts, skipped = load_lesson(folders, output, generated_at, overrides)
    lesson = summarize_lesson(parts, output, generated_at, overrides)
    output.mkdir(parents=True, exist_ok=True)
    paths = Written(
        output / GRADES_CSV,
        output / CANVAS_CSV,
        output / REPORT_HTML,
        output / SUMMARY_JSON,
        lesson,
        skipped,
        assignments={part.assignment: part.folder for part in parts},
    )
    if overrides is not None:
        paths.notes = list(overrides.warnings([r for part in parts for r in part.loaded.reports]))
    write_atomic(paths.csv, build_lesson_csv(lesson, blank))
    write_atomic(paths.canvas, build_lesson_canvas_csv(lesson, blank))
    stems = file_stems([part.assignment for part in parts])
    for part in parts:
        if any(st.platform == "moodle" for st in part.summary.students):
            sheet = output / MOODLE_LESSON_CSV.format(stems[part.assignment])
            write_atomic(sheet, build_moodle_csv(part.summary, part.loaded.reports, blank))
            paths.moodle_sheets.append(sheet)
    for stale in output.glob(MOODLE_LESSON_CSV.format("*")):
        if stale not in paths.moodle_sheets and stale.is_file():
            stale.unlink()  # an assignment no longer in the lesson, or no longer from Moodle
    write_atomic(paths.summary, json.dumps(lesson.to_dict(), indent=2, ensure_ascii=False) + "\n")
    write_atomic(paths.html, classreport.render_lesson(lesson))
    return paths
