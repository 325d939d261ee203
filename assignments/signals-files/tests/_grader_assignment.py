"""signals-files' own helpers for its hidden tests: documents with stored files, deletions and
saves that run the student's receivers, and what to tell the student when a file or an archive
row is not what it should be. Imported by the hidden tests as ``_grader_assignment`` (the core's
helpers are ``_grader_harness.api``).

Fixtures are written with ``bulk_create`` (the FileField still stores the file, but no
pre_save/post_save is sent), and read back from the database before a test uses them: a check
of deletions never depends on the student's save receivers, and the reverse.
"""

from __future__ import annotations

import contextlib
import json
import sys
from dataclasses import dataclass

import pytest

from _grader_harness import api
from _grader_harness.api import fail

DELETE_SIGNALS = ("pre_delete", "post_delete")
SAVE_SIGNALS = ("pre_save", "post_save")


# --------------------------------------------------------------------------- models


# The fields of the contract, by role: the hidden tests read and write them.
FIELDS = {"document": ("owner", "title", "file"), "archive": ("document_id", "title")}


def model(role: str):
    """The model of a role of the rubric's [models] ("document", "archive"), with the fields
    of the contract."""
    from django.core.exceptions import FieldDoesNotExist

    found = api.role_model(
        role,
        missing="keep the models of the starter in documents/models.py and 'documents' in INSTALLED_APPS.",
        diagnosis="models-changed",
    )
    missing = []
    for name in FIELDS.get(role, ()):
        try:
            found._meta.get_field(name)
        except FieldDoesNotExist:
            missing.append(name)
    if missing:
        fail(
            f"{found.__name__} has no field {', '.join(missing)}: keep the models of the starter as "
            "they are (the grader reads and writes those fields).",
            diagnosis="models-changed",
        )
    return found


def storage():
    """The storage Document.file writes to (Django's FileSystemStorage in MEDIA_ROOT)."""
    return model("document")._meta.get_field("file").storage


def stored(name: str) -> bool:
    return bool(name) and storage().exists(name)


def signal(name: str):
    from django.db.models import signals

    return getattr(signals, name)


# --------------------------------------------------------------------------- fixtures


@dataclass
class Doc:
    """A document as the database had it when the test made it."""

    pk: int
    title: str
    name: str  # the stored file's name ("" without a file)

    def fresh(self):
        """The document loaded from the database, as a later request would load it."""
        return model("document")._default_manager.get(pk=self.pk)

    def exists(self) -> bool:
        return model("document")._default_manager.filter(pk=self.pk).exists()


def owner(tag: str):
    """A new user (of whatever user model the project has) to own documents."""
    User = api.user_model()
    fields = api.fields_for(tag)
    with api.student_code("creating a user to own documents"):
        return User._default_manager.create_user(password=api.PASSWORD, **fields)


def document(owner, tag: str, with_file: bool = True) -> Doc:
    """A document with a stored file `<tag>.txt`, written without sending save signals."""
    from django.core.files.base import ContentFile

    Document = model("document")
    title = f"Report {tag}"
    doc = Document(
        owner=owner,
        title=title,
        file=ContentFile(f"the file of {tag}\n".encode(), name=f"{tag}.txt") if with_file else "",
    )
    with api.student_code("storing a document's file"):
        Document._default_manager.bulk_create([doc])
    pk = (
        doc.pk
        if doc.pk is not None
        else Document._default_manager.filter(title=title).values_list("pk", flat=True).get()
    )
    name = Document._default_manager.filter(pk=pk).values_list("file", flat=True).get() or ""
    if with_file and not stored(name):
        fail(
            f"the grader stored a file for a document ({name!r}) and cannot find it in storage: "
            "does your project change MEDIA_ROOT or the storage while it runs?",
            diagnosis="storage-changed",
        )
    return Doc(pk, title, name)


def new_file(tag: str):
    from django.core.files.base import ContentFile

    return ContentFile(f"the new file of {tag}\n".encode(), name=f"{tag}.txt")


# --------------------------------------------------------------------------- the student's receivers


def _student_defined(func) -> str:
    """file:line where the student's code defines `func`, or ""."""
    code = getattr(getattr(func, "__func__", func), "__code__", None)
    rel = code and api.relpath(code.co_filename)
    return f"{rel}:{code.co_firstlineno}" if rel else ""


def overridden(method: str) -> str:
    """file:line of Document.<method>() when the student's code defines it, else ""."""
    Document = model("document")
    return _student_defined(vars(Document)[method]) if method in vars(Document) else ""


def connections(names) -> list:
    """The student's connections to the signals `names`, for any sender."""
    wanted = [signal(n) for n in names]
    return [c for c in api.run_state().connects if c.student and any(c.signal is s for s in wanted)]


def relevant(names) -> list:
    """The student's connections to the signals `names` that are meant for documents: for
    Document, for every sender, or for another model of the documents app (DeletedDocument: a
    slip). Receivers for other apps' models (a profile receiver for the user model) are none of
    this exercise's business."""
    Document = model("document")
    app = Document._meta.app_label
    return [
        c
        for c in connections(names)
        if c.sender is None
        or c.sender is Document
        or getattr(getattr(c.sender, "_meta", None), "app_label", None) == app
    ]


def live(names) -> list:
    """The student's receivers of the signals `names` that Django calls for Document."""
    Document = model("document")
    found = []
    for name in names:
        sig = signal(name)
        keys = api.live_receiver_keys(sig, Document)
        found += [
            c
            for c in api.run_state().connects
            if c.student and c.signal is sig and c.receiver_key in keys and (c.sender is None or c.sender is Document)
        ]
    return found


def where_receivers(names) -> str:
    found = live(names) or connections(names)
    return found[0].receiver_where or found[0].call_site if found else ""


def _label(sender) -> str:
    return getattr(sender, "__name__", None) or str(sender)


def explain_nothing(names, what: str, diagnosis: str, advice: str, bulk: str = "") -> None:
    """Fail the test when `what` (a sentence: what did not happen) did not happen, naming why:
    Document.delete() overridden (for a bulk or cascade deletion, `bulk`), no receiver of the
    signals `names` connected for Document (the registration's own diagnosis), a receiver that
    listens to another model, or else `diagnosis` with `advice`."""
    where = overridden("delete") if names == DELETE_SIGNALS else ""
    if where and bulk and not live(names):
        fail(
            f"{what} Your Document.delete() ({where}) does that, but {bulk} never calls "
            "Document.delete(): Django deletes the rows itself and only sends pre_delete and "
            "post_delete. Move that code into a post_delete receiver connected in "
            "DocumentsConfig.ready(), and remove the delete() override.",
            diagnosis="delete-overridden",
            location=where,
        )
    if not live(names):
        used = [n for n in names if relevant([n])] or ["post_delete" if names == DELETE_SIGNALS else "pre_save"]
        problem = api.registration_problem(
            spec={"signal": used[0], "sender": "document", "ready": "document"}, advice=REGISTRATION_ADVICE
        )
        if problem:
            found, message, location = problem
            if message.split(" ", 1)[0].isalpha():  # "no post_delete receiver ...", not a path
                message = message[:1].upper() + message[1:]
            fail(f"{what} {message}", diagnosis=found, location=location)
    Document = model("document")
    others = [c for c in relevant(names) if c.sender is not None and c.sender is not Document]
    if others:
        c = others[0]
        fail(
            f"{what} Your receiver {c.receiver_name} ({c.receiver_where or c.call_site}) listens to "
            f"{_label(c.sender)}, not to Document: it runs when a {_label(c.sender)} is deleted or "
            'saved. Use sender=Document (or "documents.Document").',
            diagnosis="wrong-sender",
            location=c.call_site or c.receiver_where,
        )
    fail(f"{what} {advice}", diagnosis=diagnosis, location=where_receivers(names))


# --------------------------------------------------------------------------- running student code


@dataclass
class Removal:
    name: str  # the name the storage was asked to delete
    where: str  # the student's line that asked for it


@contextlib.contextmanager
def watching_storage():
    """Record every name the file storage is asked to delete while the block runs, with the
    student's line that asked (for feedback only: what is really gone is read from storage)."""
    store, seen = storage(), []
    original = store.delete

    def delete(name, *args, **kwargs):
        try:
            seen.append(Removal(str(name), api.student_line(sys._getframe(1))))
        except Exception:
            pass
        return original(name, *args, **kwargs)

    try:
        store.delete = delete
    except Exception:  # a storage that refuses attributes: nothing recorded
        yield seen
        return
    try:
        yield seen
    finally:
        with contextlib.suppress(Exception):
            del store.delete


def _resaved(mark: int, docs, how: str, raised: bool) -> None:
    """The deletion sent pre_save/post_save for Document, and a document is back (or the
    deletion failed): the student's code saved the deleted document again."""
    Document = model("document")
    saves = [
        s
        for s in api.run_state().sends[mark:]
        if s.sender is Document and any(s.signal is signal(n) for n in SAVE_SIGNALS)
    ]
    back = [d for d in docs if d.exists()]
    if not saves or not (back or raised):
        return
    where = next((s.call_site for s in saves if s.call_site), "")
    at = f" ({where})" if where else ""
    result = (
        f"document {back[0].pk} is back in the database: your code saved the deleted document again{at}"
        if back
        else f"the deletion failed: your code saved the deleted document again{at} while it was being "
        "deleted (deleting an owner then fails: the row that came back points at a deleted user)"
    )
    fail(
        f"after {how}, {result}. FieldFile.delete() saves the model unless you pass save=False, and "
        "in post_delete that puts the row back. Use instance.file.delete(save=False) (or "
        "storage.delete(name)).",
        diagnosis="document-resaved",
        location=where,
    )


def creating_works(docs) -> None:
    """The main path first: creating a document (Document.objects.create(), what every upload
    does) must not raise. The deletion checks delete documents the grader wrote without save
    signals; a project whose save receivers raise whenever a document is created could never
    have such documents, so those checks earn nothing until creating works. Rolled back, and
    without a file: nothing of it stays (the replace checks judge creating with files)."""
    from django.db import transaction

    Document = model("document")
    owner_id = (
        Document._default_manager.filter(pk=docs[0].pk).values_list("owner_id", flat=True).first() if docs else None
    )
    if owner_id is None:
        return
    with transaction.atomic():
        with api.student_code(
            "creating a document first (Document.objects.create(owner=..., "
            "title=...): documents are created before they are deleted)",
            when="new-first",
        ):
            Document._default_manager.create(owner_id=owner_id, title="a document created first")
        transaction.set_rollback(True)


def delete(how: str, action, docs, when: str = "delete") -> list[Removal]:
    """Run a deletion (`action`) through the student's receivers; the documents `docs` must be
    gone afterwards (a document is created first: creating_works). Returns what the storage was
    asked to delete."""
    creating_works(docs)
    mark = len(api.run_state().sends)
    with watching_storage() as seen:
        try:
            with api.student_code(how, when=when):
                action()
        except pytest.fail.Exception:
            _resaved(mark, docs, how, raised=True)
            raise
    _resaved(mark, docs, how, raised=False)
    back = [d for d in docs if d.exists()]
    if back:
        fail(
            f"after {how}, document {back[0].pk} is still in the database: your code must not stop or undo a deletion.",
            diagnosis="document-not-deleted",
            location=where_receivers(DELETE_SIGNALS),
        )
    for d in docs:
        api.note("deleted", d.pk)
    return seen


class _RollBack(Exception):
    """Raised inside transaction.atomic() to roll a deletion back."""


def rolled_back(how: str, action) -> list[Removal]:
    """Run `action` in transaction.atomic() and roll it back (an exception leaves the block)."""
    from django.db import transaction

    with watching_storage() as seen:
        with api.student_code(how, when="rollback"):
            try:
                with transaction.atomic():
                    action()
                    raise _RollBack
            except _RollBack:
                pass
    return seen


def save(how: str, action, when: str = "save") -> list[Removal]:
    """Run a save through the student's receivers; return what the storage was asked to delete."""
    with watching_storage() as seen:
        with api.student_code(how, when=when):
            action()
    return seen


def committed(action):
    """`action` inside a transaction.atomic() block that commits (on_commit runs at its end)."""
    from django.db import transaction

    def run():
        with transaction.atomic():
            action()

    return run


# --------------------------------------------------------------------------- expectations


def expect_archived(docs, how: str, bulk: str = "") -> None:
    """One DeletedDocument per deleted document, with its id and title, read from the database."""
    Archive = model("archive")
    for d in docs:
        rows = list(Archive._default_manager.filter(document_id=d.pk))
        if not rows:
            explain_nothing(
                DELETE_SIGNALS,
                f"after {how}, there is no DeletedDocument for document {d.pk}.",
                "no-archive",
                "Create one in a post_delete (or pre_delete) receiver for Document: "
                "DeletedDocument.objects.create(document_id=instance.pk, title=instance.title).",
                bulk=bulk,
            )
        if len(rows) > 1:
            fail(
                f"after {how}, there are {len(rows)} DeletedDocument rows for document {d.pk}; there must "
                "be exactly one.",
                diagnosis="archive-written-twice",
                location=where_receivers(DELETE_SIGNALS),
            )
        if rows[0].title != d.title:
            fail(
                f"after {how}, the DeletedDocument of document {d.pk} has the title {rows[0].title!r}, "
                f"not the document's title {d.title!r}.",
                diagnosis="no-archive",
                location=where_receivers(DELETE_SIGNALS),
            )
        api.track(rows[0], "archive")
        api.note("archived", json.dumps({"id": d.pk, "title": d.title}))


def expect_files_removed(docs, how: str, bulk: str = "") -> None:
    for d in docs:
        if not d.name:
            continue
        if stored(d.name):
            explain_nothing(
                DELETE_SIGNALS,
                f"after {how}, the file {d.name} of the deleted document is still in storage.",
                "file-not-removed",
                "Remove it in a post_delete receiver for Document, once the deletion is "
                "committed: transaction.on_commit(lambda: storage.delete(name)) with the "
                "instance's file storage and name (or instance.file.delete(save=False)).",
                bulk=bulk,
            )
        api.note("gone", d.name)


def expect_files_kept(docs, how: str, seen: list[Removal], diagnosis: str, why: str) -> None:
    """The stored files of `docs` are still in storage."""
    for d in docs:
        if d.name and not stored(d.name):
            removal = next((r for r in seen if r.name == d.name), None)
            where = removal.where if removal and removal.where else where_receivers(DELETE_SIGNALS + SAVE_SIGNALS)
            fail(
                f"after {how}, the file {d.name} of document {d.pk} is gone from storage"
                f"{f' (deleted at {where})' if where else ''}. {why}",
                diagnosis=diagnosis,
                location=where,
            )
        if d.name:
            api.note("kept", d.name)


def expect_current_file(d: Doc, how: str, seen: list[Removal]) -> str:
    """The document's file, as the database has it now, is in storage; return its name."""
    name = model("document")._default_manager.filter(pk=d.pk).values_list("file", flat=True).get() or ""
    if not stored(name):
        removal = next((r for r in seen if name and r.name == name), None)
        where = removal.where if removal and removal.where else where_receivers(SAVE_SIGNALS)
        what = (
            f"points at {name}, which is not in storage"
            if name
            else "has no file any more: its new file was never stored"
        )
        fail(
            f"after {how}, document {d.pk} {what}"
            f"{f' (deleted at {where})' if where else ''}. Your receiver deleted the document's current "
            "file (instance.file) instead of the old one: read the old name from the database "
            "(sender.objects.get(pk=instance.pk).file) and delete that one, only when it differs "
            "from instance.file.",
            diagnosis="current-file-deleted",
            location=where,
        )
    return name


# --------------------------------------------------------------------------- the exercise's words


def explain(exc: Exception, when: str) -> tuple[str, str] | None:
    """This exercise's mistakes behind an exception (EXPLAINERS below)."""
    from django.core.exceptions import ObjectDoesNotExist
    from django.db import IntegrityError

    text = str(exc).lower()
    archive_table = ""
    with contextlib.suppress(Exception):
        archive_table = model("archive")._meta.db_table.lower()
    if (
        isinstance(exc, IntegrityError)
        and "unique" in text
        and ((archive_table and archive_table in text) or "document_id" in text)
    ):
        return (
            "archive-written-twice",
            "A second DeletedDocument was created for the same document (document_id is unique): "
            "more than one receiver (pre_delete and post_delete, or one connected twice) writes "
            "the archive. Archive in one receiver only.",
        )
    if when == "new-first":
        found = explain(exc, "new")
        if found:
            return (
                found[0],
                found[1] + " Creating a document is the main path (every document is "
                "created before it is deleted), so deletions are not graded while it raises.",
            )
        if not api.in_receiver(exc):
            return None
        return (
            "new-document-crash",
            "Your save receivers raise whenever a document is created, the main path (every "
            "document is created before it is deleted), so deletions are not graded while it "
            "raises. Make pre_save/post_save work for a new document (instance.pk is None, "
            "`created` is True) first.",
        )
    if when == "new" and isinstance(exc, AttributeError) and "'NoneType' object has no attribute" in str(exc):
        return (
            "new-document-crash",
            "A new document has no row in the database yet when pre_save runs, so "
            ".filter(pk=instance.pk).first() gives None and reading its file raises. Return early "
            "for a new document (if instance.pk is None: return, or instance._state.adding), or "
            "check that the old row is not None before using it.",
        )
    if when == "new" and isinstance(exc, ObjectDoesNotExist):
        return (
            "new-document-crash",
            "A new document has no primary key yet when pre_save runs, so there is no old row "
            "to read. Return early for a new document (if instance.pk is None: return, or "
            "instance._state.adding), or use .filter(pk=instance.pk).first().",
        )
    if when == "other" and api.in_receiver(exc):
        loose = [c for c in connections(SAVE_SIGNALS + DELETE_SIGNALS) if c.sender is None]
        if loose:
            return (
                "receiver-without-sender",
                OTHER_MODELS.format(
                    receiver=loose[0].receiver_name.rsplit(".", 1)[-1],
                    where=loose[0].receiver_where or loose[0].call_site,
                    signal=_signal_name(loose[0].signal),
                ),
            )
    if when == "no-file":
        return (
            "document-without-file",
            "A document without a file has an empty FieldFile: its .path raises and the storage "
            "refuses an empty name. Check `if instance.file:` before removing it.",
        )
    return None


EXPLAINERS = (explain,)  # read by the harness's plugin (see _grader_harness.api)

# A receiver connected without sender= runs for every model's save and deletion (a user's login,
# an archive row): what it does there, raising or deleting a document's file, is wrong.
OTHER_MODELS = (
    "Your receiver {receiver} ({where}) is connected to {signal} without sender=, so "
    "Django calls it for every model that is saved or deleted, a user or a DeletedDocument "
    "too, with `sender` = that model and `instance` = its row, which your receiver takes "
    'for a document. Connect it with sender=Document (or "documents.Document") so that it '
    "runs for documents only."
)


def _signal_name(sig) -> str:
    from django.db.models import signals

    return next((n for n in DELETE_SIGNALS + SAVE_SIGNALS if getattr(signals, n) is sig), "its signal")


def other_senders() -> str:
    """OTHER_MODELS for the student's first receiver of a save or delete signal connected
    without sender= (\"\" when there is none)."""
    loose = [c for c in connections(SAVE_SIGNALS + DELETE_SIGNALS) if c.sender is None]
    if not loose:
        return ""
    c = loose[0]
    return OTHER_MODELS.format(
        receiver=c.receiver_name.rsplit(".", 1)[-1],
        where=c.receiver_where or c.call_site,
        signal=_signal_name(c.signal),
    )


# Words for what the registration check finds (api.registration_problem's advice).
REGISTRATION_ADVICE = {
    "wrong-sender": 'Use sender=Document (or the lazy "documents.Document").',
    "wrong-signal": "Archive and remove files in pre_delete/post_delete, replaced files in pre_save.",
    "connected-outside-ready": "Documents deleted before that are not archived and keep their files.",
}
