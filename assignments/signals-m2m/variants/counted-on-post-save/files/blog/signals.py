from django.db.models.signals import post_save
from django.dispatch import receiver

from .models import Post


@receiver(post_save, sender=Post)
def count_tags(sender, instance, **kwargs):
    Post.objects.filter(pk=instance.pk).update(tag_count=instance.tags.count())
    for tag in instance.tags.all():
        tag.post_count = tag.posts.count()
        tag.save()
