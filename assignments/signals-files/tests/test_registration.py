"""receivers-registered-in-ready: the student's receivers of Document's deletions (pre_delete
and/or post_delete: archiving may use either) and of its saves (pre_save and/or post_save, when
the student wrote one) are live and were connected while DocumentsConfig.ready() ran.

One test per signal, each with its [connections] entry: a test whose signal the student does
not use skips itself, and at least one receiver of a deletion must be there."""

import _grader_assignment as files

from _grader_harness import api


def _check(name: str, family: tuple[str, ...], required: bool) -> None:
    files.model("document")
    spec = None  # the rubric's [connections] entry of this test
    if not files.relevant([name]):
        used = [n for n in family if files.relevant([n])]
        if used or not required:
            api.skip(f"not checked: you connect no {name} receiver for documents")
        where = files.overridden("delete")
        if where:
            api.fail(
                f"Document.delete() is overridden ({where}) instead of a receiver being connected: "
                "bulk deletes (Document.objects.filter(...).delete()) and deleting the owner "
                "never call it. Connect a post_delete receiver for Document in "
                "DocumentsConfig.ready() instead.",
                diagnosis="delete-overridden",
                location=where,
            )
        # No receiver of a deletion for documents at all: say why about the signal the
        # student did use, if any (a pre_delete receiver for another model: wrong-sender).
        used = [n for n in family if files.connections([n])]
        spec = {"signal": used[0] if used else name, "sender": "document", "ready": "document"}
    problem = api.registration_problem(spec=spec, advice=files.REGISTRATION_ADVICE)
    if problem:
        diagnosis, message, location = problem
        api.fail(message, diagnosis=diagnosis, location=location)


def test_post_delete_receiver_in_ready():
    # Reports for the deletions when the student connects neither pre_delete nor post_delete.
    _check("post_delete", files.DELETE_SIGNALS, required=True)


def test_pre_delete_receiver_in_ready():
    _check("pre_delete", files.DELETE_SIGNALS, required=False)


def test_pre_save_receiver_in_ready():
    _check("pre_save", files.SAVE_SIGNALS, required=False)


def test_post_save_receiver_in_ready():
    _check("post_save", files.SAVE_SIGNALS, required=False)
