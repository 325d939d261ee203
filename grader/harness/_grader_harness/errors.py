"""Turn an exception raised by student code into feedback a student can act on.

Only frames from the student's own files are kept; the hidden suite, the
harness, Django and pytest never show up in what a student sees.
"""
from __future__ import annotations

import linecache
import traceback

from _grader_harness.probe import relpath

MAX_FRAMES = 8


def student_frames(exc: BaseException) -> list[str]:
    lines: list[str] = []
    last, repeats = None, 0
    for frame in traceback.extract_tb(exc.__traceback__):
        rel = relpath(frame.filename)
        if rel is None:
            continue
        source = (frame.line or linecache.getline(frame.filename, frame.lineno)).strip()
        entry = f"{rel}:{frame.lineno} in {frame.name}: {source}"
        if entry == last:
            repeats += 1
            continue
        if repeats:
            lines.append(f"  (the line above repeated {repeats} more times)")
        lines.append(entry)
        last, repeats = entry, 0
    if repeats:
        lines.append(f"  (the line above repeated {repeats} more times)")
    if isinstance(exc, SyntaxError) and exc.filename and relpath(exc.filename):
        lines.append(f"{relpath(exc.filename)}:{exc.lineno}: {(exc.text or '').strip()}")
    if len(lines) > MAX_FRAMES:
        lines = lines[:2] + [f"  ... {len(lines) - MAX_FRAMES} more lines ..."] + lines[-(MAX_FRAMES - 2):]
    return lines


def location(exc: BaseException) -> str:
    if isinstance(exc, SyntaxError) and exc.filename and relpath(exc.filename):
        return f"{relpath(exc.filename)}:{exc.lineno}"
    for frame in reversed(traceback.extract_tb(exc.__traceback__)):
        rel = relpath(frame.filename)
        if rel:
            return f"{rel}:{frame.lineno}"
    return ""


def one_line(exc: BaseException, limit: int = 400) -> str:
    if isinstance(exc, SyntaxError):
        text = f"SyntaxError: {exc.msg}"
    else:
        text = f"{type(exc).__name__}: {exc}".strip()
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def describe(exc: BaseException) -> dict:
    return {
        "type": type(exc).__name__,
        "message": one_line(exc),
        "location": location(exc),
        "traceback": student_frames(exc),
    }
