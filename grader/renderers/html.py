"""One student's report as a self-contained HTML page: the feedback to hand back to that
student.

It is report.html's section for one student (``classreport.student_section``) on a page of
its own, with the same CSS and Content-Security-Policy: no script, nothing fetched, every
text of the report escaped (a student chooses all of it). It is made from this one Report
only, so nothing of another student can reach it.
"""

from __future__ import annotations

from grader.classreport import esc, page, student_label, student_section
from grader.model import Report


def render(report: Report) -> str:
    name = report.identity.name if report.identity else ""
    title = f"{report.assignment}: {student_label(report.submission, name)}"
    header = (
        f"<h1>{esc(report.assignment)}</h1>\n"
        f'<p class="meta">Feedback on your submission: what each check found, where, and a '
        f"hint for each check that did not pass.</p>"
    )
    return page(title, header, student_section(report, heading="h2"))
