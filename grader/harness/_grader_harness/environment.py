"""What the grading environment lacks, said precisely (issue 21): a module of the project's own
that the submission left out (a git-ignored local_settings.py), an environment variable the
settings read (the advice matches the library that reads it: os.environ, python-decouple,
django-environ), a SECRET_KEY that is empty where the grader runs.

Runs in the grading child, on an exception the student's code raised while Django started
(bootstrap.refine) or on the settings once loaded (settings.py); it never raises.
"""

from __future__ import annotations

import fnmatch
import os
import re
import sys
import traceback

from _grader_harness import state

MAX_GITIGNORE_BYTES = 64 * 1024


def normalized_relpath(path: str) -> str | None:
    """An absolute `path` (normalised) relative to the submission, None when outside it."""
    root = (state.current().submission or "").rstrip("/")
    if not root or not os.path.isabs(path or ""):
        return None
    path = os.path.normpath(path)
    return path[len(root) + 1 :] if path.startswith(root + "/") else None


def _student_frames(exc: BaseException) -> list:
    return [f for f in traceback.extract_tb(exc.__traceback__) if normalized_relpath(f.filename)]


# ---------------------------------------------------------------- a module of the project's own


def _gitignore_patterns(folder: str) -> list[str]:
    path = os.path.join(folder, ".gitignore")
    try:
        if os.path.islink(path) or not os.path.isfile(path):
            return []
        with open(path, "rb") as fh:
            text = fh.read(MAX_GITIGNORE_BYTES).decode("utf-8", errors="replace")
    except OSError:
        return []
    return [line.rstrip() for line in text.splitlines()[:2000] if line.strip() and not line.lstrip().startswith("#")]


def _matches(pattern: str, rel: str) -> bool:
    """Does one .gitignore line (as git reads it, without negation) match `rel` (a path
    relative to that .gitignore's folder, '/'-separated) or one of its parent folders?"""
    pattern = pattern.strip()
    dir_only = pattern.endswith("/")
    pattern = pattern.rstrip("/")
    if not pattern:
        return False
    anchored = pattern.startswith("/") or "/" in pattern
    pattern = pattern.lstrip("/")
    parts = rel.split("/")
    candidates = ["/".join(parts[:i]) for i in range(1, len(parts) + 1)]
    if dir_only:
        candidates = candidates[:-1]  # a folder pattern matches the folders above the file
    for candidate in candidates:
        if anchored:
            if fnmatch.fnmatchcase(candidate, pattern) or (
                pattern.startswith("**/") and fnmatch.fnmatchcase(candidate.split("/")[-1], pattern[3:])
            ):
                return True
        elif fnmatch.fnmatchcase(candidate.split("/")[-1], pattern):
            return True
    return False


def gitignored(rel: str) -> str | None:
    """The .gitignore (relative to the project) whose lines leave `rel` out of a commit, or None."""
    root = (state.current().submission or "").rstrip("/")
    if not root:
        return None
    parts = rel.split("/")
    found = None
    for depth in range(len(parts)):  # the project's .gitignore first, then those of sub-folders
        folder = "/".join(parts[:depth])
        below = "/".join(parts[depth:])
        ignored = None
        for line in _gitignore_patterns(os.path.join(root, folder) if folder else root):
            if line.startswith("!"):
                if _matches(line[1:], below):
                    ignored = None
            elif _matches(line, below):
                ignored = (folder + "/" if folder else "") + ".gitignore"
        if ignored:
            found = ignored
    return found


def _own_file(name: str) -> str | None:
    """The file that would hold module `name` ('mysite.local_settings') in the project, when
    the module belongs to the project (its top-level package is one of the project's folders,
    or a .gitignore names the file), and the file is not there; else None."""
    root = state.current().submission or ""
    parts = name.split(".")
    if not root or not all(p.isidentifier() for p in parts):
        return None
    base = os.path.join(root, *parts)
    if os.path.isfile(base + ".py") or os.path.isfile(os.path.join(base, "__init__.py")):
        return None
    rel = "/".join(parts) + ".py"
    if os.path.isdir(os.path.join(root, parts[0])):
        # the deepest package that exists holds the missing module
        return rel
    if gitignored(rel) or gitignored("/".join(parts) + "/__init__.py"):
        return rel
    return None


def missing_own_module(exc: BaseException) -> tuple[str, str, str] | None:
    """(diagnosis, advice, location) for a ModuleNotFoundError naming a module of the project's
    own that the submission does not hold; None for anything else."""
    if not isinstance(exc, ModuleNotFoundError) or not exc.name:
        return None
    name = exc.name
    # `from .local_settings import *` inside mysite/settings.py names mysite.local_settings;
    # a package that is missing as a whole names its top folder: name the deepest that is missing.
    rel = _own_file(name)
    if rel is None:
        return None
    frames = _student_frames(exc)
    where = f"{normalized_relpath(frames[-1].filename)}:{frames[-1].lineno}" if frames else ""
    importer = f", which {where} imports" if where else ""
    statement = (frames[-1].line or "").strip() if frames else ""
    statement = statement or f"from .{name.rsplit('.', 1)[-1]} import *"
    ignore = gitignored(rel)
    if ignore:
        advice = (
            f"file missing from your submission: {rel} (it is in your {ignore}, so git left it out "
            f"of what you handed in){importer}. This is not a package to install: it is a file of "
            f"your own project. Either hand it in (git add -f {rel}, if it holds no real password "
            f"or key), or make the import optional so your project runs without it: "
            f"try: {statement} / except ImportError: pass, with working defaults in the "
            "settings themselves."
        )
        return "file-missing", advice, where
    advice = (
        f"a module of your own project is missing from your submission: {rel}{importer}. "
        "This is not a package to install: check the spelling of the import (is the module "
        "named differently?), add the file to what you hand in (is it committed? "
        f"git status {rel}), or remove the import."
    )
    return "import-error", advice, where


# ---------------------------------------------------------------- environment variables


def variable_library(exc: BaseException | None, line: str = "") -> str:
    """Which library read the variable: 'decouple', 'environ' (django-environ) or 'os'."""
    kind = type(exc).__name__ if exc is not None else ""
    text = str(exc) if exc is not None else ""
    if kind == "UndefinedValueError" or re.search(r"\bconfig\s*\(", line):
        return "decouple"
    if (kind == "ImproperlyConfigured" and text.startswith("Set the ")) or re.search(
        r"\benv(\.\w+)?\s*\(|\benviron\.Env\b", line
    ):
        return "environ"
    return "os"


def variable_advice(name: str, library: str, where: str = "", empty: bool = False) -> str:
    """What to do about the environment variable `name` the settings read with `library`."""
    at = f" ({where})" if where else ""
    why = "is not set where the grader runs: the grader never sees your own environment"
    has_env = os.path.isfile(os.path.join(state.current().submission or "", ".env"))
    dotenv = (
        f"your .env file next to manage.py has no line {name}=..., add one"
        if has_env
        else f"put a line {name}=... in a .env file next to manage.py"
    )
    if library == "decouple":
        how = f"python-decouple's config('{name}'){at}"
        fix = (
            f"Give it a default: config('{name}', default='...'), or {dotenv} (decouple reads "
            "that file, and so does the grader)."
        )
    elif library == "environ":
        how = f"django-environ's env('{name}'){at}"
        fix = (
            f"Give it a default: env.str('{name}', default='...'), or {dotenv} and read it with "
            "environ.Env.read_env(BASE_DIR / '.env') (the grader loads that file too)."
        )
    else:
        how = f"os.environ['{name}']{at}" if not empty else f"os.environ.get('{name}') / os.getenv('{name}'){at}"
        fix = (
            f"Read it with a default: os.environ.get('{name}', '...'), or {dotenv} (the grader "
            "loads that file before your settings)."
        )
    if name == "SECRET_KEY" or name.endswith("SECRET_KEY"):
        fix += " Any text will do as the key for grading: keep your real key out of your submission."
    return f"Your settings read the environment variable {name} with {how}, which {why}. {fix}"


def missing_variable(exc: BaseException, diagnosis: str) -> str | None:
    """The advice for a missing environment variable, matching the library that read it."""
    if diagnosis != "missing-environment-variable":
        return None
    text = str(exc)
    name = None
    if isinstance(exc, KeyError) and exc.args and isinstance(exc.args[0], str):
        name = exc.args[0]
    for pattern in (r"(\w+) not found\. Declare it as envvar", r"Set the (\w+) environment variable"):
        match = re.match(pattern, text)
        if match:
            name = match.group(1)
    if not name:
        return None
    frames = _student_frames(exc)
    line = (frames[-1].line or "") if frames else ""
    return variable_advice(name, variable_library(exc, line))  # the message names file:line


def refine(exc: BaseException, described: dict) -> dict:
    """Make the description of a start-up error precise where the grading environment (or what
    the submission left out) is the cause; the rest of `described` is left as it is."""
    try:
        own = missing_own_module(exc)
        if own:
            described["diagnosis"], described["advice"], where = own
            described["location"] = where or described.get("location", "")
            return described
        advice = missing_variable(exc, described.get("diagnosis", ""))
        if advice:
            described["advice"] = advice
    except Exception:  # refining must never cost the report
        pass
    return described


# ---------------------------------------------------------------- SECRET_KEY

PLACEHOLDER_SECRET_KEY = "grader-placeholder-secret-key-not-for-production-0123456789abcdef"
_SECRET_LINE = re.compile(r"^\s*SECRET_KEY\s*(?::[^=]*)?=\s*(?P<value>.+)$")
_VARIABLE = re.compile(r"""(?:environ(?:\.get)?\s*[\[(]|getenv\s*\(|config\s*\(|env(?:\.str)?\s*\()\s*['"](\w+)['"]""")


def secret_key_source() -> tuple[str, str, str]:
    """(file:line, variable, library) of the line of the student's settings that sets
    SECRET_KEY, ("", "", "") when none does."""
    seen = set()
    for module in list(sys.modules.values()):
        filename = getattr(module, "__file__", None) or ""
        rel = normalized_relpath(filename) if filename.endswith(".py") else None
        if not rel or rel in seen:
            continue
        seen.add(rel)
        try:
            with open(filename, "rb") as fh:
                lines = fh.read(256 * 1024).decode("utf-8", errors="replace").splitlines()
        except OSError:
            continue
        for lineno, text in enumerate(lines, 1):
            match = _SECRET_LINE.match(text)
            if match:
                value = match.group("value")
                var = _VARIABLE.search(value)
                return f"{rel}:{lineno}", var.group(1) if var else "", variable_library(None, value)
    return "", "", ""


def secret_key_note(settings_file: str) -> str:
    """The warning for a SECRET_KEY the settings leave empty, which the grader replaced."""
    where, variable, library = secret_key_source()
    if variable:
        return (
            "SECRET_KEY is empty where the grader runs, so the grader used a placeholder key (this "
            "costs no points). " + variable_advice(variable, library, where, empty=True)
        )
    at = where or settings_file
    return (
        f"SECRET_KEY is {'empty' if where else 'not set'} in your settings ({at}): Django refuses to "
        "start without one. The grader graded your project with a placeholder key (this costs no "
        "points); set SECRET_KEY in your settings, as startproject does."
    )
