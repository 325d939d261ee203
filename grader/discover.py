"""Stage 1: find the Django project in a submission without running any of it."""

from __future__ import annotations

import ast
import sys
from dataclasses import dataclass
from pathlib import Path

# Top-level names the grading child imports itself; a submission must not shadow them.
RESERVED = frozenset(
    {
        "_grader_harness",
        "_grader_assignment",
        "grader",
        "django",
        "pytest",
        "_pytest",
        "pluggy",
        "py",
        "pytest_django",
        "pytest_jsonreport",
        "pytest_metadata",
        "iniconfig",
        "packaging",
        "asgiref",
        "sqlparse",
        "tzdata",
        "typing_extensions",
    }
)
# Names that would shadow the standard library but have no effect in the child
# (conftest.py is never loaded; site runs before the submission is on sys.path).
HARMLESS = frozenset({"conftest", "sitecustomize", "usercustomize", "manage"})
IGNORED_DIRS = frozenset({".git", ".venv", "venv", "env", "__pycache__", "node_modules", ".tox"})


class DiscoveryError(Exception):
    """The submission is not a gradable Django project; the message is for the student, the
    kind (no-manage-py, several-projects, link, settings, shadowing, not-a-folder) for a batch
    that sums up what went wrong across a class."""

    def __init__(self, message: str, kind: str = "other"):
        super().__init__(message)
        self.kind = kind


@dataclass(frozen=True)
class Project:
    root: Path
    settings_module: str
    manage_py: Path


MAX_MANAGE_BYTES = 256 * 1024


def _settings_from_manage(manage: Path) -> str | None:
    # manage.py is the student's: a regular file of sensible size, read with a cap (a link
    # to /dev/zero must not hang the grader).
    try:
        if manage.is_symlink() or not manage.is_file():
            return None
        with open(manage, "rb") as fh:
            source = fh.read(MAX_MANAGE_BYTES + 1)
    except OSError:
        return None
    if len(source) > MAX_MANAGE_BYTES:
        return None
    try:
        tree = ast.parse(source, filename=str(manage))
    except (SyntaxError, ValueError):
        return None
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and len(node.args) >= 2:
            key, value = node.args[0], node.args[1]
            if (
                isinstance(key, ast.Constant)
                and key.value == "DJANGO_SETTINGS_MODULE"
                and isinstance(value, ast.Constant)
                and isinstance(value.value, str)
            ):
                return value.value
    return None


def _guess_settings(root: Path) -> str | None:
    found = sorted(p for p in root.glob("*/settings.py") if (p.parent / "__init__.py").is_file())
    if len(found) == 1:
        return f"{found[0].parent.name}.settings"
    return None


def top_level_names(root: Path) -> set[str]:
    names = set()
    for entry in root.iterdir():
        if entry.name in IGNORED_DIRS or entry.name.startswith("."):
            continue
        if entry.is_dir() and ((entry / "__init__.py").exists() or any(entry.glob("*.py"))):
            names.add(entry.name)
        elif entry.suffix in {".py", ".pyc", ".so", ".pth"}:
            names.add(entry.name.split(".")[0])
    return names


def _leaves(path: Path, inside: Path) -> bool:
    """Is `path` a link, or does it resolve outside `inside`? (A project that is a link to a
    neighbour's folder must not be graded as this student's work.)"""
    try:
        return path.is_symlink() or not path.resolve().is_relative_to(inside.resolve())
    except (OSError, RuntimeError):
        return True


MAX_PROJECT_DEPTH = 4  # manage.py is looked for this many folders down
MAX_FOLDERS_SEARCHED = 2_000


def _is_venv(folder: Path) -> bool:
    return (folder / "pyvenv.cfg").is_file() or folder.name == "site-packages"


def _manage_files(path: Path) -> tuple[list[Path], list[Path]]:
    """(manage.py files, links to folders outside `path` that hold one) within
    MAX_PROJECT_DEPTH folders below `path`, breadth first, leaving out virtual environments,
    caches, __MACOSX and hidden folders."""
    found: list[Path] = []
    linked: list[Path] = []
    level = [path]
    searched = 0
    for depth in range(MAX_PROJECT_DEPTH + 1):
        following: list[Path] = []
        for folder in level:
            manage = folder / "manage.py"
            if manage.is_file() or manage.is_symlink():
                if _leaves(folder, path):
                    linked.append(folder)
                elif _leaves(manage, path):
                    linked.append(manage)
                else:
                    found.append(folder)
                continue  # a project's own sub-folders are its apps, not other projects
            if depth == MAX_PROJECT_DEPTH:
                continue
            try:
                children = sorted(folder.iterdir())
            except OSError:
                continue
            for child in children:
                if child.name in IGNORED_DIRS or child.name == "__MACOSX" or child.name.startswith("."):
                    continue
                try:
                    if not child.is_dir():
                        continue
                except OSError:
                    continue
                if child.is_symlink():
                    if (child / "manage.py").exists():
                        linked.append(child)
                    continue
                if _is_venv(child):
                    continue
                searched += 1
                if searched > MAX_FOLDERS_SEARCHED:
                    return found, linked
                following.append(child)
        level = following
    return found, linked


def _contents(path: Path, limit: int = 6) -> str:
    try:
        names = sorted(
            e.name + ("/" if e.is_dir() else "")
            for e in path.iterdir()
            if not e.name.startswith(".") and e.name != "__MACOSX"
        )
    except OSError:
        return "nothing readable"
    if not names:
        return "nothing (the folder is empty)"
    return ", ".join(names[:limit]) + (f" and {len(names) - limit} more" if len(names) > limit else "")


def find_project_root(path: Path) -> Path:
    """The folder holding manage.py: PATH itself, or the one folder below it (up to
    MAX_PROJECT_DEPTH levels down) that holds one."""
    if (path / "manage.py").is_file() and not _leaves(path / "manage.py", path):
        return path
    found, linked = _manage_files(path)
    rel = lambda p: p.relative_to(path).as_posix()  # noqa: E731
    if linked and not found:
        raise DiscoveryError(
            f"{', '.join(sorted(rel(p) for p in linked))} is a link to something outside your "
            "submission; the grader grades only the files you submitted. Submit the project's own "
            "files and folders, not links to them.",
            kind="link",
        )
    if len(found) == 1:
        return found[0]
    if len(found) > 1:
        raise DiscoveryError(
            f"found several Django projects ({', '.join(sorted(rel(p) for p in found))}: each has a "
            "manage.py); submit exactly one project, with manage.py at its top.",
            kind="several-projects",
        )
    raise DiscoveryError(
        "no manage.py found: the grader needs the folder that holds manage.py (the top of your "
        f"Django project, as in the student template). The submission holds {_contents(path)}.",
        kind="no-manage-py",
    )


def discover(path: Path) -> Project:
    path = Path(path)
    if not path.is_dir():
        raise DiscoveryError(f"{path} is not a folder", kind="not-a-folder")
    root = find_project_root(path)
    manage = root / "manage.py"
    settings = _settings_from_manage(manage) or _guess_settings(root)
    if not settings:
        raise DiscoveryError(
            "could not tell which settings module your project uses: manage.py should contain "
            "os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'mysite.settings').",
            kind="settings",
        )
    if not all(part.isidentifier() for part in settings.split(".")):
        raise DiscoveryError(
            f"DJANGO_SETTINGS_MODULE in manage.py is {settings!r}, not a module name.", kind="settings"
        )
    if (
        not (root / Path(*settings.split(".")).with_suffix(".py")).is_file()
        and not (root / Path(*settings.split(".")) / "__init__.py").is_file()
    ):
        raise DiscoveryError(
            f"manage.py names the settings module {settings!r}, but "
            f"{'/'.join(settings.split('.'))}.py does not exist in your project.",
            kind="settings",
        )
    shadowing = sorted(
        n for n in top_level_names(root) if (n in RESERVED or n in sys.stdlib_module_names) and n not in HARMLESS
    )
    if shadowing:
        raise DiscoveryError(
            "these files or folders at the top of your project have the same name as a module "
            f"Python, Django or pytest need: {', '.join(shadowing)}. Rename them "
            "(for example users_utils.py instead of json.py).",
            kind="shadowing",
        )
    return Project(root=root, settings_module=settings, manage_py=manage)
