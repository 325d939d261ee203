from django.db.models.signals import m2m_changed
from django.dispatch import receiver

from .models import Post, Tag


@receiver(m2m_changed, sender=Post.tags.through)
def update_counts(sender, instance, action, **kwargs):
    if action in ("post_add", "post_remove", "post_clear"):
        instance.tag_count = instance.tags.count()
        instance.save(update_fields=["tag_count"])
        for tag in Tag.objects.all():
            tag.post_count = tag.posts.count()
            tag.save(update_fields=["post_count"])
