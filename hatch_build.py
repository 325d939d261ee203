"""Wheel build hook: ship each assignment's rubric and hidden suite inside the package as
grader/assignments/<name>/, but never its reference solution or its variants (known wrong
submissions, which would tell students the expected results), nor its mutants.toml (which
names lines of the solution): students install this wheel.

force-include takes whole folders and ignores exclude patterns, so the files are listed here.
"""
from __future__ import annotations

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
            if path.is_file() and not PRIVATE & set(rel.parts) and path.suffix != ".pyc" \
                    and path.name != "mutants.toml":
                build_data["force_include"][str(path)] = f"grader/assignments/{rel.as_posix()}"
