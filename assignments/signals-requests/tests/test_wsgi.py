"""counts-wsgi: requests served through the real WSGI handler (a page, a 404, a view that
raises) and through Django's test Client are each counted once: `started` when the request
arrives, `finished` only when the response is closed."""

import _grader_assignment as assignment

PATHS = [("/", 200), (assignment.NOT_FOUND, 404), ("/boom/", 500)]


def test_wsgi_handler():
    base = assignment.baseline()
    for path, want in PATHS:
        after = f"GET {path} through the WSGI handler"
        with assignment.serving(after):
            status, response = assignment.wsgi_call(path)
            assignment.expect(
                base, 1, 0, f"after {after}, before the server closed the response", "wsgi", open_response=True
            )
            b"".join(response)
            response.close()
        assignment.expect(base, 1, 1, f"after {after} once the response was closed", "wsgi")
        assignment.expect_status(status, want, after)
        base = (base[0] + 1, base[1] + 1)


def test_test_client():
    base = assignment.baseline()
    client = assignment.client()
    for path, want in PATHS:
        after = f"GET {path} through Django's test Client"
        with assignment.serving(after):
            response = client.get(path)
        assignment.expect(base, 1, 1, f"after {after}", "client")
        assignment.expect_status(response.status_code, want, after)
        base = (base[0] + 1, base[1] + 1)
