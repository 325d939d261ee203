"""The core knows Django, pytest and signals, not an exercise: no assignment's names in grader/
(its example for new-assignment, grader/skeleton/, is data, not core)."""

from __future__ import annotations

import re

from conftest import ROOT

EXERCISE_WORDS = re.compile(r"[Pp]rofile|UsersConfig|signals-profile|\busers/|'users'|\"users\"")
# The 0.1 rubric key is still read, as an alias of [models] profile.
ALLOWED = (
    'if "profile_model" in data:',
    'LEGACY_MODEL_KEY = "profile_model"',
    'models = {"profile": data["profile_model"], **models}',
    '[models] maps roles to models, like profile = \\"users.Profile\\"',
    '[models] maps roles to models, like profile = "users.Profile"',  # the same, formatted
)


def test_no_exercise_names_in_the_core():
    found = []
    for path in sorted((ROOT / "grader").rglob("*.py")):
        rel = path.relative_to(ROOT).as_posix()
        if rel.startswith("grader/skeleton/"):
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if EXERCISE_WORDS.search(line) and not any(allowed in line for allowed in ALLOWED):
                found.append(f"{rel}:{number}: {line.strip()}")
    assert not found, "\n".join(found)


def test_the_check_can_fail(tmp_path):
    assert EXERCISE_WORDS.search("return apps.get_model('users.Profile')")
    assert EXERCISE_WORDS.search("from users/apps.py")
