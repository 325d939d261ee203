"""Stage 4: render a Report. Each format is a module whose render(Report) -> str makes it."""
from __future__ import annotations

import importlib
import os
import tempfile
from pathlib import Path
from typing import Callable

from grader.model import Report

Renderer = Callable[[Report], str]

# name -> (module whose render() makes it, file extension). Modules are imported only
# when their format is asked for: a grading run renders JSON and nothing else.
FORMATS: dict[str, tuple[str, str]] = {
    "json": ("grader.renderers.json_report", ".json"),
    "markdown": ("grader.renderers.markdown", ".md"),
    "junit": ("grader.renderers.junit", ".junit.xml"),
    "gradescope": ("grader.renderers.gradescope", ".gradescope.json"),
    "table": ("grader.renderers.table", ".txt"),
    "html": ("grader.renderers.html", ".html"),
}
RENDERERS = tuple(FORMATS)
EXTENSIONS = {name: ext for name, (_, ext) in FORMATS.items()}


def renderer(name: str) -> Renderer:
    return importlib.import_module(FORMATS[name][0]).render


def render(name: str, report: Report) -> str:
    return renderer(name)(report)


def write_atomic(path: Path, text: str) -> None:
    """Write via a temporary file and rename: readers never see half a report."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        # errors="replace": a lone surrogate in a student's text must not cost the report
        with os.fdopen(fd, "w", encoding="utf-8", errors="replace") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
