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

Every file and zip entry name is made by :mod:`grader.names` (bounded in bytes, no bidi or
control characters, never hidden, distinct), so that no student's name, however long or
strange, stops the feedback of the class.
"""

from __future__ import annotations

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


def write(reports_dir: Path, feedback_dir: Path) -> Written:
    """Write every student's feedback of the reports in `reports_dir` into `feedback_dir`."""
    loaded = gradebook.load_reports(reports_dir)
    feedback_dir = Path(feedback_dir)
    result = Written(feedback_dir)
    moodle: list[tuple[str, str, str]] = []  # (folder, markdown, html)
    files, folders = names.Distinct(), names.Distinct()
    for report, file in zip(loaded.reports, loaded.files):
        markdown, page = render("markdown", report), render("html", report)
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
