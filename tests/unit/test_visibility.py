"""Visibility per check (issue 23): the rubric's `visibility`, the students' package's rubric
of public checks (rubric.public_rubric, rubric.dumps), what a report built with it says, and
what a student's feedback shows of hidden and after_due checks."""

from __future__ import annotations

import datetime as dt
import shutil
import tomllib
from pathlib import Path

import pytest
from conftest import ROOT

from grader import handback, rubric, scoring
from grader.model import CheckResult, CheckStatus, Identity, Report, RunStatus, Timing, Withheld
from grader.renderers import render, visibility, withheld_sentence
from grader.rubric import RubricError

ASSIGNMENTS = ROOT / "assignments"
NAMES = sorted(p.parent.name for p in ASSIGNMENTS.glob("*/rubric.toml"))


def _copy(dest: Path, name: str = "signals-profile") -> Path:
    target = dest / name
    shutil.copytree(ASSIGNMENTS / name, target, ignore=shutil.ignore_patterns("__pycache__", "variants", "solution"))
    return target


def _edit(copy: Path, old: str, new: str) -> None:
    text = (copy / "rubric.toml").read_text()
    assert old in text
    (copy / "rubric.toml").write_text(text.replace(old, new, 1))


# ---------------------------------------------------------------- the rubric's visibility


def test_every_assignment_chooses_its_visibilities_with_a_reason():
    for name in NAMES:
        a = rubric.load(ASSIGNMENTS / name)
        kinds = {c.visibility for c in a.checks}
        assert "public" in kinds and kinds - {"public"}, name
        assert a.checks[0].id == "project-loads" and a.checks[0].visibility == "public"
        assert a.withheld is None  # the full rubric withholds nothing
        text = (ASSIGNMENTS / name / "rubric.toml").read_text()
        assert text.count("\nvisibility = ") == len(a.checks)
        assert text.count("# visibility: ") == len(a.checks), f"{name}: every choice says why"


def test_visibility_defaults_to_public(tmp_path):
    copy = _copy(tmp_path)
    text = (copy / "rubric.toml").read_text()
    (copy / "rubric.toml").write_text(text.replace('visibility = "hidden"\n', ""))
    assert {c.visibility for c in rubric.load(copy).checks} == {"public"}


@pytest.mark.parametrize(
    "old, new, message",
    [
        ('visibility = "hidden"', 'visibility = "secret"', r"resave-no-duplicate\): visibility must be 'public'"),
        ('visibility = "hidden"', "visibility = 1", "visibility must be"),
        (
            'id = "profile-created-once"\ntitle = "Each new user gets exactly one profile"',
            None,  # profile-created-once hidden, resave-no-duplicate public: a public check depends on it
            "a public check cannot depend on 'profile-created-once', which is hidden",
        ),
        ('output = "visible"', 'output = "visible"\nwithheld_checks = -1', "withheld_checks must be a whole number"),
        ('output = "visible"', 'output = "visible"\nwithheld_points = "3"', "withheld_points must be a number"),
        ('output = "visible"', 'output = "loud"', 'takes output = "visible" or "hidden"'),
        ('output = "visible"', 'output = "visible"\nwithheld = 2', "withheld_checks and withheld_points"),
    ],
)
def test_bad_visibility_is_refused(tmp_path, old, new, message):
    copy = _copy(tmp_path)
    if new is None:
        text = (copy / "rubric.toml").read_text()
        text = text.replace('visibility = "hidden"', 'visibility = "public"')
        head, _, rest = text.partition('id = "profile-created-once"')
        rest = rest.replace('visibility = "public"', 'visibility = "hidden"', 1)
        (copy / "rubric.toml").write_text(head + 'id = "profile-created-once"' + rest)
    else:
        _edit(copy, old, new)
    with pytest.raises(RubricError, match=message):
        rubric.load(copy)


def test_a_test_file_cannot_hold_public_and_withheld_checks(tmp_path):
    copy = _copy(tmp_path, "signals-orders")
    text = (copy / "rubric.toml").read_text()
    head, _, rest = text.partition('id = "stock-atomic"')
    rest = rest.replace('visibility = "public"', 'visibility = "after_due"', 1)
    (copy / "rubric.toml").write_text(head + 'id = "stock-atomic"' + rest)
    with pytest.raises(RubricError, match="test_stock.py holds tests of public and of hidden or after_due checks"):
        rubric.load(copy)


def test_withheld_is_read(tmp_path):
    copy = _copy(tmp_path)
    _edit(copy, 'output = "visible"', 'output = "visible"\nwithheld_checks = 2\nwithheld_points = 4')
    assert rubric.load(copy).withheld == Withheld(2, 4.0)


# ---------------------------------------------------------------- the students' package's rubric


@pytest.mark.parametrize("name", NAMES)
def test_public_rubric_keeps_only_public_checks_and_loads(tmp_path, name):
    full = rubric.load(ASSIGNMENTS / name)
    data = tomllib.loads((ASSIGNMENTS / name / "rubric.toml").read_text())
    public, files = rubric.public_rubric(data)
    assert tomllib.loads(rubric.dumps(public)) == public  # the TOML written reads back the same
    kept = [c for c in full.checks if c.visibility == "public"]
    withheld = [c for c in full.checks if c.visibility != "public"]
    assert [c["id"] for c in public["checks"]] == [c.id for c in kept]
    assert set(public["evidence"]) == {t for c in kept for t in c.tests}
    assert set(public.get("connections", {})) <= {t for c in kept for t in c.tests}
    assert files == {t.split("::")[0] for c in kept for t in c.tests}
    assert "starter_score" not in public.get("authoring", {})
    # a package folder: the public rubric, the helpers and only the public checks' test files
    pkg = tmp_path / name
    shutil.copytree(ASSIGNMENTS / name, pkg, ignore=shutil.ignore_patterns("__pycache__", "variants", "solution"))
    (pkg / "rubric.toml").write_text(rubric.dumps(public))
    for test_file in (pkg / "tests").glob("test_*.py"):
        if test_file.name not in files:
            test_file.unlink()
    shipped = rubric.load(pkg)
    assert [c.id for c in shipped.checks] == [c.id for c in kept]
    assert shipped.withheld == Withheld(len(withheld), sum(c.points for c in withheld))
    assert shipped.max_score == sum(c.points for c in kept)
    assert shipped.digest != full.digest
    hidden_only = {t.split("::")[0] for c in withheld for t in c.tests} - files
    assert hidden_only and not any((pkg / "tests" / f).exists() for f in hidden_only)


def test_public_rubric_of_an_all_public_rubric_is_the_same():
    data = {"assignment": "x", "checks": [{"id": "a", "tests": ["test_a.py::t"], "points": 1}]}
    assert rubric.public_rubric(data)[0] is data


def test_dumps_round_trips_awkward_values():
    data = {
        "title": 'quote " backslash \\ newline \n tab \t del \x7f é 🙂',
        "n": 1,
        "x": 2.5,
        "yes": True,
        "table": {"a.b::c": {"nested key": [1, "two"], "empty": []}, "plain": "v"},
        "rows": [{"id": "a", "tests": ["t::x"]}, {"id": "b", "depends": ["a"]}],
    }
    assert tomllib.loads(rubric.dumps(data)) == data


# ---------------------------------------------------------------- reports and feedback


def _check(cid: str, vis: str, status=CheckStatus.PASSED, score=1.0, max_score=1.0, feedback="") -> CheckResult:
    return CheckResult(cid, f"title {cid}", status, score, max_score, feedback, f"hint {cid}", visibility=vis)


def _report(**kw) -> Report:
    checks = [
        _check("pub", "public", score=2, max_score=2),
        _check("hid-ok", "hidden", score=1, max_score=1),
        _check("hid-bad", "hidden", CheckStatus.FAILED, 0, 2, "SECRET-HIDDEN-FEEDBACK"),
        _check("late", "after_due", CheckStatus.FAILED, 0, 3, "SECRET-AFTER-DUE-FEEDBACK"),
    ]
    base = dict(
        assignment="a",
        submission="s",
        status=RunStatus.GRADED,
        score=3.0,
        max_score=8.0,
        message="3 of 8 points",
        checks=checks,
        identity=Identity(platform="folder", id="s", name="Ada"),
        duration_s=1.0,
        grader_version="0",
        django_version="5.2",
        python_version="3.11",
        graded_at="2026-05-01T00:00:00+00:00",
    )
    return Report(**{**base, **kw})


def test_scoring_sets_visibility_from_the_rubric():
    a = rubric.load(ASSIGNMENTS / "signals-profile")
    checks = scoring.apply_visibility(a, scoring.all_checks(a, CheckStatus.ERROR, "x"))
    assert {c.id: c.visibility for c in checks}["resave-no-duplicate"] == "hidden"
    assert {c.id: c.visibility for c in checks}["project-loads"] == "public"


@pytest.mark.parametrize("fmt", ["markdown", "html"])
def test_feedback_before_release_shows_no_hidden_or_after_due_result(fmt):
    text = render(fmt, _report(), released=False)
    assert "title pub" in text
    assert "title hid-ok" not in text and "title hid-bad" not in text and "SECRET-HIDDEN-FEEDBACK" not in text
    assert "hint hid-bad" not in text
    assert "2 hidden checks: 1 of 3 points" in text
    assert "title late" in text and "released after the due date" in text
    assert "SECRET-AFTER-DUE-FEEDBACK" not in text and "hint late" not in text
    assert "3 of 5 points" in text  # the after_due check's points are left out, and it says so
    assert "3 of 8 points" not in text


@pytest.mark.parametrize("fmt", ["markdown", "html"])
def test_feedback_once_released_shows_after_due_checks(fmt):
    text = render(fmt, _report(), released=True)
    assert "SECRET-AFTER-DUE-FEEDBACK" in text and "hint late" in text
    assert "SECRET-HIDDEN-FEEDBACK" not in text and "2 hidden checks: 1 of 3 points" in text
    assert "released after the due date" not in text


@pytest.mark.parametrize("fmt", ["markdown", "html", "table"])
def test_the_instructors_view_shows_every_check(fmt):
    text = render(fmt, _report())
    assert "SECRET-HIDDEN-FEEDBACK" in text and "SECRET-AFTER-DUE-FEEDBACK" in text


@pytest.mark.parametrize("fmt", ["markdown", "html", "table"])
def test_a_students_grader_says_the_score_is_not_the_grade(fmt):
    w = Withheld(2, 3.0)
    sentence = withheld_sentence(w)
    assert sentence == "2 hidden checks (3 points) are graded after you submit: this score is not your grade."
    report = _report(
        checks=[_check("pub", "public", score=2, max_score=2)],
        score=2.0,
        max_score=2.0,
        message=f"2 of 2 points {sentence}",
        withheld=w,
    )
    text = render(fmt, report)
    assert " ".join(text.split()).count("this score is not your grade") == 1
    assert "public checks only" in text


def test_gradescope_maps_visibility():
    import json

    tests = {t["number"]: t["visibility"] for t in json.loads(render("gradescope", _report()))["tests"]}
    assert tests == {"pub": "visible", "hid-ok": "hidden", "hid-bad": "hidden", "late": "after_due_date"}


def test_student_view_keeps_the_total_with_hidden_points():
    view = visibility.student_view(_report(), released=True)
    assert view.report.score == 3.0 and view.report.max_score == 8.0
    assert [c.id for c in view.report.checks] == ["pub", "late"]


def test_released_follows_the_option_then_the_due_date():
    report = _report()
    now = dt.datetime(2026, 5, 2, 12, tzinfo=dt.UTC)
    assert not handback.released(report, now=now)  # no due date known: nothing released
    assert handback.released(report, release_after_due=True, now=now)
    assert handback.released(report, due=dt.datetime(2026, 5, 1), now=now)
    assert not handback.released(report, due=dt.datetime(2026, 5, 3), now=now)
    due_in_timing = _report(timing=Timing(due="2026-05-02T13:00:00+02:00"))  # 11:00 UTC: passed
    assert handback.released(due_in_timing, now=now)
    assert not handback.released(_report(timing=Timing(due="2026-05-02T15:00:00+02:00")), now=now)
    assert not handback.released(_report(timing=Timing(due="soon")), now=now)


def test_feedback_says_when_it_was_submitted_and_what_lateness_cost():
    """A batch with --course: the student's feedback says the due date and the penalty, in
    Markdown and HTML, for the instructor's view and the handed-back one alike."""
    late = Timing(
        submitted_at="2026-05-02T10:00:00+02:00",
        due="2026-05-01T23:59:00+02:00",
        late_s=36000,
        penalty=0.8,
        note="1 day late: -10%",
    )
    report = _report(timing=late)
    for released in (None, False, True):
        for name in ("markdown", "html"):
            text = render(name, report, released=released) if released is not None else render(name, report)
            assert "due 2026-05-01T23:59:00+02:00" in text and "1 day late: -10%" in text, (name, released)
            if released is False:  # the after_due check's points are not shown yet: only what is off
                assert "0.8 points off your total" in text and "= 2.2" not in text, (name, released)
            else:
                assert "3 points − 0.8 for lateness = 2.2 / 8" in text, (name, released)
    refused = render(
        "markdown", _report(timing=Timing(submitted_at="x", accepted=False, note="late work is not accepted"))
    )
    assert "this submission earns 0 points" in refused
    assert "on time" in render("markdown", _report(timing=Timing(submitted_at="x", due="y")))
    assert "Submitted" not in render("markdown", _report())  # no course: nothing said


@pytest.mark.parametrize("fmt", ["markdown", "html"])
def test_a_run_stopped_in_a_hidden_check_does_not_name_it_to_the_student(fmt):
    """The run's message and the other checks' feedback name the check whose test was running
    when the run stopped: a hidden one is "a hidden check" in every student's feedback."""
    report = _report(
        status=RunStatus.ERROR,
        message="the run ended early while checking 'title hid-bad' (hid-bad)",
    )
    report.checks[0].feedback = "not checked: the run ended early while checking 'title hid-bad'"
    view = visibility.student_view(report, released=False).report
    assert "hid-bad" not in view.message and "a hidden check" in view.message
    assert "hid-bad" not in view.checks[0].feedback
    assert "hid-bad" not in render(fmt, report, released=True)
    assert "hid-bad" in render(fmt, report)  # the instructor's report keeps every name
