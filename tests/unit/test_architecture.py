"""The lines between the grader's parts, read from the source with `ast` (nothing is imported).

docs/architecture.md says them in words. The rules:

(a) an assignment's code (assignments/*/tests/*.py and grader/skeleton/**.py) imports from the
    harness only its public API, `_grader_harness.api`; an assignment's verify.py (run by the
    grader, not in the child) imports nothing of the harness or the grader;
(b) no module of the project uses a name with a leading underscore of another module of the
    project (`from x import _y`, or `x._y` on an imported project module); a private module
    (`grader.cli._common`) is imported only from inside its own package;
(c) the core (grader.*, outside grader/harness) imports of the harness only CORE_MAY_IMPORT;
(d) the harness never imports grader.*;
(e) no import cycle among the modules of grader/ (core and harness), imports inside functions
    included, but the ones ALLOWED_CYCLES names with a reason;
(f) the grading service (grader.service, a Django project of its own) is imported only by itself
    and by SERVICE_STARTERS: nothing else of the core depends on it or configures Django.

Each rule has a self-test on a synthetic source, showing that it can fail.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HARNESS_DIR = "grader/harness/_grader_harness"
HARNESS = "_grader_harness"
# The harness modules the core may import: the format of the run settings, the channel and the
# grading database's own tables, shared by both sides (standard library only).
CORE_MAY_IMPORT = frozenset({"_grader_harness.protocol"})
# What an assignment's hidden tests and helpers may import of the harness.
ASSIGNMENT_MAY_IMPORT = frozenset({"_grader_harness.api"})
# Import cycles among grader's modules that are known and accepted, each with its reason. A new
# cycle fails the test; so does an entry here that no longer is one (remove it).
ALLOWED_CYCLES: dict[frozenset[str], str] = {}
# The modules that may start the grading service (grader.service.*), besides the service itself.
SERVICE_STARTERS = frozenset({"grader.cli.serve"})
# Private names used across modules today in code outside this change's reach, each with its
# reason and who should make it public: (file, the private name). A new one fails the test; so
# does an entry that is no longer used (remove it).
ALLOWED_PRIVATE: dict[tuple[str, str], str] = {
    ("grader/authoring.py", "_NAME"): "new-assignment checks a name with the rubric's own pattern; "
    "rubric.py (the lead's) should name it publicly",
    ("grader/batch/__init__.py", "_interrupt_on_signals"): "grader.batch re-exports it from "
    "batch.command for its tests",
    ("grader/batch/__init__.py", "_lock"): "grader.batch re-exports it from batch.command for its tests",
}


# ----------------------------------------------------------------------------- reading the tree


def module_name(rel: str) -> str | None:
    """The dotted name a project file is imported under: grader.x for the core, _grader_harness.x
    for the harness (as the child imports it); None for files that are not grader modules."""
    path = Path(rel)
    if path.suffix != ".py":
        return None
    parts = list(path.with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    if rel.startswith(HARNESS_DIR + "/") or rel == HARNESS_DIR + "/__init__.py":
        return ".".join([HARNESS, *parts[3:]])
    if parts[:1] == ["grader"] and not rel.startswith("grader/skeleton/"):
        return ".".join(parts)
    return None


def canonical(name: str) -> str:
    """The core spells the harness grader.harness._grader_harness.x; it is one module."""
    prefix = "grader.harness." + HARNESS
    if name == prefix or name.startswith(prefix + "."):
        return HARNESS + name[len(prefix) :]
    return name


def is_project(name: str) -> bool:
    top = name.split(".")[0]
    return top in ("grader", HARNESS, "_grader_assignment")


def _resolve_relative(module: str | None, level: int, importer: str, is_package: bool) -> str:
    if not level:
        return module or ""
    base = importer.split(".")
    if not is_package:
        base = base[:-1]
    base = base[: len(base) - (level - 1)] if level > 1 else base
    return ".".join([*base, module] if module else base)


def imports(tree: ast.AST, importer: str = "", is_package: bool = False):
    """(module, name or None, line) for every import of the file, at any depth (functions too)."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield canonical(alias.name), None, node.lineno
        elif isinstance(node, ast.ImportFrom):
            base = canonical(_resolve_relative(node.module, node.level, importer, is_package))
            for alias in node.names:
                yield base, alias.name, node.lineno


def targets(module: str, name: str | None, known: set[str]) -> str:
    """The project module an import reaches: `from pkg import mod` reaches pkg.mod when that is
    a module, else pkg."""
    if name is not None and f"{module}.{name}" in known:
        return f"{module}.{name}"
    return module


def sources() -> dict[str, str]:
    """{path relative to the root: source} of every file the rules read."""
    files = [
        *ROOT.glob("grader/**/*.py"),
        *ROOT.glob("assignments/*/tests/*.py"),
        *ROOT.glob("assignments/*/verify.py"),
    ]
    return {str(p.relative_to(ROOT)): p.read_text(encoding="utf-8") for p in files if "__pycache__" not in p.parts}


def kind(rel: str) -> str:
    if rel.startswith("grader/skeleton/") or (rel.startswith("assignments/") and "/tests/" in rel):
        return "assignment"
    if rel.startswith("assignments/") and rel.endswith("/verify.py"):
        return "verify"
    if rel.startswith(HARNESS_DIR + "/"):
        return "harness"
    return "core"


# ----------------------------------------------------------------------------- the rules


def assignment_problems(files: dict[str, str]) -> list[str]:
    """(a): what an assignment imports of the harness (or a verify.py of the project)."""
    found = []
    for rel, text in sorted(files.items()):
        what = kind(rel)
        if what not in ("assignment", "verify"):
            continue
        for module, name, line in imports(ast.parse(text, rel)):
            reached = f"{module}.{name}" if module == HARNESS and name else module
            if what == "verify" and module.split(".")[0] in ("grader", HARNESS):
                found.append(f"{rel}:{line}: verify.py imports {reached} (it may import nothing of the project)")
            elif what == "assignment" and module.split(".")[0] == HARNESS and reached not in ASSIGNMENT_MAY_IMPORT:
                found.append(f"{rel}:{line}: imports {reached}; an assignment imports only _grader_harness.api")
            elif what == "assignment" and module.split(".")[0] == "grader":
                found.append(f"{rel}:{line}: imports {reached}; an assignment imports only _grader_harness.api")
    return found


def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def private_problems(files: dict[str, str]) -> list[str]:
    """(b): a private name of another project module, imported or reached as an attribute; a
    private module imported from outside its package."""
    found = []
    for rel, text in sorted(files.items()):
        tree = ast.parse(text, rel)
        me = module_name(rel) or rel
        is_package = rel.endswith("__init__.py")
        bound: dict[str, str] = {}  # local name -> the project module it is
        for module, name, line in imports(tree, me, is_package):
            if not is_project(module):
                continue
            # the harness's package and an assignment's helpers (beside its tests) are named with
            # an underscore on purpose (no submission's module can take the name); not private
            private_part = next(
                (p for p in module.split(".") if _private(p) and p not in (HARNESS, "_grader_assignment")), None
            )
            if private_part is not None:
                package = module.rsplit(".", 1)[0]
                if not (me == package or me.startswith(package + ".")):
                    found.append(f"{rel}:{line}: imports the private module {module}")
            if name is not None and _private(name) and module != me:
                found.append(f"{rel}:{line}: imports the private name {name} of {module}")
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    if is_project(canonical(alias.name)):
                        bound[alias.asname or alias.name.split(".")[0]] = canonical(
                            alias.name if alias.asname else alias.name.split(".")[0]
                        )
            elif isinstance(node, ast.ImportFrom):
                base = canonical(_resolve_relative(node.module, node.level, me, is_package))
                if is_project(base):
                    for alias in node.names:
                        if not _private(alias.name):
                            bound[alias.asname or alias.name] = f"{base}.{alias.name}"
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Attribute) and _private(node.attr)):
                continue
            chain, value = [], node.value
            while isinstance(value, ast.Attribute):
                chain.insert(0, value.attr)
                value = value.value
            if isinstance(value, ast.Name) and value.id in bound:
                owner = ".".join([bound[value.id], *chain])
                if canonical(owner) != me:
                    found.append(f"{rel}:{node.lineno}: uses {node.attr}, a private name of {canonical(owner)}")
    return found


def core_harness_problems(files: dict[str, str]) -> list[str]:
    """(c) and (d): the core imports of the harness only CORE_MAY_IMPORT; the harness nothing of
    the grader."""
    found = []
    for rel, text in sorted(files.items()):
        what = kind(rel)
        me = module_name(rel) or rel
        for module, name, line in imports(ast.parse(text, rel), me, rel.endswith("__init__.py")):
            top = module.split(".")[0]
            if what == "core" and top == HARNESS:
                reached = f"{module}.{name}" if module == HARNESS and name else module
                if reached not in CORE_MAY_IMPORT:
                    found.append(
                        f"{rel}:{line}: the core imports {reached} of the harness "
                        f"(it may import {', '.join(sorted(CORE_MAY_IMPORT))} only)"
                    )
            elif what == "harness" and top == "grader":
                found.append(
                    f"{rel}:{line}: the harness imports {module} (it runs in the child, where the grader is not)"
                )
    return found


def import_graph(files: dict[str, str]) -> dict[str, set[str]]:
    """{module: the project modules it imports}, at any depth of the file, for grader/'s modules."""
    names = {rel: module_name(rel) for rel in files}
    known = {n for n in names.values() if n}
    graph: dict[str, set[str]] = {n: set() for n in known}
    for rel, text in files.items():
        me = names[rel]
        if not me or kind(rel) not in ("core", "harness"):
            continue
        for module, name, _ in imports(ast.parse(text, rel), me, rel.endswith("__init__.py")):
            reached = targets(module, name, known)
            if reached in known and reached != me:
                graph[me].add(reached)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[frozenset[str]]:
    """The strongly connected components of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[frozenset[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = set()
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.add(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(frozenset(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def cycle_problems(files: dict[str, str], allowed: dict[frozenset[str], str]) -> list[str]:
    """(e): every cycle not in `allowed`, and every allowed one that is gone."""
    found = cycles(import_graph(files))
    problems = [f"import cycle: {' <-> '.join(sorted(c))}" for c in found if c not in allowed]
    problems += [
        f"ALLOWED_CYCLES names {' <-> '.join(sorted(c))}, which is no longer a cycle: remove it"
        for c in allowed
        if c not in found
    ]
    return problems


def _private_key(problem: str) -> tuple[str, str]:
    """(file, private name) of a problem private_problems() found."""
    match = re.search(r": (?:uses|imports the private name|imports the private module) ([\w.]+)", problem)
    return problem.split(":")[0], match.group(1) if match else ""


def service_problems(files: dict[str, str]) -> list[str]:
    """(f): a module outside the service and SERVICE_STARTERS that imports grader.service."""

    def in_service(name: str) -> bool:
        return name == "grader.service" or name.startswith("grader.service.")

    return [
        f"{module} imports {target}: only {', '.join(sorted(SERVICE_STARTERS))} may start the grading service"
        for module, reached in sorted(import_graph(files).items())
        if not in_service(module) and module not in SERVICE_STARTERS
        for target in sorted(reached)
        if in_service(target)
    ]


# ----------------------------------------------------------------------------- the project


@pytest.fixture(scope="module")
def project() -> dict[str, str]:
    return sources()


def test_assignments_import_only_the_harness_api(project):
    assert any(kind(rel) == "assignment" for rel in project)
    assert assignment_problems(project) == []


def test_no_private_name_crosses_a_module(project):
    found = private_problems(project)
    allowed = {p for p in found if _private_key(p) in ALLOWED_PRIVATE}
    assert sorted(set(found) - allowed) == []
    used = {_private_key(p) for p in allowed}
    assert sorted(set(ALLOWED_PRIVATE) - used) == [], "ALLOWED_PRIVATE names what is no longer used: remove it"


def test_the_core_imports_only_the_protocol_of_the_harness_and_the_harness_nothing_of_the_core(project):
    assert core_harness_problems(project) == []


def test_no_import_cycle_but_the_allowed_ones(project):
    assert len(import_graph(project)) > 30
    assert cycle_problems(project, ALLOWED_CYCLES) == []


def test_only_the_serve_command_imports_the_service(project):
    assert any(m.startswith("grader.service.") for m in import_graph(project))
    assert service_problems(project) == []


def test_self_a_core_module_importing_the_service_fails():
    files = {
        "grader/service/__init__.py": "",
        "grader/service/views.py": "from grader import api\n",
        "grader/cli/serve.py": "from grader.service import server\n",
        "grader/api.py": "def f():\n    from grader.service import views\n",
        "grader/service/server.py": "from grader.service import views\n",
    }
    assert service_problems(files) == [
        "grader.api imports grader.service.views: only grader.cli.serve may start the grading service"
    ]


def test_the_api_lists_what_it_exports(project):
    """api.py's __all__ is what it imports (the assignment author's reference is complete)."""
    tree = ast.parse(project[f"{HARNESS_DIR}/api.py"])
    imported = {
        a.asname or a.name
        for n in tree.body
        if isinstance(n, ast.ImportFrom)
        for a in n.names
        if a.name != "annotations"
    }
    exported = next(
        ast.literal_eval(n.value)
        for n in tree.body
        if isinstance(n, ast.Assign) and any(getattr(t, "id", "") == "__all__" for t in n.targets)
    )
    assert sorted(exported) == sorted(imported)
    doc = ast.get_docstring(tree) or ""
    assert [name for name in exported if name not in doc] == []


# ----------------------------------------------------------------------------- each rule can fail


def test_self_an_assignment_importing_support_or_a_private_name_fails():
    files = {
        "assignments/x/tests/test_a.py": "from _grader_harness import support\n",
        "assignments/x/tests/test_b.py": "from _grader_harness.probe import relpath\n",
        "assignments/x/tests/test_c.py": "from _grader_harness import api\nfrom _grader_harness.api import fail\n",
        "assignments/x/tests/_grader_assignment.py": "def f():\n    import _grader_harness.plugin\n",
        "assignments/x/verify.py": "from grader import evidence\n",
        "grader/skeleton/tests/test_d.py": "from _grader_harness import config\n",
    }
    found = assignment_problems(files)
    assert len(found) == 5, found
    assert not any("test_c.py" in p for p in found)


def test_self_a_private_name_across_modules_fails():
    files = {
        "grader/verify.py": "def f():\n    from grader.evidence import _model_map\n",
        "grader/other.py": "from grader import evidence\nx = evidence._quote\n",
        "grader/own.py": "def _mine():\n    pass\n_mine()\n",
        "grader/evidence.py": "def _model_map():\n    pass\n",
        "grader/harness/_grader_harness/settings.py": "from _grader_harness import environment as e\ne._rel('x')\n",
        "grader/harness/_grader_harness/environment.py": "def _rel(p):\n    return p\n",
        "grader/cli/grade.py": "from grader.cli._common import ExitCode\n",
        "grader/cli/_common.py": "ExitCode = 1\n",
        "grader/api.py": "from grader.cli._common import ExitCode\n",
        "assignments/x/tests/test_a.py": "from _grader_harness import api\napi.run_state()._x\nimport sys\nsys._getframe(1)\n",
    }
    found = private_problems(files)
    assert len(found) == 4, found
    assert {p.split(":")[0] for p in found} == {
        "grader/verify.py",
        "grader/other.py",
        "grader/harness/_grader_harness/settings.py",
        "grader/api.py",
    }


def test_self_the_core_importing_the_harness_or_the_harness_the_core_fails():
    files = {
        "grader/runner.py": "from grader.harness._grader_harness.protocol import RunSettings\n",
        "grader/evidence.py": "def f():\n    from grader.harness._grader_harness import probe\n",
        "grader/scoring.py": "import _grader_harness.support\n",
        "grader/harness/_grader_harness/plugin.py": "from grader import model\n",
        "grader/harness/_grader_harness/probe.py": "from _grader_harness import state\n",
    }
    found = core_harness_problems(files)
    assert len(found) == 3, found
    assert not any(p.startswith(("grader/runner.py", "grader/harness/_grader_harness/probe.py")) for p in found)


def test_self_a_new_cycle_fails_even_through_a_function_level_import():
    files = {
        "grader/evidence.py": "from grader.verify import Verifier\n",
        "grader/verify.py": "def f():\n    from grader.evidence import render_sql\n",
        "grader/harness/_grader_harness/plugin.py": "from _grader_harness import diagnose\n",
        "grader/harness/_grader_harness/diagnose.py": "def f():\n    from _grader_harness import plugin\n",
        "grader/batch/__init__.py": "from .workers import run\n",
        "grader/batch/workers.py": "from grader import model\n",
        "grader/model.py": "",
    }
    found = cycle_problems(files, {})
    assert found == [
        "import cycle: _grader_harness.diagnose <-> _grader_harness.plugin",
        "import cycle: grader.evidence <-> grader.verify",
    ], found
    allowed = {
        frozenset({"grader.evidence", "grader.verify"}): "a reason",
        frozenset({"grader.model", "grader.scoring"}): "gone",
    }
    found = cycle_problems(files, allowed)
    assert found == [
        "import cycle: _grader_harness.diagnose <-> _grader_harness.plugin",
        "ALLOWED_CYCLES names grader.model <-> grader.scoring, which is no longer a cycle: remove it",
    ]
