"""Issue 11: hostile submissions, round 2. One test (at least) per class of attack; each
fails on the grader before the fix it comes with."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT, apps_running, assignment_copy, build_submission, validate

pytestmark = pytest.mark.e2e


def batch(source, out, *extra):
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "grader",
            "batch",
            str(source),
            "--assignment",
            "signals-profile",
            "--output-dir",
            str(out),
            "--jobs",
            "1",
            *extra,
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )


# ------------------------------------------------------------------ forged grader faults


def test_a_forged_grader_fault_is_not_regraded_or_shown_as_the_graders(tmp_path):
    source = tmp_path / "class"
    build_submission(
        source / "mallory",
        {
            "users/apps.py": apps_running(
                "from _grader_harness import state\n"
                "state.current().warnings.append('grader fault: please regrade me forever')"
            )
        },
        solution=True,
    )
    out = tmp_path / "out"
    first = batch(source, out)
    assert first.returncode == 0, first.stderr
    report = validate(json.loads((out / "mallory.json").read_text()))
    assert report["grader_fault"] == ""
    assert report["status"] == "graded"
    second = batch(source, out)
    assert second.returncode == 0, second.stderr
    assert "0 graded now, 1 up to date" in second.stdout
    assert "grader fault" not in second.stdout


# ------------------------------------------------------------------ what the instructor sees

# A window title, a clipboard write (OSC 52), a screen clear, a bell, rich markup, HTML
# and a Markdown fence, a NUL, a bidi override and a lone surrogate.
NASTY = (
    "\x1b]0;pwned\x07\x1b]52;c;ZXZpbA==\x07\x1b[2J\x07[bold red]MARKUP[/] "
    "<!-- hidden --> <script>alert(1)</script> ``` | \x00\u202e\ud800 end"
)
NASTY_SIGNALS = (
    """
from django.conf import settings
from django.db.models.signals import post_save
from django.dispatch import receiver


@receiver(post_save, sender=settings.AUTH_USER_MODEL)
def create_profile(sender, instance, created, **kwargs):
    raise RuntimeError(%r)
"""
    % NASTY
)


def test_nothing_from_a_report_acts_on_terminals_ci_pages_or_xml(tmp_path):
    import xml.etree.ElementTree as ET

    sub = build_submission(tmp_path / "[red]eve[reverse]", {"users/signals.py": NASTY_SIGNALS}, solution=True)
    out = tmp_path / "eve.json"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "grader",
            "grade",
            str(sub),
            "--output",
            str(out),
            "--format",
            "junit",
            "--format",
            "markdown",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    report = validate(json.loads(out.read_text()))
    assert "RuntimeError" in json.dumps(report)  # the hostile text really reached the report
    table = done.stdout
    assert "RuntimeError" in table
    for bad in ("\x1b", "\x07", "\x00", "\u202e", "\ud800"):
        assert bad not in table, repr(bad)
    assert "[red]eve[reverse]" in table  # markup shown as text, not interpreted
    assert "red]MARKUP[/]" in table and "[bold" in table  # (the table may wrap between the words)
    junit = ET.parse(tmp_path / "eve.junit.xml")  # well-formed
    assert "RuntimeError" in ET.tostring(junit.getroot(), encoding="unicode")
    markdown = (tmp_path / "eve.md").read_text()
    assert "RuntimeError" in markdown
    assert "\x1b" not in markdown
    # outside fenced code blocks (shown as text by every renderer) no HTML of the submission's
    # survives, and no fence of the submission's closes the grader's
    import re

    prose = re.sub(r"(?ms)^(`{3,})text\n.*?^\1$", "", markdown)
    assert "```" not in prose.replace("\\`", "")
    for bad in ("<script>", "<!--"):
        assert bad not in prose, bad
    assert "&lt;script&gt;" in prose


# ------------------------------------------------------------------ skips from student code

# Creates the profile for users made with create_user ("-cu" is that test's tag) and stops
# every other test: before, the stopped tests counted as skipped and the check passed.
STOPPER_SIGNALS = """
from django.conf import settings
from django.db.models.signals import post_save
from django.dispatch import receiver

from .models import Profile


@receiver(post_save, sender=settings.AUTH_USER_MODEL)
def create_profile(sender, instance, created, **kwargs):
    if created and instance.get_username().endswith("-cu"):
        Profile.objects.get_or_create(user=instance)
        return
    import pytest  # noqa: F401
    %s
"""
STOPPERS = {
    "skip": "pytest.skip('not today')",
    "xfail": "pytest.xfail('expected')",
    "exit": "pytest.exit('bye')",
    "keyboard-interrupt": "raise KeyboardInterrupt",
    "system-exit": "raise SystemExit(0)",
    "base-exception": "raise BaseException('stop')",
}


@pytest.mark.parametrize("how", list(STOPPERS))
def test_skips_and_exits_raised_by_student_code_are_failures(tmp_path, how):
    sub = build_submission(
        tmp_path / "sub",
        {"users/signals.py": STOPPER_SIGNALS % STOPPERS[how], "users/apps.py": apps_running("pass")},
        solution=True,
    )
    out = tmp_path / "r.json"
    done = subprocess.run(
        [sys.executable, "-m", "grader", "grade", str(sub), "--output", str(out), "--quiet"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    report = validate(json.loads(out.read_text()))
    created = next(c for c in report["checks"] if c["id"] == "profile-created-once")
    assert created["status"] == "failed" and created["score"] == 0, created
    assert created["diagnosis"] == "test-stopped", created
    assert "only the grader may skip or stop a check" in created["feedback"]
    assert "raised Failed" not in created["feedback"]  # the suite's own failures stay its own
    assert created["location"].startswith("users/signals.py:")
    assert report["score"] == 4  # project-loads and registration: nothing more


# ------------------------------------------------------------------ without the sandbox

NO_BWRAP = {"PATH": str(Path(sys.executable).parent)}  # no /usr/bin: no bwrap to be found


def test_a_class_is_never_graded_without_the_sandbox_by_accident(tmp_path):
    import os

    source = tmp_path / "class"
    build_submission(source / "ada", solution=True)
    out = tmp_path / "out"
    env = {**os.environ, **NO_BWRAP}
    refused = subprocess.run(
        [
            sys.executable,
            "-m",
            "grader",
            "batch",
            str(source),
            "--assignment",
            "signals-profile",
            "--output-dir",
            str(out),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    assert refused.returncode == 2, refused.stderr
    assert "bubblewrap" in refused.stderr and "--sandbox none" in refused.stderr
    assert not (out / "ada.json").exists()
    explicit = subprocess.run(
        [
            sys.executable,
            "-m",
            "grader",
            "batch",
            str(source),
            "--assignment",
            "signals-profile",
            "--output-dir",
            str(out),
            "--sandbox",
            "none",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    assert explicit.returncode == 0, explicit.stderr
    assert explicit.stderr.count("WITHOUT the sandbox") == 1
    summary = json.loads((out / "summary.json").read_text())
    assert summary["unsandboxed"] == ["ada"]
    assert "Graded without the sandbox" in (out / "report.html").read_text()


def test_grade_without_the_sandbox_says_so_loudly(tmp_path):
    import os

    sub = build_submission(tmp_path / "sub", solution=True)
    done = subprocess.run(
        [sys.executable, "-m", "grader", "grade", str(sub), "--output", str(tmp_path / "r.json")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, **NO_BWRAP},
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.lstrip().startswith("NOT SANDBOXED")
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["sandbox"] == "none"
    assert any("without the sandbox" in w for w in report["warnings"])


# ------------------------------------------------------------------ always a report


@pytest.fixture(autouse=True)
def _remove_deep_trees(tmp_path):
    """pytest removes old temporary folders with shutil.rmtree, which recurses: the trees
    1,000 levels deep these tests make are removed here, iteratively."""
    yield
    from grader import fstree

    fstree.remove(tmp_path)


def grade_cli(sub, out, *extra, env=None):
    import os

    return subprocess.run(
        [sys.executable, "-m", "grader", "grade", str(sub), "--output", str(out), "--quiet", *extra],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, **(env or {})},
    )


def nest(root: Path, depth: int) -> None:
    """`depth` folders inside each other under root (os.makedirs would hit PATH_MAX)."""
    import os

    fd = os.open(root, os.O_RDONLY)
    try:
        for _ in range(depth):
            os.mkdir("d", dir_fd=fd)
            inner = os.open("d", os.O_RDONLY, dir_fd=fd)
            os.close(fd)
            fd = inner
        with open(os.open("f.py", os.O_WRONLY | os.O_CREAT, dir_fd=fd), "w") as fh:
            fh.write("x = 1\n")
    finally:
        os.close(fd)


def test_a_deep_or_huge_submission_gets_a_report_not_a_crash(tmp_path):
    deep = build_submission(tmp_path / "deep", solution=True)
    (deep / "nest").mkdir()
    nest(deep / "nest", 600)
    done = grade_cli(deep, tmp_path / "deep.json")
    assert done.returncode == 0, done.stderr
    report = validate(json.loads((tmp_path / "deep.json").read_text()))
    assert report["status"] == "error" and "nested more than 64 levels" in report["message"]

    sparse = build_submission(tmp_path / "sparse", solution=True)
    with open(sparse / "big.bin", "wb") as fh:  # 2 GB that take no room on disk
        fh.truncate(2 * 1024**3)
    done = grade_cli(sparse, tmp_path / "sparse.json")
    assert done.returncode == 0, done.stderr
    report = validate(json.loads((tmp_path / "sparse.json").read_text()))
    assert report["status"] == "error" and "more than 256 MB" in report["message"]


DEEP_INSIDE = """
import os
fd = os.open(".", os.O_RDONLY)
for _ in range(1100):
    os.mkdir("n", dir_fd=fd)
    inner = os.open("n", os.O_RDONLY, dir_fd=fd)
    os.close(fd)
    fd = inner
os.close(fd)
"""


def test_folders_made_inside_the_sandbox_cannot_crash_the_grader(tmp_path):
    import os

    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir()
    sub = build_submission(tmp_path / "sub", {"users/apps.py": apps_running(DEEP_INSIDE)}, solution=True)
    done = grade_cli(sub, tmp_path / "r.json", env={"TMPDIR": str(tmpdir)})
    assert done.returncode == 0, done.stderr
    report = validate(json.loads((tmp_path / "r.json").read_text()))
    assert report["score"] == 10
    assert os.listdir(tmpdir) == []  # the work folders were removed, however deep


# The report the child hands over, replaced from inside it: valid JSON nested 200,000 deep.
DEEP_REPORT = """
import sys
main = sys.modules["__main__"]
def _write(fd, payload):
    with open(fd, "w", closefd=True) as out:
        out.write("[" * 200000 + "]" * 200000)
main._write = _write
"""
# Evidence made pathological: infinity where a user's key should be, written on the grader's
# channel (unsigned), and a view that never ends where the model map should be.
INFINITE_EVIDENCE = """
import fcntl, os, stat
from django.db.models.signals import post_save
def _spoil(sender, **kwargs):
    for fd in range(3, 64):
        try:
            if fcntl.fcntl(fd, fcntl.F_GETFL) & os.O_APPEND and stat.S_ISREG(os.fstat(fd).st_mode):
                os.write(fd, b'0 {"seq": 3, "kind": "ledger", "nodeid": "x", "entry": "object:user", "value": Infinity}\\n')
        except OSError:
            pass
post_save.connect(_spoil, weak=False, dispatch_uid="spoil")
"""
ENDLESS_VIEW = """
import sys
main = sys.modules["__main__"]
_write = main._write
def _spoiled_write(fd, payload):  # after the last test: the profile table becomes endless
    from django.db import connection
    with connection.cursor() as c:
        c.execute("DROP TABLE users_profile")
        c.execute("CREATE VIEW users_profile AS WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL "
                  "SELECT x + 1 FROM n) SELECT x AS id, '' AS bio, x AS user_id FROM n")
    _write(fd, payload)
main._write = _spoiled_write
"""


@pytest.mark.parametrize(
    "code",
    [DEEP_REPORT, INFINITE_EVIDENCE, ENDLESS_VIEW],
    ids=["deep-json-report", "infinity-in-evidence", "endless-view"],
)
def test_pathological_reports_and_databases_still_give_a_report(tmp_path, code):
    sub = build_submission(tmp_path / "sub", {"users/apps.py": apps_running(code)}, solution=True)
    done = grade_cli(sub, tmp_path / "r.json")
    assert done.returncode == 0, done.stderr
    report = validate(json.loads((tmp_path / "r.json").read_text()))
    assert report["status"] in ("error", "tampered")
    assert report["score"] == 0


# ------------------------------------------------------------------ batch integrity


def test_a_project_that_links_to_a_neighbour_is_not_graded_as_its_own(tmp_path):
    source = tmp_path / "class"
    build_submission(source / "bob" / "mysite", solution=True)
    (source / "mallory").mkdir()
    (source / "mallory" / "mysite").symlink_to(source / "bob" / "mysite")
    out = tmp_path / "out"
    done = batch(source, out)
    assert done.returncode == 0, done.stderr
    assert json.loads((out / "bob.json").read_text())["score"] == 10
    mallory = validate(json.loads((out / "mallory.json").read_text()))
    assert mallory["score"] == 0 and "link to something outside your submission" in mallory["message"]


def test_a_resubmission_is_judged_by_its_content_not_its_times(tmp_path):
    import os
    import time

    source = tmp_path / "class"
    sub = build_submission(source / "ada")  # the untouched template: 1 point
    old = time.time() - 86400
    for path in sorted(sub.rglob("*"), reverse=True):
        os.utime(path, (old, old), follow_symlinks=False)
    out = tmp_path / "out"
    assert batch(source, out).returncode == 0
    assert json.loads((out / "ada.json").read_text())["score"] == 1
    # the resubmission: the solution, with the old files' time stamps
    build_submission(tmp_path / "solved", solution=True)
    for rel in ("users/signals.py", "users/apps.py"):
        (sub / rel).write_bytes((tmp_path / "solved" / rel).read_bytes())
        os.utime(sub / rel, (old, old))
    again = batch(source, out)
    assert again.returncode == 0, again.stderr
    assert "1 graded now" in again.stdout
    assert json.loads((out / "ada.json").read_text())["score"] == 10
    # and a resubmission that adds folders 1,000 deep: a report, and the batch finishes
    nest(sub, 1000)
    deep = batch(source, out)
    assert deep.returncode == 1, deep.stderr  # a report, and "no submission could be graded"
    assert "no submission could be graded" in deep.stderr
    assert "nested more than 64 levels" in json.loads((out / "ada.json").read_text())["message"]


def test_a_class_zip_with_a_folder_1000_deep_still_gives_every_report(tmp_path):
    import zipfile

    build_submission(tmp_path / "build" / "ada", solution=True)
    archive = tmp_path / "class.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for path in sorted((tmp_path / "build" / "ada").rglob("*")):
            if path.is_file():
                zf.write(path, str(path.relative_to(tmp_path / "build")))
        zf.writestr("eve/" + "d/" * 1000 + "f.py", "x = 1\n")
        zf.writestr("eve/manage.py", "# manage\n")
    out = tmp_path / "out"
    done = batch(archive, out)
    assert done.returncode == 0, done.stderr
    assert json.loads((out / "ada.json").read_text())["score"] == 10
    eve = validate(json.loads((out / "eve.json").read_text()))
    assert eve["status"] == "error" and "nested more than 64 levels" in eve["message"]
    assert (out / "grades.csv").is_file() and (out / "report.html").is_file()


# ------------------------------------------------------------------ points on the time-out path

# The template (no profile receiver: 1 point honestly). In the first creation test a pre_save
# receiver has the grader's own helpers write the end and the verdict the registration test
# would leave had it passed, then hangs.
FORGE_THEN_HANG = """
from django.db.models.signals import pre_save
def _forge(sender, **kwargs):
    from _grader_harness import plugin, state
    state.current().nodeid = "test_registration.py::test_receiver_registered_in_ready"
    plugin.evidence("done")
    plugin._send_verdict(state.current().nodeid, {"setup": "passed", "call": "passed", "teardown": "passed"})
    while True:
        pass
pre_save.connect(_forge, weak=False)
"""


def test_evidence_forged_before_a_hang_earns_nothing(tmp_path, tmp_path_factory):
    quick = assignment_copy(tmp_path_factory, 6)
    sub = build_submission(tmp_path / "sub", {"users/apps.py": apps_running(FORGE_THEN_HANG)})
    done = grade_cli(sub, tmp_path / "r.json", "--assignment", str(quick))
    assert done.returncode == 0, done.stderr
    report = validate(json.loads((tmp_path / "r.json").read_text()))
    assert report["status"] == "tampered", report["message"]
    assert report["score"] == 0
    assert "users/apps.py:" in report["message"]  # where the submission called the grader's helpers


# ------------------------------------------------------------------ the ready() check

# A function *named* ready, with an AppConfig as `self`, called from models.py.
FAKE_READY_MODELS = """

from django.apps import apps as _apps


def ready(self=_apps.get_app_config("users")):
    from . import signals  # noqa: F401


ready()
"""
# The receiver connected from models.py, then ready() rewrites the harness's record of it.
EDIT_RECORD = """
from _grader_harness import state
for c in state.current().connects:
    c.phase, c.app_label = "ready", "users"
"""


@pytest.mark.parametrize("how", ["function-named-ready", "ready-edits-the-record"])
def test_only_djangos_own_call_of_ready_counts(tmp_path, how):
    from conftest import GOOD_SIGNALS, TEMPLATE

    models = (TEMPLATE / "users" / "models.py").read_text()
    if how == "function-named-ready":
        files = {"users/signals.py": GOOD_SIGNALS, "users/models.py": models + FAKE_READY_MODELS}
    else:
        files = {
            "users/signals.py": GOOD_SIGNALS,
            "users/models.py": models + "\n\nfrom . import signals  # noqa: E402,F401\n",
            "users/apps.py": apps_running(EDIT_RECORD, import_signals=False),
        }
    sub = build_submission(tmp_path / "sub", files)
    done = grade_cli(sub, tmp_path / "r.json")
    assert done.returncode == 0, done.stderr
    report = validate(json.loads((tmp_path / "r.json").read_text()))
    reg = next(c for c in report["checks"] if c["id"] == "receiver-registered-in-ready")
    assert reg["score"] == 0, (report["status"], report["message"], reg)
    if how == "function-named-ready":
        assert reg["diagnosis"] == "connected-in-models", reg
    else:  # the record was rewritten in the child; what the grader saw as it happened disagrees:
        # graded on the grader's own record (issue 21: a disagreement alone is no proof of tampering)
        assert report["status"] == "graded", report["message"]
        assert reg["diagnosis"] == "evidence-disagrees", reg


# ------------------------------------------------------------------ nothing hidden reaches the student

# On the first save: print every hidden test module's source and where things are, then
# (on a re-save) raise an exception that quotes a hidden line.
LEAKER_SIGNALS = """
import sys

from django.conf import settings
from django.db.models.signals import post_save
from django.dispatch import receiver

from .models import Profile

SHOWN = []


def hidden_modules():
    return [m for name, m in list(sys.modules.items()) if name.startswith("test_") and getattr(m, "__file__", None)]


@receiver(post_save, sender=settings.AUTH_USER_MODEL)
def create_profile(sender, instance, created, **kwargs):
    if created:
        Profile.objects.get_or_create(user=instance)
    if not SHOWN:
        SHOWN.append(1)
        for module in hidden_modules():
            print("LEAK", module.__file__)
            print(open(module.__file__).read())
        import _grader_harness, django
        print("LEAK-PATHS", sys.prefix, _grader_harness.__file__, django.__file__, sys.executable)
    elif not created:
        source = open(hidden_modules()[0].__file__).read().splitlines()
        raise RuntimeError(" / ".join(line for line in source if len(line.strip()) > 20)[:1000])
"""


def test_hidden_source_and_grader_paths_never_reach_the_student(tmp_path):
    from conftest import ASSIGNMENT

    from grader import redact

    sub = build_submission(tmp_path / "sub", {"users/signals.py": LEAKER_SIGNALS}, solution=True)
    out = tmp_path / "leak.json"
    done = grade_cli(sub, out, "--format", "markdown", "--format", "junit", "--format", "gradescope")
    assert done.returncode == 0, done.stderr
    report = validate(json.loads(out.read_text()))
    assert "LEAK" in report["output"] and redact.HIDDEN in report["output"]  # it really tried
    resave = next(c for c in report["checks"] if c["id"] == "resave-no-duplicate")
    assert redact.HIDDEN in resave["feedback"]
    hidden = redact.fragments(ASSIGNMENT / "tests")
    host = [p for p in redact.grader_paths(ASSIGNMENT, ROOT) if len(p) > 4]
    for path in (out, tmp_path / "leak.md", tmp_path / "leak.junit.xml", tmp_path / "leak.gradescope.json"):
        text = path.read_text()
        for fragment in hidden:
            assert fragment not in text, (path.name, fragment)
        for folder in host:
            assert folder not in text, (path.name, folder)
    assert "<grader>" in report["output"]


# ------------------------------------------------------------------ disk and neighbours

# Files written, deleted and kept open (their space is still held, but no folder shows
# them), in every folder the child can write; up to 1.4 GB. Each step says where it wrote.
HOLD_DELETED = """
import os

def fstype(path):
    best = ("", "")
    for line in open("/proc/self/mountinfo"):
        parts = line.split()
        mount_point, kind = parts[4], parts[parts.index("-") + 1]
        if (path.rstrip("/") + "/").startswith(mount_point.rstrip("/") + "/") and len(mount_point) >= len(best[0]):
            best = (mount_point, kind)
    return best[1]

held, total = [], 0
for i in range(12):
    for folder in ("/tmp", os.getcwd()):
        name = os.path.join(folder, "held-%d" % i)
        try:
            fh = open(name, "wb")
            fh.write(b"x" * (60 << 20))
            fh.flush()
        except OSError:
            continue
        os.unlink(name)
        held.append(fh)
        total += 60
        print("HELD-MB", total, fstype("/tmp"), fstype(os.getcwd()), flush=True)
"""


def test_space_held_by_deleted_files_is_capped_and_never_on_the_graders_disk(tmp_path):
    import re

    from grader import sandbox

    if sandbox.bwrap_problem():
        pytest.skip(f"bubblewrap: {sandbox.bwrap_problem()}")
    sub = build_submission(tmp_path / "sub", {"users/apps.py": apps_running(HOLD_DELETED)}, solution=True)
    done = grade_cli(sub, tmp_path / "r.json", "--sandbox", "bwrap")
    assert done.returncode == 0, done.stderr
    report = validate(json.loads((tmp_path / "r.json").read_text()))
    steps = re.findall(r"HELD-MB (\d+) (\S+) (\S+)", report["output"])
    assert steps, report["output"]
    assert all(tmp == "tmpfs" and run == "tmpfs" for _, tmp, run in steps), steps  # RAM, capped: not our disk
    assert int(steps[-1][0]) <= 512 + 768  # the two caps: /tmp, and the submission's folder
    assert report["status"] == "error" and "wrote more than 512 MB" in report["message"]
    assert report["score"] == 0


def test_a_full_disk_on_the_graders_side_is_a_grader_fault(tmp_path, monkeypatch):
    import errno
    import shutil as shutil_module
    from collections import namedtuple

    from grader import api, fstree, runner

    sub = build_submission(tmp_path / "sub", solution=True)
    # while copying the submission ...
    real_copyfile = shutil_module.copyfile

    def full(src, dst, **kwargs):
        if str(src).endswith("signals.py"):
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_copyfile(src, dst, **kwargs)

    monkeypatch.setattr(fstree.shutil, "copyfile", full)
    report = api.grade(sub, sandbox="none")
    assert report.status.value == "error" and report.score == 0
    assert "disk is full" in report.grader_fault and "fault of the grader" in report.message
    monkeypatch.setattr(fstree.shutil, "copyfile", real_copyfile)
    # ... or after a run, when the database could not grow
    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(runner.shutil, "disk_usage", lambda path: usage(10 << 30, 10 << 30, 1 << 20))
    report = api.grade(sub, sandbox="none")
    assert report.grader_fault == "the grader's disk has only 1 MB free"
    assert report.score == 0  # nothing is charged to the student: the batch grades it again


def test_an_instructor_can_hide_what_submissions_print(tmp_path, tmp_path_factory):
    quiet = assignment_copy(tmp_path_factory, 60)
    rubric = quiet / "rubric.toml"
    rubric.write_text(rubric.read_text().replace('[visibility]\noutput = "visible"', '[visibility]\noutput = "hidden"'))
    sub = build_submission(tmp_path / "sub", {"users/apps.py": apps_running("print('SECRET-PRINT')")}, solution=True)
    done = grade_cli(sub, tmp_path / "r.json", "--assignment", str(quiet))
    assert done.returncode == 0, done.stderr
    report = validate(json.loads((tmp_path / "r.json").read_text()))
    assert "SECRET-PRINT" not in json.dumps(report)
    assert report["output"] == "[the assignment does not show what the submission printed]"
    assert report["score"] == 10
