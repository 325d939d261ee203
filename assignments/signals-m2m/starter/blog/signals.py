"""Signal receivers of the blog app.

TODO (exercise): write a receiver for the ``m2m_changed`` signal that keeps
``Post.tag_count`` and ``Tag.post_count`` equal to the real number of related rows.

Rules:
- The sender is the many-to-many table Django made for ``Post.tags``:
  ``Post.tags.through`` (or the string ``"blog.Post_tags"``), not ``Post``.
- The receiver must be connected while ``BlogConfig.ready()`` runs (see
  blog/apps.py), not as a side effect of importing models.py.
- Handle every change, made from either side: ``post.tags.add(tag)``,
  ``tag.posts.add(post)``, ``remove``, ``clear`` and ``set`` (which Django
  turns into ``remove``/``add``, or ``clear``/``add`` with ``clear=True``).
- Look at the arguments Django passes: ``action`` ("pre_add", "post_add",
  "pre_remove", "post_remove", "pre_clear", "post_clear"), ``instance``,
  ``reverse`` (True when the change was made from the tag's side: then
  ``instance`` is a Tag and ``pk_set`` holds primary keys of posts) and
  ``pk_set`` (``None`` for a clear).
- Adding a tag a post already has, or removing one it does not have,
  must not change any count.
"""
