"""signals-files: what the grading database cannot say, read by the grader after the child has
exited. The hidden tests note the stored files' names (`gone`: must no longer be in MEDIA_ROOT,
`kept`: must still be there) and the documents they deleted; these functions look at MEDIA_ROOT
and the database themselves, so a project that fakes the storage (an `exists` that says False,
a `delete` that only pretends) or the archive in memory is caught here. Each returns why a pass
is not backed, or None."""

from __future__ import annotations

import json


def files_gone(run):
    """Every file the test saw removed is really gone from MEDIA_ROOT."""
    for name in run.notes.get("gone", []):
        if run.media.exists(name):
            return f"the stored file {name} is still in MEDIA_ROOT, though the test saw it removed"
    return None


def files_kept(run):
    """Every file the test saw kept is really in MEDIA_ROOT."""
    for name in run.notes.get("kept", []):
        if not run.media.exists(name):
            return f"the stored file {name} is not in MEDIA_ROOT, though the test saw it kept"
    return None


def current_files_stored(run):
    """Every document the test tracked points at a file that is in MEDIA_ROOT (or at none)."""
    for (name,) in run.query("SELECT {document.file} FROM {document} WHERE {document.pk} IN {tracked.document}"):
        if name and not run.media.exists(str(name)):
            return f"a tracked document points at {name}, which is not in MEDIA_ROOT"
    return None


def documents_gone(run):
    """The documents the test deleted are not in the database."""
    for pk in run.notes.get("deleted", []):
        if run.query("SELECT 1 FROM {document} WHERE {document.pk} = ?", (int(pk),)):
            return f"document {pk}, which the test saw deleted, is in the database"
    return None


def archived(run):
    """Exactly one archive row, with the document's title, per document the test saw archived."""
    for value in run.notes.get("archived", []):
        doc = json.loads(value)
        rows = run.query("SELECT {archive.title} FROM {archive} WHERE {archive.document_id} = ?", (int(doc["id"]),))
        if len(rows) != 1 or rows[0][0] != doc["title"]:
            return f"document {doc['id']} has {len(rows)} archive rows ({rows[:2]!r}), not one titled {doc['title']!r}"
    return None


def not_archived(run):
    """The documents whose deletion was rolled back have no archive row."""
    for pk in run.notes.get("not_archived", []):
        if run.query("SELECT 1 FROM {archive} WHERE {archive.document_id} = ?", (int(pk),)):
            return f"document {pk}, whose deletion was rolled back, has an archive row"
    return None
