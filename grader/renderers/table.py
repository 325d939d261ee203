"""A readable terminal table (rich), in colour where the terminal supports it."""
from __future__ import annotations

import io

from grader.model import CheckStatus, Report, RunStatus
from grader.renderers.safe import terminal

STYLE = {CheckStatus.PASSED: "green", CheckStatus.FAILED: "red",
         CheckStatus.ERROR: "red", CheckStatus.SKIPPED: "yellow"}
MARK = {CheckStatus.PASSED: "PASS", CheckStatus.FAILED: "FAIL",
        CheckStatus.ERROR: "ERROR", CheckStatus.SKIPPED: "SKIP"}


def build(report: Report) -> list:
    from rich.table import Table
    from rich.text import Text

    # Text objects throughout: nothing from a report is read as rich markup, and terminal()
    # keeps escape sequences from reaching the instructor's terminal.
    table = Table(title=Text(terminal(f"{report.assignment}: {report.submission}", False)),
                  show_lines=True, expand=True)
    table.add_column("check", ratio=1, min_width=22, overflow="fold")
    table.add_column("result", no_wrap=True)
    table.add_column("points", justify="right", no_wrap=True)
    table.add_column("feedback", overflow="fold", ratio=3)
    for c in report.checks:
        feedback = Text(terminal(c.feedback))
        if c.location:
            feedback.append(f"\nwhere: {terminal(c.location)}", style="bold")
        for line in c.student_traceback:
            feedback.append("\n  " + terminal(line), style="dim")
        if c.status != CheckStatus.PASSED and c.hint:
            feedback.append("\nhint: " + terminal(c.hint), style="cyan")
        table.add_row(Text(terminal(c.title + "\n" + c.id), style="bold"),
                      Text(MARK[c.status], style=STYLE[c.status]),
                      f"{c.score:g}/{c.max_score:g}", feedback)
    colour = "green" if report.score == report.max_score and report.status == RunStatus.GRADED else "red"
    summary = Text(f"Score: {report.score:g} / {report.max_score:g}   status: {report.status.value}",
                   style=f"bold {colour}")
    parts = [table, summary]
    if report.sandbox != "bwrap":
        parts.insert(0, Text("NOT SANDBOXED: this submission ran without bubblewrap, with the grading "
                             "user's rights (see the warnings). Grade for marks where bubblewrap works.",
                             style="bold red"))
    if report.status != RunStatus.GRADED or report.score < report.max_score:
        parts.append(Text(terminal(report.message)))
    for warning in report.warnings:
        parts.append(Text("warning: " + terminal(warning), style="yellow"))
    return parts


def print_table(report: Report, console=None) -> None:
    from rich.console import Console

    console = console or Console()
    for part in build(report):
        console.print(part)


def render(report: Report) -> str:
    from rich.console import Console

    buf = io.StringIO()
    print_table(report, Console(file=buf, width=120, color_system=None))
    return buf.getvalue()
