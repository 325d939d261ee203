"""replaced-file-removed: saving an existing document with another file (or with its file
cleared) removes the old file from storage and keeps the new one; saving a new document raises
nothing and deletes nothing."""

import _grader_assignment as files

from _grader_harness import api

KEPT = (
    "Compare the file the database holds before the save (in pre_save: "
    "sender.objects.filter(pk=instance.pk)) with instance.file, and delete the old one when "
    "the names differ."
)
IN_POST_SAVE = (
    " In post_save the database already holds the new name: comparing the document with itself never finds a change."
)


def _advice(first: str = "") -> str:
    """What to change, with a word on post_save when the student's receiver is one."""
    return first + KEPT + (IN_POST_SAVE if files.live(["post_save"]) and not files.live(["pre_save"]) else "")


OTHER = (
    "Read the old file of the same document (sender.objects.filter(pk=instance.pk)), never "
    "of another document, and do nothing for a new document."
)


def _expect_replaced(old, how, seen):
    if files.stored(old.name):
        files.explain_nothing(
            files.SAVE_SIGNALS,
            f"after {how}, the old file {old.name} is still in storage.",
            "replaced-file-kept",
            _advice(),
        )
    api.note("gone", old.name)


def test_new_file_replaces_old():
    for tag, how, replace in (
        ("r1", "doc.file = <a new file>; doc.save()", lambda doc, new: (setattr(doc, "file", new), doc.save())),
        ("r2", "doc.file.save(<name>, <a new file>)", lambda doc, new: doc.file.save(new.name, new)),
    ):
        old = files.document(files.owner(tag), tag)
        doc = old.fresh()
        seen = files.save(how, lambda: replace(doc, files.new_file(f"{tag}-new")))
        name = files.expect_current_file(old, how, seen)
        _expect_replaced(old, how, seen)
        api.note("kept", name)
        api.track(doc, "document")


def test_cleared_file_removed():
    old = files.document(files.owner("r3"), "r3")
    doc = old.fresh()
    how = "clearing the document's file (doc.file = ''; doc.save(), as the admin's Clear box does)"

    def clear():
        doc.file = ""
        doc.save()

    files.save(how, clear)
    if files.stored(old.name):
        files.explain_nothing(
            files.SAVE_SIGNALS,
            f"after {how}, the old file {old.name} is still in storage.",
            "replaced-file-kept",
            _advice(
                "Clearing the file replaces it with nothing: delete the old file "
                "also when instance.file is empty (`if old and old != "
                "instance.file.name:`). "
            ),
        )
    api.note("gone", old.name)
    api.track(doc, "document")


def test_new_document():
    from django.core.files.base import ContentFile

    owner = files.owner("r4")
    other = files.document(owner, "r4-other")
    Document = files.model("document")
    made = []

    def create():
        made.append(Document._default_manager.create(owner=owner, title="Report r4-1", file=files.new_file("r4-1")))

    def construct():
        doc = Document(owner=owner, title="Report r4-2", file=files.new_file("r4-2"))
        doc.save()
        made.append(doc)

    def file_save():
        doc = Document(owner=owner, title="Report r4-3")
        doc.file.save("r4-3.txt", ContentFile(b"the file of r4-3\n"))
        made.append(doc)

    for how, action in (
        ("Document.objects.create(..., file=<a file>)", create),
        ("Document(..., file=<a file>).save()", construct),
        ("doc.file.save(<name>, <a file>) on a new document", file_save),
    ):
        seen = files.save(f"saving a new document: {how}", action, when="new")
        doc = made[-1]
        new = files.Doc(doc.pk, doc.title, "")
        name = files.expect_current_file(new, f"saving a new document ({how})", seen)
        files.expect_files_kept([other], f"saving a new document ({how})", seen, "other-file-deleted", OTHER)
        api.note("kept", name)
        api.track(doc, "document")
    api.track(other.fresh(), "document")
