"""Issue 21, verdicts: `tampered` needs proof, the right receiver is blamed, a receiver kept
alive only by the student's own machine is explained, and a function shadowed by a second of
the same name is named with both lines. Each test runs the real CLI on a submission built in
tmp_path from an assignment's solution or starter, and asserts on the JSON."""
from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from conftest import ROOT, run_cli, validate
from grader import authoring, rubric

pytestmark = pytest.mark.e2e

ASSIGNMENTS = ROOT / "assignments"


def project(tmp_path: Path, assignment: str, name: str = "solution", append: dict[str, str] | None = None,
            replace: dict[str, tuple[str, str]] | None = None, write: dict[str, str] | None = None) -> Path:
    """The project of `assignment`'s case `name` (solution, starter or a variant), with code
    appended to files, a text replaced (it must be found) or whole files written."""
    a = rubric.load(ASSIGNMENTS / assignment)
    case = next(c for c in authoring.cases(a) if c.name == name)
    dest = authoring.build(a, case, tmp_path / name)
    for rel, code in (append or {}).items():
        target = dest / rel
        target.write_text(target.read_text() + "\n\n" + textwrap.dedent(code))
    for rel, (old, new) in (replace or {}).items():
        target = dest / rel
        text = target.read_text()
        assert old in text, (rel, old)
        target.write_text(text.replace(old, new, 1))
    for rel, code in (write or {}).items():
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(textwrap.dedent(code))
    return dest


def graded(tmp_path: Path, sub: Path, assignment: str) -> dict:
    out = tmp_path / "report.json"
    done = run_cli("grade", str(sub), "--assignment", assignment, "--output", str(out), "--quiet")
    assert done.returncode in (0, 1), done.stderr
    return validate(json.loads(out.read_text()))


def check(report: dict, check_id: str) -> dict:
    return next(c for c in report["checks"] if c["id"] == check_id)


# ------------------------------------------------------------------ tampering needs proof

SEND = "order_placed.send_robust(sender=Order, order=order))"


def test_a_signal_sent_with_keywords_the_contract_does_not_name_is_graded_on_behaviour(tmp_path):
    """An honest publisher that sends more than `order` (the customer, the lines): the
    subscribers take what they need from **kwargs; full marks, never an accusation."""
    sub = project(tmp_path, "signals-orders", replace={"shop/services.py": (
        SEND, "order_placed.send_robust(sender=Order, order=order, customer=customer, lines=lines,\n"
              "                                                       total=sum(q for _, q in lines)))")})
    report = graded(tmp_path, sub, "signals-orders")
    assert report["status"] == "graded", report["message"]
    assert report["score"] == report["max_score"], [(c["id"], c["feedback"]) for c in report["checks"]]


WELCOME = '''
from django.conf import settings
from django.db.models.signals import post_save


@receiver(post_save, sender=settings.AUTH_USER_MODEL)
def welcome_new_customer(sender, instance, created, **kwargs):
    """A welcome e-mail to every new customer."""
    if created and instance.email:
        send_mail("Welcome to the shop", "Thank you for signing up.", None, [instance.email])
'''


def test_a_disagreement_with_the_graders_own_reading_is_graded_not_tampered(tmp_path):
    """An honest project that also welcomes new customers by e-mail: the hidden test sees the
    order's e-mail, the grader's own reading of the mail folder finds two e-mails to that
    customer. Before issue 21 the whole run was `tampered` (0 points, "the test results were
    changed"); now that one check fails on what the grader saw, and the others keep their points."""
    sub = project(tmp_path, "signals-orders", append={"notifications/signals.py": WELCOME})
    report = graded(tmp_path, sub, "signals-orders")
    assert report["status"] == "graded", report["message"]
    assert "tamper" not in report["message"] and "changed" not in report["message"], report["message"]
    notified = check(report, "customer-notified")
    assert notified["status"] == "failed" and notified["diagnosis"] == "evidence-disagrees", notified
    assert "2 e-mails to the customer of order" in notified["feedback"], notified["feedback"]
    assert "verify.py" not in notified["feedback"] and "MEDIA_ROOT" not in notified["feedback"]
    for cid in ("project-loads", "order-placed-sent", "inventory-registered", "notifications-registered",
                "stock-lowered", "stock-atomic"):
        assert check(report, cid)["status"] == "passed", check(report, cid)
    assert report["score"] == 7
