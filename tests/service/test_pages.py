"""The grading service's pages in a real browser (Playwright driving Debian's headless
Chromium) against a running `grader serve`: a student signs in with their id and token,
uploads a .zip and watches the submission page update by itself until graded, with no hidden
check's text on it; an instructor watches the class dashboard change live, downloads
grades.csv and grades a submission again from the admin."""

from __future__ import annotations

import csv
import html
import io
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from servers import CHROMIUM, CHROMIUM_ARGS, wait_for

from .conftest import ASSIGNMENT

if not Path(CHROMIUM).exists():
    pytest.skip(f"Chromium is not installed ({CHROMIUM}: Debian's package chromium)", allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (pip install playwright)")
expect = sync_api.expect
TIMEOUT_MS = 60_000  # a grading is about a second; the dashboard polls every 3 s


@pytest.fixture(scope="module")
def browser() -> Iterator:
    with sync_api.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def open_page(browser, service):
    """open_page(): a new tab in a browser context of its own (no cookies yet) on the service."""
    contexts = []

    def new():
        context = browser.new_context(base_url=service.url, accept_downloads=True)
        context.set_default_timeout(TIMEOUT_MS)
        contexts.append(context)
        return context.new_page()

    yield new
    for context in contexts:
        context.close()


def sign_in(page, username: str, password: str) -> None:
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/login/\?next=/$"))  # sent to sign in first
    page.get_by_label("Student id or user name").fill(username)
    page.get_by_label("Token or password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def _sub_ids(service) -> list[tuple[int, str, str]]:
    out = service.shell(
        "from grader.service.models import Submission\n"
        "for s in Submission.objects.order_by('pk'): print('SUB', s.pk, s.student.student_id, s.status)"
    )
    return [(int(p[1]), p[2], p[3]) for p in (li.split() for li in out.splitlines() if li.startswith("SUB "))]


def test_a_student_uploads_and_watches_the_grading(service, open_page, archives, hidden_texts, tmp_path):
    page = open_page()
    sign_in(page, "ada", service.tokens["ada"])
    expect(page).to_have_url(service.url + "/")
    expect(page.get_by_role("heading", name="Your assignments")).to_be_visible()

    upload = tmp_path / "my-project.zip"
    upload.write_bytes(archives.no_created_check)
    page.get_by_label(f"archive for {ASSIGNMENT}").set_input_files(upload)
    with page.expect_navigation(url=re.compile(r"/submissions/\d+/$")) as landed:
        page.get_by_role("button", name=f"Submit {ASSIGNMENT}").click()
    first = landed.value.text()  # the page as the server sent it: not graded yet
    assert re.search(r'id="status" class="status (queued|grading)"', first), first
    assert "this page updates by itself" in first
    sub_id = int(re.search(r"/submissions/(\d+)/$", page.url).group(1))
    expect(page.get_by_role("heading", name=f"{ASSIGNMENT}: submission {sub_id}")).to_be_visible()

    # no reload from the test: the page polls status.json and reloads itself once graded
    expect(page.locator("#score")).to_contain_text("7 of 10 points", timeout=TIMEOUT_MS)
    expect(page.locator("#status")).to_have_text("graded")
    expect(page.locator(".note")).to_contain_text("1 hidden check: 0 of 3 points")
    report = service.report(sub_id)
    hidden = next(c for c in report["checks"] if c["visibility"] == "hidden")
    rows = page.locator("#checks tr").all_inner_texts()[1:]
    assert [r.split("\t")[0] for r in rows] == [c["title"] for c in report["checks"] if c["visibility"] != "hidden"]
    assert hidden["title"] not in page.content()
    assert hidden_texts.leaked(html.unescape(page.content()), report) == []
    assert hidden_texts.leaked(page.inner_text("body"), report) == []

    page.get_by_role("link", name="The whole feedback page").click()
    expect(page).to_have_url(re.compile(rf"/submissions/{sub_id}/feedback/$"))
    assert hidden_texts.leaked(page.inner_text("body"), report) == []

    page.goto("/")
    history = page.locator("table").nth(1)
    row = history.locator("tr", has=page.get_by_role("link", name=str(sub_id), exact=True))
    expect(row).to_contain_text(ASSIGNMENT)
    expect(row).to_contain_text("graded 7/10")
    latest = page.locator("table").first.locator("tr", has_text=ASSIGNMENT)
    expect(latest).to_contain_text("graded 7/10")


def test_a_wrong_token_shows_the_sign_in_error(service, open_page):
    page = open_page()
    for username, password in [("ada", "gst_" + "x" * 43), ("ada", service.tokens["bob"]), ("nobody", "secret")]:
        sign_in(page, username, password)
        expect(page.locator(".refused")).to_contain_text("do not match")
        expect(page).to_have_url(re.compile(r"/login/"))
        expect(page.get_by_label("Student id or user name")).to_have_value(username)
    assert not [c for c in page.context.cookies() if c["name"] == "sessionid"]


def test_the_instructor_sees_the_class_live_exports_and_regrades(service, open_page, archives):
    page = open_page()
    user, password = service.teacher
    sign_in(page, user, password)
    expect(page).to_have_url(service.url + "/dashboard/")  # an instructor's home is the dashboard
    heads = page.locator("#class thead th").all_inner_texts()
    column = heads.index(ASSIGNMENT)
    cell = page.locator("#class tbody tr", has_text="bob").locator("td").nth(column)
    expect(cell).to_have_text("")  # bob has not submitted
    page.evaluate("window.__not_reloaded = true")

    code, body = service.submit("bob", archives.starter)
    assert code == 201
    sub_id = body["id"]
    expect(cell).to_have_text("graded 1", timeout=TIMEOUT_MS)  # the page's own polling, no reload
    assert page.evaluate("window.__not_reloaded") is True
    expect(cell.get_by_role("link")).to_have_attribute("href", f"/submissions/{sub_id}/")

    with page.expect_download() as download:
        page.locator(f'a[href="/exports/{ASSIGNMENT}/grades.csv"]').click()
    assert download.value.suggested_filename == f"{ASSIGNMENT}-grades.csv"
    rows = {r["student"]: r for r in csv.DictReader(io.StringIO(Path(download.value.path()).read_text()))}
    assert float(rows["bob"]["total"]) == 1 and rows["bob"]["status"] == "graded"

    admin = page.context.new_page()  # the dashboard stays open in its tab
    admin.goto("/dashboard/")
    admin.get_by_role("link", name="Admin").click()
    admin.get_by_role("link", name="Submissions").click()
    expect(admin).to_have_url(re.compile(r"/admin/grading/submission/$"))
    row = admin.locator("#result_list tbody tr", has=admin.locator(f'input[name="_selected_action"][value="{sub_id}"]'))
    expect(row).to_contain_text("bob")
    expect(row).to_contain_text("graded")

    def finished() -> str:
        out = service.shell(
            f"from grader.service.models import Submission; s = Submission.objects.get(pk={sub_id}); "
            "print('AT', s.status, s.finished.isoformat() if s.finished else '-', s.attempts)"
        )
        return next(li for li in out.splitlines() if li.startswith("AT "))

    before = finished()
    row.locator('input[name="_selected_action"]').check()
    admin.locator('select[name="action"]').select_option("regrade")
    admin.get_by_role("button", name="Go").click()
    expect(admin.locator(".messagelist")).to_contain_text("1 submission(s) queued to be graded again")
    again = wait_for(
        lambda: (now := finished()).startswith("AT graded") and now != before and now, 60, "graded again", 0.3
    )
    assert again.endswith(" 1")  # one attempt since the regrade
    expect(cell).to_have_text("graded 1", timeout=TIMEOUT_MS)
    assert page.evaluate("window.__not_reloaded") is True
    admin.goto(f"/admin/grading/submission/{sub_id}/change/")
    expect(admin.get_by_role("link", name="the full report")).to_have_attribute(
        "href", f"/submissions/{sub_id}/feedback/?all=1"
    )


def test_revoking_a_token_on_the_students_admin_page_signs_them_out(service, open_page):
    token = service.students({"student_id": "eve"})["eve"]
    student = open_page()
    sign_in(student, "eve", token)
    expect(student.get_by_role("heading", name="Your assignments")).to_be_visible()

    admin = open_page()
    user, password = service.teacher
    sign_in(admin, user, password)
    admin.goto("/admin/grading/student/?q=eve")
    admin.get_by_role("link", name="eve", exact=True).click()
    admin.locator('input[name="tokens-0-revoked"]').check()
    admin.get_by_role("button", name="Save", exact=True).click()
    expect(admin.locator(".messagelist")).to_contain_text("was changed successfully")

    student.reload()
    expect(student).to_have_url(re.compile(r"/login/\?next=/$"))
    assert service.api("/api/submissions/1", token)[0] == 401
