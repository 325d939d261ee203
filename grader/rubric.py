"""Load and validate an assignment: its rubric (TOML), hidden suite and limits."""

from __future__ import annotations

import difflib
import hashlib
import os
import re
import tomllib
from collections.abc import Callable
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


# --- The rubric's schema: every table and key, declared once ----------------------------------
#
# load() checks a rubric against RUBRIC before it reads any value: no key it does not declare
# (the closest declared one is suggested), every required key there, each value of its kind.
# What a value means (a role [models] defines, an earlier check, a positive limit) is checked
# where the Assignment is built from it. docs/authoring.md's reference table is written from
# the same declaration (schema_reference(); a unit test keeps the two the same).


@dataclass(frozen=True)
class Kind:
    """What a key holds, named as the messages and the docs name it."""

    name: str
    accepts: Callable[[object], bool]


def _whole(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


STR = Kind("str", lambda v: isinstance(v, str))
NUMBER = Kind("float", _number)  # an integer is a number too
WHOLE = Kind("int", _whole)
BOOL = Kind("bool", lambda v: isinstance(v, bool))
LIST = Kind("list", lambda v: isinstance(v, list))
STRINGS = Kind("list of str", lambda v: isinstance(v, list) and all(isinstance(x, str) for x in v))
TABLE = Kind("table", lambda v: isinstance(v, dict))
TABLES = Kind("array of tables", lambda v: isinstance(v, list) and all(isinstance(x, dict) for x in v))
COUNT_OR_TABLE = Kind("int or table", lambda v: _whole(v) or isinstance(v, dict))


@dataclass(frozen=True)
class Key:
    """One key of a rubric's table."""

    name: str
    kind: Kind
    doc: str  # what it says, for the docs' reference table
    required: bool = False
    default: object = None  # what leaving it out means (Table.value gives it; never changed in place)
    default_doc: str = ""  # the default in words, when it is not a value ("the folder's name")
    table: Table | None = None  # the keys of the table (or of each table) it holds
    choices: tuple[str, ...] = ()  # the values it takes (checked where the value is read)
    expect: str = ""  # what a value of the wrong kind is told, when the key's own words say it better
    missing: str = ""  # what a required key's absence is told (default: "missing key 'name'")


@dataclass(frozen=True)
class Table:
    """A table of the rubric: its declared keys, or (``each``) what each key holds in a table
    whose keys the author names (roles, hidden test ids)."""

    name: str  # as messages and docs name it: "[limits]", "[[checks]]"; "" for the top level
    keys: tuple[Key, ...] = ()
    each: Key | None = None
    summary: str = ""  # what it takes, in words (default: "<name> takes <its keys>")
    id_key: str = ""  # for an array of tables: the key that names an entry in messages

    def key(self, name: str) -> Key:
        """The declared key `name` (KeyError: the table declares no such key)."""
        for key in self.keys:
            if key.name == name:
                return key
        raise KeyError(f"{self.name or 'a rubric'} declares no key {name!r}")

    def value(self, data: dict, name: str):
        """`data`'s value of the declared key `name`, or the key's default."""
        return data.get(name, self.key(name).default)

    def takes(self) -> str:
        return self.summary or f"{self.name or 'a rubric'} takes {_words([k.name for k in self.keys])}"


def _words(names: list[str]) -> str:
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


MODELS = Table(
    "[models]",
    each=Key(
        "<role>",
        STR,
        '"app_label.ModelName" (an auto-created many-to-many table is "app_label.Model_field"); '
        f"the role {USER_ROLE!r} is always the project's user model and cannot be named here",
    ),
)
AUTHORING = Table(
    "[authoring]",
    (
        Key("starter", STR, "the folder students receive, relative to the assignment", default="starter"),
        Key(
            "starter_score",
            NUMBER,
            "what the untouched starter must earn (`grader check-assignment` says what it earns when this is missing)",
            default_doc="none",
        ),
    ),
)
LIMITS = Table(
    "[limits]",
    tuple(
        Key(name, NUMBER, doc, default=getattr(Limits(), name), expect=f"{name} must be a positive number")
        for name, doc in (
            ("wall_time_s", "the hidden suite's wall-clock time, in seconds"),
            ("memory_mb", "the grading child's memory, in MB"),
            ("max_processes", "the processes (and threads) the grading child may run"),
            ("max_file_mb", "the largest file the grading child may write, in MB"),
            ("max_output_kb", "what the grading child may print, in KB"),
        )
    ),
)
VISIBILITY = Table(
    "[visibility]",
    (
        Key(
            "output",
            STR,
            "whether students see what the submission printed",
            default="visible",
            choices=("visible", "hidden"),
        ),
        Key(
            "withheld_checks",
            WHOLE,
            "a students' package only (its build writes it): how many checks it leaves out",
            default=0,
            expect="withheld_checks must be a whole number >= 0",
        ),
        Key(
            "withheld_points",
            NUMBER,
            "a students' package only: the points of the checks it leaves out",
            default=0,
            expect="withheld_points must be a number >= 0",
        ),
    ),
)
RUNTIME = Table(
    "[runtime]",
    (
        Key(
            "packages",
            STRINGS,
            "pip requirements student projects may use (names from the package index, no URLs); "
            "installed once per set, wheels only",
            default=(),
        ),
    ),
)
FOLDERS_TABLE = Table(
    "[folders]",
    tuple(
        Key(name, BOOL, doc, default=False)
        for name, doc in (
            ("media", "the grader owns MEDIA_ROOT for the run, and `verify.py` reads it"),
            ("mail", "the grader collects the e-mail the project sends, and `verify.py` reads it"),
        )
    ),
)
CHECK = Table(
    "[[checks]]",
    (
        Key("id", STR, "stable: the gradebooks and CI read it", required=True),
        Key("title", STR, "what it checks, in a line", required=True),
        Key("points", NUMBER, "what it is worth (not negative)", required=True),
        Key(
            "tests",
            LIST,
            'the hidden tests that decide it ("test_x.py::test_y", relative to tests/): it passes when '
            "each of them passed (a test may skip itself) and at least one did",
            required=True,
        ),
        Key("hint", STR, "what to do when it does not pass, in the feedback", default=""),
        Key(
            "depends",
            STRINGS,
            "ids of earlier checks it needs: when one of them did not pass, it earns 0 (skipped)",
            default=(),
        ),
        Key(
            "diagnoses",
            STRINGS,
            "the named mistakes it can report (`grader check-assignment` wants a variant that shows each)",
            default=(),
        ),
        Key(
            "visibility",
            STR,
            "who sees it (see Visibility below)",
            default="public",
            choices=VISIBILITIES,
            expect=f"visibility must be {', '.join(repr(v) for v in VISIBILITIES)}",
        ),
    ),
    id_key="id",
)
EVIDENCE_KEYS = (
    Key("objects", TABLE, "role = n: the test tracked exactly n objects of the role, each still there", default={}),
    Key(
        "related",
        TABLE,
        "role = n: every tracked object has exactly n rows of the role pointing at it",
        default={},
    ),
    Key("sql", STRINGS, "queries over the roles' tables that must return no rows", default=()),
    Key(
        "verify",
        STRINGS,
        "functions of the assignment's verify.py, each told what the run left, that say why a pass is not backed",
        default=(),
    ),
    Key("notes", STRINGS, "the notes (`support.note`) the test leaves on its way to a pass", default=()),
)
EVIDENCE_ENTRY = Table(
    '[evidence] "<test id>"',
    EVIDENCE_KEYS,
    summary=f"an [evidence] entry is a whole number, or a table with {_words([k.name for k in EVIDENCE_KEYS])}",
)
EVIDENCE = Table(
    "[evidence]",
    each=Key(
        '"<test id>"',
        COUNT_OR_TABLE,
        "every hidden test of a check: n (the test tracked n users), or a table",
        table=EVIDENCE_ENTRY,
    ),
)
CONNECTION = Table(
    '[connections] "<test id>"',
    (
        Key(
            "signal",
            STR,
            "a Django signal's name (post_save), or the dotted path of the project's own (shop.signals.order_placed)",
            required=True,
        ),
        Key("sender", STR, f'a role, or "{ANY_SENDER}" (connected for every sender)', required=True),
        Key("ready", STR, "a role whose app's ready() was running as it connected, or an app label", required=True),
    ),
)
CONNECTIONS = Table(
    "[connections]",
    each=Key(
        '"<test id>"',
        TABLE,
        "the connection the test's pass needs the child to have streamed as it happened",
        table=CONNECTION,
    ),
)
RUBRIC = Table(
    "",
    (
        Key("assignment", STR, "the assignment's name (`--assignment NAME`, the reports)", required=True),
        Key("title", STR, "its title, in every report", default_doc="the folder's name"),
        Key("teaches", STR, "what it teaches, in a line (`grader assignments` shows it)", default=""),
        Key("models", TABLE, "the models the exercise is about, by role", default={}, table=MODELS),
        Key(LEGACY_MODEL_KEY, STR, "0.1's spelling of one role of [models], still read"),
        Key(
            "authoring", TABLE, "for `grader check-assignment`: the starter and its score", default={}, table=AUTHORING
        ),
        Key("limits", TABLE, "the grading child's limits", default={}, table=LIMITS),
        Key(
            "visibility",
            TABLE,
            "what students see of a report, and what a students' package leaves out",
            default={},
            table=VISIBILITY,
        ),
        Key("runtime", TABLE, "the third-party packages student projects may use", default={}, table=RUNTIME),
        Key(
            "folders",
            TABLE,
            "the grader-owned folders the child writes into and verify.py reads",
            default={},
            table=FOLDERS_TABLE,
        ),
        Key(
            "checks",
            TABLES,
            "the checks, a gradebook line each, in the order their hidden files run",
            required=True,
            missing="no [[checks]]",
            table=CHECK,
        ),
        Key(
            "evidence",
            TABLE,
            "what each hidden test's pass must leave, read by the grader itself",
            default={},
            table=EVIDENCE,
        ),
        Key(
            "connections",
            TABLE,
            "the connection a registration test's pass needs",
            default={},
            table=CONNECTIONS,
        ),
    ),
)


def validate(data: dict, where: str) -> None:
    """Check a parsed rubric against RUBRIC (`where` names its file): RubricError for the first
    unknown key (with the closest declared one), missing required key or value of the wrong
    kind, saying where it is, what was found and what is expected."""
    _check_table(data, RUBRIC, where, where, where)


def _check_table(data: dict, table: Table, path: str, label: str, missing_label: str, entry: bool = False) -> None:
    """`data` against `table`; `label` names it in messages (`missing_label`, where a missing key
    goes), `entry`: one of the tables whose keys the author names."""
    if table.each is None:
        unknown = [name for name in data if name not in {k.name for k in table.keys}]
        if unknown:
            raise RubricError(_unknown_keys(label, table, unknown, entry))
        missing = [k.missing or f"missing key {k.name!r}" for k in table.keys if k.required and k.name not in data]
        if missing:
            raise RubricError(f"{missing_label}: {'; '.join(missing)}")
    for name, value in data.items():
        key = table.each or table.key(name)
        if not key.kind.accepts(value):
            raise RubricError(f"{label}: {key.expect or f'{name!r} must be {key.kind.name}'}, not {_found(value)}")
        if key.table is None:
            continue
        if table.each is not None:  # an entry the author names: [evidence] 'test_x.py::test_y'
            if isinstance(value, dict):
                _check_table(value, key.table, path, f"{label} {name!r}", f"{label} {name!r}", entry=True)
        elif key.kind is TABLES:
            for i, item in enumerate(value):
                ident = item.get(key.table.id_key)
                named = f' ("{ident}")' if isinstance(ident, str) else ""
                _check_table(item, key.table, path, f"{path}: [[{name}]] #{i + 1}{named}", f"{path}: {name}[{i}]")
        else:
            _check_table(value, key.table, path, f"{path}: [{name}]", f"{path}: [{name}]")


def _unknown_keys(label: str, table: Table, unknown: list[str], entry: bool) -> str:
    declared = [k.name for k in table.keys]
    said = []
    for name in unknown:
        close = difflib.get_close_matches(name, declared, n=1)
        said.append(f'unknown key "{name}"' + (f' (did you mean "{close[0]}"?)' if close else ""))
    noun = f"{table.name} " if table.name and not entry else ""
    return f"{label}: {', '.join(said)}; unknown {noun}keys {sorted(unknown)}: {table.takes()}"


def _found(value: object) -> str:
    """A value as a wrong-kind message shows it: its kind, and itself unless it is a table."""
    if isinstance(value, dict):
        return "table"
    text = repr(value)
    return f"{type(value).__name__} {text if len(text) <= 40 else text[:37] + '...'}"


def schema_reference() -> str:
    """Every table and key of a rubric, as the Markdown table docs/authoring.md shows."""
    rows = ["| table | key | kind | default | what it says |", "| --- | --- | --- | --- | --- |"]

    def walk(table: Table, where: str) -> None:
        keys = table.keys or ((table.each,) if table.each else ())
        for key in keys:
            kind = _words([f'`"{c}"`' for c in key.choices]) if key.choices else key.kind.name
            if key.required:
                default = "required"
            elif key.default_doc or key.default is None:
                default = key.default_doc
            else:
                value = list(key.default) if isinstance(key.default, tuple) else key.default
                default = f"`{_toml_value(value)}`" if value != {} else "`{}`"
            rows.append(f"| {where} | `{key.name}` | {kind} | {default} | {key.doc} |")
        for key in keys:
            if key.table is not None:
                walk(key.table, f"`{key.table.name}`")

    walk(RUBRIC, "(top level)")
    assert not any(row.count("|") != 6 for row in rows), "a pipe in a key's doc breaks the table"
    return "\n".join(rows) + "\n"


# --- Building the Assignment from a valid rubric ---------------------------------------------


def _evidence_spec(spec, roles: set[str], where: str) -> EvidenceSpec:
    """An [evidence] entry: a whole number n (the test tracked n users), or a table with
    objects, related, sql, verify and notes (see EvidenceSpec)."""
    if not isinstance(spec, dict):
        if spec < 0:
            raise RubricError(f"{where} must be a whole number >= 0")
        return EvidenceSpec(objects={USER_ROLE: spec} if spec else {})
    counts = {}
    for key in ("objects", "related"):
        table = EVIDENCE_ENTRY.value(spec, key)
        if not all(_whole(n) and n >= 0 for n in table.values()):
            raise RubricError(f"{where}: {key} maps roles to whole numbers >= 0")
        unknown = set(table) - roles
        if unknown:
            raise RubricError(f"{where}: {key} names roles {sorted(unknown)} that [models] does not define")
        counts[key] = dict(table)
    sql = EVIDENCE_ENTRY.value(spec, "sql")
    if not all(q.strip() for q in sql):
        raise RubricError(f"{where}: sql is a list of queries that must return no rows")
    if counts["related"] and not counts["objects"]:
        raise RubricError(f"{where}: related counts rows pointing at tracked objects: name them in objects")
    verify = EVIDENCE_ENTRY.value(spec, "verify")
    if not all(v.isidentifier() for v in verify):
        raise RubricError(f"{where}: verify lists functions of the assignment's verify.py by name")
    notes = EVIDENCE_ENTRY.value(spec, "notes")
    if not all(n.isidentifier() for n in notes):
        raise RubricError(f"{where}: notes lists the names of the notes the test leaves (support.note)")
    return EvidenceSpec(counts["objects"], counts["related"], tuple(sql), tuple(verify), tuple(notes))


def _checks(entries: list[dict], path: Path) -> tuple[Check, ...]:
    """The [[checks]]: ids unique, hidden test ids, depends on earlier checks only, points not
    negative, visibility one of VISIBILITIES (a public check depending on public ones only)."""
    checks: list[Check] = []
    visibilities: dict[str, str] = {}
    for i, entry in enumerate(entries):
        where = f"{path}: checks[{i}]"
        cid = entry["id"]
        if cid in visibilities:
            raise RubricError(f"{where}: duplicate check id {cid!r}")
        tests = tuple(entry["tests"])
        if not tests or not all(isinstance(t, str) and "::" in t for t in tests):
            raise RubricError(f"{where}: 'tests' must list hidden test ids like 'test_x.py::test_y'")
        depends = tuple(CHECK.value(entry, "depends"))
        for dep in depends:
            if dep not in visibilities:
                raise RubricError(f"{where}: depends on {dep!r}, which is not an earlier check")
        points = float(entry["points"])
        if points < 0:
            raise RubricError(f"{where}: points must not be negative")
        diagnoses = tuple(CHECK.value(entry, "diagnoses"))
        if not all(diagnoses):
            raise RubricError(f"{where}: 'diagnoses' must list names like \"no-created-check\"")
        visibility = CHECK.value(entry, "visibility")
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
        hint = CHECK.value(entry, "hint")
        checks.append(Check(cid, entry["title"], points, tests, hint, depends, diagnoses, visibility))
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
    return tuple(checks)


def _models(data: dict, path: Path) -> dict[str, str]:
    models = RUBRIC.value(data, "models")
    if "profile_model" in data:  # the 0.1 spelling of [models] profile
        models = {"profile": data["profile_model"], **models}
    if not all(v.count(".") == 1 for v in models.values()):
        raise RubricError(f'{path}: [models] maps roles to models, like profile = "users.Profile"')
    if USER_ROLE in models:
        raise RubricError(f"{path}: [models] cannot name the role {USER_ROLE!r}: it is always the project's user model")
    return dict(models)


def _evidence(data: dict, root: Path, path: Path, tests: list[str], roles: set[str]) -> dict[str, EvidenceSpec]:
    """Each hidden test's [evidence] (every test has one; no entry names another test), its
    file in tests/, and the verify.py functions it names."""
    evidence_raw = RUBRIC.value(data, "evidence")
    missing = [t for t in tests if t not in evidence_raw]
    if missing:
        raise RubricError(f"{path}: [evidence] has no entry for {', '.join(missing)}")
    evidence: dict[str, EvidenceSpec] = {}
    for test, spec in evidence_raw.items():
        if test not in tests:
            raise RubricError(f"{path}: [evidence] names {test!r}, which no check uses")
        evidence[test] = _evidence_spec(spec, roles, f"{path}: [evidence] {test!r}")
    for test in tests:
        if not (root / "tests" / test.split("::")[0]).is_file():
            raise RubricError(f"{path}: hidden test file for {test!r} not found")
    return evidence


def _verifiers(evidence: dict[str, EvidenceSpec], root: Path, path: Path) -> None:
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


def _limits(data: dict, path: Path) -> Limits:
    limits_raw = RUBRIC.value(data, "limits")
    for key, value in limits_raw.items():
        if value <= 0:
            raise RubricError(f"{path}: [limits] {key} must be a positive number, not {value!r}")
    return Limits(**limits_raw)


def _visibility(data: dict, path: Path) -> tuple[dict[str, str], Withheld | None]:
    """[visibility]: what students see of a report, and (a students' package) what it withholds."""
    visibility = RUBRIC.value(data, "visibility")
    if VISIBILITY.value(visibility, "output") not in VISIBILITY.key("output").choices:
        raise RubricError(f'{path}: [visibility] takes output = "visible" or "hidden"')
    withheld = None
    if set(visibility) & set(WITHHELD_KEYS):
        n, points = VISIBILITY.value(visibility, "withheld_checks"), VISIBILITY.value(visibility, "withheld_points")
        if n < 0:
            raise RubricError(f"{path}: [visibility] withheld_checks must be a whole number >= 0, not {n!r}")
        if points < 0:
            raise RubricError(f"{path}: [visibility] withheld_points must be a number >= 0, not {points!r}")
        withheld = Withheld(n, float(points))
    return {k: v for k, v in visibility.items() if k == "output"}, withheld


def _connections(data: dict, path: Path, tests: list[str], roles: set[str]) -> dict[str, dict[str, str]]:
    connections = RUBRIC.value(data, "connections")
    for test, spec in connections.items():
        if test not in tests:
            raise RubricError(f"{path}: [connections] names {test!r}, which no check uses")
        if not all(spec.values()):
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
                f"{path}: [connections] {test!r}: ready {spec['ready']!r} is neither a role of [models] nor an app label"
            )
        if not all(part.isidentifier() for part in spec["signal"].split(".")):
            raise RubricError(
                f"{path}: [connections] {test!r}: signal is a Django signal's name "
                "(post_save) or the dotted path of the project's own (shop.signals.order_placed)"
            )
    return {t: dict(spec) for t, spec in connections.items()}


def _starter(data: dict, root: Path) -> tuple[Path | None, float | None]:
    """[authoring]: the starter students receive (when it is there) and the score it must earn."""
    authoring = RUBRIC.value(data, "authoring")
    starter = (root / AUTHORING.value(authoring, "starter")).resolve()
    if not (starter / "manage.py").is_file() and (root / "starter" / "manage.py").is_file():
        starter = root / "starter"  # an installed wheel ships a starter from elsewhere as starter/
    score = AUTHORING.value(authoring, "starter_score")
    return (starter if (starter / "manage.py").is_file() else None), (None if score is None else float(score))


def _digest(raw: bytes, root: Path) -> str:
    """What identifies the assignment's grading: the rubric, the hidden tests and verify.py."""
    digest = hashlib.sha256(raw)
    for test_file in sorted((root / "tests").rglob("*.py")) + [root / "verify.py"]:
        if test_file.is_file():
            digest.update(test_file.read_bytes())
    return digest.hexdigest()[:16]


def _build(root: Path, data: dict, raw: bytes) -> Assignment:
    """The Assignment of folder `root` from its rubric's `data`, valid by RUBRIC (validate()),
    checked for what its values mean; `raw`, the rubric's bytes, goes into its digest."""
    path = root / "rubric.toml"
    checks = _checks(data.get("checks", []), path)
    tests = [t for c in checks for t in c.tests]
    models = _models(data, path)
    roles = {USER_ROLE, *models}
    evidence = _evidence(data, root, path, tests, roles)
    limits = _limits(data, path)
    visibility, withheld = _visibility(data, path)
    connections = _connections(data, path, tests, roles)
    try:
        runtime = _runtime.parse(data.get("runtime"), str(path))
    except ValueError as exc:
        raise RubricError(str(exc)) from None
    starter, starter_score = _starter(data, root)
    _verifiers(evidence, root, path)
    folders = RUBRIC.value(data, "folders")
    solution = root / "solution"
    return Assignment(
        name=data["assignment"],
        title=data.get("title", root.name),
        root=root,
        models=models,
        checks=checks,
        evidence=evidence,
        limits=limits,
        digest=_digest(raw, root),
        solution_dir=solution if solution.is_dir() else None,
        runtime=runtime,
        connections=connections,
        visibility=visibility,
        starter_dir=starter,
        starter_score=starter_score,
        teaches=RUBRIC.value(data, "teaches"),
        folders=tuple(name for name in FOLDERS if folders.get(name)),
        withheld=withheld,
    )


def load(root: Path) -> Assignment:
    """The assignment in folder `root`: its rubric.toml read, checked against the schema
    (RUBRIC), then built. RubricError says what is wrong, and where."""
    path = root / "rubric.toml"
    raw = path.read_bytes()
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise RubricError(f"{path}: not valid TOML: {exc}") from None
    validate(data, str(path))
    return _build(root, data, raw)


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
