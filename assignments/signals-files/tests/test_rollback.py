"""file-kept-on-rollback: a deletion that is rolled back (an outer transaction.atomic() that
raises) keeps the document and its file; the same deletion committed removes the file."""

import _grader_assignment as files

from _grader_harness import api

LOST = (
    "The deletion was rolled back, so the document is still there, but its file was removed "
    "while the transaction was still open. Remove the file only once the deletion commits: in "
    "post_delete, transaction.on_commit(lambda: storage.delete(name)) (on_commit also runs the "
    "function right away when no transaction is open). Never delete it in pre_delete."
)


def test_rolled_back_delete_keeps_file():
    owner, other = files.owner("k1"), files.owner("k1-other")
    gone = files.document(owner, "k1-gone")
    # The normal case first: inside a transaction that commits, the file is removed at the end.
    how = "doc.delete() inside transaction.atomic() (committed)"
    files.delete(how, files.committed(lambda: gone.fresh().delete()), [gone])
    files.expect_files_removed([gone], how)

    kept = [files.document(owner, "k1-1"), files.document(owner, "k1-2"), files.document(other, "k1-3")]
    Document = files.model("document")

    other_pk = other.pk

    def delete_all():
        kept[0].fresh().delete()
        Document._default_manager.filter(pk=kept[1].pk).delete()
        other.delete()

    how = (
        "doc.delete(), Document.objects.filter(...).delete() and deleting an owner, inside "
        "transaction.atomic() that is rolled back"
    )
    seen = files.rolled_back(how, delete_all)
    for d in kept:
        if not d.exists():
            api.fail(f"after {how}, document {d.pk} is gone: a rolled-back deletion must leave it.")
    files.expect_files_kept(kept, how, seen, "file-lost-on-rollback", LOST)
    for d in kept:
        api.track(d.fresh(), "document")
    api.track(api.user_model()._default_manager.get(pk=other_pk), "user")  # its deletion was rolled back
