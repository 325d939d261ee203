from django.contrib import admin

from .models import DeletedDocument, Document

admin.site.register(Document)
admin.site.register(DeletedDocument)
