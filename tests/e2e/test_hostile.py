"""Hostile submissions: the grader must survive them, score them honestly and clean up.

Every case grades a submission built from the template (plus, usually, the
reference solution) with some hostile code added, through the real CLI, and
checks that the grader

- finishes within the wall-time limit plus a small margin,
- writes a schema-valid JSON report with the exact per-check scores,
- leaves no process behind (hostile code marks its processes with a unique
  string in argv or /proc/self/comm, and /proc is scanned for it afterwards),
- leaves the submission untouched (every file hashed before and after),
- removes its work folders (the CLI runs with TMPDIR set to an empty folder).

The wall-time limit is lowered to WALL seconds with a copy of the assignment.
Most cases run under bubblewrap (skipped when it is not usable here); a few
run with ``--sandbox none`` to check that the fallback also finishes. Cases
that would be dangerous without a limit the machine may lack (a fork bomb
without a pids cgroup, 5 GB held by several processes without a memory
cgroup) are skipped there. Hostile code that only proves something when it
really ran prints a HOSTILE-... line that the test looks for in the report.

One case is a known limit, marked xfail(strict=True): code in the grading
child can rewrite both the report and the grading database.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import socket
import stat
import subprocess
import sys
import textwrap
import threading
import time
import uuid
from pathlib import Path

import pytest
from conftest import CHECK_IDS, ROOT, TEMPLATE, apps_running, assignment_copy, check, run_cli, scores, validate

pytestmark = pytest.mark.e2e

WALL = 8  # wall_time_s of the lowered assignment copy
SLOW_WALL = 30  # the same, for the one case that is slow by nature
MARGIN = 10  # start-up, clean-up and a loaded machine
FULL = {
    "project-loads": 1.0,
    "receiver-registered-in-ready": 3.0,
    "profile-created-once": 3.0,
    "resave-no-duplicate": 3.0,
}
NOTHING = dict.fromkeys(CHECK_IDS, 0.0)
LOADS_ONLY = {**NOTHING, "project-loads": 1.0}
LOADS_AND_READY = {**NOTHING, "project-loads": 1.0, "receiver-registered-in-ready": 3.0}
TEMPLATE_SETTINGS = (TEMPLATE / "mysite" / "settings.py").read_text()
HIDDEN_FILES = ["test_project.py", "test_registration.py", "test_creation.py", "test_resave.py"]


def _bwrap_problem() -> str | None:
    from grader import sandbox

    return sandbox.bwrap_problem()


def _pids_cgroup_works() -> bool:
    from grader import sandbox

    cgroups = sandbox.ChildCgroups(64)
    try:
        return cgroups.pids
    finally:
        cgroups.remove()


def _memory_cgroup_works() -> bool:
    from grader import sandbox

    cgroups = sandbox.ChildCgroups(64, 3 * 1024**3)
    try:
        return cgroups.memory
    finally:
        cgroups.remove()


def _available_memory_gb() -> float:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) / 1024 / 1024
    except OSError:
        pass
    return 0.0


needs_bwrap = pytest.mark.skipif(_bwrap_problem() is not None, reason=f"bubblewrap: {_bwrap_problem()}")
# Without bubblewrap only the pids cgroup finds a process that left the session (the grader
# warns about it): the --sandbox none cases that leave processes behind need one.
needs_pids_cgroup = pytest.mark.skipif(
    not _pids_cgroup_works(), reason="no pids cgroup: --sandbox none cannot find escaped processes"
)


# --------------------------------------------------------------------------- helpers


@pytest.fixture(scope="module")
def fast_assignment(tmp_path_factory) -> Path:
    return assignment_copy(tmp_path_factory, WALL)


@pytest.fixture(scope="module")
def slow_assignment(tmp_path_factory) -> Path:
    return assignment_copy(tmp_path_factory, SLOW_WALL)


def tree_digest(root: Path) -> dict[str, str]:
    """Every file, folder and symlink under root with its content hash and mode."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = Path(dirpath, name)
            st = path.lstat()
            rel = str(path.relative_to(root))
            if stat.S_ISLNK(st.st_mode):
                out[rel] = "link:" + os.readlink(path)
            elif stat.S_ISREG(st.st_mode):
                out[rel] = f"{st.st_mode:o}:" + hashlib.sha256(path.read_bytes()).hexdigest()
            else:
                out[rel] = f"{st.st_mode:o}"
    return out


def survivors(marker: str) -> list[str]:
    """Live processes whose command line or name contains marker."""
    found = []
    needle = marker.encode()
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            cmdline = Path(entry.path, "cmdline").read_bytes()
            comm = Path(entry.path, "comm").read_bytes()
            state = Path(entry.path, "stat").read_text().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            continue
        if (needle in cmdline or needle in comm) and state != "Z":
            shown = cmdline.replace(b"\0", b" ")
            found.append(f"pid {entry.name} state {state}: {shown!r} ({comm!r})")
    return found


def kill_survivors(marker: str) -> None:
    for line in survivors(marker):
        try:
            os.kill(int(line.split()[1]), 9)
        except (OSError, ValueError):
            pass


@pytest.fixture
def marker():
    """A unique string for the processes and files of one hostile submission (<= 15 chars)."""
    value = "hb" + uuid.uuid4().hex[:12]
    yield value
    kill_survivors(value)  # never leave the machine in a bad state, even when a test fails


@pytest.fixture
def hostile(tmp_path, fast_assignment, marker):
    """Grade with the lowered limit and check what must hold for every hostile case."""
    counter = iter(range(1000))

    def run(
        submission: Path,
        sandbox: str = "bwrap",
        env: dict | None = None,
        limit: float = WALL + MARGIN,
        ran: bool = True,
        assignment: Path | None = None,
    ) -> tuple[dict, float]:
        n = next(counter)
        tmpdir = tmp_path / f"tmpdir{n}"
        tmpdir.mkdir()
        out = tmp_path / f"report{n}.json"
        before = tree_digest(submission)
        started = time.monotonic()
        proc = run_cli(
            "grade",
            str(submission),
            "--output",
            str(out),
            "--quiet",
            "--assignment",
            str(assignment or fast_assignment),
            "--sandbox",
            sandbox,
            env={"TMPDIR": str(tmpdir), **(env or {})},
            timeout=SLOW_WALL + 120,
        )
        elapsed = time.monotonic() - started
        assert proc.returncode == 0, proc.stderr + proc.stdout
        assert elapsed < limit, f"the grader took {elapsed:.1f} s"
        report = validate(json.loads(out.read_text()))
        if ran:  # a refused submission never reaches the sandbox
            assert report["sandbox"] == sandbox
        left = survivors(marker)
        assert not left, f"processes survived the grader: {left}"
        assert tree_digest(submission) == before, "the submission was changed"
        assert sorted(p.name for p in tmpdir.iterdir()) == [], "the grader left work folders"
        return report, elapsed

    return run


def hostile_module(marker: str, body: str = "", **constants) -> str:
    """users/hostile.py: helpers the hostile submissions call, with `marker` baked in."""
    consts = "".join(f"{k} = {v!r}\n" for k, v in constants.items())
    return HOSTILE_COMMON.replace("@MARKER@", marker) + consts + textwrap.dedent(body)


HOSTILE_COMMON = '''
import os
import subprocess
import sys
import time

MARKER = "@MARKER@"


def mark_self():
    """Put MARKER in this process's name (inherited by forks)."""
    try:
        with open("/proc/self/comm", "w") as fh:
            fh.write(MARKER)
    except OSError:
        pass


def leave_processes():
    """A plain child and a double-forked daemon in its own session, both sleeping forever."""
    subprocess.Popen([sys.executable, "-c", "import time; time.sleep(1000)", MARKER],
                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                     stderr=subprocess.DEVNULL, start_new_session=True)
    pid = os.fork()
    if pid == 0:
        try:
            os.setsid()
            if os.fork() == 0:
                mark_self()
                time.sleep(1000)
        finally:
            os._exit(0)
    os.waitpid(pid, 0)
    print("HOSTILE-SPAWNED", flush=True)

'''


def apps_py(call: str, import_signals: bool = True) -> str:
    """users/apps.py whose ready() (optionally imports signals and) runs `call`, a statement
    that can use the module users/hostile.py as `hostile`."""
    return apps_running(f"from . import hostile\n{call}", import_signals)


def signals_py(before_create: str = "", condition: str = "created") -> str:
    """The reference receiver with hostile code run on every save."""
    return (
        "from django.conf import settings\n"
        "from django.db.models.signals import post_save\n"
        "from django.dispatch import receiver\n\n"
        "from . import hostile\n"
        "from .models import Profile\n\n\n"
        '@receiver(post_save, sender=settings.AUTH_USER_MODEL, dispatch_uid="users.create_profile")\n'
        "def create_profile(sender, instance, created, **kwargs):\n"
        f"    {before_create or 'pass'}\n"
        f"    if {condition}:\n"
        "        Profile.objects.get_or_create(user=instance)\n"
    )


def settings_py(code: str) -> str:
    return TEMPLATE_SETTINGS + "\n\n" + textwrap.dedent(code).lstrip("\n")


def assert_scores(report: dict, expected: dict[str, float]) -> None:
    assert scores(report) == expected, (report["status"], report["message"], report["checks"])
    assert report["score"] == sum(expected.values())


# --------------------------------------------------------------------------- endless loops


@needs_bwrap
@pytest.mark.parametrize("where", ["settings", "ready"])
def test_endless_loop_at_start_up_times_out(make_submission, hostile, marker, where):
    if where == "settings":
        files = {
            "mysite/settings.py": settings_py("""
            import sys
            sys.path.insert(0, str(BASE_DIR))
            from users import hostile
            hostile.leave_processes()
            hostile.mark_self()
            while True:
                pass
        """)
        }
    else:
        files = {"users/apps.py": apps_py("hostile.spin()")}
    files["users/hostile.py"] = hostile_module(
        marker,
        """
        def spin():
            leave_processes()
            mark_self()
            while True:
                pass
    """,
    )
    report, elapsed = hostile(make_submission(files, solution=True))
    assert "HOSTILE-SPAWNED" in report["output"]
    assert elapsed >= WALL
    assert report["status"] == "timeout"
    assert f"{WALL:g} s" in report["message"]
    assert_scores(report, NOTHING)
    assert all(c["status"] != "passed" for c in report["checks"])


# An endless loop that also leaves processes behind, to check they are killed too.
SPIN = """
    def spin():
        leave_processes()
        mark_self()
        while True:
            pass
"""


@needs_bwrap
@pytest.mark.parametrize("when", ["created", "not created"])
def test_endless_loop_in_receiver_times_out(make_submission, hostile, marker, when):
    sub = make_submission(
        {
            "users/hostile.py": hostile_module(marker, SPIN),
            "users/signals.py": signals_py(f"if {when}: hostile.spin()"),
        },
        solution=True,
    )
    report, elapsed = hostile(sub)
    assert "HOSTILE-SPAWNED" in report["output"]
    assert elapsed >= WALL
    assert report["status"] == "timeout"
    assert f"{WALL:g} s" in report["message"]
    # the student's frame that was running is named (the loop in users/hostile.py)
    lines = [line.strip() for line in hostile_module(marker, SPIN).splitlines()]
    loop = len(lines) - lines[::-1].index("while True:")  # its line number; `pass` is the next
    # (CPython may place a bare loop's jump on the line before it)
    spin_line = next(n for n in (loop - 1, loop, loop + 1) if f"users/hostile.py:{n} in spin" in report["message"])
    if when == "created":  # the cheap checks run first and keep their points
        assert_scores(report, LOADS_AND_READY)
        assert "Every new user gets exactly one profile" in report["message"]
        created = check(report, "profile-created-once")
        assert created["location"] == f"users/hostile.py:{spin_line}"
        assert created["diagnosis"] == "timeout"
    else:  # the tests that finished before the loop keep their points (backed by the database)
        assert_scores(report, {**FULL, "resave-no-duplicate": 0.0})
        assert "Saving a user again" in report["message"]
        assert check(report, "resave-no-duplicate")["status"] == "error"


# --------------------------------------------------------------------------- exits

EXITS = {
    "os._exit-in-settings": {
        "mysite/settings.py": settings_py("""
        import os
        import sys
        sys.path.insert(0, str(BASE_DIR))
        from users import hostile
        hostile.leave_processes()
        os._exit(0)
    """)
    },
    "sys.exit-in-settings": {
        "mysite/settings.py": settings_py("""
        import sys
        sys.exit()
    """)
    },
    "os._exit-in-ready": {"users/apps.py": apps_py("hostile.leave_processes(); hostile.os._exit(0)")},
    "sys.exit-in-ready": {"users/apps.py": apps_py("hostile.leave_processes(); hostile.sys.exit()")},
    "exit-3-in-ready": {"users/apps.py": apps_py("hostile.os._exit(3)")},
}


@needs_bwrap
@pytest.mark.parametrize("case", sorted(EXITS))
def test_exit_while_django_starts_is_an_error(make_submission, hostile, marker, case):
    files = {**EXITS[case], "users/hostile.py": hostile_module(marker)}
    report, elapsed = hostile(make_submission(files, solution=True))
    if "leave_processes" in str(EXITS[case]):
        assert "HOSTILE-SPAWNED" in report["output"]
    assert elapsed < WALL, "an exit must not wait for the time limit"
    assert report["status"] == "error"
    assert_scores(report, NOTHING)


@needs_bwrap
def test_exit_in_receiver_scores_nothing_beyond_honest(make_submission, hostile, marker):
    sub = make_submission(
        {
            "users/hostile.py": hostile_module(marker),
            "users/signals.py": signals_py("if created: hostile.leave_processes(); hostile.os._exit(0)"),
        },
        solution=True,
    )
    report, _ = hostile(sub)
    assert "HOSTILE-SPAWNED" in report["output"]
    assert report["status"] == "error"
    assert_scores(report, NOTHING)  # test_creation.py runs first: nothing was finished


# --------------------------------------------------------------------------- resource bombs


@needs_bwrap
@pytest.mark.skipif(not _pids_cgroup_works(), reason="no pids cgroup: a fork bomb would not be contained")
@pytest.mark.parametrize("kind", ["fork-until-it-fails", "fork-and-hold"])
def test_fork_bomb_is_contained(make_submission, hostile, marker, kind):
    body = {
        # what a student would write: every process forks until fork() fails
        "fork-until-it-fails": """
            def bomb():
                mark_self()
                while True:
                    os.fork()
        """,
        # every process keeps its slot forever: the run must be stopped and every process killed
        "fork-and-hold": """
            def bomb():
                mark_self()
                while True:
                    try:
                        os.fork()
                    except OSError:
                        time.sleep(1000)
        """,
    }[kind]
    sub = make_submission(
        {"users/hostile.py": hostile_module(marker, body), "users/apps.py": apps_py("hostile.bomb()")}, solution=True
    )
    report, _ = hostile(sub)
    assert report["status"] in ("error", "timeout")
    if kind == "fork-and-hold":
        assert report["status"] == "timeout"
    assert_scores(report, NOTHING)


KILL_ALL = """
    import signal

    def kill_everything():
        # Safety of the machine running this test: only inside a PID namespace (bubblewrap's,
        # or a warm child's), where kill(-1) reaches the sandbox's processes only. Elsewhere it
        # would kill every process of the user.
        with open("/proc/1/cmdline", "rb") as fh:
            init = fh.read().split(b"\\0")[0]
        with open("/proc/1/comm", "rb") as fh:  # a warm child's init (grader/warm.py)
            warm_init = fh.read().strip() == b"grader-init"
        if not (init.endswith(b"bwrap") or warm_init):
            print("HOSTILE-NOT-IN-A-PID-NAMESPACE", init, flush=True)
            return
        print("HOSTILE-KILL-ALL", flush=True)
        leave_processes()
        for sig in (signal.SIGTERM, signal.SIGKILL):
            for pid in (os.getppid(), 1):
                try:
                    os.kill(pid, sig)
                except OSError:
                    pass
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        os.kill(-1, signal.SIGKILL)  # everything it may signal but itself (and init)
        print("HOSTILE-STILL-HERE", flush=True)
"""


@needs_bwrap
def test_killing_everything_visible_hurts_only_the_run(make_submission, hostile, marker):
    sub = make_submission(
        {"users/hostile.py": hostile_module(marker, KILL_ALL), "users/apps.py": apps_py("hostile.kill_everything()")},
        solution=True,
    )
    report, elapsed = hostile(sub)
    assert "HOSTILE-STILL-HERE" in report["output"], report["output"]
    assert elapsed < WALL
    # the sandbox's init ignores it, the grader is out of reach: the run goes on
    assert report["status"] == "graded"
    assert_scores(report, FULL)


MEMORY_BOMB = """
    def bomb():
        blocks = []
        while True:  # 256 MB at a time until the address-space limit says no
            blocks.append(bytearray(256 * 1024 * 1024))

    def huge():
        return b"x" * (64 * 1024 ** 3)
"""


@needs_bwrap
@pytest.mark.parametrize("where", ["ready", "ready-huge", "receiver"])
def test_memory_bomb_scores_only_what_works(make_submission, hostile, marker, where):
    files = {"users/hostile.py": hostile_module(marker, MEMORY_BOMB)}
    if where == "ready":
        files["users/apps.py"] = apps_py("hostile.bomb()")
    elif where == "ready-huge":
        files["users/apps.py"] = apps_py("hostile.huge()")
    else:
        # one 64 GB request per save (growing to the limit touches ~2 GB: too slow per save)
        files["users/signals.py"] = signals_py("if created: hostile.huge()")
    report, _ = hostile(make_submission(files, solution=True))
    if where == "receiver":
        assert report["status"] == "graded"
        assert_scores(report, LOADS_AND_READY)
        assert "MemoryError" in check(report, "profile-created-once")["feedback"]
    else:
        assert report["status"] == "error"
        assert_scores(report, NOTHING)
        assert "MemoryError" in report["message"]


HOG_TOGETHER = """
    import select

    def hog_together(kids=5, mb=1024):
        \"\"\"Several processes, each under the address-space limit, together far above it.\"\"\"
        mark_self()
        r, w = os.pipe()
        alive = []
        for _ in range(kids):
            pid = os.fork()
            if pid == 0:
                try:
                    os.close(r)
                    block = bytearray(mb * 1024 * 1024)  # zeroed: really resident
                    os.write(w, b"1")
                    time.sleep(1000)
                finally:
                    os._exit(0)
            alive.append(pid)
        os.close(w)
        wrote, deadline = 0, time.monotonic() + 15
        while wrote < len(alive) and time.monotonic() < deadline:
            ready, _, _ = select.select([r], [], [], 0.1)
            if ready:
                wrote += len(os.read(r, 16))
            alive = [pid for pid in alive if not os.waitpid(pid, os.WNOHANG)[0]]
        time.sleep(0.5)
        alive = [pid for pid in alive if not os.waitpid(pid, os.WNOHANG)[0]]
        # every child still alive has written (or the deadline passed): count those holding memory
        held = min(wrote, len(alive))
        print(f"HOSTILE-HELD {held}x{mb}MB", flush=True)
        for pid in alive:
            try:
                os.kill(pid, 9)
            except OSError:
                pass
"""


@needs_bwrap
@pytest.mark.skipif(not _memory_cgroup_works(), reason="no memory cgroup: memory is capped per process only")
@pytest.mark.skipif(_available_memory_gb() < 10, reason="needs 10 GB free in case the cap does not hold")
def test_memory_of_all_processes_together_is_capped(make_submission, hostile, marker, slow_assignment):
    sub = make_submission(
        {"users/hostile.py": hostile_module(marker, HOG_TOGETHER), "users/apps.py": apps_py("hostile.hog_together()")},
        solution=True,
    )
    # allocating under memory pressure is slow: this case has a longer time limit
    report, _ = hostile(sub, assignment=slow_assignment, limit=SLOW_WALL + MARGIN)
    # without the memory cgroup the 5 processes hold 5 GB together (the cap is 3 GB)
    held = re.search(r"HOSTILE-HELD (\d)x", report["output"])
    assert held is None or int(held.group(1)) <= 3, report["output"]
    if report["status"] == "graded":  # the OOM killer took children only
        assert held is not None
        assert_scores(report, FULL)
    else:  # ... or the main process: no report
        assert report["status"] == "error"
        assert_scores(report, NOTHING)


DISK_BOMBS = """
    def fill_disk():
        chunk = b"x" * (1024 * 1024)
        n = 0
        while True:  # 60 MB files (under the file-size limit), in every writable folder
            for folder in ("/tmp", os.getcwd(), os.environ.get("HOME", "/tmp")):
                with open(os.path.join(folder, f"{MARKER}-{n}"), "wb") as fh:
                    for _ in range(60):
                        fh.write(chunk)
                n += 1

    def many_files():
        os.makedirs("/tmp/many", exist_ok=True)
        n = 0
        while True:
            open(f"/tmp/many/{n}", "w").close()
            n += 1
"""


@needs_bwrap
# fill_disk: the watch stops the run, or the capped tmpfs refuses the write first (ENOSPC in
# the student's code): either way the report says the run wrote too much.
@pytest.mark.parametrize(
    "bomb, problem", [("fill_disk", "wrote more than 512 MB"), ("many_files", "created more than")]
)
def test_disk_bombs_are_stopped(make_submission, hostile, marker, bomb, problem):
    sub = make_submission(
        {"users/hostile.py": hostile_module(marker, DISK_BOMBS), "users/apps.py": apps_py(f"hostile.{bomb}()")},
        solution=True,
    )
    report, elapsed = hostile(sub)
    assert elapsed < WALL, "the run must be stopped as soon as the cap is passed"
    assert report["status"] == "error"
    assert problem in report["message"], report["message"]
    assert_scores(report, NOTHING)


PRINTS = """
    def flood():
        chunk = ("x" * 1023 + "\\n") * 1024
        for _ in range(10):  # 10 MB per call
            sys.stdout.write(chunk)
        sys.stdout.flush()
"""


def _prints_case(make_submission, hostile, marker, sandbox):
    sub = make_submission(
        {"users/hostile.py": hostile_module(marker, PRINTS), "users/signals.py": signals_py("hostile.flood()")},
        solution=True,
    )
    report, _ = hostile(sub, sandbox=sandbox)
    assert report["status"] == "graded"
    assert_scores(report, FULL)
    assert report["sandbox"] == sandbox
    assert len(report["output"].encode()) < 80 * 1024
    assert re.search(r"\[\.\.\. \d+ more bytes of output not kept\]", report["output"])
    more = int(re.search(r"(\d+) more bytes", report["output"]).group(1))
    assert more > 100 * 1024 * 1024  # > 10 saves of 10 MB were counted


@needs_bwrap
def test_ten_megabytes_of_prints_per_save(make_submission, hostile, marker):
    _prints_case(make_submission, hostile, marker, "bwrap")


# --------------------------------------------------------------------------- configuration files

EVIL_PLUGIN = """
    import pytest
    print("HOSTILE-LOADED:{name}", flush=True)

    @pytest.hookimpl(hookwrapper=True, tryfirst=True)
    def pytest_runtest_makereport(item, call):
        outcome = yield
        report = outcome.get_result()
        report.outcome = "passed"
        report.longrepr = None
"""


def _loaded(name: str) -> str:
    return textwrap.dedent(EVIL_PLUGIN).replace("{name}", name)


TAMPERING_FILES = {
    "conftest.py": _loaded("conftest"),
    "users/conftest.py": _loaded("users-conftest"),
    "users/evilplugin.py": _loaded("evilplugin"),
    "sitecustomize.py": 'print("HOSTILE-LOADED:sitecustomize", flush=True)\n',
    "usercustomize.py": 'print("HOSTILE-LOADED:usercustomize", flush=True)\n',
    "zz_hostile.pth": 'import sys; print("HOSTILE-LOADED:pth", flush=True)\n',
    "pytest.ini": "[pytest]\naddopts = -p users.evilplugin -p conftest --runxfail\ntestpaths = users\n"
    "python_files = *.py\n",
    "setup.cfg": "[tool:pytest]\naddopts = -p users.evilplugin\n",
    "tox.ini": "[pytest]\naddopts = -p users.evilplugin\n",
    "pyproject.toml": '[tool.pytest.ini_options]\naddopts = "-p users.evilplugin"\n',
    "users/tests.py": "def test_always():\n    assert True\n",
}


@needs_bwrap
@pytest.mark.parametrize("solution", [True, False], ids=["reference", "template"])
def test_tampering_configuration_has_no_effect(make_submission, hostile, solution):
    report, _ = hostile(make_submission(TAMPERING_FILES, solution=solution))
    assert report["status"] == "graded"
    assert_scores(report, FULL if solution else LOADS_ONLY)
    assert "HOSTILE-LOADED" not in report["output"]


# --------------------------------------------------------------------------- patching pytest

REPORT_PATCHES = """
    HIDDEN_FILES = {hidden!r}

    def _hidden(nodeid):
        return nodeid.split("::")[0].rsplit("/", 1)[-1] in HIDDEN_FILES

    def patch_all_reports():
        import _pytest.reports as reports
        original = reports.TestReport.from_item_and_call.__func__

        def from_item_and_call(cls, item, call):
            report = original(cls, item, call)
            if report.outcome != "passed":
                print("HOSTILE-PATCHED", flush=True)
                report.outcome, report.longrepr = "passed", None
            return report
        reports.TestReport.from_item_and_call = classmethod(from_item_and_call)

    def patch_hidden_reports():
        import _pytest.reports as reports
        original = reports.TestReport.from_item_and_call.__func__

        def from_item_and_call(cls, item, call):
            report = original(cls, item, call)
            if report.outcome != "passed" and _hidden(item.nodeid):
                print("HOSTILE-PATCHED", flush=True)
                report.outcome, report.longrepr = "passed", None
            return report
        reports.TestReport.from_item_and_call = classmethod(from_item_and_call)

    def patch_call_and_report():
        import _pytest.runner as runner
        original = runner.call_and_report

        def call_and_report(item, when, log=True, **kwargs):
            report = original(item, when, log=False, **kwargs)
            if report.outcome != "passed" and _hidden(item.nodeid):
                print("HOSTILE-PATCHED", flush=True)
                report.outcome, report.longrepr = "passed", None
            if log:
                item.ihook.pytest_runtest_logreport(report=report)
            return report
        runner.call_and_report = call_and_report

    def register_plugin():
        import pytest
        import _pytest.config as config
        original = config.get_config

        class Evil:
            @pytest.hookimpl(hookwrapper=True, tryfirst=True)
            def pytest_runtest_makereport(self, item, call):
                outcome = yield
                report = outcome.get_result()
                if report.outcome != "passed" and _hidden(item.nodeid):
                    print("HOSTILE-PATCHED", flush=True)
                    report.outcome, report.longrepr = "passed", None

        def get_config(*args, **kwargs):
            cfg = original(*args, **kwargs)
            cfg.pluginmanager.register(Evil(), "hostile-evil")
            return cfg
        config.get_config = get_config

    def rewrite_json():
        from _grader_harness import plugin
        original = plugin.Collector.pytest_json_modifyreport

        def modify(self, json_report):
            for test in json_report.get("tests", []):
                if _hidden(test["nodeid"]) and test["outcome"] != "passed":
                    print("HOSTILE-PATCHED", flush=True)
                    test["outcome"] = "passed"
            return original(self, json_report)
        plugin.Collector.pytest_json_modifyreport = modify

    def rewrite_final_write():
        main = sys.modules["__main__"]
        original = main._write

        def write(fd, payload):
            for test in (payload.get("pytest") or {}).get("tests", []):
                if _hidden(test["nodeid"]) and test["outcome"] != "passed":
                    print("HOSTILE-PATCHED", flush=True)
                    test["outcome"] = "passed"
            return original(fd, payload)
        main._write = write
""".replace("{hidden!r}", repr(HIDDEN_FILES))


@needs_bwrap
@pytest.mark.parametrize(
    "attack",
    [
        "patch_all_reports",
        "patch_hidden_reports",
        "patch_call_and_report",
        "register_plugin",
        "rewrite_json",
        "rewrite_final_write",
    ],
)
def test_patching_pytest_from_ready_earns_nothing(make_submission, hostile, marker, attack):
    """The untouched template (no receiver: honestly 1/10) patches pytest from ready()."""
    sub = make_submission(
        {
            "users/hostile.py": hostile_module(marker, REPORT_PATCHES),
            "users/apps.py": apps_py(f"hostile.{attack}()", import_signals=False),
        }
    )
    report, _ = hostile(sub)
    assert "HOSTILE-PATCHED" in report["output"], "the attack did not run: the test proves nothing"
    assert report["status"] in ("tampered", "graded", "error"), report["status"]
    if report["status"] == "tampered":
        assert_scores(report, NOTHING)
    else:
        assert_scores(report, LOADS_ONLY)


FAKE_REPORTS = """
    import atexit
    import glob
    import json
    import re

    HIDDEN_TESTS = {hidden_tests!r}

    def fake_report():
        tests = [{"nodeid": t, "outcome": "passed"} for t in HIDDEN_TESTS]
        seen = set()
        # the grader's control tests are in the suite folder: read them and answer right
        for path in glob.glob("/grading/*/test_*.py") + glob.glob("../*/test_*.py"):
            name = os.path.basename(path)
            if name in seen or any(t.startswith(name + "::") for t in HIDDEN_TESTS):
                continue
            seen.add(name)
            source = open(path).read()
            for found in re.finditer(r"def (test_\\w+)\\(\\):\\n(.*)\\n", source):
                outcome = "passed" if "assert True" in found.group(2) else "failed"
                tests.append({"nodeid": f"{name}::{found.group(1)}", "outcome": outcome})
        return json.dumps({"phase": "tests", "setup_error": None, "exitcode": 0,
                           "pytest": {"exitcode": 0, "tests": tests, "summary": {"passed": len(tests)},
                                      "grader_feedback": {}, "grader_warnings": []}})

    def spray():
        data = fake_report()
        print("HOSTILE-FAKE", len(data), flush=True)
        for fd in os.listdir("/proc/self/fd"):
            if int(fd) > 2:
                try:
                    os.pwrite(int(fd), data.encode(), 0)
                    os.ftruncate(int(fd), len(data))
                except OSError:
                    pass
        folders = {os.getcwd(), "/tmp", os.environ.get("HOME", "/"), os.environ.get("TMPDIR", "/tmp")}
        d = os.getcwd()
        while os.path.dirname(d) != d:
            d = os.path.dirname(d)
            folders.add(d)
        for folder in list(folders):
            for sub in glob.glob(os.path.join(folder, "*")):
                if os.path.isdir(sub):
                    folders.add(sub)
        for folder in folders:
            for name in ("report.json", "results.json", ".report.json", f"{MARKER}.json"):
                try:
                    with open(os.path.join(folder, name), "w") as fh:
                        fh.write(data)
                except OSError:
                    pass
            for existing in glob.glob(os.path.join(folder, "*.json")):
                try:
                    with open(existing, "w") as fh:
                        fh.write(data)
                except OSError:
                    pass

    def spray_and_exit():
        spray()
        atexit.register(spray)
        os._exit(0)

    def spray_and_sys_exit():
        spray()
        atexit.register(spray)
        sys.exit(0)

    def spray_at_exit():
        atexit.register(spray)
"""


@needs_bwrap
@pytest.mark.parametrize("how", ["spray_and_exit", "spray_and_sys_exit", "spray_at_exit", "spray"])
def test_fake_reports_earn_nothing(make_submission, hostile, marker, fast_assignment, tmp_path, how):
    from grader import rubric

    hidden = rubric.find(str(fast_assignment)).test_ids
    body = FAKE_REPORTS.replace("{hidden_tests!r}", repr(hidden))
    sub = make_submission(
        {
            "users/hostile.py": hostile_module(marker, body),
            "users/apps.py": apps_py(f"hostile.{how}()", import_signals=False),
        }
    )
    report, _ = hostile(sub)
    assert "HOSTILE-FAKE" in report["output"] or how == "spray_at_exit"
    assert report["score"] <= 1, (report["status"], report["message"])
    # nothing it sprayed reached the host
    assert not list(Path("/tmp").glob(f"{marker}*")) and not list(tmp_path.rglob(f"{marker}*"))
    if report["status"] == "graded" and report["score"]:
        assert_scores(report, LOADS_ONLY)
    else:  # tampered, an error, or graded with every forged pass not counted (no record of it)
        assert_scores(report, NOTHING)
        assert report["status"] != "graded" or "were not counted" in report["message"], report["message"]


FORGE_EVIDENCE = """
    def forge():
        from _grader_harness import plugin
        original = plugin.Collector.pytest_json_modifyreport

        def modify(self, json_report):
            import fcntl, json, os, stat
            for test in json_report.get("tests", []):
                if test["nodeid"].startswith("test_registration.py") and test["outcome"] != "passed":
                    print("HOSTILE-PATCHED", flush=True)
                    test["outcome"] = "passed"
                    # and the verdict and connection the grader wants on its channel
                    for fd in range(3, 64):
                        try:
                            if fcntl.fcntl(fd, fcntl.F_GETFL) & os.O_APPEND and stat.S_ISREG(os.fstat(fd).st_mode):
                                os.write(fd, b"0" * 64 + b" " + json.dumps({
                                    "seq": 99, "kind": "verdict", "nodeid": test["nodeid"],
                                    "outcome": "passed"}).encode() + b"\\n")
                        except OSError:
                            pass
            return original(self, json_report)
        plugin.Collector.pytest_json_modifyreport = modify
"""


@needs_bwrap
def test_a_forged_report_is_caught_by_the_channel(make_submission, hostile, marker):
    """Once a known limit (the report, the ledger rows and the stream of connections could all be
    rewritten from inside the child): the report's pass has no verdict of the grader's behind it,
    and the channel line the submission adds carries no valid signature."""
    sub = make_submission(
        {
            "users/hostile.py": hostile_module(marker, FORGE_EVIDENCE),
            "users/apps.py": apps_py("hostile.forge()", import_signals=False),
        }
    )
    report, _ = hostile(sub)
    assert "HOSTILE-PATCHED" in report["output"]
    assert report["status"] == "tampered"
    assert report["score"] == 0


# --------------------------------------------------------------------------- no network, no secrets

NETWORK_PROBE = """
    import socket

    def network_reachable(port):
        targets = [("127.0.0.1", port), ("1.1.1.1", 80), ("8.8.8.8", 53)]
        for host, p in targets:
            try:
                with socket.create_connection((host, p), timeout=2):
                    return True
            except OSError:
                pass
        try:
            socket.getaddrinfo("example.com", 80)
            return True
        except OSError:
            return False
"""


class Listener:
    """A TCP server on 127.0.0.1 of the host that counts the connections it receives."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.accepted = 0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.accepted += 1
            conn.close()

    def close(self):
        self.stop.set()
        self.thread.join(timeout=2)
        self.sock.close()


@needs_bwrap
def test_no_network(make_submission, hostile, marker):
    listener = Listener()
    try:
        # the probe works: run as a plain process, it reaches the listener
        code = textwrap.dedent(NETWORK_PROBE) + f"\nprint(network_reachable({listener.port}))\n"
        plain = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=30)
        assert plain.stdout.strip() == "True", plain.stderr
        deadline = time.monotonic() + 5
        while listener.accepted < 1 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert listener.accepted == 1
        # in the sandbox: a profile is created only when no connection succeeded
        sub = make_submission(
            {
                "users/hostile.py": hostile_module(
                    marker, textwrap.dedent(NETWORK_PROBE) + f"\nNETWORK = network_reachable({listener.port})\n"
                ),
                "users/signals.py": signals_py(condition="created and not hostile.NETWORK"),
            },
            solution=True,
        )
        report, _ = hostile(sub)
        assert report["status"] == "graded"
        assert_scores(report, FULL)
        assert listener.accepted == 1, "the sandbox reached the host's loopback"
    finally:
        listener.close()


SECRET = "s3cr3t-value-" + uuid.uuid4().hex[:8]
SECRET_PROBE = """
    import glob

    def secret_visible(secret):
        if any(secret in value for value in os.environ.values()):
            return True
        for pattern in ("/proc/*/environ", "/proc/*/cmdline", "/proc/*/task/*/environ"):
            for path in glob.glob(pattern):
                try:
                    with open(path, "rb") as fh:
                        if secret.encode() in fh.read():
                            return True
                except OSError:
                    pass
        return False
"""


@needs_bwrap
def test_grader_environment_is_not_visible(make_submission, hostile, marker):
    # the probe works: a plain child of a process holding the secret sees it
    code = textwrap.dedent(SECRET_PROBE) + "\nimport os\nprint(secret_visible(os.environ['S']))\n"
    plain = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=30, env={**os.environ, "S": SECRET}
    )
    assert plain.stdout.strip() == "True", plain.stderr
    # the secret is split in the submission so that its own text never matches
    half = len(SECRET) // 2
    sub = make_submission(
        {
            "users/hostile.py": hostile_module(
                marker,
                textwrap.dedent(SECRET_PROBE)
                + (f"\nHIDDEN = not secret_visible({SECRET[:half]!r} + {SECRET[half:]!r})\n"),
            ),
            "users/signals.py": signals_py(condition="created and hostile.HIDDEN"),
        },
        solution=True,
    )
    report, _ = hostile(sub, env={"GRADER_TEST_SECRET": SECRET})
    assert report["status"] == "graded"
    assert_scores(report, FULL)


# --------------------------------------------------------------------------- writing outside

WRITE_EVERYWHERE = """
    def write_everywhere():
        name = "hostile-" + MARKER
        folders = ["/tmp", "/var/tmp", "/dev/shm", "/", os.path.expanduser("~"),
                   os.environ.get("HOME", "/"), os.environ.get("TMPDIR", "/tmp"), *HOST_FOLDERS]
        for up in range(1, 8):
            folders.append(os.path.join(*[".."] * up))
        written = []
        for folder in folders:
            try:
                with open(os.path.join(folder, name), "w") as fh:
                    fh.write("hostile")
                written.append(folder)
            except OSError:
                pass
        print("HOSTILE-WROTE", written, flush=True)
        # the sandbox's own HOME and TMPDIR exist and can be written
        import tempfile
        with open(os.path.join(os.environ["HOME"], "home-check"), "w") as fh:
            fh.write("ok")
        with tempfile.NamedTemporaryFile(dir=os.environ["TMPDIR"]):
            pass
        print("HOSTILE-HOME-WRITABLE", tempfile.gettempdir() == os.environ["TMPDIR"], flush=True)
"""


@needs_bwrap
def test_writes_outside_the_work_folder_do_not_reach_the_host(make_submission, hostile, marker, tmp_path):
    sub_dir = tmp_path / "writer"
    host_folders = [
        str(sub_dir),
        str(tmp_path),
        str(ROOT),
        str(Path.home()),
        "/tmp",
        "/var/tmp",
        "/dev/shm",
        str(Path(sys.prefix)),
        os.getcwd(),
    ]
    name = "hostile-" + marker
    targets = [Path(f) / name for f in host_folders] + [Path("/") / name]
    try:
        sub = make_submission(
            {
                "users/hostile.py": hostile_module(marker, WRITE_EVERYWHERE, HOST_FOLDERS=host_folders),
                "users/apps.py": apps_py("hostile.write_everywhere()"),
            },
            solution=True,
            name="writer",
        )
        assert sub == sub_dir
        report, _ = hostile(sub)
        assert "HOSTILE-WROTE" in report["output"]
        assert "HOSTILE-HOME-WRITABLE True" in report["output"]
        assert report["status"] == "graded"
        assert_scores(report, FULL)
        leaked = [str(t) for t in targets if t.exists()]
        assert not leaked, f"the submission wrote on the host: {leaked}"
        leaked = [str(p) for p in tmp_path.rglob(name)]
        assert not leaked, f"the submission wrote on the host: {leaked}"
    finally:
        for target in targets:
            target.unlink(missing_ok=True)


@needs_bwrap
def test_special_files_in_the_submission_are_left_out(make_submission, hostile):
    sub = make_submission(solution=True)
    os.mkfifo(sub / "users" / "pipe")
    server = socket.socket(socket.AF_UNIX)
    try:
        server.bind(str(sub / "users" / "sock"))
        report, elapsed = hostile(sub)
    finally:
        server.close()
    assert report["status"] == "graded"
    assert_scores(report, FULL)


def test_the_survivor_scan_sees_marked_processes(marker):
    """The check every case relies on: a process marked in argv or in its name is found."""
    code = "import sys, time; open('/proc/self/comm', 'w').write(sys.argv[1][::-1]); time.sleep(60)"
    by_argv = subprocess.Popen([sys.executable, "-c", code, marker])
    by_name = subprocess.Popen([sys.executable, "-c", code, marker[::-1]])
    try:
        deadline = time.monotonic() + 10
        while len(survivors(marker)) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        found = survivors(marker)
        assert any(f"pid {by_argv.pid} " in line for line in found), found
        assert any(f"pid {by_name.pid} " in line for line in found), found
    finally:
        for proc in (by_argv, by_name):
            proc.kill()
            proc.wait()
    assert survivors(marker) == []


# --------------------------------------------------------------------------- refused names


@pytest.mark.parametrize(
    "files, name",
    [
        ({"pytest.py": "raise SystemExit('hostile')\n"}, "pytest"),
        ({"django/__init__.py": "raise SystemExit('hostile')\n"}, "django"),
        ({"_pytest/__init__.py": ""}, "_pytest"),
        ({"_grader_harness/__init__.py": ""}, "_grader_harness"),
    ],
)
def test_shadowing_modules_are_refused(make_submission, hostile, files, name):
    report, elapsed = hostile(make_submission(files, solution=True), ran=False)
    assert report["status"] == "error"
    assert name in report["message"] and "Rename" in report["message"]
    assert_scores(report, NOTHING)


# --------------------------------------------------------------------------- the fallback without sandbox


@needs_pids_cgroup
def test_no_sandbox_endless_loop_times_out(make_submission, hostile, marker):
    sub = make_submission(
        {
            "users/hostile.py": hostile_module(marker, SPIN),
            "users/apps.py": apps_py("hostile.spin()"),
        },
        solution=True,
    )
    report, elapsed = hostile(sub, sandbox="none")
    assert "HOSTILE-SPAWNED" in report["output"]
    assert elapsed >= WALL
    assert report["sandbox"] == "none"
    assert report["status"] == "timeout"
    assert f"{WALL:g} s" in report["message"]
    assert_scores(report, NOTHING)


@needs_pids_cgroup
def test_no_sandbox_os_exit_is_an_error(make_submission, hostile, marker):
    sub = make_submission({**EXITS["os._exit-in-settings"], "users/hostile.py": hostile_module(marker)}, solution=True)
    report, elapsed = hostile(sub, sandbox="none")
    assert "HOSTILE-SPAWNED" in report["output"]
    assert elapsed < WALL
    assert report["sandbox"] == "none"
    assert report["status"] == "error"
    assert_scores(report, NOTHING)


def test_no_sandbox_prints(make_submission, hostile, marker):
    _prints_case(make_submission, hostile, marker, "none")
