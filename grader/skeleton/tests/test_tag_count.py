"""tag-count: adding, removing and clearing tags keeps Article.tag_count right."""

import _grader_assignment as assignment

from _grader_harness import api


def test_tag_count():
    api.require_database()
    Article, Tag = assignment.model("article"), assignment.model("tag")
    with api.student_code("Article.objects.create(...)"):
        article = Article._default_manager.create(title="Signals")
    api.track(article, "article")
    red, green, blue = (Tag._default_manager.create(name=n) for n in ("red", "green", "blue"))
    with api.student_code("article.tags.add(red, green, blue)"):
        article.tags.add(red, green, blue)
    assignment.expect_tag_count(article, 3, "article.tags.add(red, green, blue)")
    with api.student_code("article.tags.remove(blue)"):
        article.tags.remove(blue)
    assignment.expect_tag_count(article, 2, "article.tags.remove(blue)")
    with api.student_code("red.articles.remove(article)"):
        red.articles.remove(article)
    assignment.expect_tag_count(article, 1, "red.articles.remove(article) (from the tag's side)")
