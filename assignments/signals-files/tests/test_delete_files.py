"""file-removed-on-delete: a deleted document's stored file is removed from storage (once the
deletion is committed), however the document is deleted; other documents keep their files; a
document without a file is deleted without error."""

import _grader_assignment as files

from _grader_harness import api

KEEP = "Remove only the file of the document being deleted (instance.file), never another document's."


def _expect_bystander(doc, how, seen):
    files.expect_files_kept([doc], how, seen, "other-file-deleted", KEEP)
    api.track(doc.fresh(), "document")


def test_instance_delete():
    owner = files.owner("f1")
    doc, other = files.document(owner, "f1"), files.document(owner, "f1-other")
    how = "doc.delete()"
    seen = files.delete(how, lambda: doc.fresh().delete(), [doc])
    files.expect_files_removed([doc], how)
    _expect_bystander(other, how, seen)


def test_queryset_delete():
    owner = files.owner("f2")
    docs = [files.document(owner, "f2-1"), files.document(owner, "f2-2")]
    other = files.document(owner, "f2-other")
    how = "Document.objects.filter(...).delete()"
    Document = files.model("document")
    seen = files.delete(how, lambda: Document._default_manager.filter(pk__in=[d.pk for d in docs]).delete(), docs)
    files.expect_files_removed(docs, how, bulk="a queryset's delete()")
    _expect_bystander(other, how, seen)


def test_owner_deleted():
    owner, someone = files.owner("f3"), files.owner("f3-other")
    docs = [files.document(owner, "f3-1"), files.document(owner, "f3-2")]
    other = files.document(someone, "f3-other")
    how = "deleting the documents' owner (user.delete(): the documents are deleted by the cascade)"
    seen = files.delete(how, lambda: owner.delete(), docs)
    files.expect_files_removed(docs, how, bulk="a cascade from the owner")
    _expect_bystander(other, how, seen)


def test_document_without_file():
    owner = files.owner("f4")
    doc = files.document(owner, "f4-1", with_file=False)
    how = "deleting a document without a file (doc.delete())"
    files.delete(how, lambda: doc.fresh().delete(), [doc], when="no-file")
    docs = [files.document(owner, "f4-2", with_file=False), files.document(owner, "f4-3")]
    how = "deleting a document without a file and one with a file (Document.objects.filter(...).delete())"
    Document = files.model("document")
    files.delete(
        how, lambda: Document._default_manager.filter(pk__in=[d.pk for d in docs]).delete(), docs, when="no-file"
    )
    files.expect_files_removed(docs, how, bulk="a queryset's delete()")
