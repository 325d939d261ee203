"""unchanged-file-kept: saving rows of other models (the owner, as every login does; an archive
row) raises nothing and changes no document's file. Django sends pre_save and post_save for
every model's save, with that model as the sender: a receiver connected without
sender=Document runs for those too. The archive row gets the document's primary key, so a
receiver that takes it for a document finds that document instead of nothing."""

import _grader_assignment as files
import pytest

from _grader_harness import api

TITLE = "Archived o1 (renamed)"


def _why() -> tuple[str, str]:
    """(diagnosis, what to change) when saving another model went wrong."""
    loose = files.other_senders()
    if loose:
        return "receiver-without-sender", loose
    Document = files.model("document")
    others = [
        c
        for c in files.relevant(files.SAVE_SIGNALS + files.DELETE_SIGNALS)
        if c.sender is not None and c.sender is not Document
    ]
    if others:
        c = others[0]
        return (
            "wrong-sender",
            f"Your receiver {c.receiver_name} ({c.receiver_where or c.call_site}) "
            f"listens to {getattr(c.sender, '__name__', c.sender)}, not to Document. Use "
            'sender=Document (or "documents.Document").',
        )
    return (
        "unchanged-file-deleted",
        "Saving a user or a DeletedDocument is not saving a document: your receivers must leave "
        'every document\'s file alone then. Connect them with sender=Document (or "documents.Document").',
    )


def test_other_models_saved():
    from django.utils import timezone

    try:
        Archive, User = files.model("archive"), api.user_model()
    except pytest.fail.Exception:  # a changed model is project-loads' business
        api.skip(
            "DeletedDocument no longer has the starter's fields (the check of the project "
            "says which), so saving rows of other models was not checked"
        )
    owner = files.owner("o1")
    doc = files.document(owner, "o1")
    free = not Archive._default_manager.filter(pk=doc.pk).exists()
    # Written without signals, for a document id no document has: the archive of some old deletion.
    row = Archive(**({"pk": doc.pk} if free else {}), document_id=10**12 + doc.pk, title="Archived o1")
    with api.student_code("storing an archive row (DeletedDocument)"):
        Archive._default_manager.bulk_create([row])
    row = Archive._default_manager.get(document_id=10**12 + doc.pk)

    def login():
        user = User._default_manager.get(pk=owner.pk)
        user.last_login = timezone.now()
        user.save(update_fields=["last_login"])

    def rename():
        archived = Archive._default_manager.get(pk=row.pk)
        archived.title = TITLE
        archived.save()

    saves = [("saving the document's owner again (user.save())", lambda: User._default_manager.get(pk=owner.pk).save())]
    if any(f.name == "last_login" for f in User._meta.concrete_fields):
        saves.append(("a login of the document's owner (Django saves user.last_login)", login))
    saves += [
        ("changing an archive row's title and saving it (DeletedDocument.save())", rename),
        (
            "saving an archive row loaded again (DeletedDocument.objects.get(...).save())",
            lambda: Archive._default_manager.get(pk=row.pk).save(),
        ),
    ]
    for how, action in saves:
        seen = files.save(how, action, when="other")
        files.expect_files_kept([doc], how, seen, *_why())
        files.expect_current_file(doc, how, seen)
    if api.stored_value(row, "title") != TITLE:
        diagnosis, why = _why()
        api.fail(
            f"after changing an archive row's title and saving it, the database still has "
            f"{api.stored_value(row, 'title')!r}: your receivers must not stop or undo a "
            f"save of another model. {why}",
            diagnosis=diagnosis,
            location=files.where_receivers(files.SAVE_SIGNALS),
        )
    api.track(doc.fresh(), "document")
    api.track(row, "archive")
