"""Stage 4: render a Report. Each format is a module whose render(Report) -> str makes it."""

from __future__ import annotations

import importlib
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

from grader.model import Report, Withheld

Renderer = Callable[..., str]

# name -> (module whose render() makes it, file extension). Modules are imported only
# when their format is asked for: a grading run renders JSON and nothing else.
FORMATS: dict[str, tuple[str, str]] = {
    "json": ("grader.renderers.json_report", ".json"),
    "markdown": ("grader.renderers.markdown", ".md"),
    "junit": ("grader.renderers.junit", ".junit.xml"),
    "gradescope": ("grader.renderers.gradescope", ".gradescope.json"),
    "table": ("grader.renderers.table", ".txt"),
    "html": ("grader.renderers.html", ".html"),
    "classroom": ("grader.renderers.classroom", ".classroom.json"),
}
RENDERERS = tuple(FORMATS)
EXTENSIONS = {name: ext for name, (_, ext) in FORMATS.items()}


def renderer(name: str) -> Renderer:
    return importlib.import_module(FORMATS[name][0]).render


def render(name: str, report: Report, **options) -> str:
    """`report` in the format `name`. markdown, html and classroom take ``released`` (feedback
    for a student: see renderers/visibility.py); the other formats take no options."""
    return renderer(name)(report, **options)


def withheld_sentence(withheld: Withheld) -> str:
    """What a students' grader says of every score it gives: the checks it does not hold are
    graded after submission, so this score is not the grade."""
    n, points = withheld.checks, withheld.points
    return (
        f"{n} hidden check{'s' if n != 1 else ''} ({points:g} point{'s' if points != 1 else ''}) "
        f"{'are' if n != 1 else 'is'} graded after you submit: this score is not your grade."
    )


def timing_sentence(report: Report, partial: bool = False) -> str:
    """When it was submitted against the due date, and what lateness cost (a batch with
    --course): for the student's feedback. `partial`: the score shown leaves out checks not
    released yet, so only the points off are said. An instructor's override is the
    gradebook's, not the report's, and is not said here."""
    t = report.timing
    if t is None:
        return ""
    when = f"Submitted {t.submitted_at or 'at an unknown time'}" + (f", due {t.due}" if t.due else "")
    if not t.accepted:
        return f"{when}: {t.note or 'late work is not accepted'}; this submission earns 0 points."
    if t.penalty and partial:
        return f"{when}: {t.note or 'late'} ({t.penalty:g} points off your total)."
    if t.penalty:
        final = max(0.0, report.score - t.penalty)
        return (
            f"{when}: {t.note or 'late'}. {report.score:g} points − {t.penalty:g} for lateness = "
            f"{final:g} / {report.max_score:g}."
        )
    return f"{when}: on time."


def _umask() -> int:
    """This process's umask, read without changing it where Linux allows (/proc), so that
    no thread ever sees a umask of 0."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def write_atomic(path: Path, content: str | bytes) -> None:
    """Write via a temporary file and rename: readers never see half a report. The file gets
    the permissions any new file of this user gets (0666 less the umask), not mkstemp's 0600."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # (the temporary name holds at most 100 bytes of the file's, so that it is never too long)
    fd, tmp = tempfile.mkstemp(
        dir=path.parent, prefix=os.fsdecode(b"." + os.fsencode(path.name)[:100] + b"."), suffix=".tmp"
    )
    try:
        os.fchmod(fd, 0o666 & ~_umask())
        if isinstance(content, bytes):
            with os.fdopen(fd, "wb") as fh:
                fh.write(content)
                fh.flush()
                os.fsync(fh.fileno())
        else:
            # errors="replace": a lone surrogate in a student's text must not cost the report
            with os.fdopen(fd, "w", encoding="utf-8", errors="replace") as fh:
                fh.write(content)
                fh.flush()
                os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
