"""Feedback handed back to each student: ``grader batch --feedback DIR``.

Every student gets their own report as Markdown and as a self-contained HTML page (score,
each check, where, what to change), rendered from their JSON report alone, so that a
student's file can never hold another student's data. The files take the shape their
platform uploads:

- Moodle: ``DIR/moodle-feedback.zip`` for "Upload multiple feedback files in a zip": one
  folder per student named as in the download (``Full Name_<participant id>_assignsubmission_file_``),
  which is how Moodle finds whose feedback a file is. The same tree is written unzipped in
  ``DIR/moodle/`` to look at first.
- Everyone else: ``DIR/<student>.md`` and ``DIR/<student>.html`` (the names of the JSON reports).

Feedback follows each check's visibility (the rubric's ``visibility``, kept in every report):
a ``hidden`` check is never shown on its own (the file says "N hidden checks: X of P points"),
an ``after_due`` check is shown once released and named as "released after the due date"
before that (see :func:`released` and renderers/visibility.py). The instructor's own reports
(report.html, the gradebooks) show every check.

Every file and zip entry name is made by :mod:`grader.names` (bounded in bytes, no bidi or
control characters, never hidden, distinct), so that no student's name, however long or
strange, stops the feedback of the class.
"""

from __future__ import annotations

import datetime as _dt
import io
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from grader import gradebook, names, platforms
from grader.model import Report
from grader.renderers import render, write_atomic

MOODLE_ZIP = "moodle-feedback.zip"
MOODLE_TREE = "moodle"
MAX_PARTICIPANT_DIGITS = 20  # a longer "participant id" is no Moodle's: its files are named as everyone's


@dataclass
class Written:
    folder: Path
    files: list[Path] = field(default_factory=list)
    moodle_zip: Path | None = None
    students: int = 0


def _moodle_folder(report: Report, suffix: str = "") -> str | None:
    """The student's folder in moodle-feedback.zip: as in the download (the name, the
    participant id, the plugin as the download wrote it), made by names.moodle_folder, which
    keeps Moodle's rule (no '_' in the name, the participant id whole) however long the name
    is; None for a report that is not a Moodle participant's."""
    ident = report.identity
    if (
        ident is None
        or ident.platform != "moodle"
        or not ident.id.isascii()
        or not ident.id.isdigit()
        or len(ident.id) > MAX_PARTICIPANT_DIGITS
    ):
        return None
    m = platforms.MOODLE.match(ident.folder or "")
    if m and m["id"] == ident.id and not m["rest"] and m["plugin"] != platforms.ONLINE_TEXT:
        name, plugin, end = m["name"], m["plugin"], "_" if m["rest"] is not None else ""
    else:
        name, plugin, end = ident.name, "assignsubmission_file", "_"
    return names.moodle_folder(name + suffix, ident.id, plugin, end)


def _aware(when: _dt.datetime) -> _dt.datetime:
    return when if when.tzinfo is not None else when.replace(tzinfo=_dt.UTC)


def released(
    report: Report,
    *,
    release_after_due: bool = False,
    due: _dt.datetime | None = None,
    now: _dt.datetime | None = None,
) -> bool:
    """Whether the student's feedback shows the after_due checks: always with
    `release_after_due` (``--release-after-due``); else once `due` has passed, or, without
    `due`, the report's own due date (``timing.due``, set by a batch with a course: the
    student's extension included); never when no due date is known. A naive datetime is UTC."""
    if release_after_due:
        return True
    if due is None and report.timing is not None and report.timing.due:
        try:
            due = _dt.datetime.fromisoformat(report.timing.due)
        except ValueError:
            return False  # an unreadable due date releases nothing
    if due is None:
        return False
    return _aware(now or _dt.datetime.now(_dt.UTC)) >= _aware(due)


def write(
    reports_dir: Path,
    feedback_dir: Path,
    *,
    release_after_due: bool = False,
    due: _dt.datetime | None = None,
    now: _dt.datetime | None = None,
) -> Written:
    """Write every student's feedback of the reports in `reports_dir` into `feedback_dir`,
    following each check's visibility: after_due checks are shown when :func:`released`
    (`release_after_due`, or `due` or the report's own due date has passed by `now`)."""
    loaded = gradebook.load_reports(reports_dir)
    feedback_dir = Path(feedback_dir)
    result = Written(feedback_dir)
    moodle: list[tuple[str, str, str]] = []  # (folder, markdown, html)
    files, folders = names.Distinct(), names.Distinct()
    for report, file in zip(loaded.reports, loaded.files):
        shown = released(report, release_after_due=release_after_due, due=due, now=now)
        markdown, page = render("markdown", report, released=shown), render("html", report, released=shown)
        result.students += 1
        folder = _moodle_folder(report)
        if folder is not None:
            n = 1  # two reports of one participant (a copy in DIR): each its own folder
            while folder.casefold() in folders.taken:
                n += 1
                folder = _moodle_folder(report, f" ~{n}") or folder
            moodle.append((folders(folder), markdown, page))
            continue
        stem = files(names.component(file[: -len(".json")] if file.endswith(".json") else file))
        for text, ext in ((markdown, ".md"), (page, ".html")):
            target = feedback_dir / (stem + ext)
            write_atomic(target, text)
            result.files.append(target)
    if moodle:
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
            for folder, markdown, page in sorted(moodle):
                for text, name in ((page, "feedback.html"), (markdown, "feedback.md")):
                    info = zipfile.ZipInfo(f"{folder}/{name}")
                    info.flag_bits |= 0x800  # UTF-8 names: non-ASCII names survive
                    info.compress_type = zipfile.ZIP_DEFLATED
                    info.external_attr = 0o644 << 16
                    zf.writestr(info, text)
                    target = feedback_dir / MOODLE_TREE / folder / name
                    write_atomic(target, text)
                    result.files.append(target)
        result.moodle_zip = feedback_dir / MOODLE_ZIP
        write_atomic(result.moodle_zip, buf.getvalue())
    return result
