"""The mutant operators (grader.mutants): each makes the one mistake it names, in valid Python,
leaves every other byte of the file alone, and names the line it changed."""

from __future__ import annotations

import ast
import textwrap

import pytest

from grader import mutants

SIGNALS = textwrap.dedent('''\
    """Receivers."""
    from django.conf import settings
    from django.db import transaction
    from django.db.models import F
    from django.db.models.signals import m2m_changed, post_save
    from django.dispatch import receiver

    from .models import Post, Profile, Tag


    @receiver(post_save, sender=settings.AUTH_USER_MODEL, dispatch_uid="users.profile")
    def create_profile(sender, instance, created, **kwargs):
        """One profile per user."""
        if created:
            Profile.objects.get_or_create(user=instance, defaults={"bio": ""})


    @receiver(m2m_changed, sender=Post.tags.through)
    def recount(sender, instance, action, reverse, pk_set, **kwargs):
        if action not in ("post_add", "post_remove"):
            return
        if reverse:
            Tag.objects.filter(pk=instance.pk).update(post_count=F("post_count") + len(pk_set))
        with transaction.atomic():
            transaction.on_commit(lambda: instance.save(update_fields=["tag_count"]))
    ''')
APPS = textwrap.dedent("""\
    from django.apps import AppConfig


    class UsersConfig(AppConfig):
        name = "users"

        def ready(self):
            from . import signals  # noqa: F401
    """)
MODELS = "from django.db import models\n\n\nclass Profile(models.Model):\n    pass\n"
FILES = {"users/signals.py": SIGNALS, "users/apps.py": APPS, "users/models.py": MODELS}


@pytest.fixture(scope="module")
def made():
    return mutants.make(FILES, ["users/signals.py", "users/apps.py"])


def _by(made, operator):
    return [m for m in made if m.operator == operator]


def _changed_lines(before: str, after: str) -> list[tuple[str, str]]:
    return [(a, b) for a, b in zip(before.splitlines(), after.splitlines()) if a != b]


def test_every_mutant_is_valid_python_and_changes_something(made):
    assert len(made) >= 40
    for m in made:
        assert m.changes, m.id
        for rel, text in m.changes.items():
            ast.parse(text, rel)  # a mutant that does not parse would test nothing
            assert text != FILES.get(rel)
        assert m.operator in mutants.OPERATORS
        assert m.id.startswith(f"{m.operator}@{m.file}:{m.line}")


def test_ids_are_unique_and_the_same_each_time(made):
    assert len({m.id for m in made}) == len(made)
    again = mutants.make(FILES, ["users/signals.py", "users/apps.py"])
    assert [m.id for m in again] == [m.id for m in made]


def test_only_the_mutated_line_changes(made):
    (swap,) = _by(made, "swap-pre-post")
    (line,) = _changed_lines(SIGNALS, swap.changes["users/signals.py"])
    assert "post_save" in line[0] and "pre_save" in line[1] and swap.line == 11
    assert len(swap.changes["users/signals.py"].splitlines()) == len(SIGNALS.splitlines())


def test_created_dropped_and_inverted(made):
    (drop,) = _by(made, "drop-created")
    assert "if True:" in drop.changes["users/signals.py"]
    (invert,) = _by(made, "invert-created")
    assert "if (not created):" in invert.changes["users/signals.py"]
    assert not _by(made, "drop-raw")  # nothing reads raw here: no mutant pretends to


def test_get_or_create_becomes_create_with_the_defaults_spread(made):
    (m,) = _by(made, "get-or-create-to-create")
    assert 'Profile.objects.create(user=instance, **{"bio": ""}), True' in m.changes["users/signals.py"]


def test_sender_removed_or_changed(made):
    dropped = {m.description for m in _by(made, "drop-sender")}
    assert any("settings.AUTH_USER_MODEL" in d for d in dropped) and any("through" in d for d in dropped)
    changed = [m.changes["users/signals.py"] for m in _by(made, "change-sender")]
    assert any("sender=Post.tags)" in text for text in changed)  # the field, not its .through


def test_connection_moved_or_removed(made):
    (at_import,) = _by(made, "connect-at-import")
    assert at_import.changes["users/models.py"].rstrip().endswith("from . import signals  # noqa: F401")
    assert "pass" in at_import.changes["users/apps.py"]
    (apps_module,) = _by(made, "connect-in-apps-module")
    tree = ast.parse(apps_module.changes["users/apps.py"])
    assert isinstance(tree.body[-1], ast.ImportFrom)  # at import time, not in ready()
    removed = {m.description for m in _by(made, "remove-connect")}
    assert "ready()'s import of the receivers removed" in removed
    assert {"@receiver of create_profile() removed", "@receiver of recount() removed"} <= removed


def test_m2m_actions_side_and_pk_set(made):
    swapped = {m.description for m in _by(made, "swap-m2m-actions")}
    assert {'"post_add" -> "pre_add"', '"post_add" -> "post_remove"', '"post_remove" -> "pre_remove"'} <= swapped
    (reverse,) = _by(made, "ignore-reverse")
    assert "if False:" in reverse.changes["users/signals.py"]
    (pk_set,) = _by(made, "ignore-pk-set")
    assert "len(set())" in pk_set.changes["users/signals.py"]


def test_f_read_in_python_from_the_same_queryset(made):
    (m,) = _by(made, "f-to-python")
    assert (
        'post_count=(Tag.objects.filter(pk=instance.pk).values_list("post_count", flat=True)'
        ".first() or 0) + len(pk_set)"
    ) in m.changes["users/signals.py"]


def test_count_arithmetic_flipped(made):
    (m,) = _by(made, "count-arithmetic")
    assert 'post_count=F("post_count") - len(pk_set)' in m.changes["users/signals.py"]
    one = mutants.make(
        {"a/s.py": "from django.db.models import F\n\n\ndef f(qs):\n    qs.update(n=F('n') + 1)\n"}, ["a/s.py"]
    )
    assert {m.description for m in _by(one, "count-arithmetic")} == {
        "`F('n') + 1` -> `F('n') - 1`",
        "`F('n') + 1`: 1 -> 2",
    }


def test_transactions_and_update_fields(made):
    (commit,) = _by(made, "remove-on-commit")
    text = commit.changes["users/signals.py"]
    assert "on_commit" not in text and "instance.save(update_fields=" in text
    (atomic,) = _by(made, "remove-atomic")
    assert "atomic" not in atomic.changes["users/signals.py"]
    (fields,) = _by(made, "drop-update-fields")
    assert "instance.save())" in fields.changes["users/signals.py"]


def test_a_closure_receiver_and_a_weak_false_one_left_alone(made):
    closures = _by(made, "closure-receiver")
    assert len(closures) == 2
    tree = ast.parse(closures[0].changes["users/signals.py"])
    factory = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name.startswith("_make_"))
    assert isinstance(factory.body[0], ast.FunctionDef)  # the receiver now lives in a function
    weak = SIGNALS.replace('dispatch_uid="users.profile"', 'dispatch_uid="users.profile", weak=False')
    kept = mutants.make({**FILES, "users/signals.py": weak}, ["users/signals.py"])
    assert len(_by(kept, "closure-receiver")) == 1  # weak=False holds it: no mistake to make


def test_receivers_without_kwargs_doing_nothing_or_confusing_sender(made):
    assert {m.description for m in _by(made, "drop-receiver-kwargs")} == {
        "**kwargs removed from create_profile()",
        "**kwargs removed from recount()",
    }
    nothing = _by(made, "receiver-does-nothing")[0].changes["users/signals.py"]
    assert '"""One profile per user."""\n    return\n' in nothing  # after the docstring
    assert any("user=sender" in m.changes["users/signals.py"] for m in _by(made, "instance-for-sender"))


def test_send_robust_swapped_only_for_signal_sends():
    source = textwrap.dedent("""\
        from .signals import order_placed


        def place(order, message):
            order_placed.send_robust(sender=type(order), order=order)
            message.send()
        """)
    made = mutants.make({"shop/services.py": source}, ["shop/services.py"])
    (m,) = _by(made, "send-robust-swap")
    assert "order_placed.send(sender=" in m.changes["shop/services.py"]
    assert "message.send()" in m.changes["shop/services.py"]


def test_a_module_level_connect_moves_into_ready():
    signals = "from django.db.models.signals import post_save\n\n\ndef f(sender, **kwargs):\n    pass\n\n\npost_save.connect(f)\n"
    made = mutants.make({"users/signals.py": signals, "users/apps.py": APPS}, ["users/signals.py"])
    (m,) = _by(made, "connect-in-ready")
    assert "connect" not in m.changes["users/signals.py"]
    ready = m.changes["users/apps.py"]
    assert "from users.signals import f, post_save" in ready and "post_save.connect(f)" in ready


def test_a_solution_that_does_not_parse_is_said_so():
    with pytest.raises(mutants.MutantsError, match="users/signals.py: the solution does not parse"):
        mutants.make({"users/signals.py": "def broken(:\n"}, ["users/signals.py"])


def test_equivalents_are_read_with_reasons(tmp_path):
    assert mutants.equivalents(tmp_path) == {}
    (tmp_path / "mutants.toml").write_text('[equivalent]\n"a@b.py:1" = "why"\n')
    assert mutants.equivalents(tmp_path) == {"a@b.py:1": "why"}
    (tmp_path / "mutants.toml").write_text('[equivalent]\n"a@b.py:1" = ""\n')
    with pytest.raises(mutants.MutantsError, match="a non-empty reason each"):
        mutants.equivalents(tmp_path)
    (tmp_path / "mutants.toml").write_text("[equivalents]\n")
    with pytest.raises(mutants.MutantsError, match=r"one table, \[equivalent\]"):
        mutants.equivalents(tmp_path)


def test_the_table_and_the_json_count_the_same():
    """grader check-assignment --mutants: the table and --json say the counts of one
    authoring.mutant_counts (a problem counts as a survivor: both need the author)."""
    from conftest import ASSIGNMENT

    from grader import authoring, rubric

    def outcome(operator: str, n: int, verdict: str) -> authoring.MutantOutcome:
        m = mutants.Mutant(f"{operator}@users/signals.py:{n}", operator, "users/signals.py", n, "changed")
        return authoring.MutantOutcome(m, verdict, 10.0 if verdict == "survived" else 0.0, "why")

    rows = [
        outcome("drop-created", 1, "killed"),
        outcome("drop-created", 2, "survived"),
        outcome("drop-sender", 3, "equivalent"),
        outcome("drop-sender", 4, "problem"),
        outcome("drop-sender", 5, "killed"),
    ]
    checked = authoring.Checked(rubric.load(ASSIGNMENT), [], mutants=rows)
    counts = authoring.mutant_counts(checked)
    assert list(counts) == list(mutants.OPERATORS)
    assert counts["drop-created"] == authoring.MutantCounts(mutants=2, killed=1, equivalent=0, survivors=1)
    assert counts["drop-sender"] == authoring.MutantCounts(mutants=3, killed=1, equivalent=1, survivors=1)
    assert counts["swap-pre-post"] == authoring.MutantCounts()
    data = authoring.mutant_json(checked)
    assert data["operators"]["drop-sender"] == {"mutants": 3, "killed": 1, "equivalent": 1, "survivors": 1}
    assert set(data["operators"]) == set(mutants.OPERATORS) and data["ok"] is False
    table = authoring.mutant_table(checked).splitlines()
    assert table[0] == "signals-profile: 5 mutants of the solution"
    body = {line.split()[0]: line.split()[1:] for line in table[2:] if not line.startswith(("SURVIVOR", "PROBLEM"))}
    assert body == {
        "drop-created": ["2", "1", "0", "1"],
        "drop-sender": ["3", "1", "1", "1"],
        "total": ["5", "2", "1", "2"],
    }
    assert sum(line.startswith(("SURVIVOR", "PROBLEM")) for line in table) == 2
