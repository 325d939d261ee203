# TODO: an m2m_changed receiver for Article.tags.through that keeps Article.tag_count equal
# to the number of the article's tags when tags are added, removed or cleared.
