"""Turn an exception raised by student code into feedback a student can act on.

Only frames from the student's own files are kept; the hidden suite, the
harness, Django and pytest never show up in what a student sees.
"""

from __future__ import annotations

import importlib.util
import linecache
import os
import re
import sys
import traceback

from _grader_harness import state
from _grader_harness.probe import relpath
from _grader_harness.protocol import KNOWN_MODULES, canonical

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
        lines = lines[:2] + [f"  ... {len(lines) - MAX_FRAMES} more lines ..."] + lines[-(MAX_FRAMES - 2) :]
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
    if state.current().submission:
        text = text.replace(state.current().submission.rstrip("/") + "/", "")
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
        if info["diagnosis"] == "package-not-available":
            info["location"] = import_site(exc, missing_module(exc))
    return info


def missing_module(exc: BaseException) -> str | None:
    """The top-level name of a module that is not installed (not one of the student's own),
    when `exc` is that ModuleNotFoundError; else None."""
    if not isinstance(exc, ModuleNotFoundError) or not exc.name:
        return None
    top = exc.name.split(".")[0]
    if not top.isidentifier() or top in sys.builtin_module_names:
        return None
    root = state.current().submission
    if root and (os.path.isdir(os.path.join(root, top)) or os.path.isfile(os.path.join(root, top + ".py"))):
        return None  # the student's own module (a typo in it is an import-error)
    try:
        return None if importlib.util.find_spec(top) is not None else top
    except (ImportError, ValueError):
        return top


def missing_at_import(exc: BaseException) -> str | None:
    """missing_module(exc), when it was imported while a module loaded (at its top, or by
    Django from a dotted path in the settings: INSTALLED_APPS, MIDDLEWARE, ROOT_URLCONF):
    the grader's environment, not the code under test, is what fails there."""
    name = missing_module(exc)
    if name is None:
        return None
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if relpath(f.filename)]
    if frames and not any(f.name == "<module>" for f in frames):
        return None  # imported inside a function the test called: that function fails
    return name


def import_site(exc: BaseException, module: str) -> str:
    """file:line of the student's code that imports `module`: the innermost frame, else the
    line of a settings file naming it ('crispy_forms' in INSTALLED_APPS, a MIDDLEWARE entry)."""
    where = location(exc)
    if where:
        return where
    pattern = re.compile(r"""['"]""" + re.escape(module) + r"""[.'"]""")
    for mod in list(sys.modules.values()):
        filename = getattr(mod, "__file__", None) or ""
        rel = relpath(filename)
        if not rel or not filename.endswith(".py"):
            continue
        for lineno, line in enumerate(linecache.getlines(filename), 1):
            if pattern.search(line) and not line.lstrip().startswith("#"):
                return f"{rel}:{lineno}"
    return ""


def missing_variable(exc: BaseException) -> str | None:
    """The name of the environment variable the settings needed, when `exc` says one is missing:
    os.environ[...] (KeyError), python-decouple (UndefinedValueError), django-environ
    (ImproperlyConfigured: Set the X environment variable)."""
    text = str(exc)
    if isinstance(exc, KeyError) and exc.args and isinstance(exc.args[0], str):
        frames = [f for f in traceback.extract_tb(exc.__traceback__) if relpath(f.filename)]
        line = (frames[-1].line or "") if frames else ""
        if "environ" in line or "getenv" in line:  # os.environ["X"], env["X"] of django-environ
            return exc.args[0]
    match = re.match(r"(\w+) not found\. Declare it as envvar", text)
    if match and type(exc).__name__ == "UndefinedValueError":
        return match.group(1)
    match = re.match(r"Set the (\w+) environment variable", text)
    if match:
        return match.group(1)
    return None


def package_advice(module: str) -> str:
    """What to tell a student whose project imports a package the grader does not have."""
    package = KNOWN_MODULES.get(module, module.replace("_", "-"))
    allowed = state.current().allowed_packages
    if canonical(package) in allowed or canonical(module) in allowed:
        if not state.current().runtime_ok:
            return (
                f"{module} (the package {package}) is allowed by your instructor, but the grader "
                "could not install it: this is a problem of the grading environment, not of your "
                "code. Tell your instructor."
            )
    listed = ", ".join(allowed) if allowed else "none"
    return (
        f"{module} (the package {package}) is not installed where the grader runs: the grader "
        "runs your project with Django and the packages your instructor allows "
        f"({listed}), never with your own environment. Remove the import (and the app or "
        f"middleware entry that names it), or ask your instructor to allow {package}."
    )


def needs_newer_python(exc: SyntaxError) -> tuple[str, str] | None:
    """(version, what) when the line is valid on a newer Python than the one running."""
    line, msg = exc.text or "", exc.msg or ""
    found = None
    if re.match(r"\s*type\s+[A-Za-z_]\w*\s*(\[.*\])?\s*=", line) or re.match(
        r"\s*(async\s+)?def\s+\w+\s*\[|\s*class\s+\w+\s*\[", line
    ):
        found = ((3, 12), "type parameters and `type` aliases, PEP 695")
    elif msg.startswith("f-string") and ("f'" in line or 'f"' in line or "F'" in line or 'F"' in line):
        found = ((3, 12), "f-strings that reuse their quotes, hold a backslash or a comment, PEP 701")
    elif re.match(r"\s*except\*?\s+[^(:]+,[^:]+:", line):
        found = ((3, 14), "several exception types without brackets, PEP 758")
    if found and sys.version_info[:2] < found[0]:
        return ".".join(map(str, found[0])), found[1]
    return None


def is_disk_full(exc: BaseException) -> bool:
    import errno

    return isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)


def disk_full_advice() -> str:
    return (
        f"Your code wrote more than {state.current().disk_cap_mb} MB of files, the space the grader gives a "
        "run (files deleted while still open count too). Look for code that writes files in a loop."
    )


def settings_file() -> str:
    """The student's settings module as a path in the project (core/settings.py, config/settings/dev.py)."""
    module = sys.modules.get(state.current().student_settings)
    rel = relpath(getattr(module, "__file__", "") or "")
    return rel or state.current().student_settings.replace(".", "/") + ".py"


RECEIVER_KWARGS_ADVICE = (
    "Django calls receivers with keyword arguments (sender, signal and the signal's own: created "
    "and update_fields for post_save, action and pk_set for m2m_changed, ...), and a later Django "
    "may add more. Give your receiver a **kwargs parameter."
)


def setup_advice(exc: BaseException, where: str) -> tuple[str, str]:
    """What a student should do about an error raised while Django starts."""
    text = str(exc)
    module = missing_module(exc)
    if module:
        return "package-not-available", package_advice(module)
    if any(word in text for word in ("GDAL", "GEOS", "SpatiaLite", "spatialite")):
        return (
            "database-not-supported",
            "Your project needs a spatial database (GeoDjango: django.contrib.gis, GDAL, GEOS), "
            "which the grader does not have: it grades every project on a plain SQLite database "
            "made from your models. This is not a mistake in your code; ask your instructor.",
        )
    variable = missing_variable(exc)
    if variable:
        return (
            "missing-environment-variable",
            f"Your settings read the environment variable {variable}, which is not set where the "
            "grader runs: the grader never sees your own environment (your shell, your IDE, "
            "your computer's variables). Give it a default where your settings read it "
            f"(os.environ.get('{variable}', '...'), config('{variable}', default='...')), or "
            f"put a line {variable}=... in a .env file next to manage.py: the grader loads that "
            "file.",
        )
    if isinstance(exc, SyntaxError):
        running = ".".join(map(str, sys.version_info[:3]))
        newer = needs_newer_python(exc)
        if newer:
            version, what = newer
            return (
                "syntax-error",
                f"Python cannot read {where or 'one of your files'}: that line "
                f"needs Python {version} or newer ({what}), and the grader runs Python {running}. "
                "Write it the way older Pythons accept, or ask your instructor which Python the "
                "grader should use.",
            )
        return (
            "syntax-error",
            f"Python {running} (the grader's) cannot read {where or 'one of your files'}: "
            "fix the syntax on that line (look at the line before it too: a missing bracket or "
            "colon often shows up one line later).",
        )
    if isinstance(exc, ImportError):
        return (
            "import-error",
            "An import in your code fails: check the spelling of the module and "
            "of the name, and that the file exists. Inside an app, use relative imports "
            "(from .models import MyModel).",
        )
    if isinstance(exc, ValueError) and "keyword arguments" in text:
        return ("receiver-kwargs", RECEIVER_KWARGS_ADVICE)
    if is_disk_full(exc):
        return ("too-much-disk", disk_full_advice())
    if isinstance(exc, BlockingIOError) or (isinstance(exc, OSError) and exc.errno == 11):
        return (
            "too-many-processes",
            "Your code starts processes (os.fork, subprocess, "
            "multiprocessing) until the limit is hit. A Django app must not start processes "
            "when it loads.",
        )
    if isinstance(exc, MemoryError):
        return (
            "too-much-memory",
            "Your code uses more memory than the grader allows while "
            "Django starts. Look for a list or string that grows without end.",
        )
    if isinstance(exc, SystemExit):
        return (
            "exit-during-startup",
            "Your code called sys.exit() (or exit()) while Django was "
            "starting. Remove it: code in settings, apps and models runs at every start.",
        )
    if type(exc).__name__ == "ImproperlyConfigured":
        return (
            "settings-error",
            "Django refuses your settings: read the message and fix "
            f"{where.split(':')[0] if where else settings_file()}.",
        )
    if type(exc).__name__ == "AppRegistryNotReady":
        return (
            "app-registry-not-ready",
            "Models were used before Django finished loading apps. "
            "Do not import models at the top of apps.py; import them inside ready().",
        )
    return (
        "startup-error",
        "Run `python manage.py check` to see the same error, and fix the line of your code shown above.",
    )
