"""A readable terminal table (rich), in colour where the terminal supports it.

Laid out for the width it is printed at (80 columns in most CI logs): text wraps between
words, and the check column is as wide as its longest word (a check id such as
``receiver-registered-in-ready``), so that only a token longer than its whole column (a long
path, a long line of code) is ever folded.
"""

from __future__ import annotations

import io

from grader.model import NOT_RUN_ENVIRONMENT, CheckStatus, Report, RunStatus
from grader.renderers import withheld_sentence
from grader.renderers.safe import terminal

STYLE = {
    CheckStatus.PASSED: "green",
    CheckStatus.FAILED: "red",
    CheckStatus.ERROR: "red",
    CheckStatus.SKIPPED: "yellow",
}
MARK = {CheckStatus.PASSED: "PASS", CheckStatus.FAILED: "FAIL", CheckStatus.ERROR: "ERROR", CheckStatus.SKIPPED: "SKIP"}
NOT_RUN_ENV = "NOT RUN (environment)"  # a check the grading environment stopped, not the code


def mark(check) -> str:
    return NOT_RUN_ENV if check.diagnosis == NOT_RUN_ENVIRONMENT else MARK[check.status]


TRACEBACK_INDENT = 2
# The table's frame: 4 vertical lines, and one space either side of each of the 3 columns.
FRAME = 4 + 3 * 2


def _longest_word(texts: list[str]) -> int:
    from rich.cells import cell_len

    return max((cell_len(word) for text in texts for word in text.split()), default=0)


class ChecksTable:
    """The checks of a report as a rich Table whose columns are sized, when printed, for the
    console's width: check (title and id), result (mark and points), feedback (feedback,
    where, the student's traceback, hint)."""

    def __init__(self, report: Report):
        self.report = report

    def widths(self, width: int) -> tuple[int, int, int]:
        """Text widths of the check, result and feedback columns for a table `width` wide:
        the check column fits its longest word (and takes a quarter of the room when there
        is more), but never more than half of the room the result column leaves."""
        checks = self.report.checks
        result = max(len("result"), _longest_word([f"{mark(c)} {c.score:g}/{c.max_score:g}" for c in checks]))
        room = max(width - FRAME - result, 2)
        longest = _longest_word(["check"] + [terminal(f"{c.title} {c.id}") for c in checks])
        check = min(max(longest, room // 4), room // 2)
        return check, result, room - check

    def build(self, width: int):
        from rich.console import Group
        from rich.padding import Padding
        from rich.table import Table
        from rich.text import Text

        check_w, result_w, feedback_w = self.widths(width)
        # Text objects throughout: nothing from a report is read as rich markup, and terminal()
        # keeps escape sequences from reaching the instructor's terminal. overflow="fold" only
        # cuts a word longer than its whole column: rich wraps everything else between words.
        table = Table(
            title=Text(terminal(f"{self.report.assignment}: {self.report.submission}", False)), show_lines=True
        )
        table.add_column("check", width=check_w, overflow="fold")
        table.add_column("result", width=result_w, overflow="fold")
        table.add_column("feedback", width=feedback_w, overflow="fold")
        for c in self.report.checks:
            feedback: list[Text | Padding] = []
            if c.feedback:
                feedback.append(Text(terminal(c.feedback)))
            if c.location:
                feedback.append(Text(f"where: {terminal(c.location)}", style="bold"))
            if c.student_traceback:
                # Indented by padding, not spaces: wrapped lines keep the indent, and the first
                # word of a line is no longer than it is.
                frames = Text("\n".join(terminal(line).strip() for line in c.student_traceback), style="dim")
                feedback.append(Padding(frames, (0, 0, 0, TRACEBACK_INDENT)))
            if c.status != CheckStatus.PASSED and c.hint:
                feedback.append(Text("hint: " + terminal(c.hint), style="cyan"))
            result = Text(mark(c), style=STYLE[c.status])
            result.append(f"\n{c.score:g}/{c.max_score:g}", style="default")
            seen_by = f" ({c.visibility})" if c.visibility != "public" else ""
            table.add_row(Text(terminal(c.title + "\n" + c.id + seen_by), style="bold"), result, Group(*feedback))
        return table

    def __rich_console__(self, console, options):
        yield self.build(options.max_width)


def build(report: Report) -> list:
    from rich.text import Text

    colour = "green" if report.score == report.max_score and report.status == RunStatus.GRADED else "red"
    public_only = " (public checks only)" if report.withheld is not None else ""
    summary = Text(
        f"Score: {report.score:g} / {report.max_score:g}{public_only}   status: {report.status.value}",
        style=f"bold {colour}",
    )
    parts = [ChecksTable(report), summary]
    message = report.message
    if report.withheld is not None:  # a students' grader: never pretend this score is the grade
        sentence = withheld_sentence(report.withheld)
        parts.append(Text(sentence, style="bold yellow"))
        message = message.replace(sentence, "").strip()
    if report.sandbox != "bwrap":
        parts.insert(
            0,
            Text(
                "NOT SANDBOXED: this submission ran without bubblewrap, with the grading "
                "user's rights (see the warnings). Grade for marks where bubblewrap works.",
                style="bold red",
            ),
        )
    if message and (report.status != RunStatus.GRADED or report.score < report.max_score):
        parts.append(Text(terminal(message)))
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
