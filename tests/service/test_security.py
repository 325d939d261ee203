"""The grading service's defences, over real HTTP against a running `grader serve`: a student
reaches only their own submissions (404 otherwise, never a 403 that confirms it exists) and no
instructor page; the forms need their CSRF token; the database keeps only tokens' digests and a
revoked token opens nothing; the upload limits, the rate and course.toml's max_submissions
hold; no answer a student gets carries the hidden check's text; GitHub Actions identities are
accepted only when GitHub's key signed them for this service and a known repository."""

from __future__ import annotations

import base64
import hashlib
import http.server
import json
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from servers import free_port

from .conftest import ASSIGNMENT

GITHUB_ISSUER = "https://token.actions.githubusercontent.com"


def _count(service) -> int:
    out = service.shell("from grader.service.models import Submission; print('N=%d' % Submission.objects.count())")
    return int(next(line for line in out.splitlines() if line.startswith("N="))[2:])


def _pages(sub_id: int) -> list[str]:
    return [f"/submissions/{sub_id}/", f"/submissions/{sub_id}/status.json", f"/submissions/{sub_id}/feedback/"]


# ----------------------------------------------------------------------------- who sees what


def test_a_student_gets_404_for_another_students_submission(service, archives):
    sub = service.grade("ada", archives.solution)
    ada, bob = service.login("ada"), service.login("bob")
    missing = 10**6
    for path, other in zip(_pages(sub["id"]), _pages(missing), strict=True):
        assert ada.get(path).status == 200, path  # the owner sees it ...
        theirs, nobodys = bob.get(path), bob.get(other)
        assert theirs.status == 404, (path, theirs.status)  # ... no one else: 404, as for no submission at all
        assert theirs.body == nobodys.body
        assert b"ada" not in theirs.body
    assert service.api(f"/api/submissions/{sub['id']}", service.tokens["ada"])[0] == 200
    code, body = service.api(f"/api/submissions/{sub['id']}", service.tokens["bob"])
    assert code == 404 and body == service.api(f"/api/submissions/{missing}", service.tokens["bob"])[1]
    assert f'href="/submissions/{sub["id"]}/"' not in bob.get("/").text  # nor is it in bob's history


def test_anonymous_requests_are_sent_to_sign_in(service, archives):
    sub = service.grade("ada", archives.starter)
    anonymous = service.web()
    for path in ["/", *_pages(sub["id"])]:
        page = anonymous.get(path)
        assert page.status == 302 and page.location.startswith("/login/?next="), (path, page.status, page.location)
    for path in ["/dashboard/", "/dashboard/data.json", f"/exports/{ASSIGNMENT}/grades.csv", "/admin/"]:
        page = anonymous.get(path)
        assert page.status == 302 and "/login/" in page.location, (path, page.status, page.location)
    # the API wants a token: 401, with no page to be sent to
    assert service.api(f"/api/submissions/{sub['id']}", "")[0] == 401
    assert service.api(f"/api/submissions/{sub['id']}", "gst_" + "x" * 43)[0] == 401


def test_a_student_cannot_open_the_instructors_pages(service, archives):
    service.grade("bob", archives.solution)
    ada = service.login("ada")
    for path in [
        "/dashboard/",
        "/dashboard/data.json",
        f"/exports/{ASSIGNMENT}/grades.csv",
        f"/exports/{ASSIGNMENT}/grades-canvas.csv",
        "/admin/",
        "/admin/grading/submission/",
        "/admin/grading/token/",
    ]:
        page = ada.get(path)
        assert page.status in (302, 403, 404), (path, page.status)
        if page.status == 302:
            assert page.location.startswith("/admin/login/"), (path, page.location)
        assert b"bob" not in page.body and b"gst_" not in page.body, path
    # the admin's sign-in page, where a student is sent, tells them they are not allowed
    assert "not authorized" in ada.get("/admin/login/?next=/admin/").text
    # the instructor opens the same pages
    teacher = service.login()
    assert teacher.get("/dashboard/").status == 200
    assert "bob" in teacher.get(f"/exports/{ASSIGNMENT}/grades.csv").text


# ----------------------------------------------------------------------------- CSRF


def test_the_upload_form_needs_its_csrf_token(service, archives):
    ada = service.login("ada")
    assert ada.cookie("sessionid") and ada.cookie("csrftoken")  # a real session, signed in
    before = _count(service)
    fields = {"assignment": ASSIGNMENT}
    refused = ada.post("/submit/", fields, file=("project.zip", archives.starter))
    assert refused.status == 403, refused.status
    assert "CSRF" in refused.text
    forged = ada.post("/submit/", {**fields, "csrfmiddlewaretoken": "x" * 64}, file=("project.zip", archives.starter))
    assert forged.status == 403
    # what was refused was not stored; the same upload with the page's token is accepted
    assert _count(service) == before
    accepted = ada.submit(archives.starter)
    assert accepted.status == 302 and accepted.location.startswith("/submissions/"), accepted.status


def test_the_sign_in_form_needs_its_csrf_token(service):
    web = service.web()
    assert web.get("/login/").status == 200 and web.cookie("csrftoken")
    credentials = {"username": "ada", "password": service.tokens["ada"]}
    assert web.post("/login/", credentials).status == 403  # the cookie, not the form's token
    assert web.post("/login/", {**credentials, "csrfmiddlewaretoken": "y" * 64}).status == 403
    assert service.web().post("/login/", credentials).status == 403  # neither
    assert web.cookie("sessionid") is None  # not signed in
    assert web.get("/").status == 302
    assert web.login("ada", service.tokens["ada"]).status == 302  # with the token it works


# ----------------------------------------------------------------------------- tokens


def test_the_database_keeps_only_the_tokens_digests(service):
    rows = json.loads(
        service.shell(
            "import json; from grader.service.models import Token; "
            "print(json.dumps([{f.attname: str(getattr(t, f.attname)) for f in t._meta.fields} "
            "for t in Token.objects.all()]))"
        )
        .strip()
        .splitlines()[-1]
    )
    assert len(rows) >= 2
    stored = json.dumps(rows)
    digests = {r["digest"] for r in rows}
    for token in service.tokens.values():
        assert token.startswith("gst_") and len(token) >= 40
        assert token not in stored and token[10:] not in stored  # not even its secret part
        assert hashlib.sha256(token.encode()).hexdigest() in digests
    # nor anywhere in the database's files (SQLite: the database and its write-ahead log)
    files = [p for p in service.data.iterdir() if p.name.startswith("grader.sqlite3")]
    assert files
    for path in files:
        data = path.read_bytes()
        for token in service.tokens.values():
            assert token.encode() not in data and token[10:].encode() not in data, path.name


def test_a_revoked_token_opens_nothing(service, archives):
    old = service.students({"student_id": "cy"})["cy"]
    service.tokens["cy"] = old
    sub = service.grade("cy", archives.starter)
    signed_in = service.login("cy")  # a browser signed in with the token before it is revoked
    assert signed_in.get("/").status == 200
    new = service.manage("token", "cy", "--revoke").stdout.strip()
    assert new.startswith("gst_") and new != old
    code, body = service.api(f"/api/submissions/{sub['id']}", old)
    assert code == 401 and "revoked" in body["error"]
    assert service.submit("cy", archives.starter)[0] == 401  # service.tokens still has the old one
    page = service.web().login("cy", old)
    assert page.status == 200 and "do not match" in page.text  # the sign-in form refuses it too
    # and the session it opened is over (whoever had the token is signed out)
    for path in ("/", f"/submissions/{sub['id']}/", f"/submissions/{sub['id']}/status.json"):
        page = signed_in.get(path)
        assert page.status == 302 and page.location.startswith("/login/"), (path, page.status)
    service.tokens["cy"] = new
    assert service.api(f"/api/submissions/{sub['id']}", new)[0] == 200
    assert service.login("cy").get("/").status == 200


def test_revoking_a_token_in_the_admin_ends_its_sessions(service):
    token = service.students({"student_id": "dee"})["dee"]
    service.tokens["dee"] = token
    signed_in = service.login("dee")
    assert signed_in.get("/").status == 200
    out = service.shell(
        "from grader.service.models import Token; "
        "t = Token.objects.get(student__student_id='dee', revoked=False); print('TOKEN', t.pk, t.student_id)"
    )
    pk, student_pk = next(li.split()[1:] for li in out.splitlines() if li.startswith("TOKEN "))
    teacher = service.login()
    form = teacher.get(f"/admin/grading/token/{pk}/change/")
    assert form.status == 200
    saved = teacher.post(
        f"/admin/grading/token/{pk}/change/",
        {
            "csrfmiddlewaretoken": form.csrf(),
            "student": student_pk,
            "label": "roster",
            "revoked": "on",
            "_save": "Save",
        },
    )
    assert saved.status == 302, saved.text[:2000]
    assert service.api("/api/submissions/1", token)[0] == 401
    page = signed_in.get("/")
    assert page.status == 302 and page.location.startswith("/login/"), page.status


# ----------------------------------------------------------------------------- limits


COURSE = """
name = "Signals, test term"
timezone = "UTC"

[[assignments]]
name = "signals-profile"
due = 2099-01-01T00:00:00
max_submissions = 2

[[assignments]]
name = "signals-m2m"
due = 2099-01-01T00:00:00
"""


def test_upload_rate_and_submission_limits(start_service, archives, tmp_path):
    course = tmp_path / "course.toml"
    course.write_text(COURSE)
    service = start_service("--upload-mb", "0.05", "--rate", "3", "--course", str(course), "--workers", "1")
    big = archives.not_a_project + b"\0" * 60_000  # a .zip's first bytes, over 0.05 MB
    code, body = service.submit("ada", big)
    assert code == 413 and "MB" in body["error"]
    page = service.login("ada").submit(big)
    assert page.status == 413
    code, body = service.submit("ada", archives.not_an_archive)
    assert code == 400 and "not a .zip" in body["error"]
    code, body = service.submit("ada", archives.not_a_project, assignment="no-such-assignment")
    assert code == 404 and "signals-profile" in body["error"]
    # course.toml's max_submissions: 2 of signals-profile (what was refused above did not count)
    assert service.submit("ada", archives.not_a_project)[0] == 201
    assert service.submit("ada", archives.not_a_project)[0] == 201
    code, body = service.submit("ada", archives.not_a_project)
    assert code == 403 and "all 2 submissions" in body["error"]
    home = service.login("ada").get("/").text
    assert "2 of 2" in home
    assert service.login("ada").submit(archives.not_a_project).status == 403  # the form says the same
    # --rate 3: the fourth submission within a minute (any assignment) is refused
    for _ in range(3):
        assert service.submit("bob", archives.not_a_project, assignment="signals-m2m")[0] == 201
    code, body = service.submit("bob", archives.not_a_project, assignment="signals-m2m")
    assert code == 429 and "wait" in body["error"]
    assert service.submit("ada", archives.not_a_project, assignment="signals-m2m")[0] == 201  # per student


# ----------------------------------------------------------------------------- hidden checks


def test_no_student_answer_carries_the_hidden_checks_text(service, archives, hidden_texts):
    code, queued = service.submit("ada", archives.no_created_check)
    assert code == 201
    assert hidden_texts.leaked(json.dumps(queued, ensure_ascii=False)) == []
    result = service.wait(queued["id"], "ada")
    sub_id = result["id"]
    report = service.report(sub_id)
    (hidden,) = [c for c in report["checks"] if c["visibility"] == "hidden"]
    # the stored report has the hidden check's result and its feedback: the student's view has to leave it out
    assert hidden["status"] == "failed" and "second profile" in hidden["feedback"], hidden
    assert result["score"] == 7 and [c["id"] for c in result["checks"]] == [
        c["id"] for c in report["checks"] if c["visibility"] != "hidden"
    ]
    assert any("1 hidden check: 0 of 3 points" in note for note in result["notes"])

    ada = service.login("ada")
    answers = {path: ada.get(path) for path in [*_pages(sub_id), f"/submissions/{sub_id}/feedback/?all=1", "/"]}
    for path, page in answers.items():
        assert page.status == 200, path
        assert hidden_texts.leaked(page.visible(), report) == [], path
    assert "7 of 10 points" in answers[f"/submissions/{sub_id}/"].visible()
    assert hidden_texts.leaked(json.dumps(result, ensure_ascii=False), report) == []  # the API's answer

    # the instructor's full view has it (so the check above looks for text that exists)
    full = service.login().get(f"/submissions/{sub_id}/feedback/?all=1")
    assert full.status == 200
    assert hidden["title"] in full.visible()
    assert hidden_texts.leaked(full.visible(), report)


def test_a_run_stopped_in_a_hidden_check_does_not_name_it(service, archives, hidden_texts):
    """The run ends (os._exit) while the hidden check's test runs: the report's message, and
    each check's feedback, say where ("while checking '<title>'"); a student is told "a hidden
    check" instead. (The service showed the hidden check's title.)"""
    result = service.grade("bob", archives.exits_on_resave)
    report = service.report(result["id"])
    (hidden,) = [c for c in report["checks"] if c["visibility"] == "hidden"]
    assert report["status"] == "error" and f"while checking '{hidden['title']}'" in report["message"]
    assert result["status"] == "graded" and "while checking a hidden check" in result["message"], result
    bob = service.login("bob")
    for path in _pages(result["id"]):
        page = bob.get(path)
        assert page.status == 200 and "a hidden check" in page.visible(), path
        assert hidden_texts.leaked(page.visible(), report) == [], path
    assert hidden_texts.leaked(json.dumps(result, ensure_ascii=False), report) == []
    full = service.login().get(f"/submissions/{result['id']}/feedback/?all=1").visible()
    assert hidden["title"] in full  # the instructor's view still says which


# ----------------------------------------------------------------------------- GitHub Actions OIDC


class _Keys:
    """An RSA key pair of GitHub's (as far as the service knows), published as a JWKS."""

    def __init__(self, kid: str) -> None:
        self.kid = kid
        self.private = rsa.generate_private_key(public_exponent=65537, key_size=2048)

    def jwk(self) -> dict:
        numbers = self.private.public_key().public_numbers()

        def b64(n: int) -> str:
            return base64.urlsafe_b64encode(n.to_bytes((n.bit_length() + 7) // 8, "big")).rstrip(b"=").decode()

        return {"kty": "RSA", "kid": self.kid, "use": "sig", "alg": "RS256", "n": b64(numbers.n), "e": b64(numbers.e)}

    def sign(self, claims: dict, kid: str | None = None, **headers) -> str:
        return jwt.encode(claims, self.private, algorithm="RS256", headers={"kid": kid or self.kid, **headers})


class _Jwks:
    """GitHub's JWKS endpoint, played by an http.server thread on a port chosen at once (so the
    service can be told its URL before it listens)."""

    def __init__(self) -> None:
        self.keys = [_Keys("github-1")]
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/jwks"
        self.server: http.server.ThreadingHTTPServer | None = None

    def start(self) -> None:
        keys = self.keys

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                if self.path != "/jwks":
                    self.send_error(404)
                    return
                body = json.dumps({"keys": [k.jwk() for k in keys]}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None


@pytest.fixture
def jwks() -> Iterator[_Jwks]:
    endpoint = _Jwks()
    try:
        yield endpoint
    finally:
        endpoint.stop()


def _claims(audience: str, **changes) -> dict:
    now = int(time.time())
    claims = {
        "iss": GITHUB_ISSUER,
        "aud": audience,
        "sub": "repo:org/ada-repo:ref:refs/heads/main",
        "repository": "org/ada-repo",
        "repository_owner": "org",
        "sha": "0123456789abcdef0123456789abcdef01234567",
        "ref": "refs/heads/main",
        "iat": now - 5,
        "nbf": now - 5,
        "exp": now + 300,
    }
    claims.update(changes)
    return {k: v for k, v in claims.items() if v is not None}


def _flip(segment: str) -> str:
    middle = len(segment) // 2
    return segment[:middle] + ("A" if segment[middle] != "A" else "B") + segment[middle + 1 :]


def test_github_actions_identities(start_service, archives, jwks):
    audience = "grader-test-course"
    service = start_service(
        "--oidc-audience", audience, "--oidc-jwks", jwks.url, "--oidc-issuer", GITHUB_ISSUER, "--workers", "1"
    )
    (github,) = jwks.keys

    def send(token: str) -> tuple[int, dict]:
        service.tokens["ci"] = token
        return service.submit("ci", archives.solution)

    good = github.sign(_claims(audience))
    # GitHub's keys cannot be fetched yet: "try again" (503), not "your identity is invalid"
    code, body = send(good)
    assert code == 503 and "try again" in body["error"], (code, body)
    jwks.start()
    code, body = send(good)
    assert code == 201, body
    row = service.shell(
        "from grader.service.models import Submission; "
        f"s = Submission.objects.get(pk={body['id']}); print('ROW', s.student.student_id, s.source, s.commit)"
    )
    assert "ROW ada ci 0123456789abcdef0123456789abcdef01234567" in row
    assert service.api(f"/api/submissions/{body['id']}", good)[0] == 200  # it may follow its submission
    assert service.api(f"/api/submissions/{body['id']}", service.tokens["bob"])[0] == 404

    header, payload, signature = good.split(".")
    forged_payload = base64.urlsafe_b64encode(json.dumps(_claims(audience, repository="org/bob-repo")).encode())
    refused = {
        "wrong audience": github.sign(_claims("another-service")),
        "expired": github.sign(_claims(audience, iat=int(time.time()) - 7200, exp=int(time.time()) - 3600)),
        "tampered signature": f"{header}.{payload}.{_flip(signature)}",
        "tampered claims": f"{header}.{forged_payload.rstrip(b'=').decode()}.{signature}",
        "another key, GitHub's key id": _Keys(github.kid).sign(_claims(audience)),
        "another key, its own key id": _Keys("someone-else").sign(_claims(audience)),
        "another key, no key id": jwt.encode(_claims(audience), _Keys("").private, algorithm="RS256"),
        "another issuer": github.sign(_claims(audience, iss="https://example.com")),
        "no repository claim": github.sign(_claims(audience, repository=None)),
        "alg none": _unsigned(_claims(audience), github.kid),
    }
    for what, token in refused.items():
        code, body = send(token)
        assert code == 401, (what, code, body)
        assert "error" in body and "Traceback" not in body["error"], what
    code, body = send(github.sign(_claims(audience, repository="org/eve-repo")))
    assert code == 403 and "org/eve-repo" in body["error"]
    assert _count(service) == 1  # only the good one was stored


def _unsigned(claims: dict, kid: str) -> str:
    def b64(data: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    return f"{b64({'alg': 'none', 'typ': 'JWT', 'kid': kid})}.{b64(claims)}."


def test_a_service_without_oidc_refuses_identities(service):
    token = _Keys("k").sign(_claims("anything"))
    code, body = service.api("/api/submissions/1", token)
    assert code == 401 and "does not accept" in body["error"]


def test_parallel_uploads_cannot_pass_the_limits(start_service, archives, tmp_path):
    """Uploads sent at once are counted one at a time: not one more than max_submissions or
    --rate gets in (each round: 8 uploads released together by a barrier)."""
    course = tmp_path / "course.toml"
    course.write_text(COURSE)
    rounds = [f"p{n}" for n in range(5)]
    service = start_service(
        "--rate", "3", "--course", str(course), "--workers", "1", students=[{"student_id": s} for s in rounds]
    )

    def burst(student: str, assignment: str) -> list[int]:
        barrier = threading.Barrier(8)

        def one(_: int) -> int:
            barrier.wait()
            return service.submit(student, archives.not_a_project, assignment)[0]

        with ThreadPoolExecutor(8) as pool:
            return sorted(pool.map(one, range(8)))

    for student in rounds:
        assert burst(student, ASSIGNMENT) == [201] * 2 + [403] * 6, student  # max_submissions = 2
        assert burst(student, "signals-m2m") == [201] * 1 + [429] * 7, student  # --rate 3 in all
