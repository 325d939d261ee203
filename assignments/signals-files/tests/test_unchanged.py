"""unchanged-file-kept: saving an existing document without changing its file keeps the file."""

import _grader_assignment as files

from _grader_harness import api

WHY = (
    "Saving a document without changing its file must keep it: delete the old file only "
    "when its name differs from instance.file's name (compare the names, not the FieldFile "
    "objects: `old.name != instance.file.name`)."
)


def test_save_without_change():
    owner = files.owner("u1")
    doc = files.document(owner, "u1")
    loaded = doc.fresh()

    def title_changed():
        loaded.title = "Report u1 (renamed)"
        loaded.save()

    for how, action in (
        ("doc.save() without changing the file", lambda: loaded.save()),
        ("changing the title and saving (doc.save())", title_changed),
        ("saving a document loaded from the database again", lambda: doc.fresh().save()),
    ):
        seen = files.save(how, action)
        files.expect_files_kept([doc], how, seen, "unchanged-file-deleted", WHY)
        files.expect_current_file(doc, how, seen)
    api.track(doc.fresh(), "document")
