"""receiver-registered-in-ready: a live post_save receiver for the user model was
connected while the users app's AppConfig.ready() ran (not while models.py was
imported, not only for another model, and still alive when users are saved)."""

import _grader_assignment as profiles

from _grader_harness import api


def test_receiver_registered_in_ready():
    profiles.profile_model()
    problem = api.registration_problem(advice=profiles.REGISTRATION_ADVICE)
    if problem:
        diagnosis, message, location = problem
        api.fail(message, diagnosis=diagnosis, location=location)
