"""LTI 1.3 end to end, against a real `grader serve` and a platform of the test's own: its RSA
keys made here, its keyset, token and AGS score endpoints served from a small HTTP server on
127.0.0.1 (threads of the test), its id_tokens signed with PyJWT. The test plays the platform's
authorization endpoint: it starts the OIDC login at the tool, reads the state and nonce from the
redirect and posts a signed id_token back to the launch URL, as Moodle's or Canvas's browser form
does.

What must hold: a student launched from the platform is signed in without a token, submits, and
the platform receives their score (never above the maximum, also after an instructor's override
above it), with the tool's signed client assertion for its token; an Instructor of a listed
course lands on the dashboard; deep linking returns a JWT signed with the tool's published key
that points a link at the assignment with its line item; a replayed, tampered, expired,
foreign-audience, foreign-issuer or unknown-deployment launch is refused with a 4xx page and
signs no one in; a failed passback is recorded on its row and sent by `lti_sync`."""

from __future__ import annotations

import http.server
import json
import threading
import time
import urllib.request
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from servers import free_port, wait_for

from .conftest import ASSIGNMENT, STUDENTS, Web

CLIENT_ID = "grader-tool-client"
DEPLOYMENT = "deployment-1"
COURSE = "course-101"
CLAIM = "https://purl.imsglobal.org/spec/lti/claim/"
LEARNER = "http://purl.imsglobal.org/vocab/lis/v2/membership#Learner"
INSTRUCTOR = "http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor"
SCORE_SCOPE = "https://purl.imsglobal.org/spec/lti-ags/scope/score"
LINEITEM_SCOPE = "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem"
MAX = 10.0  # signals-profile's maximum score


class Keys:
    def __init__(self, kid: str) -> None:
        self.kid = kid
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.pem = self.key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )

    def jwk(self) -> dict:
        return {
            **json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.key.public_key())),
            "kid": self.kid,
            "alg": "RS256",
        }

    def sign(self, claims: dict) -> str:
        return jwt.encode(claims, self.pem, algorithm="RS256", headers={"kid": self.kid})


class Platform:
    """The LMS: its keyset (/jwks), OAuth2 token endpoint (/token, client_credentials with the
    tool's signed JWT assertion, checked against the tool's published keyset) and AGS scores
    (/lineitems/<n>/lineitem/scores). `scores` records each score posted; `failing` makes the
    scores endpoint answer 503."""

    def __init__(self) -> None:
        self.keys = Keys("platform-key-1")
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.issuer = self.url  # Moodle's issuer is its site URL
        self.tool_jwks = ""  # the tool's keyset URL, once the service runs
        self.scores: list[dict[str, Any]] = []
        self.tokens: list[dict[str, Any]] = []
        self.failing = False
        self.server: http.server.ThreadingHTTPServer | None = None

    def start(self) -> Platform:
        platform = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def _answer(self, code: int, body: dict | None = None, kind: str = "application/json") -> None:
                data = json.dumps(body or {}).encode()
                self.send_response(code)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):
                if self.path == "/jwks":
                    self._answer(200, {"keys": [platform.keys.jwk()]})
                else:
                    self._answer(404)

            def do_POST(self):
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if self.path == "/token":
                    self._token(parse_qs(raw.decode()))
                elif self.path.startswith("/lineitems/") and self.path.endswith("/lineitem/scores"):
                    if platform.failing:
                        self._answer(503, {"error": "the gradebook is down for maintenance"})
                        return
                    platform.scores.append(
                        {
                            "path": self.path,
                            "authorization": self.headers.get("Authorization"),
                            "content_type": self.headers.get("Content-Type"),
                            "body": json.loads(raw),
                        }
                    )
                    self._answer(200, {})
                else:
                    self._answer(404)

            def _token(self, form: dict[str, list[str]]) -> None:
                assertion = form.get("client_assertion", [""])[0]
                try:
                    key = jwt.PyJWKClient(platform.tool_jwks).get_signing_key_from_jwt(assertion)
                    claims = jwt.decode(assertion, key.key, algorithms=["RS256"], audience=platform.url + "/token")
                except jwt.PyJWTError as exc:
                    self._answer(401, {"error": "invalid_client", "error_description": str(exc)})
                    return
                ok = (
                    form.get("grant_type") == ["client_credentials"]
                    and claims["iss"] == claims["sub"] == CLIENT_ID
                    and SCORE_SCOPE in form.get("scope", [""])[0].split()
                )
                if not ok:
                    self._answer(400, {"error": "invalid_request"})
                    return
                platform.tokens.append(claims)
                self._answer(200, {"access_token": "platform-token-1", "token_type": "Bearer", "expires_in": 3600})

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()

    def id_token(self, nonce: str, key: Keys | None = None, **changes: Any) -> str:
        """A signed launch of `signals-profile`'s link by the learner 'lms-user-42' (or `changes`)."""
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "aud": CLIENT_ID,
            "sub": "lms-user-42",
            "iat": now - 5,
            "exp": now + 300,
            "nonce": nonce,
            "name": "Grace Hopper",
            "email": "grace@example.edu",
            CLAIM + "message_type": "LtiResourceLinkRequest",
            CLAIM + "version": "1.3.0",
            CLAIM + "deployment_id": DEPLOYMENT,
            CLAIM + "target_link_uri": "",
            CLAIM + "resource_link": {"id": "link-1", "title": ASSIGNMENT},
            CLAIM + "roles": [LEARNER],
            CLAIM + "context": {"id": COURSE, "title": "Web development 101"},
            CLAIM + "custom": {"assignment": ASSIGNMENT},
            "https://purl.imsglobal.org/spec/lti-ags/claim/endpoint": {
                "scope": [SCORE_SCOPE, LINEITEM_SCOPE],
                "lineitems": self.url + "/lineitems",
                "lineitem": self.url + "/lineitems/1/lineitem",
            },
        }
        claims.update(changes)
        return (key or self.keys).sign({k: v for k, v in claims.items() if v is not None})


@pytest.fixture
def platform() -> Iterator[Platform]:
    running = Platform().start()
    try:
        yield running
    finally:
        running.stop()


def register(service, platform: Platform) -> None:
    platform.tool_jwks = service.url + "/lti/jwks.json"
    service.manage(
        "lti_platform",
        "lms",
        "--issuer",
        platform.issuer,
        "--client-id",
        CLIENT_ID,
        "--deployment",
        DEPLOYMENT,
        "--auth-login-url",
        platform.url + "/auth",
        "--auth-token-url",
        platform.url + "/token",
        "--key-set-url",
        platform.url + "/jwks",
        "--context",
        COURSE,
    )


def login_initiation(web: Web, platform: Platform) -> dict[str, str]:
    """Start the OIDC login as the platform does; the authorization request's parameters."""
    query = urlencode(
        {
            "iss": platform.issuer,
            "login_hint": "lms-user-42",
            "target_link_uri": web.base + "/lti/launch/",
            "lti_message_hint": "hint-1",
            "client_id": CLIENT_ID,
            "lti_deployment_id": DEPLOYMENT,
        }
    )
    page = web.get("/lti/login/?" + query)
    assert page.status == 302, (page.status, page.text[:500])
    target = urlsplit(page.location)
    assert f"{target.scheme}://{target.netloc}{target.path}" == platform.url + "/auth"
    params = {k: v[0] for k, v in parse_qs(target.query).items()}
    assert params["client_id"] == CLIENT_ID and params["response_mode"] == "form_post", params
    assert params["redirect_uri"] == web.base + "/lti/launch/" and params["lti_message_hint"] == "hint-1"
    return params


def launch(web: Web, platform: Platform, key: Keys | None = None, **changes: Any):
    """A whole launch in `web`: login initiation, then the platform's form post of a signed
    id_token for the state and nonce it was given. (the launch's answer, the id_token, the state)"""
    auth = login_initiation(web, platform)
    token = platform.id_token(auth["nonce"], key, **changes)
    page = web.post(urlsplit(auth["redirect_uri"]).path, {"id_token": token, "state": auth["state"]})
    return page, token, auth["state"]


def signed_in(web: Web) -> bool:
    return web.get("/").status == 200


def lti_grade(service) -> dict:
    out = service.shell(
        "import json; from grader.service.models import LtiGrade; "
        "print('ROW=' + json.dumps([{k: str(v) for k, v in r.items()} for r in LtiGrade.objects.values()]))"
    )
    (rows,) = [json.loads(line[4:]) for line in out.splitlines() if line.startswith("ROW=")]
    assert len(rows) == 1, rows
    return rows[0]


def test_a_student_launched_from_the_platform_submits_and_the_platform_gets_the_score(
    start_service, platform, archives
):
    service = start_service("--workers", "1", students=STUDENTS[:1])
    register(service, platform)
    printed = service.manage("lti_config").stdout
    for path in ("/lti/login/", "/lti/launch/", "/lti/jwks.json"):
        assert service.url + path in printed, printed

    # the launch signs the student in, with no token: a Student of the course, by the platform's sub
    web = service.web()
    page, token, state = launch(web, platform)
    assert page.status == 302 and page.location == "/", (page.status, page.text[:800])
    home = web.get("/")
    assert home.status == 200 and ASSIGNMENT in home.text and "lms-user-42" in home.text
    # the same id_token posted again (a replay) is refused, even from the same browser
    again = web.post("/lti/launch/", {"id_token": token, "state": state})
    assert again.status == 403 and "already used" in again.visible(), (again.status, again.text[:500])

    # the student submits on the service's own page; once graded, the platform has the score
    sent = web.submit(archives.starter)
    assert sent.status == 302, sent.text[:500]

    def graded() -> dict | None:
        result = web.get(sent.location + "status.json").json()
        return result if result["status"] in ("graded", "error") else None

    result = wait_for(graded, 120, "the starter graded", 0.3)
    assert result["status"] == "graded" and result["score"] == 1.0, result
    wait_for(lambda: platform.scores, 30, "the score posted to the platform", 0.2)
    score = platform.scores[-1]
    assert score["path"] == "/lineitems/1/lineitem/scores"
    assert score["authorization"] == "Bearer platform-token-1"
    assert score["content_type"] == "application/vnd.ims.lis.v1.score+json"
    body = score["body"]
    assert body["userId"] == "lms-user-42" and body["scoreGiven"] == 1.0 and body["scoreMaximum"] == MAX, body
    assert body["activityProgress"] == "Completed" and body["gradingProgress"] == "FullyGraded", body
    assert body["timestamp"].startswith(time.strftime("%Y-", time.gmtime())), body
    assert platform.tokens and platform.tokens[-1]["aud"] == platform.url + "/token"  # the tool's signed assertion
    row = lti_grade(service)
    assert row["status"] == "sent" and row["score_given"] == "1.0", row

    # an instructor's override above the maximum reaches the platform as the maximum, never more
    teacher = service.login()
    form = teacher.get("/admin/grading/override/add/")
    student_pk = service.shell(
        "from grader.service.models import Student; print('PK=%d' % Student.objects.get(student_id='lms-user-42').pk)"
    )
    pk = next(line[3:] for line in student_pk.splitlines() if line.startswith("PK="))
    saved = teacher.post(
        "/admin/grading/override/add/",
        {
            "csrfmiddlewaretoken": form.csrf(),
            "student": pk,
            "assignment": ASSIGNMENT,
            "score": "12",
            "reason": "bonus for the extra tests",
        },
    )
    assert saved.status == 302, saved.text[:1000]
    wait_for(lambda: len(platform.scores) >= 2, 30, "the override posted to the platform", 0.2)
    body = platform.scores[-1]["body"]
    assert body["scoreGiven"] == MAX and body["scoreMaximum"] == MAX, body
    assert all(s["body"]["scoreGiven"] <= s["body"]["scoreMaximum"] for s in platform.scores)

    # the platform is down: the failure is on the row (the admin shows it), then lti_sync sends it
    platform.failing = True
    out = service.manage("lti_sync", "--all")
    assert "1 failed" in out.stdout and "503" in out.stdout, out.stdout
    row = lti_grade(service)
    assert row["status"] == "failed" and "maintenance" in row["error"], row
    platform.failing = False
    n = len(platform.scores)
    out = service.manage("lti_sync")
    assert "1 sent" in out.stdout and "(10 of 10)" in out.stdout, out.stdout
    assert len(platform.scores) == n + 1 and platform.scores[-1]["body"]["scoreGiven"] == MAX
    assert lti_grade(service)["status"] == "sent"


def test_instructors_deep_linking_and_refused_launches(start_service, platform):
    service = start_service("--workers", "1", students=(), instructor=False)
    register(service, platform)
    teacher = {"sub": "lms-teacher-7", "name": "Ada Instructor", CLAIM + "roles": [INSTRUCTOR]}

    # an Instructor of the listed course is staff: the dashboard
    web = service.web()
    page, _, _ = launch(web, platform, **teacher)
    assert page.status == 302 and page.location == "/dashboard/", (page.status, page.text[:800])
    assert web.get("/dashboard/").status == 200

    # deep linking: the instructor picks the assignment; the tool's signed response points a link at it
    deep = {
        **teacher,
        CLAIM + "message_type": "LtiDeepLinkingRequest",
        CLAIM + "resource_link": None,
        CLAIM + "custom": None,
        "https://purl.imsglobal.org/spec/lti-ags/claim/endpoint": None,
        "https://purl.imsglobal.org/spec/lti-dl/claim/deep_linking_settings": {
            "deep_link_return_url": platform.url + "/deep-link-return",
            "accept_types": ["ltiResourceLink"],
            "accept_presentation_document_targets": ["window", "iframe"],
            "accept_multiple": True,
            "data": "platform-opaque-data",
        },
    }
    picker, _, _ = launch(web, platform, **deep)
    assert picker.status == 200 and ASSIGNMENT in picker.text, picker.text[:800]
    launch_id = picker.text.split('name="launch_id" value="')[1].split('"')[0]
    back = web.post(
        "/lti/deep-link/", {"csrfmiddlewaretoken": picker.csrf(), "launch_id": launch_id, "assignment": ASSIGNMENT}
    )
    assert back.status == 200 and f'action="{platform.url}/deep-link-return"' in back.text, back.text[:800]
    response = back.text.split('name="JWT" value="')[1].split('"')[0]
    with urllib.request.urlopen(service.url + "/lti/jwks.json", timeout=10) as r:
        (tool_key,) = json.loads(r.read())["keys"]
    assert jwt.get_unverified_header(response)["kid"] == tool_key["kid"]
    claims = jwt.decode(
        response, jwt.PyJWK(tool_key).key, algorithms=["RS256"], audience=platform.issuer, issuer=CLIENT_ID
    )
    assert claims[CLAIM + "message_type"] == "LtiDeepLinkingResponse" and claims[CLAIM + "deployment_id"] == DEPLOYMENT
    assert claims["https://purl.imsglobal.org/spec/lti-dl/claim/data"] == "platform-opaque-data"
    (item,) = claims["https://purl.imsglobal.org/spec/lti-dl/claim/content_items"]
    assert item["type"] == "ltiResourceLink" and item["url"] == service.url + "/lti/launch/", item
    assert item["custom"] == {"assignment": ASSIGNMENT} and item["window"] == {"targetName": "_blank"}, item
    assert item["lineItem"] == {"scoreMaximum": MAX, "label": ASSIGNMENT, "resourceId": ASSIGNMENT, "tag": ASSIGNMENT}
    # the choice is the session's own: another browser cannot use its launch id
    stranger = service.web()
    csrf = stranger.get("/login/").csrf()
    refused = stranger.post(
        "/lti/deep-link/", {"csrfmiddlewaretoken": csrf, "launch_id": launch_id, "assignment": ASSIGNMENT}
    )
    assert refused.status == 403 and "deep-linking launch of this browser" in refused.visible(), refused.text[:500]

    # a learner cannot deep link; an instructor of a course the registration does not list is refused
    learner = service.web()
    page, _, _ = launch(learner, platform, **{**deep, "sub": "lms-user-9", CLAIM + "roles": [LEARNER]})
    assert page.status == 403 and "instructors" in page.visible(), page.text[:500]
    page, _, _ = launch(service.web(), platform, **{**teacher, CLAIM + "context": {"id": "course-999"}})
    assert page.status == 403 and "course-999" in page.visible(), page.text[:500]

    # tampered launches: each refused with a 4xx page, and no one signed in
    now = int(time.time())
    forged = {
        "another key with the platform's key id": {"key": Keys(platform.keys.kid)},
        "another audience (client id)": {"aud": "someone-elses-tool"},
        "another issuer": {"iss": "https://evil.example.com"},
        "expired": {"iat": now - 7200, "exp": now - 3600},
        "an unknown deployment": {CLAIM + "deployment_id": "deployment-unknown"},
    }
    for what, changes in forged.items():
        web = service.web()
        page, _, _ = launch(web, platform, **changes)
        assert 400 <= page.status < 500, (what, page.status, page.text[:500])
        assert "refused" in page.text and "Traceback" not in page.text, (what, page.text[:500])
        assert not signed_in(web), what
    # a signature that does not match the claims (a claim edited after signing)
    web = service.web()
    auth = login_initiation(web, platform)
    signed = platform.id_token(auth["nonce"])
    head, _, sig = signed.split(".")
    other = platform.id_token(auth["nonce"], sub="lms-admin-1").split(".")[1]
    page = web.post("/lti/launch/", {"id_token": f"{head}.{other}.{sig}", "state": auth["state"]})
    assert page.status == 403 and "signed" in page.visible(), page.text[:500]
    assert not signed_in(web)
    # a launch whose state is not this browser's (no login initiation here) is refused
    web = service.web()
    page = web.post("/lti/launch/", {"id_token": platform.id_token("made-up-nonce"), "state": "state-forged"})
    assert page.status == 403 and "state" in page.visible(), page.text[:500]
    assert not signed_in(web)
    # an unregistered platform's login initiation
    page = service.web().get("/lti/login/?" + urlencode({"iss": "https://unknown.example", "login_hint": "x"}))
    assert page.status == 403 and "not registered" in page.visible()
