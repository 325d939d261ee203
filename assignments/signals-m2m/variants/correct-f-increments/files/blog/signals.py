from django.db.models import F
from django.db.models.signals import m2m_changed
from django.dispatch import receiver

from .models import Post, Tag

Tagging = Post.tags.through


def _sides(instance, reverse):
    if reverse:  # tag.posts.add(...): instance is a Tag, pk_set holds posts
        return (Tag, "post_count", "tag_id"), (Post, "tag_count", "post_id")
    return (Post, "tag_count", "post_id"), (Tag, "post_count", "tag_id")


def _shift(instance, reverse, pks, step):
    (own, own_field, _), (other, other_field, _) = _sides(instance, reverse)
    if pks:
        own.objects.filter(pk=instance.pk).update(**{own_field: F(own_field) + step * len(pks)})
        other.objects.filter(pk__in=pks).update(**{other_field: F(other_field) + step})


@receiver(m2m_changed, sender=Tagging, dispatch_uid="blog.count_added")
def count_added(sender, instance, action, reverse, pk_set, **kwargs):
    if action == "post_add":  # pk_set holds only the rows really added
        _shift(instance, reverse, pk_set, +1)


@receiver(m2m_changed, sender=Tagging, dispatch_uid="blog.count_removed")
def count_removed(sender, instance, action, reverse, pk_set, **kwargs):
    (_, _, own_column), (_, _, other_column) = _sides(instance, reverse)
    linked = Tagging.objects.filter(**{own_column: instance.pk})
    if action == "pre_remove":  # pk_set may hold pks that are not linked at all
        instance._unlinking = set(linked.filter(**{f"{other_column}__in": pk_set})
                                  .values_list(other_column, flat=True))
    elif action == "pre_clear":
        instance._unlinking = set(linked.values_list(other_column, flat=True))
    elif action in ("post_remove", "post_clear"):
        _shift(instance, reverse, instance.__dict__.pop("_unlinking", set()), -1)
