"""counts-asgi: requests served through the real ASGI handler (driven with a scope, receive and
send, as an ASGI server does) and through Django's AsyncClient are each counted once, with
`finished` counted only after the response was sent."""

import _grader_assignment as assignment

PATHS = [("/", 200), (assignment.NOT_FOUND, 404), ("/boom/", 500)]


def test_asgi_handler():
    base = assignment.baseline()
    for path, want in PATHS:
        after = f"GET {path} through the ASGI handler"
        with assignment.serving(after):
            status, body, at_start = assignment.asgi_call(path)
        assignment.expect(
            base,
            1,
            0,
            f"when the response to {after} started, before it was closed",
            "asgi",
            open_response=True,
            reading=at_start,
        )
        assignment.expect(base, 1, 1, f"after {after}", "asgi")
        assignment.expect_status(status, want, after)
        base = (base[0] + 1, base[1] + 1)


def test_async_client():
    base = assignment.baseline()
    for path, want in PATHS:
        after = f"GET {path} through Django's AsyncClient"
        with assignment.serving(after):
            response = assignment.async_client_get(path)
        assignment.expect(base, 1, 1, f"after {after}", "async-client")
        assignment.expect_status(response.status_code, want, after)
        base = (base[0] + 1, base[1] + 1)
