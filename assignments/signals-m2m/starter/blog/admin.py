from django.contrib import admin

from .models import Post, Tag


@admin.register(Post)
class PostAdmin(admin.ModelAdmin):
    list_display = ["title", "tag_count"]
    readonly_fields = ["tag_count"]  # kept up to date by the receiver
    filter_horizontal = ["tags"]


@admin.register(Tag)
class TagAdmin(admin.ModelAdmin):
    list_display = ["name", "post_count"]
    readonly_fields = ["post_count"]  # kept up to date by the receiver
