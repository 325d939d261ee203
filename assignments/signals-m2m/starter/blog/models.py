from django.db import models


class Tag(models.Model):
    """A tag. post_count: how many posts have this tag (kept up to date by your receiver)."""

    name = models.CharField(max_length=50, unique=True)
    post_count = models.PositiveIntegerField(default=0)

    def __str__(self):
        return self.name


class Post(models.Model):
    """A blog post. tag_count: how many tags this post has (kept up to date by your receiver)."""

    title = models.CharField(max_length=200)
    tags = models.ManyToManyField(Tag, related_name="posts", blank=True)
    tag_count = models.PositiveIntegerField(default=0)

    def __str__(self):
        return self.title
