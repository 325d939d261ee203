"""Every assignment proves its hidden suite right: `grader check-assignment` grades its
solution, its starter and every variant, and must find what each expects."""

from __future__ import annotations

import json
import re
import shutil
import textwrap

import pytest
from conftest import ASSIGNMENT, ROOT, TEMPLATE, run_cli

from grader import authoring, rubric

ASSIGNMENTS = sorted(p.parent for p in (ROOT / "assignments").glob("*/rubric.toml"))


@pytest.mark.e2e
@pytest.mark.parametrize("folder", ASSIGNMENTS, ids=lambda p: p.name)
def test_check_assignment_passes_for_every_assignment(folder, tmp_path):
    """The solution, the starter and every variant give what they expect (also run under the
    other Python and Django versions: `make compat`)."""
    proc = run_cli("check-assignment", str(folder), timeout=900)
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-2000:]
    assert "OK: every case gives what it expects" in proc.stdout
    assert "MISMATCH" not in proc.stdout and "UNCOVERED" not in proc.stdout and "PROBLEM" not in proc.stdout


@pytest.mark.e2e
@pytest.mark.parametrize("folder", ASSIGNMENTS, ids=lambda p: p.name)
def test_every_mutant_of_every_assignment_is_killed_or_explained(folder, tmp_path):
    """Every mutant of the solution: killed, or equivalent with a reason. The suite's strength
    does not depend on the Python or Django version, so `make compat` leaves this out."""
    out = tmp_path / "mutants.json"
    proc = run_cli("check-assignment", str(folder), "--only-mutants", "--json", str(out), timeout=1200)
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-2000:]
    assert "every mutant is killed or explained" in proc.stdout
    assert "SURVIVOR" not in proc.stdout and "PROBLEM" not in proc.stdout
    data = json.loads(out.read_text())
    assert data["ok"] is True and data["assignment"] == folder.name
    verdicts = {m["verdict"] for m in data["mutants"]}
    assert verdicts <= {"killed", "equivalent"} and "killed" in verdicts
    assert sum(o["mutants"] for o in data["operators"].values()) == len(data["mutants"]) >= 20


@pytest.mark.e2e
def test_a_surviving_mutant_fails_the_check_and_a_stale_equivalent_is_named(tmp_path):
    dest = _small_copy(tmp_path, {})
    (dest / "mutants.toml").write_text(
        '[equivalent]\n"remove-dispatch-uid@users/signals.py:9" = "imported once"\n'
        '"swap-pre-post@users/signals.py:99" = "a line the solution does not have"\n'
    )
    out = tmp_path / "m.json"
    proc = run_cli("check-assignment", str(dest), "--only-mutants", "--jobs", "2", "--json", str(out), timeout=600)
    assert proc.returncode == 1, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert "operator" in proc.stdout and "killed  equivalent  survivors" in proc.stdout
    assert "SURVIVOR drop-created@users/signals.py:12: `created` read as `True`" in proc.stdout
    assert "SURVIVOR get-or-create-to-create@users/signals.py:13" in proc.stdout
    assert "mutants.toml lists swap-pre-post@users/signals.py:99, which is no mutant" in proc.stdout
    assert proc.stdout.rstrip().endswith("FAILED")
    rows = {m["id"]: m for m in json.loads(out.read_text())["mutants"]}
    assert rows["remove-dispatch-uid@users/signals.py:9"]["verdict"] == "equivalent"
    assert rows["swap-pre-post@users/signals.py:9"]["verdict"] == "killed"
    assert rows["swap-pre-post@users/signals.py:9"]["detail"]  # the checks that caught it
    assert rows["drop-created@users/signals.py:12"]["verdict"] == "survived"


def test_signals_profile_has_enough_variants_for_every_diagnosis_it_names():
    assignment = rubric.load(ASSIGNMENT)
    variants = authoring.cases(assignment)[2:]
    assert len(variants) >= 25
    named = {d for c in assignment.checks for d in c.diagnoses}
    shown = {spec.get("diagnosis") for v in variants for spec in v.checks.values()}
    assert named - shown <= {"receiver-not-connected"}  # that one is the starter's own


def _small_copy(tmp_path, variants: dict[str, tuple[str, dict]]):
    """signals-profile without its variants, plus `variants`: name -> (expect.toml, files)."""
    dest = tmp_path / "signals-profile"
    shutil.copytree(ASSIGNMENT, dest, ignore=shutil.ignore_patterns("variants", "__pycache__"))
    text = (
        (dest / "rubric.toml")
        .read_text()
        .replace('starter = "../../student_template"', f'starter = "{TEMPLATE.as_posix()}"')
    )
    text = "\n".join(line for line in text.splitlines() if not line.startswith("diagnoses = "))
    (dest / "rubric.toml").write_text(text + "\n")
    for name, (expect, files) in variants.items():
        (dest / "variants" / name / "files").mkdir(parents=True)
        (dest / "variants" / name / "expect.toml").write_text(textwrap.dedent(expect))
        for rel, body in files.items():
            target = dest / "variants" / name / "files" / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(textwrap.dedent(body))
    return dest


WRONG_EXPECTATION = """
    description = "the receiver ignores `created`: but this file wrongly says it passes"
    base = "solution"
    score = 10
    [checks.project-loads]
    status = "passed"
    [checks.receiver-registered-in-ready]
    status = "passed"
    [checks.profile-created-once]
    status = "passed"
    [checks.resave-no-duplicate]
    status = "passed"
"""
NO_CREATED_CHECK = {
    "users/signals.py": """
    from django.conf import settings
    from django.db.models.signals import post_save
    from django.dispatch import receiver

    from .models import Profile


    @receiver(post_save, sender=settings.AUTH_USER_MODEL)
    def create_profile(sender, instance, **kwargs):
        Profile.objects.create(user=instance)
"""
}


@pytest.mark.e2e
def test_a_variant_that_does_not_give_what_it_expects_fails_the_check(tmp_path):
    folder = _small_copy(tmp_path, {"mislabelled": (WRONG_EXPECTATION, NO_CREATED_CHECK)})
    proc = run_cli("check-assignment", str(folder), "--jobs", "2", timeout=600)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "MISMATCH mislabelled: score 7, expected 10" in proc.stdout
    assert "resave-no-duplicate: failed, expected passed (no-created-check" in proc.stdout
    assert "solution" in proc.stdout and "starter" in proc.stdout


@pytest.mark.parametrize(
    "expect, message",
    [
        ('description = "x"\n[checks.project-loads]\nstatus = "passed"\n', "must list every check"),
        ('base = "solution"\n', "say in `description`"),
        ('description = "x"\nbase = "template"\n', 'base is "starter" or "solution"'),
        ('description = "x"\nsurprise = 1\n', "unknown keys"),
    ],
)
def test_a_malformed_expectation_is_named(tmp_path, expect, message):
    folder = _small_copy(tmp_path, {"bad": (expect, {})})
    with pytest.raises(authoring.AuthoringError, match=message):
        authoring.cases(rubric.load(folder))


def test_an_edit_must_find_its_text_exactly_once(tmp_path):
    expect = (
        WRONG_EXPECTATION
        + """
    [[edits]]
    file = "mysite/settings.py"
    replace = "no such line"
    with = "anything"
    """
    )
    # [[edits]] after the [checks.*] tables would belong to them: put it first.
    head, _, checks = textwrap.dedent(expect).partition("[checks.project-loads]")
    edit = checks[checks.index("[[edits]]") :]
    text = head + edit + "[checks.project-loads]" + checks[: checks.index("[[edits]]")]
    folder = _small_copy(tmp_path, {"bad-edit": (text, {})})
    assignment = rubric.load(folder)
    case = next(c for c in authoring.cases(assignment) if c.name == "bad-edit")
    with pytest.raises(authoring.AuthoringError, match="finds the text to replace 0 times"):
        authoring.build(assignment, case, tmp_path / "built")
    case.edits = [{"file": "mysite/settings.py", "replace": "DEBUG = True", "with": "DEBUG = False"}]
    built = authoring.build(assignment, case, tmp_path / "built2")
    assert "DEBUG = False" in (built / "mysite" / "settings.py").read_text()


@pytest.mark.e2e
def test_new_assignment_makes_a_working_m2m_assignment_with_outside_evidence(tmp_path):
    """The example new-assignment makes is another signal (m2m_changed) on other models; its
    evidence is the rubric's own (objects, related rows through the m2m table, an SQL check), and
    a submission that fakes the count in memory fails: the test reads the row itself."""
    made = run_cli("new-assignment", "toy-m2m", "--dir", str(tmp_path), cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    folder = tmp_path / "toy-m2m"
    assignment = rubric.load(folder)
    assert assignment.name == "toy-m2m" and rubric.named_by(folder / "starter") == "toy-m2m"
    spec = assignment.evidence["test_tag_count.py::test_tag_count"]
    assert spec.objects == {"article": 1} and spec.related == {"tagging": 1} and spec.sql
    proc = run_cli("check-assignment", str(folder), "--jobs", "2", timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert re.search(r"count-faked-in-memory\s+✓\s+✗\s+1\s+ok", proc.stdout), proc.stdout
    again = run_cli("new-assignment", "toy-m2m", "--dir", str(tmp_path), cwd=tmp_path)
    assert again.returncode == 2 and "exists already" in again.stderr
    bad = run_cli("new-assignment", "../escape", "--dir", str(tmp_path), cwd=tmp_path)
    assert bad.returncode == 2 and "not an assignment name" in bad.stderr


def test_keys_after_an_edit_are_explained(tmp_path):
    expect = 'description = "x"\n[[edits]]\nfile = "a"\nreplace = "b"\nwith = "c"\nstatus = "error"\n'
    folder = _small_copy(tmp_path, {"late-keys": (expect, {})})
    with pytest.raises(authoring.AuthoringError, match="status belong before the first"):
        authoring.cases(rubric.load(folder))


def test_a_variant_cannot_take_the_name_of_the_solution_or_the_starter(tmp_path):
    folder = _small_copy(tmp_path, {"starter": (WRONG_EXPECTATION, {})})
    with pytest.raises(authoring.AuthoringError, match="variants/starter: that name is the starter's own case"):
        authoring.cases(rubric.load(folder))


@pytest.mark.e2e
def test_grader_starter_writes_what_students_receive(tmp_path):
    dest = tmp_path / "my-project"
    proc = run_cli("starter", "signals-m2m", str(dest))
    assert proc.returncode == 0, proc.stderr
    assert "next: cd" in proc.stdout and (dest / "manage.py").is_file()
    assert (dest / ".grader-assignment").read_text().strip() == "signals-m2m"
    graded = run_cli("grade", str(dest), "--output", str(tmp_path / "r.json"), "--quiet")  # the marker picks it
    assert graded.returncode == 0, graded.stderr
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["assignment"] == "signals-m2m" and report["score"] == rubric.find("signals-m2m").starter_score
    again = run_cli("starter", "signals-m2m", str(dest))
    assert again.returncode == 2 and "is not an empty folder" in again.stderr
    unknown = run_cli("starter", "no-such-assignment", str(tmp_path / "x"))
    assert unknown.returncode == 2 and "unknown assignment" in unknown.stderr
