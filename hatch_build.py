"""Wheel build hook: ship each assignment's rubric and hidden suite inside the package as
grader/assignments/<name>/, but never its reference solution or its variants (known wrong
submissions, which would tell students the expected results), nor its mutants.toml (which
names lines of the solution): students install this wheel.

Students' packages hold only the **public** checks: an assignment whose rubric has hidden or
after_due checks ships a rubric of its public checks (with their [evidence] and [connections]
entries, and [visibility] withheld_checks and withheld_points saying what it withholds: a
run then says that its score is not the grade), and of its hidden suite only the test files
(``test_*.py``) those checks use, with every other file of ``tests/`` (helpers, pytest.ini).
The instructor grades with the full rubric of the source checkout (or $GRADER_ASSIGNMENTS).

force-include takes whole folders and ignores exclude patterns, so the files are listed here.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import tomllib
from pathlib import Path

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

PRIVATE = {"solution", "variants", "__pycache__"}


def _rubric_module():
    """grader/rubric.py of this checkout (it imports only the standard library and the grader)."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    try:
        from grader import rubric
    finally:
        sys.path.pop(0)
    return rubric


class CustomBuildHook(BuildHookInterface):
    def initialize(self, version, build_data):
        if version == "editable":
            return  # an editable install reads assignments/ of the checkout itself
        rubric = _rubric_module()
        root = Path(self.root) / "assignments"
        self._generated = Path(tempfile.mkdtemp(prefix="grader-wheel-"))
        shipped: dict[str, set[str]] = {}  # assignment withholding checks -> the test files its public checks use
        for path in sorted(root.glob("*/rubric.toml")):
            data = tomllib.loads(path.read_text(encoding="utf-8"))
            public, files = rubric.public_rubric(data)
            if public is not data:  # something is withheld: ship the public checks' rubric
                shipped[path.parent.name] = files
                target = self._generated / path.parent.name / "rubric.toml"
                target.parent.mkdir(parents=True)
                target.write_text(rubric.dumps(public), encoding="utf-8")
                build_data["force_include"][str(target)] = f"grader/assignments/{path.parent.name}/rubric.toml"
        for path in sorted(root.rglob("*")):
            rel = path.relative_to(root)
            if (
                not path.is_file()
                or PRIVATE & set(rel.parts)
                or path.suffix == ".pyc"
                or path.name == "mutants.toml"
                or (len(rel.parts) == 2 and rel.parts[1] == "rubric.toml")  # above
            ):
                continue
            public_files = shipped.get(rel.parts[0])
            if public_files is not None and len(rel.parts) > 2 and rel.parts[1] == "tests":
                if rubric.is_test_file(path.name) and "/".join(rel.parts[2:]) not in public_files:
                    continue  # a test file of hidden or after_due checks only
            build_data["force_include"][str(path)] = f"grader/assignments/{rel.as_posix()}"
        for path in sorted(root.glob("*/rubric.toml")):
            target = f"grader/assignments/{path.parent.name}/rubric.toml"
            if target not in build_data["force_include"].values():
                build_data["force_include"][str(path)] = target
        # A starter kept outside its assignment folder ([authoring] starter, e.g. signals-profile's
        # student_template/) ships as that assignment's starter/, so `grader starter` works from
        # an installed grader too.
        for rubric in sorted(root.glob("*/rubric.toml")):
            folder = rubric.parent
            starter = tomllib.loads(rubric.read_text(encoding="utf-8")).get("authoring", {}).get("starter")
            if not starter:
                continue
            source = (folder / starter).resolve()
            if source.is_relative_to(folder.resolve()) or not (source / "manage.py").is_file():
                continue
            for path in sorted(source.rglob("*")):
                rel = path.relative_to(source)
                if (
                    path.is_file()
                    and not {"__pycache__"} & set(rel.parts)
                    and path.suffix != ".pyc"
                    and path.name != "db.sqlite3"
                ):
                    build_data["force_include"][str(path)] = (
                        f"grader/assignments/{folder.name}/starter/{rel.as_posix()}"
                    )

    def finalize(self, version, build_data, artifact_path):
        generated = getattr(self, "_generated", None)
        if generated is not None:
            shutil.rmtree(generated, ignore_errors=True)
