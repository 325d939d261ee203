from django.apps import AppConfig
from django.db.models.signals import m2m_changed


class BlogConfig(AppConfig):
    default_auto_field = 'django.db.models.BigAutoField'
    name = 'blog'

    def ready(self):
        from .models import Post, Tag

        def keep_counts(sender, instance, action, reverse, pk_set, **kwargs):
            if action in ("post_add", "post_remove", "post_clear"):
                for post in Post.objects.all():
                    Post.objects.filter(pk=post.pk).update(tag_count=post.tags.count())
                for tag in Tag.objects.all():
                    Tag.objects.filter(pk=tag.pk).update(post_count=tag.posts.count())

        m2m_changed.connect(keep_counts, sender=Post.tags.through)
