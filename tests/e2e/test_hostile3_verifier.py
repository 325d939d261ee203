"""Issue 27, hostile round 3: the verifier's own budgets. The reference solution of
signals-orders, whose notifications receiver also writes a crafted e-mail into the mail folder
the grader owns (Django's file backend writes there; so can any code). Before, verify.py's
one_mail_per_order read it with the standard library and the grading hung (a header of a
million backslashes parses in quadratic time: hours) or, for nested comments, raised
RecursionError, which made the run an error that 'the grader may be at fault'. Now the
mailbox is refused at once: the checks that read the mail are the submission's failure."""

from __future__ import annotations

import json
import textwrap
import time
from pathlib import Path

import pytest
from conftest import ROOT, run_cli, validate

from grader import authoring, rubric

pytestmark = pytest.mark.e2e

CRAFTED_MAIL = """
import os as _os

from django.conf import settings as _settings

_MAIL_HEADERS = {
    "quadratic": b"To: " + b"\\\\" * 1_000_000 + b"\\n",
    "recursive": b"To: " + b"(" * 3_000 + b"\\n",
}


def _mail_folder():
    path = getattr(_settings, "EMAIL_FILE_PATH", None)
    if not path:   # Django 6.1: MAILERS
        path = _settings.MAILERS["default"]["OPTIONS"]["file_path"]
    return str(path)


@receiver(order_placed, sender=Order)
def craft_mail(sender, order, **kwargs):
    with open(_os.path.join(_mail_folder(), "crafted.log"), "wb") as fh:
        fh.write(_MAIL_HEADERS[KIND] + b"Subject: Your order #1\\n\\nhi\\n" + b"-" * 79 + b"\\n")
"""


def _project(tmp_path: Path, kind: str) -> Path:
    assignment = rubric.load(ROOT / "assignments" / "signals-orders")
    case = next(c for c in authoring.cases(assignment) if c.name == "solution")
    dest = authoring.build(assignment, case, tmp_path / kind)
    receivers = dest / "notifications" / "signals.py"
    receivers.write_text(receivers.read_text() + "\n\nKIND = " + repr(kind) + "\n" + textwrap.dedent(CRAFTED_MAIL))
    return dest


@pytest.mark.parametrize("kind", ["quadratic", "recursive"])
def test_a_crafted_email_fails_the_mail_checks_fast_and_never_as_a_grader_fault(tmp_path, kind):
    project = _project(tmp_path, kind)
    out = tmp_path / "report.json"
    started = time.monotonic()
    done = run_cli(
        "grade", str(project), "--assignment", "signals-orders", "--output", str(out), "--quiet", timeout=240
    )
    assert time.monotonic() - started < 240
    assert done.returncode in (0, 1), done.stderr
    report = validate(json.loads(out.read_text()))
    assert report["grader_fault"] == ""
    notified = next(c for c in report["checks"] if c["id"] == "customer-notified")
    assert notified["status"] != "passed" and notified["score"] == 0
    assert "grader may be at fault" not in json.dumps(report)
