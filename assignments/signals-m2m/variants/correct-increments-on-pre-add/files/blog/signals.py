from django.db.models import F
from django.db.models.signals import m2m_changed
from django.dispatch import receiver

from .models import Post, Tag


@receiver(m2m_changed, sender=Post.tags.through)
def keep_counts(sender, instance, action, reverse, pk_set, **kwargs):
    if action == "pre_add":
        if reverse:
            Tag.objects.filter(pk=instance.pk).update(post_count=F("post_count") + len(pk_set))
            Post.objects.filter(pk__in=pk_set).update(tag_count=F("tag_count") + 1)
        else:
            Post.objects.filter(pk=instance.pk).update(tag_count=F("tag_count") + len(pk_set))
            Tag.objects.filter(pk__in=pk_set).update(post_count=F("post_count") + 1)
    elif action in ("post_remove", "post_clear"):
        for post in Post.objects.all():
            Post.objects.filter(pk=post.pk).update(tag_count=post.tags.count())
        for tag in Tag.objects.all():
            Tag.objects.filter(pk=tag.pk).update(post_count=tag.posts.count())
