"""project-loads: Django starts with the student's settings and their migrations match the models."""
from _grader_harness import support

import _grader_assignment as assignment


def test_project_loads():
    support.require_database()
    support.require_migrations()
    assignment.model("article")._default_manager.count()
