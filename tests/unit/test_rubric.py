"""Unit tests of grader/rubric.py: the real rubric loads; malformed ones are refused."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from conftest import ASSIGNMENT, CHECK_IDS

from grader import rubric
from grader.rubric import Check, Limits, RubricError

REAL_TEXT = (ASSIGNMENT / "rubric.toml").read_text()


# ---------------------------------------------------------------- the real rubric


def test_real_rubric_loads():
    a = rubric.load(ASSIGNMENT)
    assert a.name == "signals-profile"
    assert a.title == "Signals: one Profile per user"
    assert a.models == {"profile": "users.Profile"}
    assert a.evidence["test_creation.py::test_admin_add_form"] == rubric.EvidenceSpec(
        objects={"user": 2}, related={"profile": 1}
    )
    assert a.evidence["test_project.py::test_project_loads"] == rubric.EvidenceSpec()
    assert a.root == ASSIGNMENT
    assert a.tests_dir == ASSIGNMENT / "tests"
    assert a.solution_dir == ASSIGNMENT / "solution"
    assert [c.id for c in a.checks] == CHECK_IDS
    assert [c.points for c in a.checks] == [1.0, 3.0, 3.0, 3.0]
    assert all(isinstance(c.points, float) for c in a.checks)
    assert a.max_score == 10.0
    # nothing depends on project-loads (migrations cost its point only); re-saving is
    # judged only once creation works
    assert [c.depends for c in a.checks] == [(), (), (), ("profile-created-once",)]
    assert a.checks[0].tests == ("test_project.py::test_project_loads",)
    assert len(a.checks[2].tests) == 6
    assert all(c.hint and c.title for c in a.checks)
    assert len(a.test_ids) == 11 == len(set(a.test_ids))
    users = {
        "test_project.py::test_project_loads": 0,
        "test_registration.py::test_receiver_registered_in_ready": 0,
        "test_creation.py::test_create_user": 1,
        "test_creation.py::test_create_superuser": 1,
        "test_creation.py::test_objects_create": 1,
        "test_creation.py::test_instance_save": 1,
        "test_creation.py::test_createsuperuser_command": 1,
        "test_creation.py::test_admin_add_form": 2,
        "test_resave.py::test_save_again": 1,
        "test_resave.py::test_save_again_with_update_fields": 1,
        "test_resave.py::test_save_many_times": 3,
    }
    assert a.evidence == {
        t: rubric.EvidenceSpec(objects={"user": n}, related={"profile": 1}) if n else rubric.EvidenceSpec()
        for t, n in users.items()
    }
    assert a.limits == Limits(wall_time_s=60, memory_mb=2048, max_processes=64, max_file_mb=64, max_output_kb=64)
    assert len(a.digest) == 16 and int(a.digest, 16) >= 0
    assert "pillow" in a.runtime.names and "django-crispy-forms" in a.runtime.names


def test_every_rubric_test_exists_in_the_hidden_suite():
    a = rubric.load(ASSIGNMENT)
    for test_id in a.test_ids:
        file, name = test_id.split("::")
        assert f"def {name}(" in (a.tests_dir / file).read_text(), test_id


def test_find_by_name_and_by_folder():
    by_name = rubric.find("signals-profile")
    by_path = rubric.find(str(ASSIGNMENT))
    assert by_name.name == by_path.name == "signals-profile"
    assert by_name.digest == by_path.digest
    assert "signals-profile" in rubric.available()


def test_find_unknown_assignment_lists_the_known_ones():
    with pytest.raises(RubricError, match=r"unknown assignment 'nope' \(known: .*signals-profile"):
        rubric.find("nope")


def test_assignments_env_folder_is_searched_first(tmp_path, monkeypatch):
    copy = _copy_assignment(tmp_path / "extra", name="signals-profile")
    text = (copy / "rubric.toml").read_text().replace('title = "Signals: one Profile per user"', 'title = "Overridden"')
    (copy / "rubric.toml").write_text(text)
    monkeypatch.setenv(rubric.ASSIGNMENTS_ENV, str(tmp_path / "extra"))
    assert rubric.search_path()[0] == tmp_path / "extra"
    found = rubric.find("signals-profile")
    assert found.title == "Overridden"
    assert found.root == copy


def test_digest_covers_rubric_and_hidden_tests(tmp_path):
    copy = _copy_assignment(tmp_path)
    first = rubric.load(copy).digest
    assert rubric.load(copy).digest == first  # stable
    test_file = copy / "tests" / "test_resave.py"
    test_file.write_text(test_file.read_text() + "\n# changed\n")
    second = rubric.load(copy).digest
    assert second != first
    (copy / "rubric.toml").write_text((copy / "rubric.toml").read_text() + "\n# changed\n")
    assert rubric.load(copy).digest not in (first, second)


def test_optional_parts_default(tmp_path):
    copy = _copy_assignment(tmp_path)
    shutil.rmtree(copy / "solution")
    text = _cut_section(REAL_TEXT, "[limits]")
    text = text.replace('title = "Signals: one Profile per user"\n', "")
    (copy / "rubric.toml").write_text(text)
    a = rubric.load(copy)
    assert a.limits == Limits()
    assert a.solution_dir is None
    assert a.title == copy.name


def test_check_dataclass_defaults():
    c = Check("x", "X", 1.0, ("t.py::t",))
    assert c.hint == "" and c.depends == ()


# ---------------------------------------------------------------- malformed rubrics


def _copy_assignment(dest: Path, name: str = "signals-profile") -> Path:
    target = dest / name
    shutil.copytree(ASSIGNMENT, target, ignore=shutil.ignore_patterns("__pycache__"))
    return target


def _cut_section(text: str, header: str) -> str:
    """Remove a [table] section up to the next blank line followed by a header."""
    start = text.index(header)
    end = text.index("\n[[checks]]", start)
    return text[:start] + text[end + 1 :]


MANY = '"test_resave.py::test_save_many_times" = { objects = { user = 3 }, related = { profile = 1 } }'


def _sub(old: str, new: str, count: int = 1):
    def edit(text: str) -> str:
        assert text.count(old) == count, old
        return text.replace(old, new)

    return edit


MALFORMED = {
    "bad-toml": (_sub("points = 1\n", "points = = 1\n"), "not valid TOML"),
    "unterminated-string": (
        _sub(
            'title = "The project loads and its migrations match the models"',
            'title = "The project loads and its migrations match the models',
        ),
        "not valid TOML",
    ),
    "duplicate-check-id": (
        _sub('id = "resave-no-duplicate"', 'id = "profile-created-once"'),
        "duplicate check id 'profile-created-once'",
    ),
    "depends-on-unknown-check": (
        _sub('depends = ["profile-created-once"]', 'depends = ["no-such-check"]'),
        "depends on 'no-such-check', which is not an earlier check",
    ),
    "depends-on-later-check": (
        _sub(
            'points = 3\ntests = ["test_registration.py',
            'points = 3\ndepends = ["resave-no-duplicate"]\ntests = ["test_registration.py',
        ),
        "depends on 'resave-no-duplicate', which is not an earlier check",
    ),
    "depends-on-itself": (
        _sub('depends = ["profile-created-once"]', 'depends = ["resave-no-duplicate"]'),
        "depends on 'resave-no-duplicate', which is not an earlier check",
    ),
    "missing-evidence-entry": (
        _sub(MANY + "\n", ""),
        r"\[evidence\] has no entry for test_resave.py::test_save_many_times",
    ),
    "evidence-for-unused-test": (
        _sub(MANY + "\n", MANY + '\n"test_resave.py::test_other" = 1\n'),
        "names 'test_resave.py::test_other', which no check uses",
    ),
    "negative-evidence": (
        _sub(MANY, MANY.replace("user = 3", "user = -1")),
        "objects maps roles to whole numbers >= 0",
    ),
    "fractional-evidence": (
        _sub(MANY, MANY.replace("user = 3", "user = 1.5")),
        "objects maps roles to whole numbers >= 0",
    ),
    "negative-bare-evidence": (
        _sub('"test_project.py::test_project_loads" = 0', '"test_project.py::test_project_loads" = -1'),
        "must be a whole number >= 0",
    ),
    "unknown-limits-key": (
        _sub("max_output_kb = 64", "max_output_kb = 64\ncpu_seconds = 10"),
        r"unknown \[limits\] keys \['cpu_seconds'\]",
    ),
    "missing-test-file": (
        _sub('"test_project.py::test_project_loads"', '"test_missing.py::test_project_loads"', 2),
        "hidden test file for 'test_missing.py::test_project_loads' not found",
    ),
    "test-id-without-function": (
        _sub('tests = ["test_project.py::test_project_loads"]', 'tests = ["test_project.py"]'),
        "'tests' must list hidden test ids",
    ),
    "empty-tests": (
        _sub('tests = ["test_project.py::test_project_loads"]', "tests = []"),
        "'tests' must list hidden test ids",
    ),
    "tests-not-a-list": (
        _sub('tests = ["test_project.py::test_project_loads"]', 'tests = "test_project.py::test_project_loads"'),
        "'tests' must be list, not str",
    ),
    "test-in-two-checks": (
        _sub(
            '    "test_resave.py::test_save_many_times",\n]',
            '    "test_resave.py::test_save_many_times",\n    "test_creation.py::test_create_user",\n]',
        ),
        "a hidden test decides more than one check",
    ),
    "negative-points": (_sub("points = 1\n", "points = -1\n"), "points must not be negative"),
    "points-as-string": (_sub("points = 1\n", 'points = "1"\n'), "'points' must be float, not str"),
    "points-as-bool": (_sub("points = 1\n", "points = true\n"), "'points' must be float, not bool"),
    "missing-id": (_sub('id = "project-loads"\n', ""), "checks\\[0\\]: missing key 'id'"),
    "missing-title": (
        _sub('title = "The project loads and its migrations match the models"\n', ""),
        "checks\\[0\\]: missing key 'title'",
    ),
    "missing-assignment-name": (_sub('assignment = "signals-profile"\n', ""), "missing key 'assignment'"),
    "related-to-an-unknown-role": (
        _sub('[models]\nprofile = "users.Profile"\n', ""),
        "related names roles \\['profile'\\] that \\[models\\] does not define",
    ),
    "models-naming-user": (
        _sub('profile = "users.Profile"\n', 'profile = "users.Profile"\nuser = "auth.User"\n'),
        "cannot name the role 'user'",
    ),
    "evidence-bad-key": (
        _sub("{ objects = { user = 3 }, related", "{ objcts = { user = 3 }, related"),
        "a table with objects, related, sql, verify and notes",
    ),
    "no-checks": (lambda text: text[: text.index("[[checks]]")], "no \\[\\[checks\\]\\]"),
    "misspelt-top-level-key": (_sub("[limits]\n", "[limit]\n"), "unknown keys \\['limit'\\]"),
    "connection-sender-not-a-role": (
        _sub('sender = "user"', 'sender = "users"'),
        "neither a role of \\[models\\] nor '\\*'",
    ),
    "verify-function-missing": (
        _sub(
            '"test_resave.py::test_save_again" = { objects = { user = 1 }, related = { profile = 1 } }',
            '"test_resave.py::test_save_again" = { objects = { user = 1 }, verify = ["gone"] }',
        ),
        "names verify functions, but .*verify.py is missing",
    ),
}


@pytest.mark.parametrize("case", list(MALFORMED))
def test_malformed_rubric_is_refused(case, tmp_path):
    edit, message = MALFORMED[case]
    copy = _copy_assignment(tmp_path)
    (copy / "rubric.toml").write_text(edit(REAL_TEXT))
    with pytest.raises(RubricError, match=message):
        rubric.load(copy)
    # find() by folder reports the same instructor error
    with pytest.raises(RubricError):
        rubric.find(str(copy))


def test_rubric_not_utf8_is_refused(tmp_path):
    copy = _copy_assignment(tmp_path)
    (copy / "rubric.toml").write_bytes(REAL_TEXT.encode().replace(b"Signals:", b"Signals\xff:"))
    with pytest.raises(RubricError, match="not valid TOML"):
        rubric.load(copy)


def test_missing_test_file_on_disk_is_refused(tmp_path):
    copy = _copy_assignment(tmp_path)
    (copy / "tests" / "test_resave.py").unlink()
    with pytest.raises(RubricError, match="hidden test file for 'test_resave.py::test_save_again' not found"):
        rubric.load(copy)


def test_error_names_the_rubric_file(tmp_path):
    copy = _copy_assignment(tmp_path)
    (copy / "rubric.toml").write_text(REAL_TEXT.replace('id = "resave-no-duplicate"', 'id = "project-loads"'))
    with pytest.raises(RubricError) as info:
        rubric.load(copy)
    assert str(copy / "rubric.toml") in str(info.value)
    assert "checks[3]" in str(info.value)


@pytest.mark.parametrize(
    "line,bad",
    [
        ("wall_time_s = 60 ", 'wall_time_s = "60" '),
        ("wall_time_s = 60 ", "wall_time_s = -5 "),
    ],
)
def test_limits_must_be_positive_numbers(line, bad, tmp_path):
    """A limit of the wrong type or sign is an instructor's error: refuse it when loading,
    not with an internal error (exit status 3) in the middle of grading."""
    copy = _copy_assignment(tmp_path)
    (copy / "rubric.toml").write_text(_sub(line, bad)(REAL_TEXT))
    with pytest.raises(RubricError, match=r"\[limits\]"):
        rubric.load(copy)


# ---------------------------------------------------------------- which assignment


def test_the_project_marker_names_the_assignment(tmp_path, monkeypatch):
    project = tmp_path / "project"
    (project / "users").mkdir(parents=True)
    assert rubric.named_by(project) is None
    (project / rubric.MARKER).write_text("signals-profile\n")
    assert rubric.named_by(project) == rubric.named_by(project / "users") == "signals-profile"
    (project / rubric.MARKER).write_text("../../etc/passwd\n")  # not a name: ignored
    assert rubric.named_by(project) is None
    (project / rubric.MARKER).unlink()
    (project / rubric.MARKER).symlink_to("/dev/zero")  # never read
    assert rubric.named_by(project) is None


def test_without_a_marker_the_only_assignment_is_used_else_the_user_must_say(monkeypatch, tmp_path):
    monkeypatch.setattr(rubric, "available", lambda: ["signals-profile"])
    assert rubric.default_name(tmp_path) == "signals-profile"
    assert rubric.find().name == "signals-profile"  # the only one the grader knows
    monkeypatch.setattr(rubric, "available", lambda: ["signals-m2m", "signals-profile"])
    with pytest.raises(rubric.RubricError, match="name it with --assignment NAME"):
        rubric.default_name(tmp_path)
    (tmp_path / rubric.MARKER).write_text("signals-m2m")
    assert rubric.default_name(tmp_path) == "signals-m2m"


def test_the_starter_names_its_assignment():
    from conftest import TEMPLATE

    assert rubric.named_by(TEMPLATE) == "signals-profile"


# ---------------------------------------------------------------- the schema


def test_every_rubric_the_grader_has_loads(tmp_path):
    """Every key of the five assignments and of `grader new-assignment`'s example is declared."""
    from conftest import ROOT

    from grader import authoring

    folders = sorted(p.parent for p in (ROOT / "assignments").glob("*/rubric.toml"))
    assert len(folders) >= 5
    folders.append(authoring.new_assignment("made-here", parent=tmp_path))
    for folder in folders:
        a = rubric.load(folder)
        assert a.checks and a.name == folder.name
        rubric.validate(rubric.public_rubric(_toml(folder))[0], "public")  # the students' package


def _toml(folder: Path) -> dict:
    import tomllib

    return tomllib.loads((folder / "rubric.toml").read_text(encoding="utf-8"))


def _refused(tmp_path, old: str, new: str) -> str:
    copy = _copy_assignment(tmp_path)
    (copy / "rubric.toml").write_text(_sub(old, new)(REAL_TEXT))
    with pytest.raises(RubricError) as info:
        rubric.load(copy)
    message = str(info.value)
    assert message.startswith(str(copy / "rubric.toml") + ": "), message
    return message[len(str(copy / "rubric.toml") + ": ") :]


def test_an_unknown_key_of_a_check_is_named_with_the_closest_declared_one(tmp_path):
    message = _refused(
        tmp_path,
        'visibility = "public"\npoints = 3\ntests = [\n    "test_creation',
        'visiblity = "public"\npoints = 3\ntests = [\n    "test_creation',
    )
    assert message.startswith(
        '[[checks]] #3 ("profile-created-once"): unknown key "visiblity" (did you mean "visibility"?)'
    ), message
    assert "[[checks]] takes id, title, points, tests, hint, depends, diagnoses and visibility" in message


@pytest.mark.parametrize(
    "old,new,start",
    [
        ("[limits]\n", "[limits]\nwall_time = 5\n", '[limits]: unknown key "wall_time" (did you mean "wall_time_s"?)'),
        ('output = "visible"', 'outptu = "visible"', '[visibility]: unknown key "outptu" (did you mean "output"?)'),
        (
            "{ objects = { user = 3 }, related",
            "{ objects = { user = 3 }, relatd",
            '[evidence] \'test_resave.py::test_save_many_times\': unknown key "relatd" (did you mean "related"?)',
        ),
        (
            'sender = "user", ready',
            'sendr = "user", ready',
            "[connections] 'test_registration.py::test_receiver_registered_in_ready': unknown key \"sendr\" "
            '(did you mean "sender"?)',
        ),
        ("[runtime]\n", "[runtime]\npackage = []\n", '[runtime]: unknown key "package" (did you mean "packages"?)'),
        ('title = "Signals: one', 'titel = "Signals: one', 'unknown key "titel" (did you mean "title"?)'),
        ("[limits]\n", "[limits]\nzzz = 1\n", '[limits]: unknown key "zzz"; '),  # nothing close: no guess
    ],
)
def test_an_unknown_key_anywhere_is_refused(tmp_path, old, new, start):
    message = _refused(tmp_path, old, new)
    assert message.startswith(start), message


@pytest.mark.parametrize(
    "old,new,message",
    [
        (
            'hint = """Run `python manage.py check`, `python manage.py makemigrations --check` and \\\n'
            "`python manage.py migrate` in your project: all three must finish without errors. \\\n"
            'Fix the first error they print."""',
            "hint = 3",
            "[[checks]] #1 (\"project-loads\"): 'hint' must be str, not int 3",
        ),
        (
            'depends = ["profile-created-once"]',
            'depends = "profile-created-once"',
            "[[checks]] #4 (\"resave-no-duplicate\"): 'depends' must be list of str, not str 'profile-created-once'",
        ),
        ('profile = "users.Profile"', "profile = 3", "[models]: 'profile' must be str, not int 3"),
        ("wall_time_s = 60 ", "wall_time_s = true ", "[limits]: wall_time_s must be a positive number, not bool True"),
        (
            '"test_project.py::test_project_loads" = 0',
            '"test_project.py::test_project_loads" = "none"',
            "[evidence]: 'test_project.py::test_project_loads' must be int or table, not str 'none'",
        ),
        ('title = "Signals: one Profile per user"', "title = [1]", "'title' must be str, not list [1]"),
    ],
)
def test_a_value_of_the_wrong_kind_says_which_key_what_was_found_and_what_is_expected(tmp_path, old, new, message):
    assert _refused(tmp_path, old, new).endswith(message)


@pytest.mark.parametrize(
    "old,new,message",
    [
        ("points = 1\n", "", "checks[0]: missing key 'points'"),
        ('tests = ["test_project.py::test_project_loads"]\n', "", "checks[0]: missing key 'tests'"),
        (
            ', ready = "profile" }',
            " }",
            "[connections] 'test_registration.py::test_receiver_registered_in_ready': missing key 'ready'",
        ),
    ],
)
def test_a_missing_required_key_is_named(tmp_path, old, new, message):
    assert _refused(tmp_path, old, new) == message


def test_the_docs_show_the_schema_as_declared():
    """docs/authoring.md holds rubric.schema_reference(): every declared key, with its kind,
    default and what it says. After changing the schema, paste its output there."""
    from conftest import ROOT

    docs = (ROOT / "docs" / "authoring.md").read_text(encoding="utf-8")
    assert rubric.schema_reference() in docs, (
        "docs/authoring.md: paste the output of python -c 'from grader import rubric; print(rubric.schema_reference())'"
    )

    def keys(table: rubric.Table) -> list[str]:
        found = [k.name for k in table.keys] + ([table.each.name] if table.each else [])
        for key in [*table.keys, *([table.each] if table.each else [])]:
            if key.table is not None:
                found += keys(key.table)
        return found

    declared = keys(rubric.RUBRIC)
    assert {"visibility", "withheld_points", "starter_score", "notes", "ready", "media"} <= set(declared)
    assert all(f"`{name}`" in docs for name in declared)
