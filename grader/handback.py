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
"""
from __future__ import annotations

import io
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from grader import gradebook, platforms
from grader.model import Report
from grader.renderers import render, write_atomic

MOODLE_ZIP = "moodle-feedback.zip"
MOODLE_TREE = "moodle"
_UNSAFE = re.compile(r'[\x00-\x1f\x7f/\\:*?"<>|]')


@dataclass
class Written:
    folder: Path
    files: list[Path] = field(default_factory=list)
    moodle_zip: Path | None = None
    students: int = 0


def _moodle_folder(report: Report) -> str | None:
    ident = report.identity
    if ident is None or ident.platform != "moodle" or not ident.id.isdigit():
        return None
    folder = ident.folder or platforms.moodle_folder(ident.name, ident.id)
    # Moodle splits the folder name at '_' (name, participant id, plugin type, plugin name):
    # the download's own name has no other '_' before the id, a made-up one must not either.
    name, _, rest = folder.partition(f"_{ident.id}_")
    folder = f"{name.replace('_', ' ')}_{ident.id}_{rest}"
    return _UNSAFE.sub("_", folder).strip(" .") or platforms.moodle_folder("Participant", ident.id)


def write(reports_dir: Path, feedback_dir: Path) -> Written:
    """Write every student's feedback of the reports in `reports_dir` into `feedback_dir`."""
    loaded = gradebook.load_reports(reports_dir)
    feedback_dir = Path(feedback_dir)
    result = Written(feedback_dir)
    moodle: list[tuple[str, str, str]] = []   # (folder, markdown, html)
    for report, file in zip(loaded.reports, loaded.files):
        markdown, page = render("markdown", report), render("html", report)
        result.students += 1
        folder = _moodle_folder(report)
        if folder is not None:
            moodle.append((folder, markdown, page))
            continue
        stem = file[:-len(".json")] if file.endswith(".json") else file
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
                    info.flag_bits |= 0x800          # UTF-8 names: non-ASCII names survive
                    info.compress_type = zipfile.ZIP_DEFLATED
                    info.external_attr = 0o644 << 16
                    zf.writestr(info, text)
                    target = feedback_dir / MOODLE_TREE / folder / name
                    write_atomic(target, text)
                    result.files.append(target)
        result.moodle_zip = feedback_dir / MOODLE_ZIP
        write_atomic(result.moodle_zip, buf.getvalue())
    return result
