"""What the instructor sees while a batch runs: one line per submission in a log, or a
progress bar on a terminal."""

from __future__ import annotations

import sys
import time
from typing import Any

from grader import gradebook
from grader.batch.names import printable
from grader.batch.sources import Submission


class PlainDisplay:
    """One line per finished submission, for logs and CI (stderr is not a terminal)."""

    def __init__(self, stream=None):
        self.stream = stream or sys.stderr
        self.total = self.done = self.failed = 0
        self.started = time.monotonic()

    def note(self, text: str) -> None:
        print(f"grader: {printable(text)}", file=self.stream, flush=True)

    def start(self, total: int) -> None:
        self.total, self.started = total, time.monotonic()

    def finished(self, sub: Submission, outcome: dict[str, Any] | None, failed: bool) -> None:
        self.done += 1
        self.failed += failed
        result = (
            f"{outcome['status']} {gradebook.num(outcome['score'])}/{gradebook.num(outcome['max_score'])}"
            if outcome
            else "no report"
        )
        elapsed = time.monotonic() - self.started
        left = elapsed / self.done * (self.total - self.done)
        eta = f", about {left:.0f} s left" if self.done < self.total else ""
        print(
            f"[{self.done}/{self.total}] {printable(sub.student)}: {result} ({self.failed} failed{eta})",
            file=self.stream,
            flush=True,
        )

    def close(self) -> None:
        pass


class RichDisplay(PlainDisplay):
    """A progress bar on the terminal: done/total, failures, time elapsed and left."""

    def __init__(self, stream=None, force_terminal: bool | None = None):
        super().__init__(stream)
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            SpinnerColumn,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        self.console = Console(file=self.stream, force_terminal=force_terminal)
        self.progress = Progress(
            SpinnerColumn(),
            TextColumn("[bold]grading"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("[red]{task.fields[failed]} failed"),
            TextColumn("•"),
            TimeElapsedColumn(),
            TextColumn("• left"),
            TimeRemainingColumn(),
            console=self.console,
        )
        self.task: Any = None  # rich.progress.TaskID once started

    def note(self, text: str) -> None:
        from rich.text import Text

        self.console.print(Text(f"grader: {printable(text)}"))

    def start(self, total: int) -> None:
        super().start(total)
        self.task = self.progress.add_task("grading", total=total, failed=0)
        self.progress.start()

    def finished(self, sub: Submission, outcome: dict[str, Any] | None, failed: bool) -> None:
        from rich.text import Text

        self.done += 1
        self.failed += failed
        if failed:
            result = (
                f"{outcome['status']} {gradebook.num(outcome['score'])}/{gradebook.num(outcome['max_score'])}"
                if outcome
                else "no report"
            )
            self.progress.console.print(Text(f"{printable(sub.student)}: {result}", style="red"))
        self.progress.update(self.task, advance=1, failed=self.failed)

    def close(self) -> None:
        self.progress.stop()


def make_display(stream=None):
    stream = stream or sys.stderr
    try:
        tty = stream.isatty()
    except (AttributeError, ValueError):
        tty = False
    return RichDisplay(stream) if tty else PlainDisplay(stream)
