from functools import partial

from django.db import transaction
from django.db.models.signals import post_delete, post_init, post_save
from django.dispatch import receiver

from .models import DeletedDocument, Document


@receiver(post_init, sender=Document)
def remember_stored_file(sender, instance, **kwargs):
    instance._stored_file_name = instance.file.name


@receiver(post_save, sender=Document)
def remove_replaced_file(sender, instance, created, **kwargs):
    old = getattr(instance, "_stored_file_name", None)
    instance._stored_file_name = instance.file.name
    if not created and old and old != instance.file.name:
        instance.file.storage.delete(old)


@receiver(post_delete, sender=Document)
def clean_up_deleted_document(sender, instance, **kwargs):
    DeletedDocument.objects.create(document_id=instance.pk, title=instance.title)
    if instance.file:
        transaction.on_commit(partial(instance.file.storage.delete, instance.file.name))
