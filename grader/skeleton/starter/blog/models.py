from django.db import models


class Tag(models.Model):
    name = models.CharField(max_length=50, unique=True)

    def __str__(self):
        return self.name


class Article(models.Model):
    title = models.CharField(max_length=200)
    tags = models.ManyToManyField(Tag, blank=True, related_name='articles')
    # How many tags the article has: kept up to date by an m2m_changed receiver.
    tag_count = models.PositiveIntegerField(default=0)

    def __str__(self):
        return self.title
