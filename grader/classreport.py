"""report.html: the instructor's view of a batch, as one self-contained file.

No script, no network: inline CSS, the chart as inline SVG, and a
Content-Security-Policy that forbids everything else, so even a mistake in
escaping could not run code from a student. Every piece of text that comes
from a report (student ids, feedback, tracebacks, output: all of it can be
chosen by a student) goes through :func:`esc`.
"""
from __future__ import annotations

import html
import re
from typing import Any

from grader.gradebook import FAILED_CHECK, STATUSES, num

CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'"
TOP_DIAGNOSES = 10
# Characters HTML does not allow in text (besides tab, newline, carriage return).
_BAD_CHARS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufdd0-\ufdef\ufffe\uffff]")

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
.student { border: 1px solid var(--line); border-radius: 8px; padding: 12px 16px; margin: 16px 0; }
.student .score { font-size: 1.1em; font-weight: 600; margin: 0 0 6px; }
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

MARKS = {"passed": ("✓", "passed"), "failed": ("✗", "failed"), "error": ("!", "error"),
         "skipped": ("–", "skipped")}


def esc(value: Any) -> str:
    """HTML-escape text (quotes too, so it is safe in attributes) and drop characters
    HTML does not allow."""
    return html.escape(_BAD_CHARS.sub("\ufffd", str(value)), quote=True)


def _pct(rate: float | None) -> str:
    return "–" if rate is None else f"{num(rate * 100)}%"


def _chart(distribution: list[dict[str, Any]], max_score: float) -> str:
    """The score distribution as an inline SVG bar chart (one bar per bin)."""
    width, height = 760, 280
    left, right, top, bottom = 48, 16, 24, 48
    plot_w, plot_h = width - left - right, height - top - bottom
    peak = max((b["count"] for b in distribution), default=0)
    scale_top = max(peak, 1)
    slot = plot_w / max(len(distribution), 1)
    bar_w = slot * 0.78
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" id="distribution-chart" role="img" '
             f'aria-labelledby="chart-title" viewBox="0 0 {width} {height}" width="{width}" height="{height}">',
             '<title id="chart-title">Number of students per score</title>']
    # Horizontal grid lines with their counts.
    steps = sorted({0, scale_top, *(round(scale_top * k / 4) for k in (1, 2, 3))})
    for value in steps:
        y = top + plot_h - plot_h * value / scale_top
        parts.append(f'<line x1="{left}" y1="{y:.1f}" x2="{width - right}" y2="{y:.1f}" '
                     'stroke="#d1d9e0" stroke-width="1"/>')
        parts.append(f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">{value}</text>')
    for i, b in enumerate(distribution):
        h = plot_h * b["count"] / scale_top
        x = left + i * slot + (slot - bar_w) / 2
        y = top + plot_h - h
        position = (b["from"] / max_score) if max_score else 1.0
        hue = round(120 * min(max(position, 0.0), 1.0))
        parts.append(f'<rect class="bar" data-label="{esc(b["label"])}" data-count="{b["count"]}" '
                     f'x="{x:.1f}" y="{y:.1f}" width="{bar_w:.1f}" height="{h:.1f}" '
                     f'fill="hsl({hue}, 60%, 45%)"><title>{esc(b["label"])} points: '
                     f'{b["count"]} student{"" if b["count"] == 1 else "s"}</title></rect>')
        cx = x + bar_w / 2
        if b["count"]:
            parts.append(f'<text x="{cx:.1f}" y="{y - 5:.1f}" text-anchor="middle">{b["count"]}</text>')
        parts.append(f'<text x="{cx:.1f}" y="{top + plot_h + 16}" text-anchor="middle">{esc(b["label"])}</text>')
    parts.append(f'<line x1="{left}" y1="{top + plot_h}" x2="{width - right}" y2="{top + plot_h}" '
                 'stroke="#59636e" stroke-width="1"/>')
    parts.append(f'<text x="{left + plot_w / 2:.1f}" y="{height - 8}" text-anchor="middle">points</text>')
    parts.append(f'<text x="14" y="{top + plot_h / 2:.1f}" text-anchor="middle" '
                 f'transform="rotate(-90 14 {top + plot_h / 2:.1f})">students</text>')
    parts.append("</svg>")
    return "".join(parts)


def _summary_cards(s: dict[str, Any]) -> str:
    cards = [("count", "Students", str(s["count"])),
             ("mean", "Mean", f'{num(s["mean"])} / {num(s["max_score"])}' if s["mean"] is not None else "–"),
             ("median", "Median", num(s["median"]) if s["median"] is not None else "–"),
             ("min", "Lowest", num(s["min"]) if s["min"] is not None else "–"),
             ("max", "Highest", num(s["max"]) if s["max"] is not None else "–"),
             ("full-marks", "Full marks", str(s["full_marks"]))]
    cards += [(f"status-{status}", status.capitalize(), str(s["by_status"].get(status, 0)))
              for status in STATUSES]
    items = "".join(f'<div class="card"><dt>{esc(label)}</dt><dd id="stat-{key}">{esc(value)}</dd></div>'
                    for key, label, value in cards)
    return f'<dl class="cards">{items}</dl>'


def _checks_table(s: dict[str, Any]) -> str:
    rows = []
    for c in s["checks"]:
        rate = c["pass_rate"] or 0.0
        rows.append(
            f'<tr id="check-{esc(c["id"])}"><td>{esc(c["title"])}<br><code>{esc(c["id"])}</code></td>'
            f'<td class="n">{esc(num(c["max_score"]))}</td><td class="n passed">{c["passed"]}</td>'
            f'<td class="n">{c["failed"]}</td><td class="n">{c["error"]}</td><td class="n">{c["skipped"]}</td>'
            f'<td><div class="rate"><span class="pass-rate">{esc(_pct(c["pass_rate"]))}</span>'
            f'<div class="bar"><div class="fill" style="width: {rate * 100:.1f}%"></div></div></div></td></tr>')
    return ('<table id="checks"><thead><tr><th>check</th><th class="n">points</th><th class="n">passed</th>'
            '<th class="n">failed</th><th class="n">error</th><th class="n">skipped</th><th>pass rate</th>'
            f'</tr></thead><tbody>{"".join(rows)}</tbody></table>')


def _diagnoses(s: dict[str, Any], anchors: dict[str, str]) -> str:
    if not s["diagnoses"]:
        return '<p id="no-diagnoses">No failed check carries a diagnosis.</p>'
    titles = {c["id"]: c["title"] for c in s["checks"]}
    rows = []
    for d in s["diagnoses"][:TOP_DIAGNOSES]:
        checks = ", ".join(f'<code>{esc(c)}</code>' for c in d["checks"])
        who = ", ".join(f'<a href="#{anchors[name]}">{esc(name)}</a>' if name in anchors else esc(name)
                        for name in d["students"])
        rows.append(f'<tr data-diagnosis="{esc(d["diagnosis"])}"><td><code>{esc(d["diagnosis"])}</code></td>'
                    f'<td class="n count">{d["count"]}</td><td class="n">{esc(_pct(d["share"]))}</td>'
                    f'<td>{checks}<br><span class="hint">'
                    f'{esc("; ".join(titles.get(c, c) for c in d["checks"]))}</span></td><td>{who}</td></tr>')
    more = len(s["diagnoses"]) - TOP_DIAGNOSES
    note = f'<p class="meta">… and {more} less common diagnoses (see summary.json).</p>' if more > 0 else ""
    return ('<table id="diagnoses"><thead><tr><th>diagnosis</th><th class="n">students</th>'
            '<th class="n">share</th><th>in checks</th><th>who</th></tr></thead>'
            f'<tbody>{"".join(rows)}</tbody></table>{note}')


def _overview(s: dict[str, Any]) -> str:
    ids = [c["id"] for c in s["checks"]]
    head = "".join(f'<th title="{esc(c["title"])}"><code>{esc(c["id"])}</code></th>' for c in s["checks"])
    rows = []
    for i, st in enumerate(s["students"], 1):
        marks = []
        for cid in ids:
            check = st["checks"].get(cid)
            if check is None:
                marks.append("<td></td>")
                continue
            mark, cls = MARKS.get(check["status"], ("?", "error"))
            marks.append(f'<td class="check-{cls}" title="{esc(check["status"])}">{mark} '
                         f'{esc(num(check["score"]))}</td>')
        rows.append(f'<tr class="student-row" data-student="{esc(st["student"])}">'
                    f'<td><a href="#s-{i}">{esc(st["student"])}</a></td>'
                    f'<td class="n score">{esc(num(st["score"]))}</td>'
                    f'<td class="status status-{esc(st["status"])}">{esc(st["status"])}</td>{"".join(marks)}</tr>')
    return ('<table id="students" class="marks"><thead><tr><th>student</th><th class="n">score</th>'
            f'<th>status</th>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table>')


def _student(report: dict[str, Any], anchor: str) -> str:
    checks = []
    for c in report.get("checks", []):
        status = str(c.get("status", ""))
        mark, cls = MARKS.get(status, ("?", "error"))
        body = [f'<div class="feedback">{esc(c.get("feedback", ""))}</div>'] if c.get("feedback") else []
        if c.get("location"):
            body.append(f'<div class="where">where: <code>{esc(c["location"])}</code></div>')
        if c.get("diagnosis") and status in FAILED_CHECK:
            body.append(f'<div>diagnosis: <code>{esc(c["diagnosis"])}</code></div>')
        if c.get("student_traceback"):
            body.append(f'<pre class="traceback">{esc(chr(10).join(map(str, c["student_traceback"])))}</pre>')
        if status != "passed" and c.get("hint"):
            body.append(f'<div class="hint">hint: {esc(c["hint"])}</div>')
        checks.append(f'<tr><td>{esc(c.get("title", ""))}<br><code>{esc(c.get("id", ""))}</code></td>'
                      f'<td class="check-{cls}">{mark} {esc(status)}</td>'
                      f'<td class="n">{esc(num(c.get("score", 0)))} / {esc(num(c.get("max_score", 0)))}</td>'
                      f'<td>{"".join(body)}</td></tr>')
    warnings = "".join(f"<li>{esc(w)}</li>" for w in report.get("warnings", []) or [])
    output = report.get("output") or ""
    parts = [
        f'<section class="student" id="{anchor}" data-student="{esc(report["submission"])}">',
        f'<h3>{esc(report["submission"])}</h3>',
        f'<p class="score"><span class="student-score">{esc(num(report["score"]))}</span> / '
        f'{esc(num(report["max_score"]))} · <span class="status-{esc(report["status"])}">'
        f'{esc(report["status"])}</span></p>',
        f'<p class="message">{esc(report.get("message", ""))}</p>',
        '<table><thead><tr><th>check</th><th>result</th><th class="n">points</th><th>feedback</th>'
        f'</tr></thead><tbody>{"".join(checks)}</tbody></table>',
    ]
    if warnings:
        parts.append(f'<ul class="warnings">{warnings}</ul>')
    if output.strip():
        parts.append(f'<details><summary>what the submission printed</summary><pre class="output">'
                     f'{esc(output)}</pre></details>')
    meta = " · ".join(esc(x) for x in (
        f'graded {report.get("graded_at", "")}', f'{report.get("duration_s", "")} s',
        f'sandbox {report.get("sandbox", "")}', f'grader {report.get("grader_version", "")}') if x)
    parts.append(f'<p class="meta">{meta}</p></section>')
    return "".join(parts)


def _sandbox_banner(s: dict[str, Any]) -> str:
    names = s.get("unsandboxed") or []
    if not names:
        return ""
    shown = ", ".join(names[:10]) + (f" and {len(names) - 10} more" if len(names) > 10 else "")
    return (f'<p class="banner" role="alert"><strong>Graded without the sandbox:</strong> '
            f"{esc(len(names))} of {esc(s['count'])} submissions ({esc(shown)}) ran without "
            "bubblewrap, so each could read and change whatever the grader could (the grader, "
            "other students' files and reports). Do not use these marks as grades: grade again "
            "on a machine with bubblewrap.</p>\n")


def render(summary: dict[str, Any], reports: list[dict[str, Any]]) -> str:
    """The whole page: summary, distribution, checks, diagnoses, then every student."""
    s = summary
    # Section i belongs to summary["students"][i - 1], which is reports[i - 1].
    anchors: dict[str, str] = {}
    for i, st in enumerate(s["students"], 1):
        anchors.setdefault(st["student"], f"s-{i}")
    title = f"Class report: {s['assignment']}"
    statuses = ", ".join(f"{n} {k}" for k, n in s["by_status"].items() if n)
    students = "".join(_student(r, f"s-{i}") for i, r in enumerate(reports, 1))
    return f"""<!DOCTYPE html>
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
<h1>{esc(title)}</h1>
{_sandbox_banner(s)}<p class="meta">{esc(s["count"])} students · {esc(statuses)} · maximum {esc(num(s["max_score"]))} points ·
generated {esc(s["generated_at"])} · grader {esc(", ".join(s["grader_versions"]))}</p>
</header>
<main>
<h2 id="summary">Summary</h2>
{_summary_cards(s)}
<figure>
{_chart(s["distribution"], s["max_score"])}
<figcaption>Score distribution: how many students earned each score (bars, left to right, from 0 to
{esc(num(s["max_score"]))} points).</figcaption>
</figure>
<h2 id="pass-rates">Pass rate per check</h2>
{_checks_table(s)}
<h2 id="common-diagnoses">Most common diagnoses</h2>
<p class="meta">The named mistakes behind failed checks, by number of students.</p>
{_diagnoses(s, anchors)}
<h2 id="all-students">Students</h2>
{_overview(s)}
{students}
</main>
</body>
</html>
"""
