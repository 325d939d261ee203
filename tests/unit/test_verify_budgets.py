"""Issue 27, the verifier's own budgets: what the student's code left in the grader's folders
(mail, media) is read within caps and one time budget per run. Crafted input that made the
standard library's parsing quadratic or recursive is refused at once, with a message for the
student (VerifyRefused, never VerifyError: not the grader's problem), and a verify.py function
that loops on student-made data is stopped."""

from __future__ import annotations

import json
import sqlite3
import sys
import threading
import time

import pytest

from grader import verify
from grader.verify import Folder, Mailbox, Verifier, VerifyError, VerifyRefused

END = b"\n" + b"-" * 79 + b"\n"  # Django's file backend ends every message so
FAST_S = 2.0  # every crafted input below took seconds to hours, or recursed


def _mailbox(tmp_path, *files: bytes) -> Mailbox:
    root = tmp_path / "mail"
    root.mkdir(parents=True)
    for i, data in enumerate(files):
        (root / f"{i}.log").write_bytes(data)
    return Mailbox(root)


def _nested_multiparts(depth: int) -> bytes:
    return b"".join(b"Content-Type: multipart/mixed; boundary=b%d\n\n--b%d\n" % (i, i) for i in range(depth))


CRAFTED = {
    # _header_value_parser is quadratic in backslashes: 64 K of them took 14 s to parse
    "quadratic-header": (b"To: " + b"\\" * 65_536 + b"\n\nhi\n", "'To' header of 65540 characters"),
    # address headers cost about 10 us a character whatever their shape
    "long-address-list": (b"To: " + b"a@b, " * 20_000 + b"\n\nhi\n", "over the grader's cap of 4096"),
    # comments nested in a header: get_comment() recursed into a RecursionError
    "nested-comments": (b"To: " + b"(" * 4_000 + b"\n\nhi\n", "nested too deeply"),
    # the feed parser recursed into a RecursionError on 1000 nested multiparts
    "nested-multiparts": (_nested_multiparts(1_000) + b"x\n", "nests more than 10 multipart"),
    "nested-messages": (b"Content-Type: message/rfc822\n\n" * 2_000 + b"x\n", "nests more than 10"),
    # every line checked against every open boundary: 100 levels and 1 MB of lines took 3.6 s
    "deep-and-long": ((_nested_multiparts(100) + b"x\n" * 500_000)[:1_000_000], "nests more than 10"),
    # 100 000 parts took about 12 s
    "many-parts": (b"Content-Type: multipart/mixed; boundary=B\n\n" + b"--B\n\nx\n" * 100_000, "more than 100 parts"),
    "many-headers": (b"X-A: a\n" * 100_000 + b"\nhi\n", "more than 200 headers"),
}


@pytest.mark.parametrize("name", sorted(CRAFTED))
def test_a_crafted_message_is_refused_at_once_with_a_message_for_the_student(tmp_path, name):
    raw, says = CRAFTED[name]
    mailbox = _mailbox(tmp_path, raw + END)
    started = time.monotonic()
    with pytest.raises(VerifyRefused, match="your code must send ordinary e-mails") as refused:
        [str(m.get("to")) for m in mailbox.messages]
    assert time.monotonic() - started < FAST_S
    assert says in str(refused.value) and len(str(refused.value)) <= 300
    assert not isinstance(refused.value, VerifyError)  # the submission's failure
    with pytest.raises(VerifyRefused):  # every time it is asked
        [str(m.get("to")) for m in mailbox.messages]


def test_the_worst_headers_within_the_caps_parse_fast(tmp_path):
    headers = b"".join(b"To: " + b"\\" * 4_000 + b"\n" for _ in range(15))
    mailbox = _mailbox(tmp_path, headers + b"Subject: =?utf-8?q?caf=C3=A9?=\n\nhi\n" + END)
    started = time.monotonic()
    (message,) = mailbox.messages
    assert len(message.get_all("to")) == 15 and str(message["subject"]) == "café"
    for _ in range(20):  # parsed once, then read from the parsed headers
        [str(v) for v in message.get_all("to")]
    assert time.monotonic() - started < FAST_S


def test_sizes_and_counts_of_the_mail_folder_are_capped(tmp_path):
    big = _mailbox(tmp_path / "a", b"To: a@b\n\n" + b"x" * (2 * 1024 * 1024) + END)
    with pytest.raises(VerifyRefused, match=r"a message of 2 MB, over the grader's 1 MB cap for one e-mail"):
        big.messages
    many = _mailbox(tmp_path / "b", (b"To: a@b\n\nhi\n" + END) * (verify.MAX_MESSAGES + 1))
    with pytest.raises(VerifyRefused, match="more than 1000 e-mails"):
        many.messages
    total = _mailbox(tmp_path / "c", *[(b"To: a@b\n\n" + b"x" * 900_000 + END)] * 5)
    with pytest.raises(VerifyRefused, match=r"4\.\d+ MB of e-mail, over the grader's 4 MB cap"):
        total.messages
    fine = _mailbox(tmp_path / "d", b"To: a@b\nSubject: Order 1\n\nhi\n" + END + b"To: c@d\n\nho\n" + END)
    assert [str(m["to"]) for m in fine.messages] == ["a@b", "c@d"]


def test_a_folder_over_its_entry_cap_is_refused_not_read_in_part(tmp_path, monkeypatch):
    monkeypatch.setattr(verify, "MAX_FILES", 50)
    root = tmp_path / "media"
    root.mkdir()
    for i in range(60):
        (root / f"{i}.txt").write_text("x")
    with pytest.raises(VerifyRefused, match="MEDIA_ROOT holds more than 50 files"):
        Folder(root, label="MEDIA_ROOT").files()
    (root / "big.bin").write_bytes(b"y" * (verify.MAX_READ + 10))
    assert len(Folder(root).read("big.bin", cap=1 << 40)) == verify.MAX_READ


# ------------------------------------------------------------------ the Verifier


def _database(tmp_path):
    db = tmp_path / "grading.sqlite3"
    db.unlink(missing_ok=True)
    conn = sqlite3.connect(db)
    conn.execute("CREATE TABLE _grader_models (label TEXT, db_table TEXT, pk_column TEXT, columns TEXT, related TEXT)")
    conn.execute(
        "INSERT INTO _grader_models VALUES ('blog.Tag', 'blog_tag', 'id', ?, '{}')",
        (json.dumps({"id": "id", "name": "name"}),),
    )
    conn.execute("CREATE TABLE _grader_roles (role TEXT, label TEXT)")
    conn.execute("INSERT INTO _grader_roles VALUES ('tag', 'blog.Tag')")
    conn.execute("CREATE TABLE blog_tag (id INTEGER PRIMARY KEY, name TEXT)")
    conn.commit()
    conn.close()
    return db


VERIFY = """
import time


def spins(run):
    while True:
        pass


def swallows(run):
    n = 0
    while True:
        try:
            run.media.exists("x")
            n += 1
        except Exception:     # a broad except in verify.py cannot keep it going
            pass


def counts(run):
    heard = ["x"] * 50_000
    return next((pk for pk in range(10 ** 9) if heard.count(str(pk)) > 1), None)


def slow_query(run):
    run.query("WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT COUNT(*) FROM c")


def ignores_refusal(run):
    try:
        run.mail.messages
    except Exception:
        return None           # a refusal verify.py catches still stands


def reads_content(run):
    return None if all(m.get_content() for m in run.mail.messages) else "empty"


def broken(run):
    raise KeyError("oops")


def fine(run):
    return None if run.query("SELECT COUNT(*) FROM {tag}") == [(0,)] else "rows"
"""


@pytest.fixture
def verifier(tmp_path, monkeypatch):
    monkeypatch.setattr(verify, "VERIFY_BUDGET_S", 0.5)
    (tmp_path / "verify.py").write_text(VERIFY)
    for folder in ("media", "mail"):
        (tmp_path / folder).mkdir()

    def make():
        return Verifier(
            tmp_path / "verify.py", _database(tmp_path), {"media": tmp_path / "media", "mail": tmp_path / "mail"}
        )

    return make


@pytest.mark.parametrize("name", ["spins", "swallows", "counts", "slow_query"])
def test_a_verify_function_past_the_budget_is_stopped_and_refused(verifier, name):
    v = verifier()
    before = sys.gettrace()
    started = time.monotonic()
    with pytest.raises(VerifyRefused, match=r"longer than the grader's 0\.5 s budget"):
        v("t::a", (name,), {}, {})
    assert time.monotonic() - started < 0.5 + FAST_S
    assert sys.gettrace() is before
    # the budget is the run's: every later check is refused at once
    started = time.monotonic()
    with pytest.raises(VerifyRefused, match="budget"):
        v("t::b", ("fine",), {}, {})
    assert time.monotonic() - started < 0.2
    v.close()


def test_the_budget_holds_in_a_worker_thread(verifier):
    v, caught = verifier(), []

    def check():
        try:
            v("t::a", ("spins",), {}, {})
        except VerifyRefused as exc:
            caught.append(exc)
        finally:
            v.close()

    worker = threading.Thread(target=check)
    worker.start()
    worker.join(0.5 + FAST_S)
    assert not worker.is_alive() and caught


def test_refusals_and_grader_problems_stay_apart(verifier, tmp_path):
    v = verifier()
    assert v("t::a", ("fine",), {}, {}) is None
    with pytest.raises(VerifyError, match=r"broken\(\) failed"):
        v("t::a", ("broken",), {}, {})
    (tmp_path / "mail" / "1.log").write_bytes(b"To: " + b"\\" * 65_536 + b"\n\nhi\n" + END)
    with pytest.raises(VerifyRefused, match="over the grader's cap of 4096"):
        v("t::a", ("ignores_refusal",), {}, {})
    v.close()
    # an unknown charset: the e-mail package's error on the student's bytes is the mail's fault
    (tmp_path / "mail" / "1.log").write_bytes(b"To: a@b\nContent-Type: text/plain; charset=bogus\n\nhi\n" + END)
    v = verifier()
    with pytest.raises(VerifyRefused, match="cannot be read .LookupError"):
        v("t::a", ("reads_content",), {}, {})
    v.close()
    assert not issubclass(VerifyRefused, VerifyError) and issubclass(VerifyRefused, Exception)
