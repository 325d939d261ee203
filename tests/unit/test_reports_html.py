"""report.html for a large class, the one-student HTML page and the terminal table at 80
columns. Pure unit tests: reports and summaries are built by hand, nothing is graded."""

from __future__ import annotations

import io
import re
from html.parser import HTMLParser

import pytest
from helpers import typed

from grader import classreport, gradebook, rubric
from grader.model import CheckResult, CheckStatus, Identity, Report, RunStatus
from grader.renderers import FORMATS, render, table
from grader.renderers import html as html_renderer

ASSIGNMENT = rubric.find("signals-profile")
CHECKS = [(c.id, c.title, float(c.points), c.hint) for c in ASSIGNMENT.checks]
MAX = sum(points for _, _, points, _ in CHECKS)
SCRIPT = "<script>alert(1)</script>"


def make_report(
    student: str,
    passed: int = len(CHECKS),
    status: str = "graded",
    diagnosis: str = "",
    name: str = "",
    late: bool = False,
    **extra,
) -> dict:
    """A report dict as the grader writes it: the first `passed` checks earn their points,
    the others fail (with `diagnosis`)."""
    checks = []
    for i, (cid, title, points, hint) in enumerate(CHECKS):
        ok = i < passed and status != "missing"
        checks.append(
            {
                "id": cid,
                "title": title,
                "status": "passed" if ok else ("skipped" if status == "missing" else "failed"),
                "score": points if ok else 0.0,
                "max_score": points,
                "feedback": "" if ok else f"{title}: not yet",
                "hint": hint,
                "diagnosis": "" if ok else diagnosis,
                "location": "",
                "student_traceback": [],
            }
        )
    data = {
        "schema_version": "1.2",
        "assignment": ASSIGNMENT.name,
        "submission": student,
        "status": status,
        "score": sum(c["score"] for c in checks),
        "max_score": MAX,
        "message": "",
        "checks": checks,
        "duration_s": 1.0,
        "grader_version": "0.1.0",
        "django_version": "5.2",
        "python_version": "3.11.7",
        "graded_at": "2026-01-01T00:00:00+00:00",
        "sandbox": "bwrap",
        "warnings": [],
        "rubric_digest": "abc",
        "output": "",
        "identity": {"platform": "moodle", "id": student, "name": name, "late": late},
    }
    data.update(extra)
    return data


class Page(HTMLParser):
    """What the tests read from a page: element ids, links, the order of student sections
    and overview rows, which sections are folded, diagnosis rows, chart ticks, rates."""

    VOID = {"br", "meta", "img", "hr", "input", "link"}

    def __init__(self, text: str):
        super().__init__(convert_charrefs=True)
        self.ids: list[str] = []
        self.hrefs: list[str] = []
        self.tags: set[str] = set()
        self.attrs_seen: set[str] = set()
        self.sections: list[tuple[str, str, bool]] = []  # (data-student, id, inside full marks)
        self.rows: list[tuple[str, str]] = []  # overview: (data-student, label text)
        self.diagnoses: dict[str, list[str]] = {}  # table id -> data-diagnosis, in order
        self.ticks: list[str] = []
        self.rates: list[str] = []  # text of pass-rate and share cells
        self.stats: dict[str, str] = {}
        self._stack: list[tuple[str, dict]] = []
        self._capture: list | None = None
        self._depth_capture = 0
        self.feed(text)
        self.close()

    def _inside(self, tag: str, **attrs) -> bool:
        return any(t == tag and all(a.get(k) == v for k, v in attrs.items()) for t, a in self._stack)

    def handle_startendtag(self, tag, attrs):  # <line .../>: nothing inside
        self.handle_starttag(tag, attrs, empty=True)

    def handle_starttag(self, tag, attrs, empty=False):
        a = {k: (v or "") for k, v in attrs}
        self.tags.add(tag)
        self.attrs_seen.update(a)
        if "id" in a:
            self.ids.append(a["id"])
        if "href" in a:
            self.hrefs.append(a["href"])
        if tag == "section" and "student" in a.get("class", "").split():
            self.sections.append(
                (a.get("data-student"), a.get("id", ""), self._inside("details", id="full-marks-students"))
            )
        if tag == "tr" and a.get("class") == "student-row":
            self.rows.append((a["data-student"], ""))
        if tag == "tr" and "data-diagnosis" in a:
            table_id = next(x.get("id") for t, x in reversed(self._stack) if t == "table")
            self.diagnoses.setdefault(table_id, []).append(a["data-diagnosis"])
        if tag not in self.VOID and not empty:
            self._stack.append((tag, a))
            self._start_capture(tag, a)

    def _start_capture(self, tag, a):
        kind = None
        if tag == "text" and a.get("class") == "tick":
            kind = "tick"
        elif (tag == "span" and a.get("class") == "pass-rate") or (tag == "td" and "share" in a.get("class", "")):
            kind = "rate"
        elif tag == "dd" and a.get("id", "").startswith("stat-"):
            kind = "stat:" + a["id"][5:]
        elif (
            tag == "td"
            and self._stack[-2:-1]
            and self._stack[-2][0] == "tr"
            and self._stack[-2][1].get("class") == "student-row"
            and not self.rows[-1][1]
        ):
            kind = "label"
        if kind:
            self._capture = [kind, "", len(self._stack)]

    def handle_endtag(self, tag):
        if self._capture and len(self._stack) == self._capture[2]:
            kind, text, _ = self._capture
            if kind == "tick":
                self.ticks.append(text)
            elif kind == "rate":
                self.rates.append(text)
            elif kind == "label":
                self.rows[-1] = (self.rows[-1][0], text)
            else:
                self.stats[kind[5:]] = text
            self._capture = None
        if any(t == tag for t, _ in self._stack):
            while self._stack.pop()[0] != tag:
                pass

    def handle_data(self, data):
        if self._capture:
            self._capture[1] += data


def expected_order(reports: list[dict]) -> list[str]:
    def natural(s: str) -> tuple:
        return tuple((0, int(p), "") if p.isdigit() else (1, 0, p.casefold()) for p in re.split(r"(\d+)", s) if p)

    def passing(r):
        return r["status"] == "graded" and r["score"] >= r["max_score"]

    failing = sorted(
        (r for r in reports if not passing(r)), key=lambda r: (r["score"], natural(r["submission"]), r["submission"])
    )
    full = sorted((r for r in reports if passing(r)), key=lambda r: (natural(r["submission"]), r["submission"]))
    return [r["submission"] for r in failing + full]


@pytest.fixture(scope="module")
def big_class():
    """300 students: every score, every status, names, late ones, 25 diagnoses, and ids that
    slug alike ("Zoë Ünal" and "zoe-unal", "a b" and "a-b", two ids without a letter HTML ids
    keep, a hostile one)."""
    reports = []
    for i in range(290):
        sid = str(5000 - i if i % 2 else 7 + i)  # distinct numeric ids, 1 to 4 digits
        status = ("graded", "graded", "graded", "error", "timeout", "missing", "tampered")[i % 7]
        passed = (i // 7) % (len(CHECKS) + 1)
        diagnosis = "diag-00" if i % 2 == 0 else f"diag-{1 + (i // 2) % 24:02d}"
        reports.append(
            make_report(
                sid, passed, status, diagnosis=diagnosis, name=f"Student Number{i}" if i % 3 else "", late=i % 11 == 0
            )
        )
    for sid in (
        "Zoë Ünal",
        "zoe-unal",
        "a b",
        "a-b",
        "日本",
        "中文",
        "A-B",
        "student",
        "x" * 200,
        '"><script>alert(1)</script>',
    ):
        reports.append(make_report(sid, 1, diagnosis="diag-00"))
    reports.sort(key=lambda r: r["submission"])  # as gradebook.load_reports does
    summary = gradebook.summarize(typed(reports))
    page = classreport.render(summary, typed(reports))
    return reports, summary, page, Page(page)


def test_300_students_failing_first_and_full_marks_folded(big_class):
    reports, summary, page, dom = big_class
    assert len(reports) == 300
    order = expected_order(reports)
    n_full = sum(1 for r in reports if r["status"] == "graded" and r["score"] == MAX)
    assert 0 < n_full < 300
    # Sections: who needs attention first (lowest score, then id), full marks last and folded.
    assert [s for s, _, _ in dom.sections] == order
    assert [folded for _, _, folded in dom.sections] == [False] * (300 - n_full) + [True] * n_full
    assert '<details class="group" id="full-marks-students">' in page
    # The overview table lists them in the same order.
    assert [s for s, _ in dom.rows] == order
    assert [
        float(summary["students"][[st["student"] for st in summary["students"]].index(s)]["score"]) for s in order[:3]
    ] == [0.0, 0.0, 0.0]
    # No script anywhere, the CSP kept.
    assert "<script" not in page and "script" not in dom.tags
    assert not any(a.startswith("on") for a in dom.attrs_seen)
    assert f'content="{classreport.CSP}"' in page


def test_anchors_are_unique_safe_and_every_link_resolves(big_class):
    reports, summary, page, dom = big_class
    assert len(dom.ids) == len(set(dom.ids))
    anchors = [a for _, a, _ in dom.sections]
    assert len(set(anchors)) == 300
    assert all(re.fullmatch(r"student(-[a-z0-9_-]+)?", a) for a in anchors), anchors
    by_student = {s: a for s, a, _ in dom.sections}
    assert by_student["zoe-unal"] != by_student["Zoë Ünal"]
    assert {by_student["Zoë Ünal"], by_student["zoe-unal"]} == {"student-zoe-unal", "student-zoe-unal-2"}
    assert by_student["7"] == "student-7" and by_student["4999"] == "student-4999"
    assert dom.hrefs and all(h.startswith("#") for h in dom.hrefs)
    missing = {h for h in dom.hrefs if h[1:] not in set(dom.ids)}
    assert not missing
    # Every student is linked from the overview; diagnoses link to the students they name.
    assert {h[1:] for h in dom.hrefs} == set(anchors)


def test_anchor_helpers():
    assert classreport.slug("Zoë Ünal") == "zoe-unal"
    assert classreport.slug('../<x>&"y') == "x-y"
    assert classreport.student_anchors(["a", "A", "a-2", "日本", "中文", "2", ""]) == [
        "student-a",
        "student-a-2",
        "student-a-2-2",
        "student",
        "student-2",
        "student-2-2",
        "student-3",
    ]


def test_every_diagnosis_is_on_the_page(big_class):
    reports, summary, page, dom = big_class
    names = [d["diagnosis"] for d in summary["diagnoses"]]
    assert len(names) == 25
    assert dom.diagnoses["diagnoses"] == names[: classreport.TOP_DIAGNOSES]
    assert dom.diagnoses["diagnoses-more"] == names[classreport.TOP_DIAGNOSES :]
    assert "see summary.json" not in page
    # A diagnosis many students share names every one of them (the rest folded), linked.
    top = summary["diagnoses"][0]
    assert len(top["students"]) > classreport.SHOWN_NAMES
    row = page.split(f'data-diagnosis="{top["diagnosis"]}"')[1].split("</tr>")[0]
    assert len(re.findall(r'<a href="#student[-"]', row)) == len(top["students"])


@pytest.mark.parametrize("peak", [0, 1, 2, 3, 4, 5, 7, 9, 11, 23, 300, 1001])
def test_chart_ticks_are_distinct_whole_numbers(peak):
    values = classreport.ticks(peak)
    assert values[0] == 0 and values[-1] >= max(peak, 1)
    assert 2 <= len(values) <= classreport.MAX_TICKS
    assert all(isinstance(v, int) for v in values)
    steps = {b - a for a, b in zip(values, values[1:])}
    assert len(steps) == 1  # evenly spaced, so no duplicates
    step = steps.pop()
    assert re.fullmatch(r"[125]0*", str(step))  # 1, 2, 5, 10, 20, 50, ...
    assert values[-1] - step < max(peak, 1)  # no empty band above the top
    # In the rendered chart too.
    distribution = [
        {"label": str(i), "from": float(i), "to": float(i), "count": c}
        for i, c in enumerate([0, peak, peak // 2, 1 if peak else 0])
    ]
    summary = gradebook.summarize(typed([make_report("a")]))
    summary["distribution"] = distribution
    ticks = Page(classreport.render(summary, typed([make_report("a")]))).ticks
    assert ticks == [str(v) for v in values]


def test_rates_have_one_format_everywhere():
    reports = [make_report("a"), make_report("b", 1, diagnosis="typo"), make_report("c", 1, diagnosis="typo")]
    page = classreport.render(gradebook.summarize(typed(reports)), typed(reports))
    dom = Page(page)
    assert dom.rates == ["100%", "33.3%", "33.3%", "33.3%", "66.7%"]  # 4 pass rates, 1 share
    assert "66.67" not in page and "0.67" not in page
    assert [classreport.pct(x) for x in (0, 1, 0.5, 2 / 3, 0.0004, 0.99996, None)] == [
        "0%",
        "100%",
        "50%",
        "66.7%",
        "<0.1%",
        ">99.9%",
        "–",
    ]


def test_names_late_marker_and_missing_students():
    reports = [
        make_report("1234", name="Ada <Lovelace>", late=True),
        make_report("2345", name="Alan Turing", passed=2),
        make_report("3456", status="missing", message=""),
        make_report("4567", status="missing"),
    ]
    summary = gradebook.summarize(typed(reports))
    page = classreport.render(summary, typed(reports))
    dom = Page(page)
    labels = dict(dom.rows)
    assert labels["1234"] == "Ada <Lovelace> (1234)late"
    assert labels["2345"] == "Alan Turing (2345)" and labels["3456"] == "3456"
    assert '<h3>Ada &lt;Lovelace&gt; (1234)<span class="late"' in page
    assert dom.stats["status-missing"] == "2" and dom.stats["status-graded"] == "2"
    assert '<td class="status status-missing">missing</td>' in page
    assert ".status-missing" in classreport.CSS
    missing = page.split('id="student-3456" data-student="3456">')[1].split("</section>")[0]
    assert "No submission was found" in missing and "<table" not in missing
    assert [s for s, _, _ in dom.sections] == ["3456", "4567", "2345", "1234"]


# ============================================================================ one student's page


def student_report(**identity) -> Report:
    checks = [
        CheckResult(
            "project-loads", "The project loads", CheckStatus.PASSED, 1, 1, feedback="ok", hint="PASSED-CHECK-HINT"
        ),
        CheckResult(
            "receiver-registered-in-ready",
            "Receiver <b>in</b> ready()",
            CheckStatus.FAILED,
            0,
            3,
            feedback=f"feedback {SCRIPT}",
            hint="hint <img src=x onerror=alert(1)>",
            diagnosis="connected-in-models",
            location="users/<models>.py:7",
            student_traceback=[
                "users/models.py:7 in <module>: from . import signals",
                "users/signals.py:3 in <module>: </pre><iframe>",
            ],
        ),
    ]
    return Report(
        assignment="signals-profile",
        submission=f"jdoe{SCRIPT}",
        status=RunStatus.GRADED,
        score=1,
        max_score=4,
        message=f"1 of 2 checks passed {SCRIPT}",
        checks=checks,
        duration_s=2.5,
        grader_version="0.1.0",
        django_version="5.2.1",
        python_version="3.11.7",
        graded_at="2026-01-01T00:00:00+00:00",
        sandbox="bwrap",
        warnings=[f"warning {SCRIPT}"],
        output="</details><script>x()</script>",
        identity=Identity(**identity) if identity else None,
    )


def test_html_format_is_registered():
    assert FORMATS["html"] == ("grader.renderers.html", ".html")
    from grader import cli

    assert cli.parse_format("html") == ("html", None)
    assert cli.format_path(gradebook.Path("reports/jdoe.json"), "html").name == "jdoe.html"
    assert render("html", student_report()) == html_renderer.render(student_report())


def test_student_page_escapes_everything_and_shows_the_feedback():
    page = html_renderer.render(student_report(name="Ada <script>", id="1234", late=True))
    dom = Page(page)
    assert "<script" not in page and "<iframe" not in page and "<img" not in page and "<b>in" not in page
    assert {"script", "iframe", "img", "link", "object", "embed"}.isdisjoint(dom.tags)
    assert not any(a.startswith("on") for a in dom.attrs_seen) and "src" not in dom.attrs_seen
    assert f'content="{classreport.CSP}"' in page and "<style>" in page
    assert "feedback &lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "Ada &lt;script&gt; (jdoe&lt;script&gt;alert(1)&lt;/script&gt;)" in page  # name (id)
    assert 'class="late"' in page
    for text in (
        "1 of 2 checks passed &lt;script&gt;",
        "The project loads",
        "Receiver &lt;b&gt;in&lt;/b&gt; ready()",
        "users/&lt;models&gt;.py:7",
        "users/signals.py:3 in &lt;module&gt;: &lt;/pre&gt;&lt;iframe&gt;",
        "hint: hint &lt;img src=x onerror=alert(1)&gt;",
        "warning &lt;script&gt;",
        "grader 0.1.0 · Django 5.2.1 · Python 3.11.7",
        "connected-in-models",
    ):
        assert text in page, text
    assert "PASSED-CHECK-HINT" not in page  # hints only for what did not pass
    assert '<span class="student-score">1</span> / 4' in page and "status-graded" in page
    assert dom.hrefs == []


def test_student_page_without_identity_and_only_its_own_report():
    plain = html_renderer.render(student_report())
    assert "<h2>jdoe&lt;script&gt;alert(1)&lt;/script&gt;</h2>" in plain and 'class="late"' not in plain
    other = Report.from_dict(make_report("someone-else", 1, name="Grace Hopper"))
    page = html_renderer.render(other)
    assert "Grace Hopper (someone-else)" in page and "jdoe" not in page and "Ada" not in page
    assert page.count("<section") == 1


# ============================================================================ terminal table

WORD_SPLIT = re.compile(r"[\s│┃]+")


def realistic_report() -> Report:
    """A report as the grader writes one for a common mistake, with the real rubric's titles
    and hints, a traceback, a warning and one path too long for any column."""
    long_path = "users/" + "very_long_package_name/" * 4 + "signals.py"
    checks = []
    for i, c in enumerate(ASSIGNMENT.checks):
        ok = i == 0
        checks.append(
            CheckResult(
                c.id,
                c.title,
                CheckStatus.PASSED if ok else CheckStatus.FAILED,
                c.points if ok else 0,
                c.points,
                feedback=""
                if ok
                else (
                    "Creating a user made 2 profiles instead of exactly one: the receiver "
                    "in users/signals.py runs twice because it is connected both in "
                    "users/models.py and in UsersConfig.ready()."
                ),
                hint=c.hint,
                diagnosis="" if ok else "connected-in-models",
                location="" if ok else "users/models.py:27",
                student_traceback=[]
                if ok
                else [
                    "users/signals.py:12 in create_profile: Profile.objects.create()",
                    f"{long_path}:3 in <module>: pass",
                ],
            )
        )
    return Report(
        ASSIGNMENT.name,
        "jdoe",
        RunStatus.GRADED,
        1,
        10,
        "1 of 4 checks passed.",
        checks,
        3.2,
        "0.1.0",
        "5.2",
        "3.11.7",
        "2026-01-01T00:00:00+00:00",
        sandbox="bwrap",
        warnings=["the 'notes' app has model changes without a migration"],
    )


def print_at(report: Report, width: int) -> str:
    from rich.console import Console

    buf = io.StringIO()
    table.print_table(report, Console(file=buf, width=width, color_system=None))
    return buf.getvalue()


@pytest.mark.parametrize("width", [80, 100, 120])
def test_table_never_splits_a_word_that_fits(width):
    report = realistic_report()
    out = print_at(report, width)
    lines = out.splitlines()
    assert all(len(line) <= width for line in lines)
    shown = set(WORD_SPLIT.split(out))
    check_w, _, feedback_w = table.ChecksTable(report).widths(width)
    assert check_w >= len("receiver-registered-in-ready")
    texts = [(c.title + " " + c.id, check_w) for c in report.checks]
    for c in report.checks:
        texts.append((c.feedback + " where: " + c.location, feedback_w))
        if c.status != CheckStatus.PASSED:
            texts.append(("hint: " + c.hint, feedback_w))
        texts += [(line, feedback_w - table.TRACEBACK_INDENT) for line in c.student_traceback]
    texts += [(report.message, width), ("warning: " + report.warnings[0], width)]
    checked = 0
    for text, room in texts:
        for word in text.split():
            if len(word) <= room:
                assert word in shown, (word, width)
                checked += 1
    assert checked > 150
    # What does not fit a column is folded, not lost: the column's lines put it back together.
    long_path = report.checks[1].student_traceback[1].split(":")[0]
    assert len(long_path) > feedback_w
    feedback_column = "".join(line.split("│")[3].strip() for line in lines if line.count("│") == 4)
    assert long_path in feedback_column


def test_table_as_text_file():
    text = render("table", realistic_report())
    assert "receiver-registered-in-ready" in text and "Score: 1 / 10" in text
    assert all(len(line) <= 120 for line in text.splitlines())
    assert "FAIL" in text and "PASS" in text and "0/3" in text and "1/1" in text
    assert "\x1b" not in text  # plain text, no colour codes
