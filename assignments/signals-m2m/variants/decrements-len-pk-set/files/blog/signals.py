from django.db.models import F
from django.db.models.signals import m2m_changed
from django.dispatch import receiver

from .models import Post, Tag


@receiver(m2m_changed, sender=Post.tags.through)
def keep_counts(sender, instance, action, reverse, pk_set, **kwargs):
    own, own_field = (Tag, "post_count") if reverse else (Post, "tag_count")
    other, other_field = (Post, "tag_count") if reverse else (Tag, "post_count")
    if action == "pre_clear":
        related = instance.posts if reverse else instance.tags
        instance._cleared = set(related.values_list("pk", flat=True))
        return
    if action == "post_clear":
        pk_set, step = instance.__dict__.pop("_cleared", set()), -1
    elif action == "post_add":
        step = 1
    elif action == "post_remove":
        step = -1
    else:
        return
    own.objects.filter(pk=instance.pk).update(**{own_field: F(own_field) + step * len(pk_set)})
    other.objects.filter(pk__in=pk_set).update(**{other_field: F(other_field) + step})
