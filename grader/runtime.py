"""Third-party packages an assignment allows student projects to use (`[runtime]` of the rubric).

The grader installs them once per set of packages, wheels only (no build step of
any package runs), with pip into a cached folder outside every sandbox, keyed by a
hash of the packages, the Python version and the grader's own environment. The
grading child gets that folder on its sys.path, after the grader's own packages
(Django and pytest are always the grader's), mounted read-only.

Nothing is ever installed from a submission: its requirements.txt and pyproject.toml
are only read, to warn about packages the grader will not have.
"""

from __future__ import annotations

import fcntl
import functools
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from grader.harness._grader_harness.protocol import canonical

# packaging and importlib.metadata are imported where they are used: grading starts its
# child right after loading the rubric, and these imports would delay it (~35 ms).

CACHE_ENV = "GRADER_CACHE_DIR"
INSTALL_TIMEOUT_S = 600
MARKER = "installed.txt"  # written last: the folder is complete
RETRY_AFTER_S = 600  # a failed install is tried again after this long
MAX_REQUIREMENTS_BYTES = 64 * 1024


# A requirement as an instructor writes one: a name, extras, version specifiers, markers.
_REQUIREMENT = re.compile(
    r"^\s*([A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)\s*(\[[\w\s,.-]*\])?"
    r"\s*((?:[<>=!~]=?|===)\s*[\w.*+!-]+\s*(?:,\s*(?:[<>=!~]=?|===)\s*[\w.*+!-]+\s*)*)?"
    r"\s*(;.*)?$"
)


@dataclass(frozen=True)
class Runtime:
    """What the rubric allows: pip requirement strings."""

    packages: tuple[str, ...] = ()

    @property
    def names(self) -> frozenset[str]:
        return frozenset(canonical(m.group(1)) for p in self.packages if (m := _REQUIREMENT.match(p)))


@dataclass
class Environment:
    """The installed runtime: a folder for the child's sys.path, or why there is none."""

    path: Path | None = None
    problem: str = ""

    @property
    def usable(self) -> bool:
        return self.path is not None

    @property
    def roots(self) -> tuple[str, ...]:
        """The folder, as the extra folders a sandbox mounts (none when there is no folder)."""
        return (str(self.path),) if self.path is not None else ()


def parse(raw: object, where: str) -> Runtime:
    """The [runtime] table of a rubric; ValueError when it is malformed."""
    if raw is None:
        return Runtime()
    if not isinstance(raw, dict):
        raise ValueError(f"{where}: [runtime] must be a table")
    unknown = set(raw) - {"packages"}
    if unknown:
        raise ValueError(f"{where}: unknown [runtime] keys {sorted(unknown)}")
    packages = raw.get("packages", [])
    if not isinstance(packages, list) or not all(isinstance(p, str) for p in packages):
        raise ValueError(f"{where}: [runtime] packages must be a list of pip requirement strings")
    for spec in packages:
        if "@" in spec.split(";", 1)[0] or "://" in spec:
            raise ValueError(
                f"{where}: [runtime] packages: {spec!r}: only names from the package index are allowed, not URLs"
            )
        if not _REQUIREMENT.match(spec):
            raise ValueError(
                f"{where}: [runtime] packages: {spec!r} is not a requirement "
                "(write it as pip does: Pillow>=10, django-crispy-forms)"
            )
    return Runtime(tuple(packages))


def cache_root() -> Path:
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV])
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "grader"


@functools.cache
def _own_distributions() -> tuple[tuple[str, str], ...]:
    """(canonical name, version) of every distribution the grader itself runs with."""
    from importlib import metadata

    found: dict[str, str] = {}
    for dist in metadata.distributions():
        name = dist.metadata["Name"] if dist.metadata else None
        if name:
            found.setdefault(canonical(name), dist.version)
    return tuple(sorted(found.items()))


def _environment_fingerprint() -> list:
    """What identifies the grader's own environment, cheaply: where its packages live and
    when that folder last changed (installing or removing a package changes it)."""
    import importlib.util

    spec = importlib.util.find_spec("django")
    site = os.path.dirname(os.path.dirname(spec.origin)) if spec and spec.origin else sys.prefix
    try:
        changed = os.stat(site).st_mtime_ns
    except OSError:
        changed = 0
    return [sys.prefix, site, changed]


def own_names() -> frozenset[str]:
    return frozenset(name for name, _ in _own_distributions())


def _key(runtime: Runtime) -> str:
    digest = hashlib.sha256(
        json.dumps(
            {
                "packages": sorted(runtime.packages),
                "python": sys.implementation.cache_tag,
                "platform": sys.platform,
                "machine": os.uname().machine,
                "own": _environment_fingerprint(),
            }
        ).encode()
    )
    return digest.hexdigest()[:20]


def _drop_own(site: Path) -> None:
    """Remove what pip put in `site` that the grader already runs with (pinned to the same
    version by the constraints): the child must import Django and pytest from one place."""
    own = own_names()
    for info in list(site.glob("*.dist-info")):
        name = canonical(info.name[: -len(".dist-info")].rsplit("-", 1)[0])
        if name not in own:
            continue
        try:
            lines = (info / "RECORD").read_text(encoding="utf-8").splitlines()
        except OSError:
            lines = []
        for line in lines:
            rel = line.split(",", 1)[0]
            target = (site / rel).resolve()
            if target.is_file() and site.resolve() in target.parents:
                target.unlink()
        shutil.rmtree(info, ignore_errors=True)
    for leftover in [p for p in site.iterdir() if p.is_dir() and p.name != "bin"]:
        if not any(f.is_file() for f in leftover.rglob("*")):
            shutil.rmtree(leftover, ignore_errors=True)
    shutil.rmtree(site / "bin", ignore_errors=True)


def _install(runtime: Runtime, dest: Path) -> str:
    """pip-install into dest/site, wheels only; returns the problem, or ""."""
    site = dest / "site"
    constraints = dest / "constraints.txt"
    constraints.write_text("".join(f"{n}=={v}\n" for n, v in _own_distributions() if n != "django-signals-grader"))
    requirements = dest / "requirements.txt"
    requirements.write_text("".join(p + "\n" for p in runtime.packages))
    command = [
        sys.executable,
        "-m",
        "pip",
        "install",
        "--quiet",
        "--no-input",
        "--disable-pip-version-check",
        "--only-binary=:all:",
        "--no-warn-script-location",
        "--target",
        str(site),
        "--constraint",
        str(constraints),
        "--requirement",
        str(requirements),
    ]
    try:
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=INSTALL_TIMEOUT_S, stdin=subprocess.DEVNULL
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"pip could not run: {exc}"
    if done.returncode != 0:
        lines = [
            line
            for line in (done.stderr or done.stdout).splitlines()
            if line.strip() and "is ignored: it is neither a file nor a directory" not in line
        ]
        return "pip failed: " + " ".join(lines[-3:])[:600]
    _drop_own(site)
    (dest / MARKER).write_text("".join(p + "\n" for p in runtime.packages))
    return ""


def installed(runtime: Runtime) -> bool:
    """Are the packages of `runtime` in the cache already (or is there nothing to install)?"""
    return not runtime.packages or (cache_root() / "runtime" / _key(runtime) / MARKER).is_file()


def ensure(runtime: Runtime) -> Environment:
    """The installed packages of `runtime`, installing them the first time (under a lock, so
    that parallel workers install once)."""
    if not runtime.packages:
        return Environment()
    root = cache_root() / "runtime"
    key = _key(runtime)
    final = root / key
    try:
        root.mkdir(parents=True, exist_ok=True)
        if not installed(runtime):
            failed = root / f"{key}.failed"
            with open(root / f"{key}.lock", "w") as lock:
                fcntl.flock(lock, fcntl.LOCK_EX)
                if failed.is_file() and time.time() - failed.stat().st_mtime < RETRY_AFTER_S:
                    # a batch's workers do not each wait for pip to fail again
                    return Environment(problem=failed.read_text(errors="replace")[:600])
                if not installed(runtime):
                    work = Path(tempfile.mkdtemp(prefix=f"{key}.", dir=root))
                    problem = _install(runtime, work)
                    if problem:
                        shutil.rmtree(work, ignore_errors=True)
                        failed.write_text(problem)
                        return Environment(problem=problem)
                    failed.unlink(missing_ok=True)
                    shutil.rmtree(final, ignore_errors=True)
                    work.rename(final)
    except OSError as exc:
        return Environment(problem=f"the package cache {root} cannot be used: {exc}")
    return Environment(path=final / "site")


# ------------------------------------------------------------------ the submission's own lists

_REQ_LINE = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")


def _read_text(path: Path) -> str | None:
    """A student's text file, whatever its encoding (PowerShell's `pip freeze >` writes UTF-16)."""
    try:
        if path.is_symlink() or not path.is_file():
            return None
        with open(path, "rb") as fh:
            data = fh.read(MAX_REQUIREMENTS_BYTES + 1)
    except OSError:
        return None
    if len(data) > MAX_REQUIREMENTS_BYTES:
        return None
    for bom, codec in ((b"\xff\xfe", "utf-16"), (b"\xfe\xff", "utf-16"), (b"\xef\xbb\xbf", "utf-8-sig")):
        if data.startswith(bom):
            return data.decode(codec, errors="replace")
    return data.decode("utf-8", errors="replace")


def declared(root: Path) -> dict[str, tuple[str, str]]:
    """{canonical name: (requirement as written, file)} from requirements*.txt and pyproject.toml."""
    import tomllib

    from packaging.requirements import InvalidRequirement, Requirement

    found: dict[str, tuple[str, str]] = {}
    for path in sorted(root.glob("requirements*.txt"))[:5]:
        text = _read_text(path) or ""
        for line in text.splitlines():
            line = line.split(" #", 1)[0].strip()
            if not line or line.startswith(("#", "-")):
                continue
            try:
                req = Requirement(line)
            except InvalidRequirement:
                match = _REQ_LINE.match(line)
                if not match:
                    continue
                found.setdefault(canonical(match.group(1)), (line, path.name))
                continue
            found.setdefault(canonical(req.name), (line, path.name))
    pyproject = _read_text(root / "pyproject.toml")
    if pyproject:
        try:
            deps = tomllib.loads(pyproject).get("project", {}).get("dependencies", [])
        except tomllib.TOMLDecodeError:
            deps = []
        for dep in deps if isinstance(deps, list) else []:
            try:
                req = Requirement(str(dep))
            except InvalidRequirement:
                continue
            found.setdefault(canonical(req.name), (str(dep), "pyproject.toml"))
    return found


def requirement_warnings(root: Path, runtime: Runtime, env: Environment) -> list[str]:
    """Warnings (no points) about the submission's declared packages."""
    declared_here = declared(root)
    if not declared_here:
        return []
    own = dict(_own_distributions())
    allowed = runtime.names if env.usable else frozenset()
    missing = sorted(spec for name, (spec, _) in declared_here.items() if name not in own and name not in allowed)
    notes = []
    if missing:
        files = sorted({f for _, f in declared_here.values()})
        notes.append(
            f"{', '.join(files)} lists {', '.join(missing[:8])}{' ...' if len(missing) > 8 else ''}, "
            "which the grader does not install (it installs nothing from your files, only the packages "
            "your instructor allows). Code that imports them cannot run where the grader runs: remove "
            "those imports, or ask your instructor to allow the package."
        )
    django = declared_here.get("django")
    if django:
        from packaging.requirements import InvalidRequirement, Requirement

        try:
            spec = Requirement(django[0]).specifier
        except InvalidRequirement:
            spec = None
        running = own.get("django")
        if spec is not None and running and str(spec) and not spec.contains(running, prereleases=True):
            notes.append(
                f"{django[1]} asks for {django[0]}, but the grader runs Django {running}: "
                "your project is graded with that version."
            )
    return notes
