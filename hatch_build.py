"""Wheel build hook: ship each assignment's rubric and hidden suite inside the package as
grader/assignments/<name>/, but never its reference solution or its variants (known wrong
submissions, which would tell students the expected results), nor its mutants.toml (which
names lines of the solution): students install this wheel.

force-include takes whole folders and ignores exclude patterns, so the files are listed here.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

PRIVATE = {"solution", "variants", "__pycache__"}


class CustomBuildHook(BuildHookInterface):
    def initialize(self, version, build_data):
        if version == "editable":
            return  # an editable install reads assignments/ of the checkout itself
        root = Path(self.root) / "assignments"
        for path in sorted(root.rglob("*")):
            rel = path.relative_to(root)
            if (
                path.is_file()
                and not PRIVATE & set(rel.parts)
                and path.suffix != ".pyc"
                and path.name != "mutants.toml"
            ):
                build_data["force_include"][str(path)] = f"grader/assignments/{rel.as_posix()}"
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
