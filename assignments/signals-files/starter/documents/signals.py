"""Signal receivers of the documents app.

TODO (exercise): write receivers for the Document model that

1. archive every deleted document: one DeletedDocument with its id and title,
   exactly one per deleted document, however it is deleted
   (doc.delete(), Document.objects.filter(...).delete(), or deleting its owner);
2. remove the stored file of a deleted document from storage, only once the
   deletion is committed: a deletion that is rolled back keeps the file
   (look at transaction.on_commit). A document without a file can be deleted too;
3. remove the old file when an existing document is saved with another file
   (or with its file cleared). Saving a document without changing its file
   keeps the file, and saving a new document deletes nothing.

Rules:
- Connect the receivers while DocumentsConfig.ready() runs (see documents/apps.py),
  not as a side effect of importing models.py.
- Listen to the Document model only (sender=Document or "documents.Document").
- Do not override Document.delete() or Document.save() for this: bulk deletes
  (queryset.delete()) and cascades never call Document.delete().
- Receivers accept **kwargs: Django passes more arguments than you use.
"""
