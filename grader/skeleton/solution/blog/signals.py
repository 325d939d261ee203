from django.db.models.signals import m2m_changed
from django.dispatch import receiver

from .models import Article


@receiver(m2m_changed, sender=Article.tags.through)
def count_tags(sender, instance, action, reverse, pk_set, **kwargs):
    if action not in ("post_add", "post_remove", "post_clear"):
        return
    articles = Article.objects.filter(pk__in=pk_set) if reverse else [instance]
    if reverse and action == "post_clear":
        articles = Article.objects.all()
    for article in articles:
        Article.objects.filter(pk=article.pk).update(tag_count=article.tags.count())
