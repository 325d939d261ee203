"""Markdown rendering of a report: for CI job summaries, pull-request comments and the feedback
file handed back to a student. Every text from the report goes through safe.markdown (no HTML,
no control or bidi characters) or a fence of its own."""

from __future__ import annotations

from grader.model import NOT_RUN_ENVIRONMENT, CheckStatus, Report
from grader.renderers import safe, timing_sentence, withheld_sentence
from grader.renderers.visibility import student_view

ICON = {CheckStatus.PASSED: "✅", CheckStatus.FAILED: "❌", CheckStatus.ERROR: "💥", CheckStatus.SKIPPED: "⏭️"}


def cell(text: str) -> str:
    """Text for a table cell or a line: no raw HTML, no Markdown of the submission's."""
    return safe.markdown(text).replace("\n", "<br>")


def render(report: Report, *, released: bool | None = None) -> str:
    """The report in Markdown. ``released`` None: every check (the instructor's view, a CI
    summary); True or False: a student's feedback, which follows each check's visibility and
    shows after_due checks only when released (renderers/visibility.py)."""
    notes: list[str] = []
    pending = []
    timing = timing_sentence(report) if report.timing is not None else ""
    if released is not None:
        view = student_view(report, released)
        if timing and view.pending:
            timing = timing_sentence(report, partial=True)
        report, notes, pending = view.report, view.notes(), view.pending
    who = cell(report.submission)
    ident = report.identity
    if ident is not None and ident.name:
        who = f"{cell(ident.name)} ({who})"
    late = " · **late**" if ident is not None and ident.late else ""
    lines = [
        f"## {cell(report.assignment)}: {report.score:g} / {report.max_score:g} points"
        + (" (public checks only)" if report.withheld is not None else ""),
        "",
        f"**Submission:** {who} · **status:** {report.status.value}{late}",
        "",
    ]
    if report.withheld is not None:  # a students' grader: never pretend this is the grade
        lines += [f"> **{cell(withheld_sentence(report.withheld))}**", ""]
        message = report.message.replace(withheld_sentence(report.withheld), "").strip()
    else:
        message = report.message
    if message and (report.score < report.max_score or report.status.value != "graded"):
        lines += [f"> {cell(message)}", ""]
    if timing:
        notes = [*notes, timing]
    lines += [f"> {cell(note)}" for note in notes] + ([""] if notes else [])
    lines += ["| | Check | Points | Feedback |", "|---|---|---|---|"]
    for c in report.checks:
        where = f"<br>**where:** {cell(c.location)}" if c.location else ""
        icon = "⏸️ not run (environment)" if c.diagnosis == NOT_RUN_ENVIRONMENT else ICON[c.status]
        seen_by = f" · {c.visibility}" if released is None and c.visibility != "public" else ""
        lines.append(
            f"| {icon} | {cell(c.title)}<br>`{c.id}`{seen_by} | {c.score:g}/{c.max_score:g} | {cell(c.feedback)}{where} |"
        )
    for c in pending:
        lines.append(f"| 🔒 | {cell(c.title)}<br>`{c.id}` | –/{c.max_score:g} | {cell(c.feedback)} |")
    details = [c for c in report.checks if c.status != CheckStatus.PASSED and (c.hint or c.student_traceback)]
    if details:
        lines += ["", "### What to change", ""]
        for c in details:
            lines.append(f"**{c.title}** (`{c.id}`)")
            lines.append("")
            if c.hint:
                lines += [c.hint, ""]
            if c.student_traceback:
                lines += [*safe.fence(c.student_traceback), ""]
    if report.warnings:
        lines += ["", "### Warnings (no points lost)", ""]
        lines += [f"- {cell(w)}" for w in report.warnings]
    lines += [
        "",
        f"<sub>grader {report.grader_version} · Django {report.django_version} · "
        f"Python {report.python_version} · sandbox: {report.sandbox} · "
        f"{report.duration_s:.1f} s</sub>",
        "",
    ]
    return safe.without_bidi("\n".join(lines))
