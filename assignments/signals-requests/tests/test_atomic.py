"""atomic-updates: the receivers add 1 in the database (F()), so that a request served at the same
time is never lost. Observed deterministically: right before a receiver writes its count, another
update adds 100 to it (as a concurrent request would); with F() the count keeps both."""

import _grader_assignment as assignment


def _one_request(field):
    base = assignment.baseline()
    after = "while GET / was served through the WSGI handler"
    with assignment.serving("GET / through the WSGI handler"):
        with assignment.concurrent_update(field) as seen:
            status, response = assignment.wsgi_call("/")
            b"".join(response)
            response.close()
    assignment.expect_atomic(field, base, seen, after)
    assignment.expect_status(status, 200, "GET / through the WSGI handler")


def test_started_added_by_the_database():
    _one_request("started")


def test_finished_added_by_the_database():
    _one_request("finished")
