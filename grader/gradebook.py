"""The class view of a batch: read the per-student JSON reports of a folder and
write the gradebook (``grades.csv``, and ``grades-canvas.csv`` in the layout
Canvas imports), the instructor's ``report.html`` and a machine-readable
``summary.json``.

Everything here is pure data work on the JSON contract (no student code runs,
no Django): ``grader report DIR`` and the end of ``grader batch`` call
:func:`write_all`.
"""
from __future__ import annotations

import csv
import datetime as _dt
import io
import json
import re
import statistics
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from grader import classreport
from grader.classdata import FAILED_CHECK, STATUSES, identity_of, num
from grader.renderers import write_atomic

GRADES_CSV = "grades.csv"
CANVAS_CSV = "grades-canvas.csv"
MOODLE_CSV = "grades-moodle.csv"
# The columns of Moodle's grading worksheet ("Download grading worksheet"), in its order. Its
# upload ("Upload grading worksheet") needs Identifier, Grade and Last modified (grade), and
# reads Feedback comments when the assignment has comment feedback.
MOODLE_COLUMNS = ("Identifier", "Full name", "Email address", "Status", "Grade", "Maximum Grade",
                  "Grade can be changed", "Last modified (submission)", "Last modified (grade)",
                  "Feedback comments")
# Statuses whose total --blank leaves empty in the platform CSVs: the import flags them for
# review instead of recording a 0 the grader cannot vouch for.
REVIEW_STATUSES = frozenset({"error", "timeout", "tampered"})
MAX_COMMENT_CHARS = 1500
# The student columns Canvas's gradebook import requires, in its order.
CANVAS_COLUMNS = ("Student", "ID", "SIS User ID", "SIS Login ID", "Section")
REPORT_HTML = "report.html"
SUMMARY_JSON = "summary.json"
SUMMARY_KIND = "grader-batch-summary"
SUMMARY_VERSION = "1.2"  # 1.1: unsandboxed; 1.2: identity of each student, status missing
# Files of the output folder that are not per-student reports.
OWN_FILES = frozenset({GRADES_CSV, CANVAS_CSV, MOODLE_CSV, REPORT_HTML, SUMMARY_JSON})
MAX_REPORT_BYTES = 16 * 1024 * 1024
# Spreadsheet programs run a cell starting with these as a formula (CSV injection).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


_SURROGATE = re.compile("[\ud800-\udfff]")


def clean(value: Any) -> Any:
    """`value` with lone surrogates (undecodable bytes of a file name, a bad JSON escape)
    replaced, so that every text can be written as UTF-8."""
    if isinstance(value, str):
        return _SURROGATE.sub("\ufffd", value)
    if isinstance(value, list):
        return [clean(v) for v in value]
    if isinstance(value, dict):
        return {clean(k): clean(v) for k, v in value.items()}
    return value


class GradebookError(Exception):
    """The folder holds no usable reports, or reports that cannot go in one gradebook."""


@dataclass
class Loaded:
    reports: list[dict[str, Any]] = field(default_factory=list)   # sorted by student
    files: list[str] = field(default_factory=list)                # file name of each report
    skipped: list[str] = field(default_factory=list)              # "name: why" of unusable files


def _looks_like_report(data: Any) -> str | None:
    """Why `data` is not a per-student report, or None when it is one."""
    if not isinstance(data, dict):
        return "not a JSON object"
    if data.get("kind") == SUMMARY_KIND:
        return "a batch summary"
    for key, kind in (("submission", str), ("assignment", str), ("status", str),
                      ("score", (int, float)), ("max_score", (int, float)), ("checks", list)):
        if not isinstance(data.get(key), kind) or isinstance(data.get(key), bool):
            return f"no valid {key!r}"
    for check in data["checks"]:
        if not isinstance(check, dict) or not isinstance(check.get("id"), str):
            return "a check without an id"
    return None


def load_reports(folder: Path) -> Loaded:
    """Every per-student report (``*.json``) directly in `folder`, sorted by student."""
    folder = Path(folder)
    if not folder.is_dir():
        raise GradebookError(f"{folder} is not a folder")
    found: list[tuple[str, str, dict]] = []
    loaded = Loaded()
    for path in sorted(folder.glob("*.json")):
        if path.name in OWN_FILES or path.name.startswith(".") or not path.is_file():
            continue
        try:
            if path.stat().st_size > MAX_REPORT_BYTES:
                raise ValueError("larger than a report can be")
            data = clean(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError) as exc:
            loaded.skipped.append(f"{path.name}: unreadable ({exc})")
            continue
        why = _looks_like_report(data)
        if why:
            loaded.skipped.append(f"{path.name}: {why}")
            continue
        found.append((data["submission"], path.name, data))
    found.sort(key=lambda item: (item[0], item[1]))
    loaded.reports = [data for _, _, data in found]
    loaded.files = [name for _, name, _ in found]
    return loaded


# ----------------------------------------------------------------------------- maths

def distribution(scores: list[float], max_score: float) -> list[dict[str, Any]]:
    """Bins of the score distribution: one per whole point for small integer scales,
    else ten equal bins (the last one includes the maximum)."""
    integral = all(float(s).is_integer() for s in scores) and float(max_score).is_integer()
    if max_score <= 0:
        return [{"label": num(max_score), "from": 0.0, "to": float(max_score), "count": len(scores)}]
    if integral and max_score <= 20:
        counts = Counter(int(s) for s in scores)
        return [{"label": str(i), "from": float(i), "to": float(i),
                 "count": counts.get(i, 0)} for i in range(int(max_score) + 1)]
    width = max_score / 10
    bins = [{"label": f"{num(i * width)}-{num((i + 1) * width)}", "from": round(i * width, 4),
             "to": round((i + 1) * width, 4), "count": 0} for i in range(10)]
    for score in scores:
        index = min(int(max(score, 0) / width), 9)
        bins[index]["count"] += 1
    return bins


def _stat(func, values: list[float]) -> float | None:
    return round(func(values), 4) if values else None


def summarize(reports: list[dict[str, Any]], files: list[str] | None = None,
              generated_at: str | None = None) -> dict[str, Any]:
    """The class summary (the contents of summary.json) of per-student reports."""
    assignments = sorted({r["assignment"] for r in reports})
    if len(assignments) > 1:
        raise GradebookError("the reports belong to several assignments "
                             f"({', '.join(assignments)}); keep one assignment per folder")
    files = files or [f"{r['submission']}.json" for r in reports]
    maxima = Counter(float(r["max_score"]) for r in reports)
    max_score = maxima.most_common(1)[0][0] if maxima else 0.0
    scores = [float(r["score"]) for r in reports]
    n = len(reports)

    # Checks in rubric order, as the reports list them (union, first seen first).
    checks: dict[str, dict[str, Any]] = {}
    for report in reports:
        for c in report["checks"]:
            entry = checks.setdefault(c["id"], {
                "id": c["id"], "title": c.get("title", c["id"]),
                "max_score": float(c.get("max_score", 0)),
                **{s: 0 for s in ("passed", "failed", "error", "skipped")}})
            if c.get("status") in ("passed", "failed", "error", "skipped"):
                entry[c["status"]] += 1
    for entry in checks.values():
        entry["pass_rate"] = round(entry["passed"] / n, 4) if n else None

    # The diagnoses of failed checks, most common first; a student counts once per diagnosis.
    diag_students: dict[str, list[str]] = {}
    diag_checks: dict[str, list[str]] = {}
    for report in reports:
        seen: set[str] = set()
        for c in report["checks"]:
            name = c.get("diagnosis") or ""
            if c.get("status") not in FAILED_CHECK or not isinstance(name, str) or not name:
                continue
            if c["id"] not in diag_checks.setdefault(name, []):
                diag_checks[name].append(c["id"])
            if name not in seen:
                seen.add(name)
                diag_students.setdefault(name, []).append(report["submission"])
    diagnoses = [{"diagnosis": name, "count": len(students),
                  "share": round(len(students) / n, 4) if n else None,
                  "checks": diag_checks[name], "students": students}
                 for name, students in diag_students.items()]
    diagnoses.sort(key=lambda d: (-d["count"], d["diagnosis"]))

    by_status = dict.fromkeys(STATUSES, 0)
    for report in reports:
        by_status[report["status"]] = by_status.get(report["status"], 0) + 1

    # (a 'missing' student ran nothing, so nothing ran outside the sandbox)
    unsandboxed = sorted(r["submission"] for r in reports
                         if r.get("sandbox") != "bwrap" and r["status"] != "missing")

    students = [{
        "student": r["submission"], **identity_of(r),
        "score": float(r["score"]), "max_score": float(r["max_score"]),
        "status": r["status"], "report": file, "graded_at": r.get("graded_at", ""),
        "checks": {c["id"]: {"status": c.get("status"), "score": float(c.get("score", 0))}
                   for c in r["checks"]},
    } for r, file in zip(reports, files)]

    return {
        "kind": SUMMARY_KIND,
        "summary_version": SUMMARY_VERSION,
        "assignment": assignments[0] if assignments else "",
        "generated_at": generated_at or _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "count": n,
        "max_score": max_score,
        "by_status": by_status,
        "mean": _stat(statistics.fmean, scores),
        "median": _stat(statistics.median, scores),
        "min": _stat(min, scores),
        "max": _stat(max, scores),
        "full_marks": sum(1 for r in reports if float(r["score"]) >= float(r["max_score"]) > 0),
        "distribution": distribution(scores, max_score),
        "checks": list(checks.values()),
        "diagnoses": diagnoses,
        # Students graded without the sandbox (--sandbox none): their submissions could read
        # and change what the grader could; report.html says so in a banner.
        "unsandboxed": unsandboxed,
        "grader_versions": sorted({str(r.get("grader_version", "")) for r in reports}),
        "rubric_digests": sorted({str(r.get("rubric_digest", "")) for r in reports}),
        "students": students,
    }


# ----------------------------------------------------------------------------- CSV

def csv_cell(text: str) -> str:
    """Text for a CSV cell that no spreadsheet runs as a formula."""
    return "'" + text if text.startswith(FORMULA_START) else text


def build_csv(summary: dict[str, Any]) -> str:
    """grades.csv: a header row, then one row per student: the student id, their name, their
    platform id and gradebook login (when known), whether Canvas marked them late, one column
    per check (its points), the total and the run status. Plain UTF-8, comma-separated, "." as
    the decimal point, no extra rows: what the CSV grade imports of Moodle and Canvas read."""
    check_ids = [c["id"] for c in summary["checks"]]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["student", "name", "id", "login", "late", *check_ids, "total", "status"])
    for student in summary["students"]:
        cells = [csv_cell(student[k]) for k in ("student", "name", "id", "login")]
        cells.append("late" if student["late"] else "")
        for cid in check_ids:
            check = student["checks"].get(cid)
            cells.append(num(check["score"]) if check else "")
        cells += [num(student["score"]), student["status"]]
        writer.writerow(cells)
    return out.getvalue()


def _total(student: dict[str, Any], blank: bool) -> str:
    return "" if blank and student["status"] in REVIEW_STATUSES else num(student["score"])


def build_canvas_csv(summary: dict[str, Any], blank: bool = False) -> str:
    """grades-canvas.csv: the layout Canvas's gradebook import requires (its student columns,
    then one column per assignment) with the total in a column named after the assignment.
    Canvas matches a row by ID, then SIS User ID, then SIS Login ID, then the student's name.
    A Canvas download gives the user id (ID); otherwise the gradebook login from the roster
    (or the student id) goes in SIS User ID and SIS Login ID."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([*CANVAS_COLUMNS, summary["assignment"] or "grader"])
    for student in summary["students"]:
        name = csv_cell(student["name"] or student["student"])
        if student["platform"] == "canvas":
            row = [name, csv_cell(student["id"]), "", csv_cell(student["login"]), ""]
        else:
            sid = csv_cell(student["login"] or student["student"])
            row = [name, "", sid, sid, ""]
        writer.writerow([*row, _total(student, blank)])
    return out.getvalue()


def comment(report: dict[str, Any]) -> str:
    """A short plain-text feedback comment for a gradebook (Moodle's Feedback comments): the
    score, then what to change for each check that did not pass. HTML-escaped: Moodle shows
    the comment as HTML, and all of it may come from the student."""
    import html

    lines = [f"{num(report['score'])}/{num(report['max_score'])} points ({report['status']}). "
             f"{report.get('message', '')}".strip()]
    seen = {str(report.get("message", "")).strip()}
    for c in report.get("checks", []):
        feedback = str(c.get("feedback", "")).strip()
        if c.get("status") != "passed" and feedback not in seen:
            seen.add(feedback)
            where = f" ({c['location']})" if c.get("location") else ""
            lines.append(f"{c.get('title', c.get('id'))}: {feedback}{where}".strip())
    text = "\n".join(lines)
    if len(text) > MAX_COMMENT_CHARS:
        text = text[:MAX_COMMENT_CHARS - 40].rstrip() + " [... see your feedback file]"
    return html.escape(text, quote=False).replace("\n", "<br>")


def build_moodle_csv(summary: dict[str, Any], reports: list[dict[str, Any]], blank: bool = False) -> str:
    """grades-moodle.csv: Moodle's grading worksheet, one row per Moodle participant, keyed
    ``Participant <id>`` as Moodle's "Upload grading worksheet" reads it, with a feedback comment.
    Last modified (grade) is the grading time, so that Moodle keeps a grade changed by hand
    after it (unless the upload is told to overwrite those)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(MOODLE_COLUMNS)
    by_student = {r["submission"]: r for r in reports}
    for student in summary["students"]:
        if student["platform"] != "moodle" or not student["id"].isdigit():
            continue
        report = by_student.get(student["student"], {})
        graded = student["graded_at"].replace("T", " ")
        writer.writerow([f"Participant {student['id']}", csv_cell(student["name"]),
                         csv_cell(student["login"] if "@" in student["login"] else ""),
                         student["status"], _total(student, blank), num(student["max_score"]), "Yes",
                         "", graded, csv_cell(comment(report)) if report else ""])
    return out.getvalue()


# ----------------------------------------------------------------------------- files

@dataclass
class Written:
    csv: Path
    canvas: Path
    html: Path
    summary: Path
    data: dict[str, Any]
    skipped: list[str]
    moodle: Path | None = None

    @property
    def files(self) -> list[Path]:
        return [self.csv, self.canvas, *([self.moodle] if self.moodle else []), self.html, self.summary]


def write_all(folder: Path, blank: bool = False) -> Written:
    """(Re)write grades.csv, grades-canvas.csv, grades-moodle.csv (when the class came from
    Moodle), report.html and summary.json from the reports in `folder`. `blank`: leave the
    total of error, timeout and tampered submissions empty in the platform CSVs."""
    folder = Path(folder)
    loaded = load_reports(folder)
    if not loaded.reports:
        extra = f" ({len(loaded.skipped)} unusable: {'; '.join(loaded.skipped[:3])})" if loaded.skipped else ""
        raise GradebookError(f"no grader reports (*.json) in {folder}{extra}")
    summary = summarize(loaded.reports, loaded.files)
    paths = Written(folder / GRADES_CSV, folder / CANVAS_CSV, folder / REPORT_HTML,
                    folder / SUMMARY_JSON, summary, loaded.skipped)
    write_atomic(paths.csv, build_csv(summary))
    write_atomic(paths.canvas, build_canvas_csv(summary, blank))
    moodle = folder / MOODLE_CSV
    if any(st["platform"] == "moodle" for st in summary["students"]):
        write_atomic(moodle, build_moodle_csv(summary, loaded.reports, blank))
        paths.moodle = moodle
    elif moodle.exists():
        moodle.unlink()  # left by an earlier batch of another platform
    write_atomic(paths.summary, json.dumps(summary, indent=2, ensure_ascii=False) + "\n")
    write_atomic(paths.html, classreport.render(summary, loaded.reports))
    return paths
