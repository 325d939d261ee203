"""Fixtures of the grading service's tests. Everything is real: `grader serve` in a subprocess
(gunicorn, the dispatcher, grading in the bubblewrap sandbox), its SQLite database in the
test's tmp folder, plain HTTP on a loopback port of its own.

Fixtures:

* ``service`` (per test module): a started :class:`ClassService` on SQLite, ``--sandbox
  auto``, 2 grading workers, a generous ``--rate`` (100 a minute) and every installed
  assignment; students ``ada`` (repository ``org/ada-repo``) and ``bob`` with tokens
  (``service.tokens``), an instructor (``service.teacher``: user name, password).
* ``start_service(*args, students=..., instructor=True)``: another one with more of `grader
  serve`'s options (``--upload-mb``, ``--course``, ``--oidc-...``), stopped after the test.
* ``archives`` (per session): the .zip files students submit (:class:`Archives`).
* ``hidden_texts``: what a student must never see of signals-profile's hidden check.

Helpers on a :class:`ClassService`: ``submit``/``wait``/``grade`` (the API with a student's
token), ``web()`` (a cookie-keeping HTTP client, :class:`Web`), ``login(...)``, ``report(id)``
(the stored report, read in ``grader service shell``).

Every test under tests/service is marked ``e2e`` (the fast run, ``-m "not e2e"``, leaves
them out).
"""

from __future__ import annotations

import ast
import html
import http.cookiejar
import io
import json
import re
import tomllib
import urllib.error
import urllib.request
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email.message import Message
from pathlib import Path
from typing import Any

import pytest
from conftest import APPS_IMPORTING_SIGNALS, build_submission
from conftest import ASSIGNMENT as ASSIGNMENT_DIR
from servers import Service, post_submission, wait_for, zip_project

HERE = Path(__file__).resolve().parent
ASSIGNMENT = "signals-profile"
STUDENTS = ({"student_id": "ada", "name": "Ada L", "repository": "org/ada-repo"}, {"student_id": "bob"})
GRADE_TIMEOUT_S = 120


def pytest_collection_modifyitems(config, items):
    for item in items:
        if HERE in Path(str(item.path)).parents:
            item.add_marker(pytest.mark.e2e)


# ----------------------------------------------------------------------------- HTTP as a browser


@dataclass
class Page:
    """One HTTP answer, as sent (redirects are not followed)."""

    status: int
    headers: Message
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")

    @property
    def location(self) -> str:
        return self.headers.get("Location", "")

    def json(self) -> Any:
        return json.loads(self.body)

    def csrf(self) -> str:
        """The page's form CSRF token (csrfmiddlewaretoken)."""
        found = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', self.text)
        assert found, f"no CSRF token in the page ({self.status}): {self.text[:300]}"
        return found.group(1)

    def visible(self) -> str:
        """What a reader gets of it: HTML entities decoded; a JSON answer's strings unescaped."""
        if (self.headers.get("Content-Type") or "").startswith("application/json"):
            return json.dumps(self.json(), ensure_ascii=False)
        return html.unescape(self.text)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


class Web:
    """A browser without JavaScript: real HTTP (urllib) keeping the service's cookies (session,
    CSRF). ``login`` signs in through the login form as a person would."""

    def __init__(self, base_url: str) -> None:
        self.base = base_url.rstrip("/")
        self.cookies = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.cookies), _NoRedirect)

    def request(
        self,
        method: str,
        path: str,
        fields: dict[str, str] | None = None,
        file: tuple[str, bytes] | None = None,
        headers: dict[str, str] | None = None,
    ) -> Page:
        """`fields` are sent form-encoded, or as multipart with `file` (name, bytes) in the
        field 'archive'."""
        body, heads = None, dict(headers or {})
        if file is not None:
            from grader import submitclient

            body, heads["Content-Type"] = submitclient.multipart(fields or {}, file[0], file[1])
        elif fields is not None:
            from urllib.parse import urlencode

            body, heads["Content-Type"] = urlencode(fields).encode(), "application/x-www-form-urlencoded"
        req = urllib.request.Request(self.base + path, data=body, method=method, headers=heads)
        try:
            with self.opener.open(req, timeout=60) as r:
                return Page(r.status, r.headers, r.read())
        except urllib.error.HTTPError as exc:
            return Page(exc.code, exc.headers, exc.read())

    def get(self, path: str, **kw: Any) -> Page:
        return self.request("GET", path, **kw)

    def post(self, path: str, fields: dict[str, str] | None = None, **kw: Any) -> Page:
        return self.request("POST", path, fields=fields, **kw)

    def cookie(self, name: str) -> str | None:
        return next((c.value for c in self.cookies if c.name == name), None)

    def login(self, username: str, password: str) -> Page:
        """Sign in with the form (GET /login/, POST it with its CSRF token); the POST's answer
        (302 to / when it worked)."""
        token = self.get("/login/").csrf()
        return self.post("/login/", {"username": username, "password": password, "csrfmiddlewaretoken": token})

    def submit(self, archive: bytes, assignment: str = ASSIGNMENT, name: str = "project.zip") -> Page:
        """Upload with the form of /: its CSRF token, the fields 'assignment' and 'archive'."""
        token = self.get("/").csrf()
        return self.post("/submit/", {"assignment": assignment, "csrfmiddlewaretoken": token}, file=(name, archive))


# ----------------------------------------------------------------------------- the service


class ClassService(Service):
    """A started `grader serve` with a class: ``tokens`` (student id -> token) and ``teacher``
    (user name, password of a superuser)."""

    tokens: dict[str, str]
    teacher: tuple[str, str]

    def setup_class(self, students=STUDENTS, instructor: bool = True) -> ClassService:
        self.tokens = self.students(*students) if students else {}
        self.teacher = self.instructor() if instructor else ("", "")
        return self

    def submit(self, student: str, archive: bytes, assignment: str = ASSIGNMENT) -> tuple[int, dict]:
        """POST /api/submissions with the student's token; (status, JSON)."""
        return post_submission(self.url, self.tokens[student], assignment, archive)

    def wait(self, sub_id: int, student: str, timeout: float = GRADE_TIMEOUT_S) -> dict:
        """The API's answer once submission `sub_id` is graded (or ended in an error)."""

        def done() -> dict | None:
            code, body = self.api(f"/api/submissions/{sub_id}", self.tokens[student])
            assert code == 200, (code, body)
            return body if body["status"] in ("graded", "error") else None

        return wait_for(done, timeout, f"submission {sub_id} graded", 0.2)

    def grade(self, student: str, archive: bytes, assignment: str = ASSIGNMENT) -> dict:
        """Submit with the API and wait: the graded result (asserts it was accepted)."""
        code, body = self.submit(student, archive, assignment)
        assert code == 201, (code, body)
        return self.wait(body["id"], student)

    def web(self) -> Web:
        return Web(self.url)

    def login(self, student: str | None = None) -> Web:
        """A Web signed in as `student` (id + token) or, with None, as the instructor."""
        web = self.web()
        username, password = (student, self.tokens[student]) if student else self.teacher
        page = web.login(username, password)
        assert page.status == 302, f"sign-in of {username} failed ({page.status}): {page.text[:500]}"
        return web

    def report(self, sub_id: int) -> dict:
        """Submission `sub_id`'s stored report (the instructor's, every check), from the database."""
        out = self.shell(
            "import json; from grader.service.models import Submission; "
            f"print('REPORT=' + json.dumps(Submission.objects.get(pk={int(sub_id)}).report))"
        )
        line = next(li for li in out.splitlines() if li.startswith("REPORT="))
        return json.loads(line[len("REPORT=") :])


def launch(folder: Path, *args: str, students=STUDENTS, instructor: bool = True) -> ClassService:
    """Start `grader serve --sandbox auto --web-workers 2 *args` in `folder` and add the class."""
    service = ClassService(folder, "--sandbox", "auto", "--web-workers", "2", *args)
    service.start()
    try:
        return service.setup_class(students, instructor)
    except BaseException:
        service.stop()
        raise


@pytest.fixture(scope="module")
def service(tmp_path_factory) -> Iterator[ClassService]:
    """A running service shared by a module's tests (see the module docstring): submissions
    accumulate, so a test looks at its own by id."""
    running = launch(tmp_path_factory.mktemp("service"), "--workers", "2", "--rate", "100")
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
def start_service(tmp_path) -> Iterator[Callable[..., ClassService]]:
    """start_service(*serve_args, students=STUDENTS, instructor=True): another running service
    (its own data folder and port), stopped after the test."""
    started: list[ClassService] = []

    def start(*args: str, students=STUDENTS, instructor: bool = True) -> ClassService:
        running = launch(tmp_path / f"service{len(started)}", *args, students=students, instructor=instructor)
        started.append(running)
        return running

    yield start
    for running in started:
        running.stop()


# ----------------------------------------------------------------------------- what students submit


EXITS_ON_RESAVE = """
    import os

    from django.conf import settings
    from django.db.models.signals import post_save
    from django.dispatch import receiver

    from .models import Profile


    @receiver(post_save, sender=settings.AUTH_USER_MODEL)
    def create_profile(sender, instance, created, **kwargs):
        if created:
            Profile.objects.create(user=instance)
        elif kwargs.get("update_fields") is None:
            os._exit(3)
"""


def _read(rel: str) -> str:
    return (ASSIGNMENT_DIR / rel).read_text(encoding="utf-8")


@dataclass(frozen=True)
class Archives:
    """.zip files of signals-profile projects (bytes, as uploaded)."""

    solution: bytes  # the reference solution: 10 of 10
    starter: bytes  # the bare student template: 1 of 10
    no_created_check: bytes  # fails only the hidden check (a profile per save): 7 of 10, hidden feedback
    not_a_project: bytes  # a .zip with no manage.py: accepted, then ends as an error
    exits_on_resave: bytes  # the run stops (os._exit) in the hidden check's tests: an error naming where
    not_an_archive: bytes = b"this is not a zip file\n" * 10  # refused at once (400)


@pytest.fixture(scope="session")
def archives(tmp_path_factory) -> Archives:
    root = tmp_path_factory.mktemp("archives")
    variant = "variants/no-created-check/files/users/"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        zf.writestr("README.txt", "my homework\n")
    return Archives(
        solution=zip_project(build_submission(root / "solution", solution=True)),
        starter=zip_project(build_submission(root / "starter")),
        no_created_check=zip_project(
            build_submission(
                root / "no-created-check",
                {"users/signals.py": _read(variant + "signals.py"), "users/apps.py": _read(variant + "apps.py")},
            )
        ),
        not_a_project=buffer.getvalue(),
        exits_on_resave=zip_project(
            build_submission(
                root / "exits-on-resave",
                {"users/apps.py": APPS_IMPORTING_SIGNALS, "users/signals.py": EXITS_ON_RESAVE},
            )
        ),
    )


# ----------------------------------------------------------------------------- what students never see


@dataclass
class HiddenTexts:
    """What no student-visible answer may contain of signals-profile's hidden checks: their
    titles and hints (rubric.toml), the hidden tests' file names, test names, source lines and
    the string literals only they have; ``of(report)`` adds a graded report's hidden checks'
    feedback and diagnosis."""

    static: list[str] = field(default_factory=list)

    def of(self, report: dict | None = None) -> list[str]:
        found = list(self.static)
        checks = (report or {}).get("checks", [])
        # what the report says to everyone: the run's message, the public checks' feedback
        public = "\n".join(
            [(report or {}).get("message", "")] + [c["feedback"] for c in checks if c["visibility"] != "hidden"]
        )
        for check in checks:
            if check.get("visibility") != "hidden":
                continue
            found += [check["title"], check["hint"], check["diagnosis"]]
            # the feedback, and each of its phrases (a part of it must not leak either) that
            # is the hidden check's own (a run that stopped gives every check the same words)
            phrases = [check["feedback"], *(p.strip() for p in re.split(r"[.():]\s", check["feedback"]))]
            found += [p for p in phrases if len(p) >= 20 and p not in public]
        return sorted({t for t in found if t and t.strip()}, key=len, reverse=True)

    def leaked(self, text: str, report: dict | None = None) -> list[str]:
        """The hidden texts that occur in `text` (an answer's visible text)."""
        return [t for t in self.of(report) if t in text]


@pytest.fixture(scope="session")
def hidden_texts() -> HiddenTexts:
    rubric = tomllib.loads(_read("rubric.toml"))
    hidden = [c for c in rubric["checks"] if c.get("visibility") == "hidden"]
    assert hidden, "signals-profile has no hidden check any more: these tests need one"
    texts: list[str] = []
    tests = ASSIGNMENT_DIR / "tests"
    texts += [p.name for p in tests.glob("*.py")]  # every file of the hidden suite
    public_source = "".join(
        (tests / t.split("::")[0]).read_text(encoding="utf-8")
        for c in rubric["checks"]
        if c not in hidden
        for t in c["tests"]
    )
    for check in hidden:
        texts += [check["title"], " ".join(check["hint"].split()), check["id"]]
        for test in check["tests"]:
            file, _, name = test.partition("::")
            source = (tests / file).read_text(encoding="utf-8")
            texts += [file, name]
            texts += [line.strip() for line in source.splitlines() if len(line.strip()) >= 16]
            for node in ast.walk(ast.parse(source)):
                if isinstance(node, ast.Constant) and isinstance(node.value, str):
                    value = node.value.strip()
                    if len(value) >= 12 and value not in public_source:
                        texts.append(value)
    return HiddenTexts(texts)
