from django.conf import settings
from django.db import models


class Document(models.Model):
    """A file a user uploaded. Do not change this model for the exercise."""

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="documents",
    )
    title = models.CharField(max_length=200)
    file = models.FileField(upload_to="documents/")

    def __str__(self):
        return self.title


class DeletedDocument(models.Model):
    """The archive: one row for every document that was deleted (its id and title).
    Do not change this model for the exercise."""

    document_id = models.BigIntegerField(unique=True)
    title = models.CharField(max_length=200)
    deleted_at = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return f"{self.title} (deleted document {self.document_id})"
