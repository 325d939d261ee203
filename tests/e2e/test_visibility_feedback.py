"""Feedback handed back follows each check's visibility (issue 23), through the real CLI: a
hidden check is never shown on its own, an after_due check only once its due date has passed;
the instructor's own report.html keeps every check.

One submission is graded once, with a copy of signals-profile whose profile-created-once is
after_due (resave-no-duplicate is hidden in the real rubric): the submission ignores
`created`, so it creates its profile once (profile-created-once passes) and fails re-saving
(resave-no-duplicate, diagnosis no-created-check)."""

from __future__ import annotations

import json
import shutil

import pytest
from conftest import ASSIGNMENT, build_submission, run_cli, validate

pytestmark = pytest.mark.e2e

NO_CREATED_CHECK = """
from django.conf import settings
from django.db.models.signals import post_save
from django.dispatch import receiver

from .models import Profile


@receiver(post_save, sender=settings.AUTH_USER_MODEL)
def create_profile(sender, instance, **kwargs):
    Profile.objects.create(user=instance)
"""


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    base = tmp_path_factory.mktemp("visibility")
    assignment = base / "signals-profile"
    shutil.copytree(ASSIGNMENT, assignment, ignore=shutil.ignore_patterns("__pycache__", "variants", "solution"))
    rubric = assignment / "rubric.toml"
    text = rubric.read_text()
    head, _, rest = text.partition('id = "profile-created-once"')
    assert 'visibility = "public"' in rest
    rubric.write_text(
        head + 'id = "profile-created-once"' + rest.replace('visibility = "public"', 'visibility = "after_due"', 1)
    )
    # the starter lives outside the assignment folder in the checkout
    text = rubric.read_text().replace(
        'starter = "../../student_template"', f'starter = "{ASSIGNMENT.parent.parent / "student_template"}"'
    )
    rubric.write_text(text)
    project = build_submission(base / "ada", {"users/signals.py": NO_CREATED_CHECK}, solution=True)
    reports = base / "reports"
    reports.mkdir()
    proc = run_cli(
        "grade", str(project), "--assignment", str(assignment), "--output", str(reports / "ada.json"), "--quiet"
    )
    assert proc.returncode == 0, proc.stderr + proc.stdout
    report = validate(json.loads((reports / "ada.json").read_text()))
    by_id = {c["id"]: c for c in report["checks"]}
    assert by_id["profile-created-once"]["status"] == "passed"
    assert by_id["resave-no-duplicate"]["status"] == "failed"
    assert by_id["resave-no-duplicate"]["diagnosis"] == "no-created-check"
    assert {c["id"]: c["visibility"] for c in report["checks"]} == {
        "project-loads": "public",
        "receiver-registered-in-ready": "public",
        "profile-created-once": "after_due",
        "resave-no-duplicate": "hidden",
    }
    assert report["score"] == 7 and report["withheld"] is None  # the instructor's rubric withholds nothing
    return base, report


def _feedback(base, name: str, reports, *extra: str) -> tuple[str, str]:
    out = base / name
    proc = run_cli("report", str(reports), "--feedback", str(out), *extra)
    assert proc.returncode == 0, proc.stderr + proc.stdout
    return (out / "ada.md").read_text(), (out / "ada.html").read_text()


def test_feedback_before_the_due_date_withholds_hidden_and_after_due_results(graded):
    base, report = graded
    resave = next(c for c in report["checks"] if c["id"] == "resave-no-duplicate")
    created = next(c for c in report["checks"] if c["id"] == "profile-created-once")
    for text in _feedback(base, "fb-before", base / "reports"):
        assert "receiver-registered-in-ready" in text  # public: shown
        assert "resave-no-duplicate" not in text and resave["feedback"][:40] not in text
        assert "no-created-check" not in text and resave["hint"][:40] not in text
        assert "1 hidden check: 0 of 3 points" in text
        assert "profile-created-once" in text and "released after the due date" in text
        assert created["title"] in text
        # no result for the after_due check: its line holds neither a mark nor points earned
        line = next(line for line in text.splitlines() if "profile-created-once" in line)
        assert "passed" not in line and "✅" not in line and "3/3" not in line and "3 / 3" not in line, line
        assert "4 of 7 points" in text  # the after_due check's 3 points are left out, and it says so
    # the instructor's class report keeps every check
    page = (base / "reports" / "report.html").read_text()
    assert "resave-no-duplicate" in page and "no-created-check" in page


def test_feedback_after_the_due_date_shows_after_due_checks(graded):
    base, report = graded
    released = base / "released"
    released.mkdir()
    data = dict(report, timing={"due": "2020-01-01T00:00:00+00:00"})  # the due date has passed
    (released / "ada.json").write_text(json.dumps(data))
    for text in _feedback(base, "fb-after", released):
        assert "profile-created-once" in text and "released after the due date" not in text
        assert "resave-no-duplicate" not in text and "1 hidden check: 0 of 3 points" in text
    future = base / "future"
    future.mkdir()
    (future / "ada.json").write_text(json.dumps(dict(report, timing={"due": "2999-01-01T00:00:00+00:00"})))
    markdown, _ = _feedback(base, "fb-future", future)
    assert "released after the due date" in markdown


def test_release_after_due_shows_after_due_checks_now(graded):
    base, report = graded
    created = next(c for c in report["checks"] if c["id"] == "profile-created-once")
    for text in _feedback(base, "fb-released", base / "reports", "--release-after-due"):
        assert "profile-created-once" in text and "released after the due date" not in text
        assert "7 / 10" in text or "7 of 10" in text or "7</span> / 10" in text
        assert "resave-no-duplicate" not in text and "1 hidden check: 0 of 3 points" in text
    assert created["status"] == "passed"
