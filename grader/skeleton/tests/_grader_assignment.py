"""This assignment's own helpers for its hidden tests (the core's are _grader_harness.api)."""

from _grader_harness import api


def model(role: str):
    """The model of a role of the rubric's [models]."""
    return api.role_model(
        role,
        missing="keep the models of the starter in blog/models.py and 'blog' in INSTALLED_APPS.",
        diagnosis="models-changed",
    )


def expect_tag_count(article, want: int, after: str) -> None:
    # read with the grader's own connection: a count faked in memory (the project's from_db or
    # refresh_from_db) or put right only at the end of the run is not what the row holds now
    article.tag_count = api.stored_value(article, "tag_count")
    if article.tag_count != want:
        api.fail(
            f"after {after} the article has {want} tags, but its tag_count is "
            f"{article.tag_count}. An m2m_changed receiver for Article.tags.through must "
            "update tag_count on post_add, post_remove and post_clear.",
            diagnosis="tag-count-not-updated",
        )
