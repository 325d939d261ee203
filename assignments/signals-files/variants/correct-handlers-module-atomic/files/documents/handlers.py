import logging

from django.conf import settings
from django.db import transaction
from django.db.models.signals import post_delete, post_save, pre_delete, pre_save
from django.dispatch import receiver

from documents.models import DeletedDocument, Document


@receiver(post_delete, sender="documents.Document", dispatch_uid="documents.clean_up")
def clean_up_deleted_document(sender, instance, **kwargs):
    with transaction.atomic():
        DeletedDocument.objects.create(document_id=instance.pk, title=instance.title)
        if instance.file:
            transaction.on_commit(
                lambda name=instance.file.name, storage=instance.file.storage: storage.delete(name))


@receiver(pre_save, sender="documents.Document", dispatch_uid="documents.replaced")
def delete_replaced_file(sender, instance, **kwargs):
    if not instance.pk:
        return
    old = Document.objects.filter(pk=instance.pk).first()
    if old is not None and old.file and old.file.name != instance.file.name:
        old.file.delete(save=False)


# Receivers for another model are no business of the exercise: they must not count against it.
@receiver(post_save, sender=settings.AUTH_USER_MODEL, dispatch_uid="documents.welcome")
def log_new_user(sender, instance, created, **kwargs):
    if created:
        logging.getLogger(__name__).info("new user %s", instance.pk)


@receiver(pre_delete, sender=settings.AUTH_USER_MODEL, dispatch_uid="documents.goodbye")
def log_deleted_user(sender, instance, **kwargs):
    logging.getLogger(__name__).info("deleting user %s", instance.pk)
