"""deleted-document-archived: every deleted document leaves exactly one DeletedDocument with its
id and title, however it is deleted; a rolled-back deletion leaves none."""

import _grader_assignment as files

from _grader_harness import api


def test_instance_delete():
    owner = files.owner("a1")
    doc = files.document(owner, "a1")
    files.delete("doc.delete()", lambda: doc.fresh().delete(), [doc])
    files.expect_archived([doc], "doc.delete()")


def test_queryset_delete():
    owner = files.owner("a2")
    docs = [files.document(owner, "a2-1"), files.document(owner, "a2-2")]
    how = "Document.objects.filter(...).delete()"
    Document = files.model("document")
    files.delete(how, lambda: Document._default_manager.filter(pk__in=[d.pk for d in docs]).delete(), docs)
    files.expect_archived(docs, how, bulk="a queryset's delete()")


def test_owner_deleted():
    owner = files.owner("a3")
    docs = [files.document(owner, "a3-1"), files.document(owner, "a3-2")]
    how = "deleting the documents' owner (user.delete(): the documents are deleted by the cascade)"
    files.delete(how, lambda: owner.delete(), docs)
    files.expect_archived(docs, how, bulk="a cascade from the owner")


def test_rolled_back_delete_not_archived():
    owner = files.owner("a4")
    kept, deleted = files.document(owner, "a4-kept"), files.document(owner, "a4-deleted")
    # The normal case first: a deletion in a transaction that commits is archived.
    how = "doc.delete() inside transaction.atomic() (committed)"
    files.delete(how, files.committed(lambda: deleted.fresh().delete()), [deleted])
    files.expect_archived([deleted], how)
    how = "doc.delete() inside transaction.atomic() that is rolled back"
    files.rolled_back(how, lambda: kept.fresh().delete())
    if not kept.exists():
        api.fail(
            f"after {how}, document {kept.pk} is gone: a rolled-back deletion must leave it.",
            diagnosis="document-not-deleted",
        )
    Archive = files.model("archive")
    if Archive._default_manager.filter(document_id=kept.pk).exists():
        api.fail(
            f"after {how}, there is a DeletedDocument for document {kept.pk}, which still exists: "
            "write the archive in the deletion's own transaction (a pre_delete or post_delete "
            "receiver with the default database), so that a rollback removes it too.",
            diagnosis="archive-after-rollback",
            location=files.where_receivers(files.DELETE_SIGNALS),
        )
    api.track(kept.fresh(), "document")
    api.note("not_archived", kept.pk)
