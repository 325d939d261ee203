"""One student's report as a self-contained HTML page: the feedback to hand back to that
student.

It is report.html's section for one student (``classreport.student_section``) on a page of
its own, with the same CSS and Content-Security-Policy: no script, nothing fetched, every
text of the report escaped (a student chooses all of it). It is made from this one Report
only, so nothing of another student can reach it.
"""

from __future__ import annotations

import dataclasses

from grader.classreport import esc, page, student_label, student_section
from grader.model import Report
from grader.renderers import timing_sentence, withheld_sentence
from grader.renderers.visibility import student_view


def render(report: Report, *, released: bool | None = None) -> str:
    """The page. ``released`` None: every check; True or False: the feedback handed back to
    the student, following each check's visibility (see renderers/visibility.py)."""
    notes: list[str] = []
    pending = []
    timing = timing_sentence(report) if report.timing is not None else ""
    if released is not None:
        view = student_view(report, released)
        if timing and view.pending:
            timing = timing_sentence(report, partial=True)
        report, notes, pending = view.report, view.notes(), view.pending
    if report.withheld is not None:  # a students' grader: never pretend this score is the grade
        sentence = withheld_sentence(report.withheld)
        notes.insert(0, f"This score counts the public checks only. {sentence}")
        report = dataclasses.replace(report, message=report.message.replace(sentence, "").strip())
    if timing:
        notes.append(timing)
    name = report.identity.name if report.identity else ""
    title = f"{report.assignment}: {student_label(report.submission, name)}"
    header = (
        f"<h1>{esc(report.assignment)}</h1>\n"
        f'<p class="meta">Feedback on your submission: what each check found, where, and a '
        f"hint for each check that did not pass.</p>"
    )
    header += "".join(f'\n<p class="notice"><strong>{esc(note)}</strong></p>' for note in notes)
    if pending:
        items = "".join(
            f"<li>{esc(c.title)} (<code>{esc(c.id)}</code>, {c.max_score:g} points): {esc(c.feedback)}</li>"
            for c in pending
        )
        header += f'\n<ul class="pending">{items}</ul>'

    return page(title, header, student_section(report, heading="h2"))
