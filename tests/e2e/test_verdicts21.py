"""Issue 21, verdicts: `tampered` needs proof, the right receiver is blamed, a receiver kept
alive only by the student's own machine is explained, and a function shadowed by a second of
the same name is named with both lines. Each test runs the real CLI on a submission built in
tmp_path from an assignment's solution or starter, and asserts on the JSON."""

from __future__ import annotations

import pytest
from conftest import check
from helpers import graded, project

pytestmark = pytest.mark.e2e

# ------------------------------------------------------------------ tampering needs proof

SEND = "order_placed.send_robust(sender=Order, order=order))"


def test_a_signal_sent_with_keywords_the_contract_does_not_name_is_graded_on_behaviour(tmp_path):
    """An honest publisher that sends more than `order` (the customer, the lines): the
    subscribers take what they need from **kwargs; full marks, never an accusation."""
    sub = project(
        tmp_path,
        "signals-orders",
        replace={
            "shop/services.py": (
                SEND,
                "order_placed.send_robust(sender=Order, order=order, customer=customer, lines=lines,\n"
                "                                                       total=sum(q for _, q in lines)))",
            )
        },
    )
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


def test_a_welcome_email_beside_the_orders_is_no_mistake(tmp_path):
    """An honest project that also welcomes new customers by e-mail: the mail folder the grader
    reads holds two e-mails to that customer, one naming the order. Before issue 21 the whole
    run was `tampered`; then customer-notified failed on the grader's own reading (it counted
    every e-mail to the customer). The contract asks for one e-mail naming the order: full marks."""
    sub = project(tmp_path, "signals-orders", append={"notifications/signals.py": WELCOME})
    report = graded(tmp_path, sub, "signals-orders")
    assert report["status"] == "graded", report["message"]
    assert report["score"] == report["max_score"] == 10, [(c["id"], c["feedback"]) for c in report["checks"]]


def test_a_disagreement_with_the_graders_own_reading_is_graded_not_tampered(tmp_path):
    """Counts the model reads from memory while the table holds none (RequestStats.from_db
    overridden): the hidden tests see counts, the grader's own reading of the table does not.
    Before issue 21 the whole run was `tampered` (0 points); now the count checks fail on what
    the grader saw, saying so, and the others keep their points."""
    sub = project(tmp_path, "signals-requests", "counts-faked-in-memory")
    report = graded(tmp_path, sub, "signals-requests")
    assert report["status"] == "graded", report["message"]
    assert "tamper" not in report["message"].lower(), report["message"]
    disagreeing = [c for c in report["checks"] if c["diagnosis"] == "evidence-disagrees"]
    assert disagreeing and all(c["status"] == "failed" and c["score"] == 0 for c in disagreeing)
    assert all("verify.py" not in c["feedback"] for c in disagreeing)
    assert check(report, "project-loads")["status"] == "passed"
    assert 0 < report["score"] < report["max_score"]


# ------------------------------------------------------------------ weak references

CLOSURE_KEPT_BY_A_DEBUG_LIST = '''
"""Signal receivers of the users app: the receiver is made by a factory function."""
import os

from django.conf import settings
from django.db.models.signals import post_save

from .models import Profile

# While debugging (SIGNALS_DEBUG=1 in my shell) every receiver made is kept here for the shell.
DEBUG_RECEIVERS = []


def make_profile_receiver():
    def create_profile(sender, instance, created, **kwargs):
        if created:
            Profile.objects.get_or_create(user=instance)

    if os.environ.get("SIGNALS_DEBUG"):
        DEBUG_RECEIVERS.append(create_profile)
    return create_profile


post_save.connect(make_profile_receiver(), sender=settings.AUTH_USER_MODEL)
'''


def test_a_closure_kept_alive_only_on_the_students_machine_is_explained(tmp_path):
    """A closure made by a factory (not inside ready(), not a lambda), kept alive by a list
    that only the student's shell fills: the feedback names the factory, explains weak
    references, names where the code keeps it alive and under which condition, and the fixes.
    Before issue 21 it said "a function defined inside ready() (or a lambda)"."""
    sub = project(tmp_path, "signals-profile", write={"users/signals.py": CLOSURE_KEPT_BY_A_DEBUG_LIST})
    report = graded(tmp_path, sub, "signals-profile")
    reg = check(report, "receiver-registered-in-ready")
    assert reg["status"] == "failed" and reg["diagnosis"] == "receiver-garbage-collected", reg
    text = reg["feedback"]
    assert "defined inside make_profile_receiver()" in text, text
    assert "weak reference" in text and "weak=False" in text and "module level" in text, text
    assert "DEBUG_RECEIVERS (users/signals.py:20)" in text and "SIGNALS_DEBUG" in text, text


DEAD_ARCHIVE_CLOSURE = """
import os  # noqa: E402

DEBUG_RECEIVERS = []


def make_receiver():
    def on_signal(sender, **kwargs):
        return archive_deleted_document(sender, **kwargs)

    if os.environ.get("SIGNALS_DEBUG"):
        DEBUG_RECEIVERS.append(on_signal)
    return on_signal


post_delete.connect(make_receiver(), sender=Document)
"""


def test_a_dead_closure_beside_a_live_receiver_of_the_same_signal_is_named(tmp_path):
    """signals-files: the archive receiver is such a closure, the file receiver on the same
    post_delete a module-level function. One live receiver used to cover the dead one (the
    registration check passed, and only "no archive" was said)."""
    sub = project(
        tmp_path,
        "signals-files",
        replace={
            "documents/signals.py": (
                "@receiver(post_delete, sender=Document)\ndef archive_deleted_document",
                "def archive_deleted_document",
            )
        },
        append={"documents/signals.py": DEAD_ARCHIVE_CLOSURE},
    )
    report = graded(tmp_path, sub, "signals-files")
    reg = check(report, "receivers-registered-in-ready")
    assert reg["status"] == "failed" and reg["diagnosis"] == "receiver-garbage-collected", reg
    assert "make_receiver()" in reg["feedback"] and "weak=False" in reg["feedback"], reg["feedback"]
    assert check(report, "file-removed-on-delete")["status"] == "passed"


# ------------------------------------------------------------------ two functions, one name

SHADOWED = '''
"""Signal receivers of the users app."""
from django.conf import settings
from django.db.models.signals import post_save
from django.dispatch import receiver

from .models import Profile


@receiver(post_save, sender=settings.AUTH_USER_MODEL)
def create_profile(sender, instance, created, **kwargs):
    """Give every new user exactly one profile."""
    if created:
        Profile.objects.get_or_create(user=instance)


def create_profile(user):  # noqa: F811  (a helper for the sign-up view, written later)
    """The profile of a user made by the sign-up view."""
    return Profile.objects.get_or_create(user=user)[0]
'''


def test_two_functions_with_the_same_name_are_named_with_both_lines(tmp_path):
    """The second `def create_profile` replaces the receiver in the module; the receiver, held
    only weakly, is collected. The check and a warning say so with both lines. Before issue 21:
    "define the receiver at module level", which it already was."""
    sub = project(tmp_path, "signals-profile", write={"users/signals.py": SHADOWED})
    report = graded(tmp_path, sub, "signals-profile")
    reg = check(report, "receiver-registered-in-ready")
    assert reg["status"] == "failed" and reg["diagnosis"] == "receiver-shadowed", reg
    assert "users/signals.py:11 and users/signals.py:17" in reg["feedback"], reg["feedback"]
    assert reg["location"] == "users/signals.py:17"
    assert any(
        "defines create_profile twice (users/signals.py:11 and users/signals.py:17)" in w for w in report["warnings"]
    ), report["warnings"]


def test_a_shadowed_receiver_that_stays_alive_is_still_warned_about(tmp_path):
    """Connected with weak=False the first create_profile keeps running (full marks), but the
    module's name means the second: a warning says so, with both lines."""
    code = SHADOWED.replace(
        "@receiver(post_save, sender=settings.AUTH_USER_MODEL)",
        "@receiver(post_save, sender=settings.AUTH_USER_MODEL, weak=False)",
    )
    sub = project(tmp_path, "signals-profile", write={"users/signals.py": code})
    report = graded(tmp_path, sub, "signals-profile")
    assert report["score"] == report["max_score"], [(c["id"], c["feedback"]) for c in report["checks"]]
    assert any(
        "defines create_profile twice (users/signals.py:11 and users/signals.py:17)" in w for w in report["warnings"]
    ), report["warnings"]


# ------------------------------------------------------------------ blame the right thing


def test_a_missing_signal_is_not_connected_not_wrong_signal_on_another_receiver(tmp_path):
    """signals-files without the pre_save receiver's decorator: the two post_delete receivers
    rightly listen there. Before issue 21 the last connected of them was told it was "connected
    to post_delete, not to pre_save" (wrong-signal)."""
    sub = project(
        tmp_path, "signals-files", replace={"documents/signals.py": ("@receiver(pre_save, sender=Document)\n", "")}
    )
    report = graded(tmp_path, sub, "signals-files")
    replaced = check(report, "replaced-file-removed")
    assert replaced["status"] == "failed" and replaced["diagnosis"] == "receiver-not-connected", replaced
    assert "remove_file_of_deleted_document" not in replaced["feedback"], replaced["feedback"]
    assert "No pre_save receiver for Document is connected" in replaced["feedback"], replaced["feedback"]


MISPLACED_FIRST = """
@receiver(post_delete, sender=Document)
def remove_file_replaced_on_save(sender, instance, **kwargs):
    if instance.pk is None:
        return
    old = sender.objects.filter(pk=instance.pk).values_list("file", flat=True).first()
    if old and old != instance.file.name:
        storage = instance.file.storage
        transaction.on_commit(lambda: storage.delete(old))


@receiver(post_delete, sender=Document)
def archive_deleted_document"""


def test_of_two_receivers_on_a_signal_the_misplaced_one_is_named_not_the_last(tmp_path):
    """The replaced-file receiver (its name says it is for a save) is connected to post_delete,
    first; the two right post_delete receivers come after it. The wrong one is named by what
    its code is for, not by being connected last (before issue 21:
    remove_file_of_deleted_document, the last)."""
    sub = project(
        tmp_path,
        "signals-files",
        replace={
            "documents/signals.py": (
                "@receiver(post_delete, sender=Document)\ndef archive_deleted_document",
                MISPLACED_FIRST,
            )
        },
    )
    text = (sub / "documents/signals.py").read_text()
    start = text.index("@receiver(pre_save, sender=Document)")
    (sub / "documents/signals.py").write_text(text[:start])  # the old pre_save receiver is gone
    report = graded(tmp_path, sub, "signals-files")
    replaced = check(report, "replaced-file-removed")
    assert replaced["diagnosis"] == "wrong-signal", replaced
    assert "remove_file_replaced_on_save" in replaced["feedback"], replaced["feedback"]
    assert "remove_file_of_deleted_document" not in replaced["feedback"], replaced["feedback"]
