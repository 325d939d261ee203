"""Load and validate an assignment: its rubric (TOML), hidden suite and limits."""

from __future__ import annotations

import hashlib
import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from grader import runtime as _runtime
from grader.harness._grader_harness.protocol import ANY_SENDER, FOLDERS
from grader.model import VISIBILITIES, Withheld

ASSIGNMENTS_ENV = "GRADER_ASSIGNMENTS"
# A starter names its assignment in this file at the top of the project, so that a student's
# `grader grade .` needs no --assignment. Only `grader grade` reads it (a class is graded with
# the assignment the instructor names: a submission must not choose its own).
MARKER = ".grader-assignment"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")


class RubricError(Exception):
    """The rubric is missing or malformed (an instructor's error, not a student's)."""


@dataclass(frozen=True)
class Limits:
    wall_time_s: float = 60.0
    memory_mb: int = 2048
    max_processes: int = 64
    max_file_mb: int = 64
    max_output_kb: int = 64


@dataclass(frozen=True)
class Check:
    id: str
    title: str
    points: float
    tests: tuple[str, ...]
    hint: str = ""
    depends: tuple[str, ...] = ()
    # The named mistakes (diagnoses) this check can report: `check-assignment` wants a
    # variant that shows each one.
    diagnoses: tuple[str, ...] = ()
    # Who sees the check (see VISIBILITIES): "public" ships in the students' package and shows
    # in every feedback; "after_due" and "hidden" are only in the instructor's grader (the
    # students' package declares them as [visibility] withheld_checks and withheld_points);
    # feedback shows an "after_due" check once the due date has passed, a "hidden" one never
    # on its own (its points count in the total).
    visibility: str = "public"


@dataclass(frozen=True)
class EvidenceSpec:
    """What the grader checks in the grading database, itself, before it believes that a
    hidden test passed: the test ran to its end, and

    - ``objects``: {role: n}: the test tracked exactly n objects of that role, each still there;
    - ``related``: {role: n}: every tracked object has exactly n rows of that role pointing at
      it (through the role's foreign key or one-to-one field to the tracked object's model);
    - ``sql``: queries over the roles' real tables that must return no rows. ``{role}`` is the
      role's table, ``{role.field}`` a field's column, ``{tracked.role}`` the primary keys of
      the objects of that role the test tracked, as a parenthesised list;
    - ``verify``: names of functions of the assignment's ``verify.py``, each given what the run
      left (the database read-only, the test's tracked objects and notes, the [folders]) and
      returning why the pass is not backed, or None (see grader/verify.py);
    - ``notes``: names of the notes (``support.note``) the test leaves on its way to a pass; a
      pass without one of them is not believed (a verify.py function that finds nothing to
      check must never be what makes a pass).
    """

    objects: dict[str, int] = field(default_factory=dict)
    related: dict[str, int] = field(default_factory=dict)
    sql: tuple[str, ...] = ()
    verify: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()


WITHHELD_KEYS = ("withheld_checks", "withheld_points")
USER_ROLE = "user"  # always the project's AUTH_USER_MODEL
LEGACY_MODEL_KEY = "profile_model"  # 0.1: an alias of [models] profile
TOP_LEVEL_KEYS = frozenset(
    {
        "assignment",
        "title",
        "teaches",
        "models",
        LEGACY_MODEL_KEY,
        "authoring",
        "limits",
        "visibility",
        "runtime",
        "folders",
        "checks",
        "evidence",
        "connections",
    }
)


@dataclass(frozen=True)
class Assignment:
    name: str
    title: str
    root: Path
    # role -> "app_label.ModelName": the models the exercise is about (the role "user" is
    # always the project's user model). The child records their real tables for the grader.
    models: dict[str, str]
    checks: tuple[Check, ...]
    evidence: dict[str, EvidenceSpec]
    limits: Limits
    digest: str = ""
    solution_dir: Path | None = field(default=None)
    # test id -> the connection its pass needs the child to have streamed as it happened:
    # {"signal": "post_save" or "shop.signals.order_placed", "sender": role or "*" (connected
    # for every sender), "ready": a role whose app's ready() was running, or an app label}
    connections: dict[str, dict[str, str]] = field(default_factory=dict)
    # What students see of a report: {"output": "visible" | "hidden"} (what the submission printed)
    visibility: dict[str, str] = field(default_factory=dict)
    runtime: _runtime.Runtime = field(default_factory=_runtime.Runtime)
    # For instructors (`grader check-assignment`): what students receive, and the score it
    # must earn untouched.
    starter_dir: Path | None = None
    starter_score: float | None = None
    # What the assignment teaches, in a line (`grader assignments` shows it).
    teaches: str = ""
    # [folders]: the grader-owned folders the child writes into and verify.py reads ("media", "mail").
    folders: tuple[str, ...] = ()
    # A students' package's rubric ([visibility] withheld_checks, withheld_points): the checks
    # it does not hold, graded after submission; None for the instructor's full rubric.
    withheld: Withheld | None = None

    @property
    def verify_file(self) -> Path:
        """The assignment's own checks of what data cannot say (files, e-mail): trusted
        instructor code, run by the grader after the child has exited."""
        return self.root / "verify.py"

    @property
    def variants_dir(self) -> Path:
        return self.root / "variants"

    @property
    def tests_dir(self) -> Path:
        return self.root / "tests"

    @property
    def max_score(self) -> float:
        return sum(c.points for c in self.checks)

    @property
    def test_ids(self) -> list[str]:
        return [t for c in self.checks for t in c.tests]


def search_path() -> list[Path]:
    """Where assignments are looked up, first match wins.

    1. every folder in $GRADER_ASSIGNMENTS (``os.pathsep``-separated);
    2. the copy shipped inside the installed package (``grader/assignments``);
    3. ``assignments/`` of the source checkout the package runs from.
    """
    paths = [Path(p) for p in os.environ.get(ASSIGNMENTS_ENV, "").split(os.pathsep) if p]
    here = Path(__file__).resolve().parent
    paths += [here / "assignments", here.parent / "assignments"]
    return paths


def available() -> list[str]:
    names: set[str] = set()
    for base in search_path():
        if base.is_dir():
            names.update(p.parent.name for p in base.glob("*/rubric.toml"))
    return sorted(names)


def named_by(project: Path) -> str | None:
    """The assignment a project's marker file names (the folder or up to three above it)."""
    folder = Path(project).resolve()
    for candidate in [folder, *list(folder.parents)[:3]]:
        marker = candidate / MARKER
        try:
            if marker.is_symlink() or not marker.is_file():
                continue
            with open(marker, "rb") as fh:
                text = fh.read(256).decode("utf-8", "replace").strip()
        except OSError:
            continue
        name = text.splitlines()[0].strip() if text else ""
        if _NAME.match(name):
            return name
    return None


def default_name(project: Path | None = None) -> str:
    """The assignment to use when none is named: the project's marker file (``grader grade``
    only), else the only assignment the grader knows."""
    if project is not None:
        name = named_by(project)
        if name:
            return name
    names = available()
    if len(names) == 1:
        return names[0]
    raise RubricError(
        "which assignment? name it with --assignment NAME (known: "
        f"{', '.join(names) or 'none'}), or put its name in a {MARKER} file at the "
        "top of the project"
    )


def find(name: str | None = None) -> Assignment:
    """The assignment `name` (a name, or a folder with a rubric.toml); without one, the only
    assignment the grader knows."""
    name = name or default_name()
    candidate = Path(name)
    if (candidate / "rubric.toml").is_file():
        return load(candidate)
    for base in search_path():
        if (base / name / "rubric.toml").is_file():
            return load(base / name)
    known = ", ".join(available()) or "none"
    raise RubricError(f"unknown assignment {name!r} (known: {known})")


def _require(table: dict, key: str, kind: type, where: str):
    if key not in table:
        raise RubricError(f"{where}: missing key {key!r}")
    value = table[key]
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if not isinstance(value, kind):
        raise RubricError(f"{where}: {key!r} must be {kind.__name__}, not {type(value).__name__}")
    return value


def _evidence_spec(spec, roles: set[str], where: str) -> EvidenceSpec:
    """An [evidence] entry: a whole number n (the test tracked n users), or a table with
    objects, related and sql (see EvidenceSpec)."""
    if isinstance(spec, int) and not isinstance(spec, bool):
        if spec < 0:
            raise RubricError(f"{where} must be a whole number >= 0")
        return EvidenceSpec(objects={USER_ROLE: spec} if spec else {})
    if not isinstance(spec, dict) or set(spec) - {"objects", "related", "sql", "verify", "notes"}:
        raise RubricError(f"{where} is a whole number, or a table with objects, related, sql, verify and notes")
    counts = {}
    for key in ("objects", "related"):
        table = spec.get(key, {})
        if not isinstance(table, dict) or not all(
            isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in table.values()
        ):
            raise RubricError(f"{where}: {key} maps roles to whole numbers >= 0")
        unknown = set(table) - roles
        if unknown:
            raise RubricError(f"{where}: {key} names roles {sorted(unknown)} that [models] does not define")
        counts[key] = dict(table)
    sql = spec.get("sql", [])
    if not isinstance(sql, list) or not all(isinstance(q, str) and q.strip() for q in sql):
        raise RubricError(f"{where}: sql is a list of queries that must return no rows")
    if counts["related"] and not counts["objects"]:
        raise RubricError(f"{where}: related counts rows pointing at tracked objects: name them in objects")
    verify = spec.get("verify", [])
    if not isinstance(verify, list) or not all(isinstance(v, str) and v.isidentifier() for v in verify):
        raise RubricError(f"{where}: verify lists functions of the assignment's verify.py by name")
    notes = spec.get("notes", [])
    if not isinstance(notes, list) or not all(isinstance(n, str) and n.isidentifier() for n in notes):
        raise RubricError(f"{where}: notes lists the names of the notes the test leaves (support.note)")
    return EvidenceSpec(counts["objects"], counts["related"], tuple(sql), tuple(verify), tuple(notes))


def load(root: Path) -> Assignment:
    path = root / "rubric.toml"
    raw = path.read_bytes()
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise RubricError(f"{path}: not valid TOML: {exc}") from None

    unknown = set(data) - TOP_LEVEL_KEYS
    if unknown:
        raise RubricError(f"{path}: unknown keys {sorted(unknown)} (a rubric has {', '.join(sorted(TOP_LEVEL_KEYS))})")
    checks: list[Check] = []
    seen: set[str] = set()
    visibilities: dict[str, str] = {}
    for i, entry in enumerate(data.get("checks", [])):
        where = f"{path}: checks[{i}]"
        cid = _require(entry, "id", str, where)
        if cid in seen:
            raise RubricError(f"{where}: duplicate check id {cid!r}")
        tests = tuple(_require(entry, "tests", list, where))
        if not tests or not all(isinstance(t, str) and "::" in t for t in tests):
            raise RubricError(f"{where}: 'tests' must list hidden test ids like 'test_x.py::test_y'")
        depends = tuple(entry.get("depends", ()))
        for dep in depends:
            if dep not in seen:
                raise RubricError(f"{where}: depends on {dep!r}, which is not an earlier check")
        points = _require(entry, "points", float, where)
        if points < 0:
            raise RubricError(f"{where}: points must not be negative")
        diagnoses = entry.get("diagnoses", [])
        if not isinstance(diagnoses, list) or not all(isinstance(d, str) and d for d in diagnoses):
            raise RubricError(f"{where}: 'diagnoses' must list names like \"no-created-check\"")
        visibility = entry.get("visibility", "public")
        if visibility not in VISIBILITIES:
            raise RubricError(
                f"{where} ({cid}): visibility must be {', '.join(repr(v) for v in VISIBILITIES)}, not {visibility!r}"
            )
        for dep in depends:
            if visibility == "public" and visibilities[dep] != "public":
                raise RubricError(
                    f"{where} ({cid}): a public check cannot depend on {dep!r}, which is {visibilities[dep]}: "
                    "the students' package holds only the public checks"
                )
        checks.append(
            Check(
                cid,
                _require(entry, "title", str, where),
                points,
                tests,
                entry.get("hint", ""),
                depends,
                tuple(diagnoses),
                visibility,
            )
        )
        seen.add(cid)
        visibilities[cid] = visibility
    if not checks:
        raise RubricError(f"{path}: no [[checks]]")

    all_tests = [t for c in checks for t in c.tests]
    if len(all_tests) != len(set(all_tests)):
        raise RubricError(f"{path}: a hidden test decides more than one check")
    # The students' package ships a test file whole or not at all: one file cannot hold tests
    # of a public check and of a withheld one.
    file_public: dict[str, set[bool]] = {}
    for check in checks:
        for test in check.tests:
            file_public.setdefault(test.split("::")[0], set()).add(check.visibility == "public")
    mixed = sorted(name for name, kinds in file_public.items() if len(kinds) > 1)
    if mixed:
        raise RubricError(
            f"{path}: {', '.join(mixed)} holds tests of public and of hidden or after_due checks: "
            "the students' package ships a test file whole, so put them in files of their own"
        )
    models = data.get("models", {})
    if "profile_model" in data:  # the 0.1 spelling of [models] profile
        models = {"profile": data["profile_model"], **models}
    if not isinstance(models, dict) or not all(
        isinstance(k, str) and isinstance(v, str) and v.count(".") == 1 for k, v in models.items()
    ):
        raise RubricError(f'{path}: [models] maps roles to models, like profile = "users.Profile"')
    if USER_ROLE in models:
        raise RubricError(f"{path}: [models] cannot name the role {USER_ROLE!r}: it is always the project's user model")
    roles = {USER_ROLE, *models}
    evidence_raw = data.get("evidence", {})
    missing = [t for t in all_tests if t not in evidence_raw]
    if missing:
        raise RubricError(f"{path}: [evidence] has no entry for {', '.join(missing)}")
    evidence: dict[str, EvidenceSpec] = {}
    for test, spec in evidence_raw.items():
        where = f"{path}: [evidence] {test!r}"
        if test not in all_tests:
            raise RubricError(f"{path}: [evidence] names {test!r}, which no check uses")
        evidence[test] = _evidence_spec(spec, roles, where)
    for test in all_tests:
        if not (root / "tests" / test.split("::")[0]).is_file():
            raise RubricError(f"{path}: hidden test file for {test!r} not found")

    limits_raw = data.get("limits", {})
    unknown = set(limits_raw) - set(Limits.__dataclass_fields__)
    if unknown:
        raise RubricError(f"{path}: unknown [limits] keys {sorted(unknown)}")
    for key, value in limits_raw.items():
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
            raise RubricError(f"{path}: [limits] {key} must be a positive number, not {value!r}")
    limits = Limits(**limits_raw)
    visibility = data.get("visibility", {})
    if not isinstance(visibility, dict) or set(visibility) - {"output", *WITHHELD_KEYS}:
        raise RubricError(
            f'{path}: [visibility] takes output = "visible" or "hidden", and (a students\' package only) '
            "withheld_checks and withheld_points"
        )
    if visibility.get("output", "visible") not in ("visible", "hidden"):
        raise RubricError(f'{path}: [visibility] takes output = "visible" or "hidden"')
    withheld = None
    if set(visibility) & set(WITHHELD_KEYS):
        n, points = visibility.get("withheld_checks", 0), visibility.get("withheld_points", 0)
        if isinstance(n, bool) or not isinstance(n, int) or n < 0:
            raise RubricError(f"{path}: [visibility] withheld_checks must be a whole number >= 0, not {n!r}")
        if isinstance(points, bool) or not isinstance(points, (int, float)) or points < 0:
            raise RubricError(f"{path}: [visibility] withheld_points must be a number >= 0, not {points!r}")
        withheld = Withheld(n, float(points))
    visibility = {k: v for k, v in visibility.items() if k == "output"}
    connections = data.get("connections", {})
    if not isinstance(connections, dict):
        raise RubricError(f"{path}: [connections] must be a table")
    for test, spec in connections.items():
        if test not in all_tests:
            raise RubricError(f"{path}: [connections] names {test!r}, which no check uses")
        if (
            not isinstance(spec, dict)
            or set(spec) != {"signal", "sender", "ready"}
            or not all(isinstance(v, str) and v for v in spec.values())
        ):
            raise RubricError(
                f'{path}: [connections] {test!r} must be {{ signal = "...", sender = "<role>", ready = "<role>" }}'
            )
        if spec["sender"] not in roles | {ANY_SENDER}:
            raise RubricError(
                f"{path}: [connections] {test!r}: sender {spec['sender']!r} is neither "
                f"a role of [models] nor {ANY_SENDER!r} (every sender)"
            )
        if spec["ready"] not in roles and not spec["ready"].isidentifier():
            raise RubricError(
                f"{path}: [connections] {test!r}: ready {spec['ready']!r} is neither "
                "a role of [models] nor an app label"
            )
        if not all(part.isidentifier() for part in spec["signal"].split(".")):
            raise RubricError(
                f"{path}: [connections] {test!r}: signal is a Django signal's name "
                "(post_save) or the dotted path of the project's own (shop.signals.order_placed)"
            )
    try:
        runtime = _runtime.parse(data.get("runtime"), str(path))
    except ValueError as exc:
        raise RubricError(str(exc)) from None

    authoring = data.get("authoring", {})
    if not isinstance(authoring, dict) or set(authoring) - {"starter", "starter_score"}:
        raise RubricError(f'{path}: [authoring] takes starter = "<folder>" and starter_score = <points>')
    starter = (root / authoring.get("starter", "starter")).resolve()
    if not (starter / "manage.py").is_file() and (root / "starter" / "manage.py").is_file():
        starter = root / "starter"  # an installed wheel ships a starter from elsewhere as starter/
    starter_score = authoring.get("starter_score")
    if starter_score is not None and (isinstance(starter_score, bool) or not isinstance(starter_score, (int, float))):
        raise RubricError(f"{path}: [authoring] starter_score must be a number")

    folders = data.get("folders", {})
    if (
        not isinstance(folders, dict)
        or set(folders) - set(FOLDERS)
        or not all(isinstance(v, bool) for v in folders.values())
    ):
        raise RubricError(f"{path}: [folders] takes media = true and mail = true")
    verifiers = sorted({name for spec in evidence.values() for name in spec.verify})
    if verifiers:
        defined = _defined_functions(root / "verify.py")
        if defined is None:
            raise RubricError(
                f"{path}: [evidence] names verify functions, but {root / 'verify.py'} is missing or not valid Python"
            )
        undefined = [name for name in verifiers if name not in defined]
        if undefined:
            raise RubricError(f"{path}: verify.py defines no function {', '.join(undefined)}")
    teaches = data.get("teaches", "")
    if not isinstance(teaches, str):
        raise RubricError(f"{path}: teaches is a line of text")

    digest = hashlib.sha256(raw)
    for test_file in sorted((root / "tests").rglob("*.py")) + [root / "verify.py"]:
        if test_file.is_file():
            digest.update(test_file.read_bytes())
    solution = root / "solution"
    return Assignment(
        name=_require(data, "assignment", str, str(path)),
        title=data.get("title", root.name),
        root=root,
        models=dict(models),
        checks=tuple(checks),
        evidence=evidence,
        limits=limits,
        digest=digest.hexdigest()[:16],
        solution_dir=solution if solution.is_dir() else None,
        runtime=runtime,
        connections={t: dict(spec) for t, spec in connections.items()},
        visibility=dict(visibility),
        starter_dir=starter if (starter / "manage.py").is_file() else None,
        starter_score=None if starter_score is None else float(starter_score),
        teaches=teaches,
        folders=tuple(name for name in FOLDERS if folders.get(name)),
        withheld=withheld,
    )


def _defined_functions(path: Path) -> set[str] | None:
    """Names of the functions a verify.py defines at module level (read, not imported)."""
    import ast

    try:
        tree = ast.parse(path.read_bytes())
    except (OSError, SyntaxError, ValueError):
        return None
    return {node.name for node in tree.body if isinstance(node, ast.FunctionDef)}


# --- The students' package: a rubric of the public checks only (hatch_build.py) ---------------


def is_test_file(name: str) -> bool:
    """A hidden test file (``test_*.py``): the students' package ships only those its public
    checks use; every other file of ``tests/`` (helpers, pytest.ini) ships whole."""
    return name.startswith("test_") and name.endswith(".py")


def public_rubric(data: dict) -> tuple[dict, set[str]]:
    """What the students' package holds of a rubric (``data``, the parsed TOML): the rubric
    with only its public checks and their [evidence] and [connections] entries, declaring in
    [visibility] how many checks and points it withholds, and the hidden test files (relative
    to ``tests/``) those public checks use. The starter's score for check-assignment is left
    out (it is the full rubric's). A rubric with nothing to withhold comes back unchanged."""
    checks = [dict(c) for c in data.get("checks", [])]
    public = [c for c in checks if c.get("visibility", "public") == "public"]
    withheld = [c for c in checks if c.get("visibility", "public") != "public"]
    tests = {t for c in public for t in c.get("tests", [])}
    files = {t.split("::")[0] for t in tests}
    if not withheld:
        return data, files
    out = {k: v for k, v in data.items() if k not in ("checks", "evidence", "connections", "visibility")}
    if isinstance(data.get("authoring"), dict):
        out["authoring"] = {k: v for k, v in data["authoring"].items() if k != "starter_score"}
    points = sum(float(c.get("points", 0)) for c in withheld)
    out["visibility"] = {
        **{k: v for k, v in data.get("visibility", {}).items() if k not in WITHHELD_KEYS},
        "withheld_checks": len(withheld),
        "withheld_points": int(points) if points == int(points) else points,
    }
    out["checks"] = public
    for table in ("evidence", "connections"):
        if table in data:
            out[table] = {t: v for t, v in data[table].items() if t in tests}
    return out, files


_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


def _toml_key(key: str) -> str:
    return key if _BARE_KEY.match(key) else _toml_string(key)


def _toml_string(value: str) -> str:
    out = []
    for ch in value:
        if ch in '"\\':
            out.append("\\" + ch)
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\t":
            out.append("\\t")
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def _toml_value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return _toml_string(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{_toml_key(k)} = {_toml_value(v)}" for k, v in value.items()) + " }"
    raise TypeError(f"a rubric holds no {type(value).__name__}")


def dumps(data: dict) -> str:
    """TOML for a rubric as tomllib reads it (``tomllib.loads(dumps(d)) == d``): top-level keys,
    then one [table] per table (tables inside it written inline) and one [[name]] per entry of
    an array of tables. Comments are not kept."""

    def is_tables(value) -> bool:
        return isinstance(value, list) and bool(value) and all(isinstance(v, dict) for v in value)

    lines = [
        f"{_toml_key(k)} = {_toml_value(v)}" for k, v in data.items() if not isinstance(v, dict) and not is_tables(v)
    ]
    for key, value in data.items():
        if isinstance(value, dict):
            lines += ["", f"[{_toml_key(key)}]"]
            lines += [f"{_toml_key(k)} = {_toml_value(v)}" for k, v in value.items()]
        elif is_tables(value):
            for entry in value:
                lines += ["", f"[[{_toml_key(key)}]]"]
                lines += [f"{_toml_key(k)} = {_toml_value(v)}" for k, v in entry.items()]
    return "\n".join(lines).lstrip("\n") + "\n"
