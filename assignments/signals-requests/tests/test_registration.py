"""receivers-connected-in-ready: live receivers of request_started and request_finished, for
every sender, were connected while StatsConfig.ready() ran (rubric [connections])."""

import _grader_assignment as assignment

from _grader_harness import api


def _check():
    assignment.stats_model()
    problem = assignment.registration_problem()
    if problem:
        diagnosis, message, location = problem
        api.fail(message, diagnosis=diagnosis, location=location)


def test_request_started_receiver_connected_in_ready():
    _check()


def test_request_finished_receiver_connected_in_ready():
    _check()
