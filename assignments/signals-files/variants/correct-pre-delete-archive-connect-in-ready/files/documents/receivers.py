from django.db import transaction


def archive(sender, instance, **kwargs):
    from .models import DeletedDocument

    DeletedDocument.objects.get_or_create(document_id=instance.pk, defaults={"title": instance.title})


def remove_file(sender, instance, **kwargs):
    if not instance.file:
        return
    file = instance.file
    transaction.on_commit(lambda: file.delete(save=False))


def remove_replaced_file(sender, instance, **kwargs):
    if instance._state.adding:
        return
    try:
        old = sender.objects.get(pk=instance.pk).file
    except sender.DoesNotExist:
        return
    if old and old != instance.file:
        old.delete(save=False)
