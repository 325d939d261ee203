"""report.html: the instructor's view of a batch, as one self-contained file.

No script, no network: inline CSS, the chart as inline SVG, and a
Content-Security-Policy that forbids everything else, so even a mistake in
escaping could not run code from a student. Every piece of text that comes
from a report (student ids, feedback, tracebacks, output: all of it can be
chosen by a student) goes through :func:`esc`.

Made to stay usable for a class of hundreds: the students who need attention come first
(lowest score first), those with full marks are folded in a ``<details>``; each student's
section has an id made from the student id (``student-<slug>``) that every link uses; every
diagnosis is listed. :func:`student_section` and :func:`page` also make the one-student page
(``renderers/html.py``). :func:`render_lesson` makes the page of a lesson (several
assignments, ``grader report DIR DIR...``).
"""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

from grader.classdata import FAILED_CHECK, STATUSES, num
from grader.classmodel import (
    Bin,
    ClassSummary,
    DiagnosisSummary,
    LessonAssignment,
    LessonCell,
    LessonSummary,
    StudentRow,
)
from grader.model import NOT_RUN_ENVIRONMENT, Identity, Report
from grader.renderers import safe

CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'"
TOP_DIAGNOSES = 10  # diagnoses in the main table; the rest are in a <details> below it
SHOWN_NAMES = 20  # students named in a diagnosis's row before "and N more"
MAX_TICKS = 5  # grid lines of the distribution chart, 0 included
# Characters HTML does not allow in text that safe.text leaves (the noncharacters).
_BAD_CHARS = re.compile("[\ufdd0-\ufdef\ufffe\uffff]")

CSS = """
:root { --ok: #1a7f37; --bad: #cf222e; --warn: #9a6700; --muted: #59636e; --line: #d1d9e0;
        --bg-soft: #f6f8fa; --accent: #0969da; }
* { box-sizing: border-box; }
body { font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
       color: #1f2328; margin: 0 auto; padding: 24px; max-width: 1100px; }
h1 { font-size: 1.7em; margin: 0 0 4px; }
.banner { border: 2px solid var(--bad); background: #ffebe9; padding: 10px 14px; border-radius: 6px; }
h2 { font-size: 1.3em; border-bottom: 1px solid var(--line); padding-bottom: 4px; margin-top: 36px; }
h3 { font-size: 1.1em; margin: 0 0 4px; overflow-wrap: anywhere; }
.meta { color: var(--muted); margin: 0; }
.cards { display: flex; flex-wrap: wrap; gap: 12px; margin: 16px 0; padding: 0; }
.card { border: 1px solid var(--line); border-radius: 8px; padding: 10px 16px; min-width: 120px;
        background: var(--bg-soft); margin: 0; }
.card dt { color: var(--muted); font-size: .85em; }
.card dd { margin: 0; font-size: 1.5em; font-weight: 600; }
table { border-collapse: collapse; width: 100%; margin: 8px 0 16px; }
th, td { border: 1px solid var(--line); padding: 6px 8px; text-align: left; vertical-align: top; }
th { background: var(--bg-soft); font-weight: 600; }
td.n, th.n { text-align: right; white-space: nowrap; font-variant-numeric: tabular-nums; }
code { font: .9em ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; background: var(--bg-soft);
       padding: 0 3px; border-radius: 3px; overflow-wrap: anywhere; }
pre { font: .85em/1.4 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; background: var(--bg-soft);
      border: 1px solid var(--line); border-radius: 6px; padding: 8px; white-space: pre-wrap;
      overflow-wrap: anywhere; max-height: 400px; overflow: auto; margin: 4px 0; }
.rate { display: flex; align-items: center; gap: 8px; }
.rate .bar { flex: 1; height: 10px; background: #eaeef2; border-radius: 5px; min-width: 80px; }
.rate .fill { height: 10px; background: var(--ok); border-radius: 5px; }
.status-graded, .check-passed { color: var(--ok); font-weight: 600; }
.status-error, .status-tampered, .check-failed, .check-error { color: var(--bad); font-weight: 600; }
.status-timeout, .check-skipped { color: var(--warn); font-weight: 600; }
.status-missing { color: var(--muted); font-weight: 600; font-style: italic; }
.student.missing { border-style: dashed; }
.late { display: inline-block; font-size: .75em; font-weight: 600; color: var(--warn);
        border: 1px solid var(--warn); border-radius: 4px; padding: 0 4px; margin-left: 6px;
        vertical-align: middle; }
details > summary { cursor: pointer; }
details.group { margin: 16px 0; }
details.group > summary { font-weight: 600; }
tbody.full-marks tr:first-child td { border-top: 2px solid var(--muted); }
.student { border: 1px solid var(--line); border-radius: 8px; padding: 12px 16px; margin: 16px 0; }
.student .score { font-size: 1.1em; font-weight: 600; margin: 0 0 6px; }
.student > h2 { font-size: 1.3em; border: 0; padding: 0; margin: 0 0 4px; overflow-wrap: anywhere; }
.hint { color: var(--muted); }
.where { font-weight: 600; }
.warnings { color: var(--warn); margin: 4px 0; }
figure { margin: 8px 0 16px; }
figcaption { color: var(--muted); font-size: .9em; }
svg text { font: 12px system-ui, -apple-system, "Segoe UI", Roboto, Arial, sans-serif; fill: #1f2328; }
a { color: var(--accent); }
.marks td { text-align: center; }
.marks td:first-child { text-align: left; overflow-wrap: anywhere; }
@media print { .student { break-inside: avoid; } pre { max-height: none; } }
"""

MARKS = {"passed": ("✓", "passed"), "failed": ("✗", "failed"), "error": ("!", "error"), "skipped": ("–", "skipped")}


def esc(value: Any) -> str:
    """HTML-escape text (quotes too, so it is safe in attributes), without the bidi and control
    characters (safe.text: undecodable bytes show as U+FFFD), and with U+FFFD for the
    noncharacters HTML does not allow."""
    return html.escape(_BAD_CHARS.sub("\ufffd", safe.text(str(value))), quote=True)


def pct(rate: float | None) -> str:
    """A share (0..1) as the page shows every rate: a percent with at most one decimal
    ("66.7%", "100%"), never rounded up to 100% or down to 0% when it is not."""
    if rate is None:
        return "–"
    text = f"{rate * 100:.1f}".removesuffix(".0")
    if text == "100" and rate < 1:
        return ">99.9%"
    if text == "0" and rate > 0:
        return "<0.1%"
    return f"{text}%"


# ----------------------------------------------------------------------------- students


def is_passing(student: StudentRow) -> bool:
    """Full marks and graded: the students report.html folds away (gradebook's full_marks
    counts the same ones among the graded)."""
    return student.status == "graded" and float(student.score) >= float(student.max_score) > 0


def _natural(text: str) -> tuple:
    """Sort key: digits as numbers, so student 99 comes before student 100."""
    return tuple(
        (0, int(part), "") if part.isdigit() else (1, 0, part.casefold()) for part in re.split(r"(\d+)", text) if part
    )


def display_order(students: list[StudentRow]) -> tuple[list[int], list[int]]:
    """Indexes of `students` (summary entries) to show: first the students who need
    attention (not full marks, or not graded), lowest score first, then by student id;
    then the students with full marks, by student id."""

    def by_id(i: int) -> tuple:
        return (_natural(students[i].student), students[i].student, i)

    failing = [i for i, st in enumerate(students) if not is_passing(st)]
    passing = [i for i, st in enumerate(students) if is_passing(st)]
    failing.sort(key=lambda i: (float(students[i].score), *by_id(i)))
    passing.sort(key=by_id)
    return failing, passing


def slug(text: str) -> str:
    """`text` as letters, digits, '_' and '-' only (accents dropped, lower case): a piece of
    an HTML id and URL fragment that needs no escaping anywhere."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[^a-z0-9_]+", "-", ascii_text.lower()).strip("-")[:64].strip("-")


def student_anchors(ids: list[str]) -> list[str]:
    """One distinct HTML id per student, in the order of `ids`: "student-" and a slug of
    the id, with "-2", "-3", ... when an earlier student already has it."""
    taken: set[str] = set()
    anchors = []
    for sid in ids:
        base = f"student-{slug(sid)}" if slug(sid) else "student"
        anchor, n = base, 1
        while anchor in taken:
            n += 1
            anchor = f"{base}-{n}"
        taken.add(anchor)
        anchors.append(anchor)
    return anchors


def student_label(student: str, name: str = "") -> str:
    """How a student is named on the page: "Ada Lovelace (1234)", or the id alone."""
    return f"{name} ({student})" if name and name != student else student


def _who(student: str, name: str, late: bool) -> str:
    """The student's label as HTML, with a "late" marker."""
    mark = '<span class="late" title="submitted after the deadline">late</span>' if late else ""
    return f"{esc(student_label(student, name))}{mark}"


# ----------------------------------------------------------------------------- chart


def _steps() -> Iterator[int]:
    """1, 2, 5, 10, 20, 50, ...: the distances between grid lines a reader takes in at once."""
    magnitude = 1
    while True:
        for factor in (1, 2, 5):
            yield factor * magnitude
        magnitude *= 10


def ticks(peak: int) -> list[int]:
    """The y-axis grid values of a chart whose tallest bar is `peak`: whole numbers from 0,
    evenly spaced by 1, 2, 5, 10, 20, ..., at most MAX_TICKS of them, the last >= peak."""
    peak = max(int(peak), 1)
    for step in _steps():
        intervals = -(-peak // step)
        if intervals < MAX_TICKS:
            return [k * step for k in range(intervals + 1)]
    raise AssertionError("unreachable")


def _chart(distribution: list[Bin], max_score: float) -> str:
    """The score distribution as an inline SVG bar chart (one bar per bin)."""
    width, height = 760, 280
    left, right, top, bottom = 48, 16, 24, 48
    plot_w, plot_h = width - left - right, height - top - bottom
    grid = ticks(max((b.count for b in distribution), default=0))
    scale_top = grid[-1]
    slot = plot_w / max(len(distribution), 1)
    bar_w = slot * 0.78
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" id="distribution-chart" role="img" '
        f'aria-labelledby="chart-title" viewBox="0 0 {width} {height}" width="{width}" height="{height}">',
        '<title id="chart-title">Number of students per score</title>',
    ]
    # Horizontal grid lines with their counts.
    for value in grid:
        y = top + plot_h - plot_h * value / scale_top
        parts.append(
            f'<line x1="{left}" y1="{y:.1f}" x2="{width - right}" y2="{y:.1f}" stroke="#d1d9e0" stroke-width="1"/>'
        )
        parts.append(f'<text class="tick" x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">{value}</text>')
    for i, b in enumerate(distribution):
        h = plot_h * b.count / scale_top
        x = left + i * slot + (slot - bar_w) / 2
        y = top + plot_h - h
        position = (b.start / max_score) if max_score else 1.0
        hue = round(120 * min(max(position, 0.0), 1.0))
        parts.append(
            f'<rect class="bar" data-label="{esc(b.label)}" data-count="{b.count}" '
            f'x="{x:.1f}" y="{y:.1f}" width="{bar_w:.1f}" height="{h:.1f}" '
            f'fill="hsl({hue}, 60%, 45%)"><title>{esc(b.label)} points: '
            f"{b.count} student{'' if b.count == 1 else 's'}</title></rect>"
        )
        cx = x + bar_w / 2
        if b.count:
            parts.append(f'<text x="{cx:.1f}" y="{y - 5:.1f}" text-anchor="middle">{b.count}</text>')
        parts.append(f'<text x="{cx:.1f}" y="{top + plot_h + 16}" text-anchor="middle">{esc(b.label)}</text>')
    parts.append(
        f'<line x1="{left}" y1="{top + plot_h}" x2="{width - right}" y2="{top + plot_h}" '
        'stroke="#59636e" stroke-width="1"/>'
    )
    parts.append(f'<text x="{left + plot_w / 2:.1f}" y="{height - 8}" text-anchor="middle">points</text>')
    parts.append(
        f'<text x="14" y="{top + plot_h / 2:.1f}" text-anchor="middle" '
        f'transform="rotate(-90 14 {top + plot_h / 2:.1f})">students</text>'
    )
    parts.append("</svg>")
    return "".join(parts)


# ----------------------------------------------------------------------------- class tables


def _summary_cards(s: ClassSummary) -> str:
    cards = [
        ("count", "Students", str(s.count)),
        ("mean", "Mean", f"{num(s.mean)} / {num(s.max_score)}" if s.mean is not None else "–"),
        ("median", "Median", num(s.median) if s.median is not None else "–"),
        ("min", "Lowest", num(s.min) if s.min is not None else "–"),
        ("max", "Highest", num(s.max) if s.max is not None else "–"),
        ("full-marks", "Full marks", str(s.full_marks)),
    ]
    cards += [(f"status-{status}", status.capitalize(), str(s.by_status.get(status, 0))) for status in STATUSES]
    items = "".join(
        f'<div class="card"><dt>{esc(label)}</dt><dd id="stat-{key}">{esc(value)}</dd></div>'
        for key, label, value in cards
    )
    return f'<dl class="cards">{items}</dl>'


def _checks_table(s: ClassSummary) -> str:
    rows = []
    for c in s.checks:
        rate = c.pass_rate or 0.0
        rows.append(
            f'<tr id="check-{esc(c.id)}"><td>{esc(c.title)}<br><code>{esc(c.id)}</code></td>'
            f'<td class="n">{esc(num(c.max_score))}</td><td class="n passed">{c.passed}</td>'
            f'<td class="n">{c.failed}</td><td class="n">{c.error}</td><td class="n">{c.skipped}</td>'
            f'<td><div class="rate"><span class="pass-rate">{esc(pct(c.pass_rate))}</span>'
            f'<div class="bar"><div class="fill" style="width: {rate * 100:.1f}%"></div></div></div></td></tr>'
        )
    return (
        '<table id="checks"><thead><tr><th>check</th><th class="n">points</th><th class="n">passed</th>'
        '<th class="n">failed</th><th class="n">error</th><th class="n">skipped</th><th>pass rate</th>'
        f"</tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )


def _diagnosis_rows(diagnoses: list[DiagnosisSummary], titles: dict[str, str], links: dict[str, str]) -> str:
    rows = []
    for d in diagnoses:
        checks = ", ".join(f"<code>{esc(c)}</code>" for c in d.checks)
        names = [
            f'<a href="#{esc(links[name])}">{esc(name)}</a>' if name in links else esc(name) for name in d.students
        ]
        who = ", ".join(names[:SHOWN_NAMES])
        if len(names) > SHOWN_NAMES:
            who += (
                f"<details><summary>and {len(names) - SHOWN_NAMES} more</summary>"
                f"{', '.join(names[SHOWN_NAMES:])}</details>"
            )
        rows.append(
            f'<tr data-diagnosis="{esc(d.diagnosis)}"><td><code>{esc(d.diagnosis)}</code></td>'
            f'<td class="n count">{d.count}</td><td class="n share">{esc(pct(d.share))}</td>'
            f'<td>{checks}<br><span class="hint">'
            f"{esc('; '.join(titles.get(c, c) for c in d.checks))}</span></td><td>{who}</td></tr>"
        )
    return "".join(rows)


def _diagnoses(s: ClassSummary, links: dict[str, str]) -> str:
    """Every diagnosis: the TOP_DIAGNOSES most common in a table, the others in a second
    table inside a <details> below it."""
    if not s.diagnoses:
        return '<p id="no-diagnoses">No failed check carries a diagnosis.</p>'
    titles = {c.id: c.title for c in s.checks}
    head = (
        '<thead><tr><th>diagnosis</th><th class="n">students</th><th class="n">share</th>'
        "<th>in checks</th><th>who</th></tr></thead>"
    )
    top, rest = s.diagnoses[:TOP_DIAGNOSES], s.diagnoses[TOP_DIAGNOSES:]
    out = f'<table id="diagnoses">{head}<tbody>{_diagnosis_rows(top, titles, links)}</tbody></table>'
    if rest:
        out += (
            f'<details class="group" id="more-diagnoses"><summary>{len(rest)} less common '
            f'diagnos{"i" if len(rest) == 1 else "e"}s</summary><table id="diagnoses-more">{head}'
            f"<tbody>{_diagnosis_rows(rest, titles, links)}</tbody></table></details>"
        )
    return out


def _is_late(st: StudentRow) -> bool:
    """Marked late by Canvas, or late under the course's rules (a penalty, or not accepted)."""
    return st.late or not st.accepted or bool(re.match(r"\d+ days? late\b", st.late_note))


def _marks_cells(st: StudentRow) -> str:
    """The raw score, penalty and override cells of a student's row (classdata.Marks)."""
    raw = st.score if st.raw is None else st.raw
    late = f' title="{esc(st.late_note)}"' if st.late_note else ""
    notes = f' title="{esc("; ".join(st.override_notes))}"' if st.override_notes else ""
    override = f"+{num(st.override)}" if st.override > 0 else num(st.override)
    return (
        f'<td class="n raw">{esc(num(raw))}</td><td class="n penalty"{late}>{esc(num(-st.penalty))}</td>'
        f'<td class="n override"{notes}>{esc(override)}</td>'
    )


def _overview_row(st: StudentRow, ids: list[str], anchor: str, adjusted: bool = False) -> str:
    marks = []
    for cid in ids:
        check = st.checks.get(cid)
        if check is None:
            marks.append("<td></td>")
            continue
        mark, cls = MARKS.get(check.status, ("?", "error"))
        marks.append(f'<td class="check-{cls}" title="{esc(check.status)}">{mark} {esc(num(check.score))}</td>')
    return (
        f'<tr class="student-row" data-student="{esc(st.student)}">'
        f'<td><a href="#{esc(anchor)}">{_who(st.student, st.name, _is_late(st))}'
        f'</a></td>{_marks_cells(st) if adjusted else ""}<td class="n score">{esc(num(st.score))}</td>'
        f'<td class="status status-{esc(st.status)}">{esc(st.status)}</td>{"".join(marks)}</tr>'
    )


def _overview(s: ClassSummary, anchors: list[str], failing: list[int], passing: list[int]) -> str:
    """Every student's marks, one row each: who needs attention first, then full marks."""
    ids = [c.id for c in s.checks]
    adjusted = any(st.adjusted for st in s.students)
    head = "".join(f'<th title="{esc(c.title)}"><code>{esc(c.id)}</code></th>' for c in s.checks)
    bodies = "".join(
        f'<tbody class="{cls}">'
        f"{''.join(_overview_row(s.students[i], ids, anchors[i], adjusted) for i in group)}</tbody>"
        for cls, group in (("needs-attention", failing), ("full-marks", passing))
        if group
    )
    marks_head = (
        '<th class="n">raw</th><th class="n">penalty</th><th class="n">override</th><th class="n">final</th>'
        if adjusted
        else '<th class="n">score</th>'
    )
    return (
        f'<table id="students" class="marks"><thead><tr><th>student</th>{marks_head}'
        f"<th>status</th>{head}</tr></thead>{bodies}</table>"
    )


def _marks_line(row: StudentRow) -> str:
    """How a student's final score was reached (raw, late penalty, overrides), and when the
    submission was made against which due date (grader batch --course)."""
    raw = row.score if row.raw is None else row.raw
    steps = [f"raw score {num(raw)}"]
    if row.late_note:
        steps.append(f"{row.late_note} ({num(-row.penalty)})" if row.penalty else row.late_note)
    steps += [f"override: {note}" for note in row.override_notes]
    steps.append(f"final {num(row.score)}")
    parts = [f'<p class="marks-line">{esc(" · ".join(steps))}</p>']
    when = [
        f"submitted {row.submitted_at}" if row.submitted_at else "",
        f"due {row.due}" if row.due else "",
        f"commit {row.commit[:12]}" if row.commit else "",
    ]
    if any(when):
        parts.append(f'<p class="meta timing">{esc(" · ".join(w for w in when if w))}</p>')
    return "".join(parts)


# ----------------------------------------------------------------------------- one student


def student_section(report: Report, anchor: str = "", heading: str = "h3", row: StudentRow | None = None) -> str:
    """One student's feedback as a <section>: who (name and id, late), score and status,
    the run's message, every check (result, points, feedback, where, diagnosis, the
    student's traceback, hint), warnings, what the submission printed, and the versions
    that graded it. Used for each student of report.html and for the one-student page
    (renderers/html.py). With `row` (the student's row of the class summary), the score is the
    final one, with how it was reached (raw, late penalty, overrides)."""
    ident = report.identity or Identity()
    score = report.score if row is None else row.score
    status = report.status.value
    checks = []
    for c in report.checks:
        check_status = c.status.value
        mark, cls = MARKS.get(check_status, ("?", "error"))
        label = check_status
        if c.diagnosis == NOT_RUN_ENVIRONMENT:  # the grading environment stopped the run, not the code
            mark, cls, label = "–", "skipped", "not run (environment)"
        body = [f'<div class="feedback">{esc(c.feedback)}</div>'] if c.feedback else []
        if c.location:
            body.append(f'<div class="where">where: <code>{esc(c.location)}</code></div>')
        if c.diagnosis and check_status in FAILED_CHECK:
            body.append(f"<div>diagnosis: <code>{esc(c.diagnosis)}</code></div>")
        if c.student_traceback:
            body.append(f'<pre class="traceback">{esc(chr(10).join(map(str, c.student_traceback)))}</pre>')
        if check_status != "passed" and c.hint:
            body.append(f'<div class="hint">hint: {esc(c.hint)}</div>')
        checks.append(
            f'<tr class="check" data-check="{esc(c.id)}">'
            f"<td>{esc(c.title)}<br><code>{esc(c.id)}</code></td>"
            f'<td class="check-{cls}">{mark} {esc(label)}</td>'
            f'<td class="n">{esc(num(c.score))} / {esc(num(c.max_score))}</td>'
            f"<td>{''.join(body)}</td></tr>"
        )
    warnings = "".join(f"<li>{esc(w)}</li>" for w in report.warnings or [])
    output = report.output or ""
    message = report.message or ("No submission was found for this student." if status == "missing" else "")
    id_attr = f' id="{esc(anchor)}"' if anchor else ""
    parts = [
        f'<section class="student {esc(status)}"{id_attr} data-student="{esc(report.submission)}">',
        f"<{heading}>{_who(report.submission, ident.name, ident.late or (row is not None and _is_late(row)))}</{heading}>",
        f'<p class="score"><span class="student-score">{esc(num(score))}</span> / '
        f'{esc(num(report.max_score))} · <span class="status-{esc(status)}">{esc(status)}</span></p>',
        *([_marks_line(row)] if row is not None and row.adjusted else []),
        f'<p class="message">{esc(message)}</p>',
    ]
    # A missing student has nothing graded: every check would only say "skipped".
    if checks and status != "missing":
        parts.append(
            '<table class="checks"><thead><tr><th>check</th><th>result</th><th class="n">points</th>'
            f"<th>feedback</th></tr></thead><tbody>{''.join(checks)}</tbody></table>"
        )
    if warnings:
        parts.append(f'<ul class="warnings">{warnings}</ul>')
    if output.strip():
        parts.append(
            f'<details><summary>what the submission printed</summary><pre class="output">{esc(output)}</pre></details>'
        )
    duration = report.duration_s
    meta = " · ".join(
        esc(x)
        for x in (
            f"graded {report.graded_at}" if report.graded_at else "",
            f"{num(duration)} s" if isinstance(duration, (int, float)) and not isinstance(duration, bool) else "",
            f"sandbox {report.sandbox}" if report.sandbox else "",
            f"grader {report.grader_version}" if report.grader_version else "",
            f"Django {report.django_version}" if report.django_version else "",
            f"Python {report.python_version}" if report.python_version else "",
        )
        if x
    )
    parts.append(f'<p class="meta versions">{meta}</p></section>')
    return "".join(parts)


def page(title: str, header: str, main: str) -> str:
    """A whole self-contained page: the CSP, the CSS, no script, no bidi control anywhere
    (every text is esc()'d already: this is the last guard)."""
    return safe.without_bidi(f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{CSP}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>{esc(title)}</title>
<style>{CSS}</style>
</head>
<body>
<header>
{header}
</header>
<main>
{main}
</main>
</body>
</html>
""")


def _sandbox_banner(s: ClassSummary) -> str:
    names = s.unsandboxed
    if not names:
        return ""
    shown = ", ".join(names[:10]) + (f" and {len(names) - 10} more" if len(names) > 10 else "")
    return (
        f'<p class="banner" role="alert"><strong>Graded without the sandbox:</strong> '
        f"{esc(len(names))} of {esc(s.count)} submissions ({esc(shown)}) ran without "
        "bubblewrap, so each could read and change whatever the grader could (the grader, "
        "other students' files and reports). Do not use these marks as grades: grade again "
        "on a machine with bubblewrap.</p>\n"
    )


def render(summary: ClassSummary | dict[str, Any], reports: list[Report]) -> str:
    """The whole page: summary, distribution, checks, diagnoses, then every student (who
    needs attention first; those with full marks folded in a <details>). (`summary` given as
    summary.json's dict is read with ClassSummary.from_dict.)"""
    s = ClassSummary.of(summary)
    # s.students[i] is made from reports[i].
    anchors = student_anchors([st.student for st in s.students])
    links: dict[str, str] = {}
    for st, anchor in zip(s.students, anchors):
        links.setdefault(st.student, anchor)
    failing, passing = display_order(s.students)
    title = f"Class report: {s.assignment}"
    statuses = ", ".join(f"{n} {k}" for k, n in s.by_status.items() if n)
    sections = "".join(student_section(reports[i], anchors[i], row=s.students[i]) for i in failing)
    if passing:
        sections += (
            f'<details class="group" id="full-marks-students"><summary>{len(passing)} '
            f"student{'' if len(passing) == 1 else 's'} with full marks</summary>"
            f"{''.join(student_section(reports[i], anchors[i], row=s.students[i]) for i in passing)}</details>"
        )
    header = f"""<h1>{esc(title)}</h1>
{_sandbox_banner(s)}<p class="meta">{esc(s.count)} students · {esc(statuses)} · maximum {esc(num(s.max_score))} points ·
generated {esc(s.generated_at)} · grader {esc(", ".join(s.grader_versions))}</p>"""
    main = f"""<h2 id="summary">Summary</h2>
{_summary_cards(s)}
<figure>
{_chart(s.distribution, s.max_score)}
<figcaption>Score distribution: how many students earned each score (bars, left to right, from 0 to
{esc(num(s.max_score))} points).</figcaption>
</figure>
<h2 id="pass-rates">Pass rate per check</h2>
{_checks_table(s)}
<h2 id="common-diagnoses">Most common diagnoses</h2>
<p class="meta">The named mistakes behind failed checks, by number of students.</p>
{_diagnoses(s, links)}
<h2 id="all-students">Students</h2>
<p class="meta">{len(failing)} need{"s" if len(failing) == 1 else ""} attention (lowest score first), \
{len(passing)} with full marks (folded below them).</p>
{_overview(s, anchors, failing, passing)}
{sections}"""
    return page(title, header, main)


# ----------------------------------------------------------------------------- a lesson


def _lesson_cards(s: LessonSummary) -> str:
    def stat(value: float | None) -> str:
        return num(value) if value is not None else "–"

    cards = [
        ("count", "Students", str(s.count)),
        ("assignments", "Assignments", str(len(s.assignments))),
        ("mean", "Mean total", f"{stat(s.mean)} / {num(s.max_score)}" if s.mean is not None else "–"),
        ("median", "Median", stat(s.median)),
        ("min", "Lowest", stat(s.min)),
        ("max", "Highest", stat(s.max)),
        ("full-marks", "Full marks", str(s.full_marks)),
        ("incomplete", "Missing a report", str(s.incomplete)),
    ]
    items = "".join(
        f'<div class="card"><dt>{esc(label)}</dt><dd id="stat-{key}">{esc(value)}</dd></div>'
        for key, label, value in cards
    )
    return f'<dl class="cards">{items}</dl>'


def _href(path: str, fragment: str = "") -> str:
    """A link to a file given relative to the page, with an optional #fragment."""
    return quote(path, safe="/") + (f"#{fragment}" if fragment else "")


def _assignments_table(s: LessonSummary) -> str:
    rows = []
    for a in s.assignments:
        name = f"<code>{esc(a.assignment)}</code>"
        if a.report:
            name = f'<a href="{esc(_href(a.report))}">{name}</a>'
        by = a.by_status
        not_graded = sum(by.get(k, 0) for k in ("error", "timeout", "tampered"))
        missing = by.get("missing", 0) + a.no_report
        rows.append(
            f'<tr class="assignment-row" data-assignment="{esc(a.assignment)}"><td>{name}</td>'
            f'<td class="n points">{esc(num(a.max_score))}</td><td class="n reports">{a.count}</td>'
            f'<td class="n mean">{esc(num(a.mean)) if a.mean is not None else "–"}</td>'
            f'<td class="n full-marks">{a.full_marks}</td><td class="n not-graded">{not_graded}</td>'
            f'<td class="n missing">{missing}</td></tr>'
        )
    return (
        '<table id="assignments"><thead><tr><th>assignment</th><th class="n">points</th>'
        '<th class="n">reports</th><th class="n">mean</th><th class="n">full marks</th>'
        '<th class="n" title="error, timeout or tampered">not graded</th>'
        '<th class="n" title="no report in its folder, or nothing submitted">missing</th></tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table>"
    )


def _lesson_cell(a: LessonAssignment, cell: LessonCell | None, links: dict[str, str], student: str) -> str:
    name = esc(a.assignment)
    if cell is None:
        return (
            f'<td class="n mark status-missing no-report" data-assignment="{name}" '
            f'title="no report in this assignment\'s folder">–</td>'
        )
    score = esc(num(cell.score))
    if a.report and student in links:
        score = f'<a href="{esc(_href(a.report, links[student]))}">{score}</a>'
    status = cell.status
    label = "" if status == "graded" else f' <span class="status-{esc(status)}">{esc(status)}</span>'
    late = '<span class="late" title="submitted after the deadline">late</span>' if cell.late else ""
    title = status
    if cell.adjusted:
        raw = cell.score if cell.raw is None else cell.raw
        title = f"{status}; raw {num(raw)}, penalty {num(cell.penalty)}, override {num(cell.override)}"
        if cell.late_note:
            title += f"; {cell.late_note}"
        if cell.penalty and not cell.late:
            late = f'<span class="late" title="{esc(cell.late_note)}">late</span>'
    return (
        f'<td class="n mark status-{esc(status)}" data-assignment="{name}" title="{esc(title)}">'
        f"{score}{label}{late}</td>"
    )


def render_lesson(lesson: LessonSummary | dict[str, Any], anchors: dict[str, dict[str, str]] | None = None) -> str:
    """The page of a lesson (gradebook.summarize_lesson's; a dict as its summary.json holds
    is read with LessonSummary.from_dict): the lesson's summary,
    per assignment its points, mean, full marks and who is missing, then every student's
    score and status in each assignment and their total. A score links to the student's
    section of that assignment's report.html. `anchors`: per assignment, each student's
    anchor in its report.html (by default those report.html gives them, from the lesson's
    students)."""
    s = LessonSummary.of(lesson)
    names = [a.assignment for a in s.assignments]
    if anchors is None:
        # report.html of an assignment names its sections from its own students, sorted as
        # its summary.json lists them (by student id), which the lesson keeps.
        anchors = {}
        for name in names:
            ids = [st.student for st in s.students if st.assignments[name] is not None]
            anchors[name] = {}
            for sid, anchor in zip(ids, student_anchors(ids)):
                anchors[name].setdefault(sid, anchor)
    order = sorted(range(len(s.students)), key=lambda i: (_natural(s.students[i].student), s.students[i].student))
    own = student_anchors([st.student for st in s.students])
    rows = []
    for i in order:
        st = s.students[i]
        cells = "".join(
            _lesson_cell(a, st.assignments[a.assignment], anchors.get(a.assignment, {}), st.student)
            for a in s.assignments
        )
        rows.append(
            f'<tr class="student-row" id="{esc(own[i])}" data-student="{esc(st.student)}">'
            f"<td>{esc(student_label(st.student, st.name))}</td>{cells}"
            f'<td class="n total">{esc(num(st.total))} / {esc(num(st.max_score))}</td></tr>'
        )
    head = "".join(f'<th class="n"><code>{esc(name)}</code></th>' for name in names)
    title = f"Lesson report: {', '.join(names)}"
    unsandboxed = [
        f"{a.assignment}: {', '.join(a.unsandboxed[:10])}"
        + (f" and {len(a.unsandboxed) - 10} more" if len(a.unsandboxed) > 10 else "")
        for a in s.assignments
        if a.unsandboxed
    ]
    banner = (
        (
            f'<p class="banner" role="alert"><strong>Graded without the sandbox:</strong> '
            f"{esc('; '.join(unsandboxed))}. These submissions ran without bubblewrap, so each could "
            "read and change whatever the grader could. Do not use these marks as grades: grade "
            "again on a machine with bubblewrap.</p>\n"
        )
        if unsandboxed
        else ""
    )
    header = f"""<h1>{esc(title)}</h1>
{banner}<p class="meta">{esc(s.count)} students · {len(names)} assignments · \
maximum {esc(num(s.max_score))} points ·
generated {esc(s.generated_at)}</p>"""
    main = f"""<h2 id="summary">Summary</h2>
{_lesson_cards(s)}
<p class="meta">A student's total sums the points of the assignments they have a report in: an assignment
whose folder holds no report of theirs shows an empty cell (–), adds nothing and counts as missing.</p>
<h2 id="per-assignment">Assignments</h2>
{_assignments_table(s)}
<h2 id="all-students">Students</h2>
<table id="students" class="marks"><thead><tr><th>student</th>{head}<th class="n">total</th></tr></thead>
<tbody>{"".join(rows)}</tbody></table>"""
    return page(title, header, main)
