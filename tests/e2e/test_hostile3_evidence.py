"""Issue 27, hostile round 3: evidence a submission cannot drop or rewrite. One test per class;
each gave points on the grader before the authenticated channel (the ledger, verdicts and
connections written by the harness outside the student's database connection, signed with the
run's key), declared notes, the grader's own in-test readings and an exit the submission cannot
hook."""

from __future__ import annotations

import pytest
from conftest import check
from helpers import graded, project

pytestmark = pytest.mark.e2e

# The one append-mode regular file the grader hands the child is its channel.
FIND_CHANNEL = """
import fcntl
import os
import stat


def _channel_fd():
    for fd in range(3, 64):
        try:
            if fcntl.fcntl(fd, fcntl.F_GETFL) & os.O_APPEND and stat.S_ISREG(os.fstat(fd).st_mode):
                return fd
        except OSError:
            pass
    raise RuntimeError("no channel found")
"""


# ------------------------------------------------------------------ dropping notes

# The files the project pretends removed are still in MEDIA_ROOT (verify.py sees that from the
# notes), and an execute wrapper installed at start-up drops every note the grader's ledger
# writes through the shared connection: before, no note reached verify.py, whose checks then
# had nothing to check, and the faked deletions earned their points.
DROP_LEDGER_ROWS = """
from django.db.backends.signals import connection_created


def _drop_grader_rows(execute, sql, params, many, context):
    if "_grader_evidence" in str(sql) and any(str(p).startswith("note:") for p in params or ()):
        return None   # the notes only: the test still "reaches its end"
    return execute(sql, params, many, context)


def _install(sender, connection, **kwargs):
    if _drop_grader_rows not in connection.execute_wrappers:
        connection.execute_wrappers.append(_drop_grader_rows)


connection_created.connect(_install, weak=False)
from django.db import connection as _default   # the connection already open, too
if _drop_grader_rows not in _default.execute_wrappers:
    _default.execute_wrappers.append(_drop_grader_rows)
"""


def test_notes_cannot_be_dropped_through_the_database_connection(tmp_path):
    sub = project(
        tmp_path, "signals-files", "tampered-storage-exists", append={"documents/signals.py": DROP_LEDGER_ROWS}
    )
    report = graded(tmp_path, sub, "signals-files")
    # verify.py saw the files still there: graded on that (issue 21: a disagreement is no proof
    # of tampering), so the faked deletions earn nothing
    assert report["status"] == "graded", report["message"]
    removed = check(report, "file-removed-on-delete")
    assert removed["score"] == 0 and removed["diagnosis"] == "evidence-disagrees", removed
    assert "MEDIA_ROOT" in removed["feedback"]
    assert report["score"] <= 5


# ------------------------------------------------------------------ no notes is no proof

# The same faked deletions, and the grader's note() replaced by a no-op: before, verify.py got no
# notes and passed every check it backs. Now each such test declares its notes; a pass without
# them is not counted, and says why (it is not called tampering: nothing proves it).
SILENCE_NOTES = """
from _grader_harness import support as _support
_support.note = lambda *args, **kwargs: None
"""


def test_a_pass_without_its_declared_notes_is_not_counted(tmp_path):
    sub = project(tmp_path, "signals-files", "tampered-storage-exists", append={"documents/signals.py": SILENCE_NOTES})
    report = graded(tmp_path, sub, "signals-files")
    assert report["status"] == "graded", report["message"]
    removed = check(report, "file-removed-on-delete")
    assert removed["status"] == "failed" and removed["score"] == 0, removed
    assert removed["diagnosis"] == "evidence-missing"
    assert "the grader holds no 'deleted' note from this check" in removed["feedback"]
    assert report["score"] <= 3  # the loading and registration checks at most


# ------------------------------------------------------------------ forging the grader's evidence

# Code of the project calls the grader's own ledger and verdict helpers, as the running test,
# for the test it cannot pass (no receiver is connected in ready()).
CALL_THE_HARNESS = """
from django.contrib.auth import get_user_model
from django.db.models.signals import pre_save


def _forge(sender, **kwargs):
    from _grader_harness import plugin, state
    state.current().nodeid = "test_registration.py::test_receiver_registered_in_ready"
    plugin.evidence("done")
    plugin._send_verdict(state.current().nodeid, {"setup": "passed", "call": "passed", "teardown": "passed"})


pre_save.connect(_forge, sender=get_user_model(), weak=False)
"""


def test_calling_the_graders_helpers_is_tampering_and_says_where(tmp_path):
    sub = project(tmp_path, "signals-profile", "starter", append={"users/models.py": CALL_THE_HARNESS})
    report = graded(tmp_path, sub, "signals-profile")
    assert report["status"] == "tampered", report["message"]
    assert report["score"] == 0
    assert "called the grader's own helpers" in report["message"]
    assert "users/models.py:" in report["message"]


# Lines written to the channel itself: a forged verdict, and a ledger entry with a value no
# JSON parser would give (before: the stream was plain JSON and the first verdict counted).
WRITE_THE_CHANNEL = (
    FIND_CHANNEL
    + """
import json

_fd = _channel_fd()
for record in ({"seq": 0, "kind": "verdict", "nodeid": "test_registration.py::test_receiver_registered_in_ready",
                "outcome": "passed"},
               {"seq": 1, "kind": "ledger", "nodeid": "x", "entry": "object:user", "value": float("inf")}):
    os.write(_fd, b"0" * 64 + b" " + json.dumps(record).encode() + b"\\n")
"""
)


def test_lines_the_grader_did_not_sign_make_the_run_tampered(tmp_path):
    sub = project(tmp_path, "signals-profile", "starter", append={"users/models.py": WRITE_THE_CHANNEL})
    report = graded(tmp_path, sub, "signals-profile")
    assert report["status"] == "tampered", report["message"]
    assert "was not written by the grader" in report["message"]
    assert report["score"] == 0


# ------------------------------------------------------------------ the end of the run

# No receiver: the counts are faked in memory (refresh_from_db), and os._exit, which the grading
# child calls at its very end, is patched to put every count right in SQL first. Before, the
# database left behind was right and the faked reads passed: the counts checks earned their points.
RECOUNT_AT_EXIT = """
import os as _os

_real_exit = _os._exit


def _recount_then_exit(code):
    from django.db import connection
    with connection.cursor() as c:
        c.execute("UPDATE blog_post SET tag_count = (SELECT COUNT(*) FROM blog_post_tags "
                  "WHERE blog_post_tags.post_id = blog_post.id)")
        c.execute("UPDATE blog_tag SET post_count = (SELECT COUNT(*) FROM blog_post_tags "
                  "WHERE blog_post_tags.tag_id = blog_tag.id)")
    _real_exit(code)


_os._exit = _recount_then_exit
"""


def test_counts_put_right_at_exit_earn_nothing(tmp_path):
    sub = project(tmp_path, "signals-m2m", "count-faked-in-memory", append={"blog/models.py": RECOUNT_AT_EXIT})
    report = graded(tmp_path, sub, "signals-m2m")
    assert report["status"] in ("graded", "tampered"), report["message"]
    for cid in ("counts-after-add", "counts-after-remove", "counts-after-clear-and-set"):
        assert check(report, cid)["score"] == 0, check(report, cid)
    assert report["score"] <= 1
