"""Stage 4: render a Report. Each renderer is a function Report -> str, registered by name."""
from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Callable

from grader.model import Report

Renderer = Callable[[Report], str]
RENDERERS: dict[str, Renderer] = {}
EXTENSIONS: dict[str, str] = {}


def register(name: str, extension: str):
    def wrap(func: Renderer) -> Renderer:
        RENDERERS[name] = func
        EXTENSIONS[name] = extension
        return func
    return wrap


def render(name: str, report: Report) -> str:
    return RENDERERS[name](report)


def write_atomic(path: Path, text: str) -> None:
    """Write via a temporary file and rename: readers never see half a report."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
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


from grader.renderers import gradescope, json_report, junit, markdown, table  # noqa: E402,F401,I001  (registration)
