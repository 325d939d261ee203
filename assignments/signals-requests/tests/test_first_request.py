"""counts-wsgi: the first request of a fresh site is counted. After `migrate` the stats table
is empty; RequestStats.load() (given) creates the row pk=1 on first use. A request served while
the table is empty must leave the row there with started = finished = 1."""

import _grader_assignment as assignment

from _grader_harness import api


def test_first_request_of_a_fresh_site():
    after = (
        "GET / through the WSGI handler, the first request of a fresh site (the RequestStats "
        "table empty, as after `migrate`)"
    )
    with assignment.empty_table():
        with assignment.serving(after):
            status, response = assignment.wsgi_call("/")
            b"".join(response)
            response.close()
        assignment.expect_first_request(f"after {after}")
        assignment.expect_status(status, 200, after)
    api.track(assignment.stats_model()._default_manager.get(pk=1), "stats")
