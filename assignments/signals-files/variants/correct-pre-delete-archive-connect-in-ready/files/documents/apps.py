from django.apps import AppConfig


class DocumentsConfig(AppConfig):
    default_auto_field = 'django.db.models.BigAutoField'
    name = 'documents'

    def ready(self):
        from django.db.models.signals import post_delete, pre_delete, pre_save

        from . import receivers

        pre_delete.connect(receivers.archive, sender="documents.Document",
                           dispatch_uid="documents.archive")
        post_delete.connect(receivers.remove_file, sender="documents.Document",
                            dispatch_uid="documents.remove_file")
        pre_save.connect(receivers.remove_replaced_file, sender=self.get_model("Document"),
                         dispatch_uid="documents.remove_replaced_file")
