from django.apps import AppConfig
from django.db import transaction
from django.db.models.signals import post_delete, pre_save


class DocumentsConfig(AppConfig):
    default_auto_field = 'django.db.models.BigAutoField'
    name = 'documents'

    def ready(self):
        Document = self.get_model("Document")
        DeletedDocument = self.get_model("DeletedDocument")

        def on_delete(sender, instance, using, **kwargs):
            DeletedDocument.objects.using(using).create(document_id=instance.pk, title=instance.title)
            name = instance.file.name
            if name:
                storage = instance.file.storage
                transaction.on_commit(lambda: storage.delete(name), using=using)

        def on_save(sender, instance, raw=False, **kwargs):
            if raw or instance.pk is None:
                return
            old = sender.objects.filter(pk=instance.pk).values_list("file", flat=True).first() or ""
            if old and old != (instance.file.name or ""):
                storage = instance.file.storage
                transaction.on_commit(lambda: storage.delete(old))

        post_delete.connect(on_delete, sender=Document, weak=False)
        pre_save.connect(on_save, sender=Document, weak=False)
