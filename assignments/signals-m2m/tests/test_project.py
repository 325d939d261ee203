"""project-loads: Django starts with the student's settings, the blog app's migrations describe
the models as models.py does, and the models are the exercise's (a count on each side, Post.tags
a plain many-to-many field to Tag)."""

import _grader_assignment as blog

from _grader_harness import api


def test_project_loads():
    api.require_database()
    api.require_migrations()
    for model in blog.models():
        model._default_manager.count()  # the table really exists and is usable
