from django.db.models import Count
from django.db.models.signals import m2m_changed
from django.dispatch import receiver

from .models import Post, Tag


def _recount(model, related, field, pks):
    for pk, n in model.objects.filter(pk__in=pks).annotate(n=Count(related)).values_list("pk", "n"):
        model.objects.filter(pk=pk).update(**{field: n})


@receiver(m2m_changed, sender="blog.Post_tags")
def tags_changed(sender, instance, action, pk_set, **kwargs):
    if action == "pre_clear":
        related = instance.tags if isinstance(instance, Post) else instance.posts
        instance._before_clear = list(related.values_list("pk", flat=True))
        return
    if not action.startswith("post_"):
        return
    others = instance.__dict__.pop("_before_clear", []) if pk_set is None else pk_set
    if isinstance(instance, Post):
        _recount(Post, "tags", "tag_count", [instance.pk])
        _recount(Tag, "posts", "post_count", others)
    else:
        _recount(Tag, "posts", "post_count", [instance.pk])
        _recount(Post, "tags", "tag_count", others)
