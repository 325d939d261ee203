"""receiver-registered-in-ready: a live m2m_changed receiver for Post.tags.through (the model of
the many-to-many table) was connected while BlogConfig.ready() ran (not while models.py was
imported, not for Post or Tag, and still alive when tags are added)."""

import _grader_assignment as blog

from _grader_harness import api


def test_receiver_registered_in_ready():
    try:
        api.role_model("tagging")
    except LookupError:
        blog.models()  # says what is missing
    problem = api.registration_problem(advice=blog.REGISTRATION_ADVICE)
    if problem:
        diagnosis, message, location = problem
        api.fail(message, diagnosis=diagnosis, location=location)
