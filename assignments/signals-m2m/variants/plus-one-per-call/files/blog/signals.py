from django.db.models import F
from django.db.models.signals import m2m_changed
from django.dispatch import receiver

from .models import Post, Tag


@receiver(m2m_changed, sender=Post.tags.through)
def keep_counts(sender, instance, action, reverse, pk_set, **kwargs):
    own, own_field = (Tag, "post_count") if reverse else (Post, "tag_count")
    other, other_field = (Post, "tag_count") if reverse else (Tag, "post_count")
    if action in ("post_add", "post_remove"):
        step = 1 if action == "post_add" else -1
        own.objects.filter(pk=instance.pk).update(**{own_field: F(own_field) + step})
        other.objects.filter(pk__in=pk_set).update(**{other_field: F(other_field) + step})
    elif action == "post_clear":
        for post in Post.objects.all():
            Post.objects.filter(pk=post.pk).update(tag_count=post.tags.count())
        for tag in Tag.objects.all():
            Tag.objects.filter(pk=tag.pk).update(post_count=tag.posts.count())
