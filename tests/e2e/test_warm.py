"""The warm path (grader/warm.py): a zygote per worker, a fresh fork of it per submission.

A batch with one job slot grades every submission through one zygote, in order. The first
submissions poison what a fork could share: module state (Django's Model.save, the standard
library's json, pytest), sys.modules, a receiver connected to Django's own post_save, files
in every place they can write (and the places they cannot), a database table, processes that
leave the session. The last one is a correct solution that prints what it finds of all that:
it must find none of it and earn full marks. The test also checks that the runs really were
warm (PID 1 of each is the zygote's `grader-init`, not bubblewrap) and that nothing is left on
the machine; and that a lost zygote, `--cold` and GRADER_WARM=0 grade cold, with the same
result.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import textwrap
import threading
import time
from pathlib import Path

import pytest
from conftest import build_submission, run_cli
from test_queue import redis_url, workers  # noqa: F401  (fixtures: a redis-server, grader workers)

from grader import api, rubric, sandbox, warm

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(not warm.usable("auto"), reason="the warm path needs bubblewrap and a pids cgroup"),
]

MARK = "warm-poison-4242"  # in the argv of every process the poisoners leave behind

POISON = f"""
import json, os, subprocess, sys, time

import django.db.models.base
import django.db.models.signals
import _pytest.python

for folder in ("/tmp", "/grading/run", "/grading", "/harness", "/dev/shm", "/var/tmp", os.path.expanduser("~")):
    try:
        with open(os.path.join(folder, "poison.txt"), "w") as fh:
            fh.write("poison")
    except OSError:
        pass
subprocess.Popen(["/bin/sh", "-c", "sleep 3000; :", "{MARK}"], start_new_session=True)
subprocess.Popen(["/bin/sh", "-c", "(sleep 3000; :) & sleep 3000; :", "{MARK}"], start_new_session=True)
time.sleep(0.3)
# what the checker looks for, seen here while it exists: the checker's way of looking works
print("POISON-SEES", json.dumps({{
    "files": sorted(f for f in ("/tmp", "/grading/run") if os.path.exists(os.path.join(f, "poison.txt"))),
    "processes": len([p for p in os.listdir("/proc") if p.isdigit() and b"{MARK}" in open(f"/proc/{{p}}/cmdline", "rb").read()]),
}}), flush=True)
sys.modules["users_poison"] = sys  # a module that stays, if anything does
json.dumps = lambda *args, **kwargs: "{{}}"  # the harness's own writer uses json
django.db.models.base.Model.save = lambda self, *args, **kwargs: None
_pytest.python.Function.runtest = lambda self: None
django.db.models.signals.post_save.connect(lambda **kwargs: None, weak=False, dispatch_uid="poison")
"""


def _receiver(then: str) -> str:
    """signals.py: the correct receiver, which then runs `then` (a test's database exists by now)."""
    return f"""
from django.conf import settings
from django.db import connection
from django.db.models.signals import post_save
from django.dispatch import receiver

from .models import Profile


@receiver(post_save, sender=settings.AUTH_USER_MODEL)
def create_profile(sender, instance, created, **kwargs):
    if created:
        Profile.objects.create(user=instance)
        with connection.cursor() as cursor:
{textwrap.indent(textwrap.dedent(then).strip(), " " * 12)}
"""


POISON_DB = """
    cursor.execute("CREATE TABLE IF NOT EXISTS poison_left (x)")
    cursor.execute("INSERT INTO poison_left VALUES (1)")
"""

CHECK_DB = """
    cursor.execute("SELECT name FROM sqlite_master WHERE name = 'poison_left'")
    print("WARM-CHECK-DB", cursor.fetchall())
"""


CHECK = (
    """
import json, os, sys

import django.db.models.base
import django.db.models.signals
import _pytest.python

found = {
    "init": open("/proc/1/comm").read().strip(),
    "module": "users_poison" in sys.modules,
    "json": json.dumps([1]) != "[1]",
    "save": django.db.models.base.Model.save.__name__ != "save",
    "pytest": _pytest.python.Function.runtest.__name__ != "runtest",
    "receiver": any(key[0] == "poison" for key, *_ in django.db.models.signals.post_save.receivers),
    "files": sorted(
        folder
        for folder in ("/tmp", "/grading/run", "/grading", "/harness", "/dev/shm", "/var/tmp", os.path.expanduser("~"))
        if os.path.exists(os.path.join(folder, "poison.txt"))
    ),
    "processes": sorted(
        pid for pid in os.listdir("/proc") if pid.isdigit() and b"%s" in open(f"/proc/{pid}/cmdline", "rb").read()
    ),
    "spool": os.path.exists("/spool") and bool(os.listdir("/spool")),
}
print("WARM-CHECK " + json.dumps(found, sort_keys=True))
"""
    % MARK
)


def _apps(extra_import: str) -> str:
    return f"""
    from django.apps import AppConfig


    class UsersConfig(AppConfig):
        default_auto_field = "django.db.models.BigAutoField"
        name = "users"

        def ready(self):
            from . import signals  # noqa: F401
            from . import {extra_import}  # noqa: F401
    """


def _checker(dest: Path) -> Path:
    return build_submission(
        dest,
        {
            "users/apps.py": _apps("check"),
            "users/check.py": CHECK,
            "users/signals.py": _receiver(CHECK_DB),
        },
        solution=True,
    )


def _found(report: dict) -> dict:
    for line in report["output"].splitlines():
        if line.startswith("WARM-CHECK "):
            return json.loads(line[len("WARM-CHECK ") :])
    raise AssertionError(f"the checker printed nothing: {report['output'][:2000]}")


def _left_behind() -> list[str]:
    left = []
    for pid in os.listdir("/proc"):
        try:
            if pid.isdigit() and MARK.encode() in Path(f"/proc/{pid}/cmdline").read_bytes():
                left.append(pid)
        except OSError:
            continue
    return left


def _kill_left() -> None:
    for pid in _left_behind():
        try:
            os.kill(int(pid), signal.SIGKILL)
        except OSError:
            pass


CLEAN = {
    "module": False,
    "json": False,
    "save": False,
    "pytest": False,
    "receiver": False,
    "files": [],
    "processes": [],
    "spool": False,
}


def test_a_poisoned_submission_leaves_nothing_for_the_next_one(tmp_path):
    klass = tmp_path / "class"
    build_submission(klass / "a-poison", {"users/apps.py": _apps("poison"), "users/poison.py": POISON}, solution=True)
    build_submission(klass / "b-poison-db", {"users/signals.py": _receiver(POISON_DB)}, solution=True)
    _checker(klass / "c-check")
    out, tmp = tmp_path / "reports", tmp_path / "tmp"
    tmp.mkdir()
    try:
        proc = run_cli(
            "batch",
            str(klass),
            "--assignment",
            "signals-profile",
            "--jobs",
            "1",
            "-o",
            str(out),
            env={"TMPDIR": str(tmp)},
        )
        assert proc.returncode == 0, proc.stderr + proc.stdout
        check = json.loads((out / "c-check.json").read_text())
        found = _found(check)
        assert found["init"] == "grader-init", "the checker was not graded on the warm path"
        assert {k: v for k, v in found.items() if k != "init"} == CLEAN
        assert "WARM-CHECK-DB []" in check["output"]
        assert (check["status"], check["score"]) == ("graded", check["max_score"]), check["message"]
        poisoned = json.loads((out / "a-poison.json").read_text())
        seen = json.loads(poisoned["output"].split("POISON-SEES ", 1)[1].splitlines()[0])
        assert seen["files"] == ["/grading/run", "/tmp"] and seen["processes"] >= 3, seen
        assert poisoned["score"] < poisoned["max_score"]  # its own run is broken by what it did
        assert _left_behind() == []
    finally:
        _kill_left()
    assert not list(tmp.iterdir())  # the zygote's spool, the jobs' folders: all removed


def test_a_lost_zygote_means_the_submission_is_graded_cold(tmp_path):
    assignment = rubric.find("signals-profile")
    checker = _checker(tmp_path / "check")
    zygote = warm.Zygote()
    try:
        handle = zygote.handle
        first = api.grade(checker, assignment, warm=handle)
        assert _found(first.to_dict())["init"] == "grader-init"
        assert first.score == first.max_score
        assert zygote.proc is not None
        sandbox.kill_group(zygote.proc)
        zygote.proc.wait()
        again = api.grade(checker, assignment, warm=handle)
        assert _found(again.to_dict())["init"] == "bwrap"  # a cold child: bubblewrap's own init
        assert (again.status.value, again.score) == ("graded", first.score)
    finally:
        zygote.close()


@pytest.mark.parametrize("how", ["--cold", "GRADER_WARM=0"])
def test_the_warm_path_can_be_turned_off(tmp_path, how):
    klass = tmp_path / "class"
    _checker(klass / "check")
    out = tmp_path / "reports"
    args = ["batch", str(klass), "--assignment", "signals-profile", "-o", str(out)]
    env = {"GRADER_WARM": "0"} if how.startswith("GRADER_WARM") else None
    proc = run_cli(*args, *([how] if how.startswith("--") else []), env=env)
    assert proc.returncode == 0, proc.stderr + proc.stdout
    report = json.loads((out / "check.json").read_text())
    assert _found(report)["init"] == "bwrap"
    assert report["score"] == report["max_score"]


def test_grader_grade_can_be_made_warm(tmp_path):
    checker = _checker(tmp_path / "check")
    out = tmp_path / "report.json"
    proc = run_cli("grade", str(checker), "-o", str(out), "--quiet", env={"GRADER_WARM": "force"})
    assert proc.returncode == 0, proc.stderr + proc.stdout
    report = json.loads(out.read_text())
    assert _found(report) == {"init": "grader-init", **CLEAN}
    assert report["score"] == report["max_score"]


@pytest.mark.skipif(shutil.which("redis-server") is None, reason="redis-server is not installed")
def test_a_queue_worker_grades_on_its_warm_zygote(tmp_path, redis_url, workers):  # noqa: F811
    klass = tmp_path / "class"
    _checker(klass / "check")
    workers.start(redis_url)
    out = tmp_path / "reports"
    proc = run_cli(
        "batch", str(klass), "--assignment", "signals-profile", "--queue", redis_url, "-o", str(out), timeout=600
    )
    assert proc.returncode == 0, proc.stderr + proc.stdout
    report = json.loads((out / "check.json").read_text())
    assert _found(report) == {"init": "grader-init", **CLEAN}
    assert report["score"] == report["max_score"]


SLOW_RECEIVER = """
import time

from django.conf import settings
from django.db.models.signals import post_save
from django.dispatch import receiver

from .models import Profile


@receiver(post_save, sender=settings.AUTH_USER_MODEL)
def create_profile(sender, instance, created, **kwargs):
    time.sleep(0.5)
    if created:
        Profile.objects.create(user=instance)
"""


def _names() -> set[str]:
    names = set()
    for pid in os.listdir("/proc"):
        try:
            names.add(Path(f"/proc/{pid}/comm").read_text().strip())
        except OSError:
            continue
    return names


def test_a_zygote_lost_during_a_run_is_a_grader_fault_not_a_mark(tmp_path):
    assignment = rubric.find("signals-profile")
    slow = build_submission(tmp_path / "slow", {"users/signals.py": SLOW_RECEIVER}, solution=True)
    zygote = warm.Zygote()
    try:
        assert zygote.proc is not None
        zygote_pid = zygote.proc.pid
        done: list = []
        grading = threading.Thread(target=lambda: done.append(api.grade(slow, assignment, warm=zygote.handle)))
        grading.start()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and "grader-init" not in _names():
            time.sleep(0.05)
        time.sleep(0.5)  # the run is in the slow receiver
        sandbox.kill_group(zygote.proc)
        grading.join(60)
        report = done[0]
        assert report.grader_fault and "went away during the run" in report.grader_fault
        assert report.status.value == "error" and report.score == 0
        assert "your code" not in report.message.lower()
        assert not Path(f"/proc/{zygote_pid}").exists() or zygote.proc.wait(5) is not None
    finally:
        zygote.close()
