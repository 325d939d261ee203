"""project-loads: Django starts with the student's settings, the documents app's migrations
create the models as models.py describes them, and the models are the starter's."""

import _grader_assignment as files

from _grader_harness import api


def test_project_loads():
    api.require_database()
    api.require_migrations()
    Document, Archive = files.model("document"), files.model("archive")
    User = api.user_model()
    problems = []
    owner = Document._meta.get_field("owner") if _has(Document, "owner") else None
    if owner is None or not owner.many_to_one or owner.related_model is not User:
        problems.append("Document.owner must stay a ForeignKey to settings.AUTH_USER_MODEL")
    if not _has(Document, "file") or Document._meta.get_field("file").get_internal_type() != "FileField":
        problems.append("Document.file must stay a FileField")
    for model, name in ((Document, "title"), (Archive, "document_id"), (Archive, "title")):
        if not _has(model, name):
            problems.append(f"{model.__name__}.{name} is missing")
    if problems:
        api.fail("; ".join(problems) + ": keep the models of the starter as they are.", diagnosis="models-changed")
    # The tables really exist and are usable.
    Document._default_manager.count()
    Archive._default_manager.count()


def _has(model, name: str) -> bool:
    try:
        model._meta.get_field(name)
    except Exception:
        return False
    return True
