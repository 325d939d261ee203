"""Turn an exception raised by student code into feedback a student can act on.

Only frames from the student's own files are kept; the hidden suite, the
harness, Django and pytest never show up in what a student sees.
"""
from __future__ import annotations

import linecache
import os
import re
import traceback

from _grader_harness import config
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


_HARNESS = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def clean(text: str) -> str:
    """Paths of the student's files relative to the project; the grader's own paths hidden."""
    if config.SUBMISSION:
        text = text.replace(config.SUBMISSION.rstrip("/") + "/", "")
    parent = os.path.dirname(_HARNESS)
    return re.sub(re.escape(parent) + r"/[^\s'\"]*", "<grader>", text)


def one_line(exc: BaseException, limit: int = 400) -> str:
    if isinstance(exc, SyntaxError):
        text = f"{type(exc).__name__}: {exc.msg}"
    else:
        text = f"{type(exc).__name__}: {exc}".strip()
    text = clean(" ".join(text.split()))
    return text if len(text) <= limit else text[: limit - 3] + "..."


def describe(exc: BaseException, setup: bool = False) -> dict:
    info = {
        "type": type(exc).__name__,
        "message": one_line(exc),
        "location": location(exc),
        "traceback": student_frames(exc),
    }
    if setup:
        info["diagnosis"], info["advice"] = setup_advice(exc, info["location"])
    return info


def setup_advice(exc: BaseException, where: str) -> tuple[str, str]:
    """What a student should do about an error raised while Django starts."""
    text = str(exc)
    if isinstance(exc, SyntaxError):
        return ("syntax-error", f"Python cannot read {where or 'one of your files'}: fix the "
                "syntax on that line (look at the line before it too: a missing bracket or colon "
                "often shows up one line later).")
    if isinstance(exc, ImportError):
        return ("import-error", "An import in your code fails: check the spelling of the module and "
                "of the name, and that the file exists. Inside the users app use relative imports "
                "(from .models import Profile).")
    if isinstance(exc, ValueError) and "keyword arguments" in text:
        return ("receiver-kwargs", "Django calls receivers with keyword arguments (signal, "
                "created, raw, using, update_fields, ...). Give your receiver a **kwargs parameter.")
    if isinstance(exc, BlockingIOError) or (isinstance(exc, OSError) and exc.errno == 11):
        return ("too-many-processes", "Your code starts processes (os.fork, subprocess, "
                "multiprocessing) until the limit is hit. A Django app must not start processes "
                "when it loads.")
    if isinstance(exc, MemoryError):
        return ("too-much-memory", "Your code uses more memory than the grader allows while "
                "Django starts. Look for a list or string that grows without end.")
    if isinstance(exc, SystemExit):
        return ("exit-during-startup", "Your code called sys.exit() (or exit()) while Django was "
                "starting. Remove it: code in settings, apps and models runs at every start.")
    if type(exc).__name__ == "ImproperlyConfigured":
        return ("settings-error", "Django refuses your settings: read the message and fix "
                "mysite/settings.py.")
    if type(exc).__name__ == "AppRegistryNotReady":
        return ("app-registry-not-ready", "Models were used before Django finished loading apps. "
                "Do not import models at the top of apps.py; import them inside ready().")
    return ("startup-error", "Run `python manage.py check` to see the same error, and fix the line "
            "of your code shown above.")
