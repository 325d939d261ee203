"""project-loads: Django starts with the student's settings and their migrations match the models."""

import _grader_assignment as assignment

from _grader_harness import api


def test_project_loads():
    api.require_database()
    api.require_migrations()
    assignment.model("article")._default_manager.count()
