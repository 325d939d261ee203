"""streaming-counted-when-closed: a streaming response is counted as finished once it has been
read to its end and closed, not before (request_finished is sent by close())."""

import _grader_assignment as assignment

from _grader_harness import api

# The row of this check names only `finished`: `started` is judged by counts-wsgi and counts-asgi,
# so a project that counts `finished` right and `started` wrong still earns this point.
FINISHED = ("finished",)


def test_stream_through_wsgi_handler():
    base = assignment.baseline()
    after = "GET /stream/ through the WSGI handler"
    with assignment.serving(after):
        status, response = assignment.wsgi_call("/stream/")
        assignment.expect(
            base, 1, 0, f"after {after}, before any part was sent", "wsgi", open_response=True, judged=FINISHED
        )
        parts = iter(response)
        first = next(parts, b"")
        assignment.expect(
            base, 1, 0, f"after {after}, with the first part sent", "wsgi", open_response=True, judged=FINISHED
        )
        rest = b"".join(parts)
        assignment.expect(
            base,
            1,
            0,
            f"after {after}, with every part sent but the response not closed yet",
            "wsgi",
            open_response=True,
            judged=FINISHED,
        )
        response.close()
    assignment.expect(base, 1, 1, f"after {after} once the response was closed", "wsgi", judged=FINISHED)
    assignment.expect_status(status, 200, after)
    if not getattr(response, "streaming", False) or not (first and rest):
        api.fail(
            f"{after} did not answer with a StreamingHttpResponse sent in several parts: keep "
            "the starter's stream view (stats/views.py).",
            diagnosis="starter-views-changed",
        )


def test_stream_through_test_client():
    base = assignment.baseline()
    after = "GET /stream/ through Django's test Client"
    with assignment.serving(after):
        response = assignment.client().get("/stream/")
        if not response.streaming:
            api.fail(
                f"{after} did not answer with a StreamingHttpResponse: keep the starter's "
                "stream view (stats/views.py).",
                diagnosis="starter-views-changed",
            )
        parts = iter(response.streaming_content)
        assignment.expect(
            base, 1, 0, f"after {after}, before the content was read", "client", open_response=True, judged=FINISHED
        )
        next(parts, b"")
        assignment.expect(
            base, 1, 0, f"after {after}, with the first part read", "client", open_response=True, judged=FINISHED
        )
        b"".join(parts)  # the test client closes the response when its content ends
    assignment.expect(base, 1, 1, f"after {after} once its content was read to the end", "client", judged=FINISHED)
    assignment.expect_status(response.status_code, 200, after)
