from .models import Post, Tag


def tags_changed(sender, instance, action, reverse, model, pk_set, **kwargs):
    if action not in ("post_add", "post_remove", "post_clear"):
        return
    if action == "post_clear":
        # pk_set is None: the simplest right thing is to count everything again.
        posts, tags = Post.objects.all(), Tag.objects.all()
    elif reverse:
        posts, tags = Post.objects.filter(pk__in=pk_set), Tag.objects.filter(pk=instance.pk)
    else:
        posts, tags = Post.objects.filter(pk=instance.pk), Tag.objects.filter(pk__in=pk_set)
    for post in posts:
        post.tag_count = post.tags.count()
        post.save(update_fields=["tag_count"])
    for tag in tags:
        tag.post_count = tag.posts.count()
        tag.save(update_fields=["post_count"])
