"""grader batch --queue: a real redis-server on a loopback port of the test's own and real
`grader worker` processes. The same reports as a local batch; the same work enqueued twice is
graded once; a worker killed mid-job loses nothing; a worker with another assignment refuses."""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import ROOT, assignment_copy, build_submission, run_cli

pytestmark = pytest.mark.skipif(
    shutil.which("redis-server") is None, reason="redis-server is not installed (make test installs Debian's package)"
)

SLOW_RECEIVER = {
    "users/signals.py": """
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
}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def redis_url(tmp_path):
    """A redis-server of this test's own: loopback only, a password, nothing saved to disk."""
    port, password = _free_port(), secrets.token_hex(8)
    proc = subprocess.Popen(
        [
            "redis-server",
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--requirepass",
            password,
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(tmp_path),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"redis://:{password}@127.0.0.1:{port}/0"
    import redis

    for _ in range(100):
        try:
            redis.Redis.from_url(url).ping()
            break
        except redis.RedisError:
            time.sleep(0.05)
    yield url
    proc.terminate()
    proc.wait(10)


class Workers:
    def __init__(self, tmp_path: Path):
        self.tmp, self.procs = tmp_path, []

    def start(self, url: str, env: dict | None = None, burst: bool = False) -> subprocess.Popen:
        log = open(self.tmp / f"worker{len(self.procs)}.log", "wb")
        proc = subprocess.Popen(
            [sys.executable, "-m", "grader", "worker", url, *(["--burst"] if burst else [])],
            cwd=self.tmp,
            env={**os.environ, **(env or {})},
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.procs.append(proc)
        return proc

    def stop(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


@pytest.fixture
def workers(tmp_path):
    pool = Workers(tmp_path)
    yield pool
    pool.stop()


def _class(tmp_path: Path) -> Path:
    folder = tmp_path / "class"
    build_submission(folder / "ada")  # the untouched template: 1 point
    build_submission(folder / "bob", solution=True)  # full marks
    build_submission(folder / "cy", solution=True)  # the same files as bob: one job for both
    return folder


def _reports(out: Path) -> dict[str, dict]:
    return {p.stem: json.loads(p.read_text()) for p in out.glob("*.json") if p.name != "summary.json"}


@pytest.mark.e2e
def test_a_queued_batch_gives_the_reports_of_a_local_one_and_reuses_finished_work(tmp_path, redis_url, workers):
    source = _class(tmp_path)
    for _ in range(2):
        workers.start(redis_url)
    out = tmp_path / "out"
    proc = run_cli(
        "batch", str(source), "--assignment", "signals-profile", "--queue", redis_url, "-o", str(out), timeout=600
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    reports = _reports(out)
    assert {k: (r["status"], r["score"]) for k, r in reports.items()} == {
        "ada": ("graded", 1.0),
        "bob": ("graded", 10.0),
        "cy": ("graded", 10.0),
    }
    assert all(r["sandbox"] == "bwrap" and r["submission"] == k for k, r in reports.items())
    assert reports["bob"]["submission_digest"] == reports["cy"]["submission_digest"]
    password = re.search(r"//:(\w+)@", redis_url).group(1)
    assert password not in proc.stdout + proc.stderr
    local = tmp_path / "local"
    done = run_cli(
        "batch", str(source), "--assignment", "signals-profile", "-o", str(local), "--jobs", "2", timeout=600
    )
    assert done.returncode == 0, done.stderr
    assert {k: [(c["id"], c["status"], c["score"]) for c in r["checks"]] for k, r in _reports(local).items()} == {
        k: [(c["id"], c["status"], c["score"]) for c in r["checks"]] for k, r in reports.items()
    }

    # No worker now: a report lost from the folder comes back from the result kept in Redis.
    workers.stop()
    (out / "ada.json").unlink()
    again = run_cli(
        "batch", str(source), "--assignment", "signals-profile", "--queue", redis_url, "-o", str(out), timeout=120
    )
    assert again.returncode == 0, again.stdout + again.stderr
    assert "1 graded now, 2 up to date" in again.stdout
    assert _reports(out)["ada"]["score"] == 1.0


def _descendants(pid: int) -> list[int]:
    found, stack = [], [pid]
    while stack:
        parent = stack.pop()
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            if int(stat[stat.rindex(")") + 2 :].split()[1]) == parent:
                found.append(int(entry))
                stack.append(int(entry))
    return found


def _work_horses(worker: int) -> list[int]:
    """The worker's children that run what it runs (RQ forks its work horse from itself)."""
    own = Path(f"/proc/{worker}/cmdline").read_bytes()
    horses = []
    for pid in _descendants(worker):
        try:
            if Path(f"/proc/{pid}/cmdline").read_bytes() == own:
                horses.append(pid)
        except OSError:
            continue
    return horses


@pytest.mark.e2e
def test_a_worker_killed_in_the_middle_of_a_job_loses_nothing(tmp_path, redis_url, workers):
    source = tmp_path / "class"
    for name in ("ada", "bob"):
        build_submission(source / name, SLOW_RECEIVER, solution=True)
    first = workers.start(redis_url)
    out = tmp_path / "out"
    batch = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "grader",
            "batch",
            str(source),
            "--assignment",
            "signals-profile",
            "--queue",
            redis_url,
            "-o",
            str(out),
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    # wait until the worker is grading (RQ's work horse, a fork of the worker, is there: the
    # worker's warm zygote is there from the start), then kill it and everything under it at
    # once, as a machine that dies would
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not _work_horses(first.pid):
        time.sleep(0.1)
    assert _work_horses(first.pid), "the worker never started grading"
    time.sleep(1.0)  # the horse's grading child is running the slow receiver by now
    victims = [first.pid, *_descendants(first.pid)]
    for pid in victims:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    workers.start(redis_url)
    stdout, stderr = batch.communicate(timeout=300)
    assert batch.returncode == 0, stdout + stderr
    reports = _reports(out)
    assert sorted(reports) == ["ada", "bob"]
    assert all(r["status"] == "graded" and r["score"] == 10.0 and not r["grader_fault"] for r in reports.values())
    assert "2 graded now" in stdout


@pytest.mark.e2e
def test_a_worker_with_another_assignment_digest_refuses_the_job(tmp_path_factory, tmp_path, redis_url, workers):
    other = assignment_copy(tmp_path_factory, wall=45)  # the same name, another rubric: another digest
    workers.start(redis_url, env={"GRADER_ASSIGNMENTS": str(other.parent)})
    source = tmp_path / "class"
    build_submission(source / "ada", solution=True)
    out = tmp_path / "out"
    proc = run_cli(
        "batch", str(source), "--assignment", "signals-profile", "--queue", redis_url, "-o", str(out), timeout=300
    )
    report = _reports(out)["ada"]
    assert report["status"] == "error" and report["score"] == 0
    assert "digest" in report["grader_fault"] and "install the same assignment" in report["grader_fault"]
    assert proc.returncode == 1, proc.stdout + proc.stderr  # nothing could be graded
    assert "grader fault" in proc.stdout


@pytest.mark.e2e
def test_a_worker_needs_redis_and_runs_nothing_but_grading_jobs(tmp_path, redis_url, workers):
    bad = run_cli("worker", "redis://127.0.0.1:1/0", timeout=60)
    assert bad.returncode == 2 and "cannot reach Redis" in bad.stderr
    import redis
    from rq import Queue
    from rq.serializers import JSONSerializer

    conn = redis.Redis.from_url(redis_url)
    marker = tmp_path / "ran"
    job = Queue("grader", connection=conn, serializer=JSONSerializer).enqueue("os.mkdir", str(marker))
    worker = workers.start(redis_url, burst=True)
    worker.wait(120)
    assert not marker.exists()
    job.refresh()
    assert job.get_status() == "failed"
    assert "grading jobs only" in (job.latest_result().exc_string or "")


SLOW_VERIFY = "import time\n\n\ndef slow(run):\n    time.sleep(30)\n"


@pytest.mark.e2e
@pytest.mark.parametrize("swallow", ["verify-error", "everything"])
def test_a_job_timeout_is_never_turned_into_the_students_result(tmp_path, redis_url, monkeypatch, swallow):
    """RQ's job timeout strikes while verify.py runs (whose failures the grading turns into a
    result, as evidence.confirms does with VerifyError), or where a bare `except` swallows it:
    the job fails as an infrastructure failure and is retried, and no report is its result.
    Before: RQ's JobTimeoutException is an Exception, the Verifier made it a VerifyError, and
    the job finished with the student's report."""
    import base64
    import hashlib
    import signal as signals

    import redis
    from rq import Queue, Retry
    from rq.serializers import JSONSerializer

    from grader import __version__, api, rubric, verify
    from grader.batch import rqueue

    assignment = rubric.find("signals-profile")
    (tmp_path / "verify.py").write_text(SLOW_VERIFY)
    db = tmp_path / "grading.sqlite3"
    import sqlite3

    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE _grader_models (label, db_table, pk_column, columns, related)")
        conn.execute("CREATE TABLE _grader_roles (role, label)")

    def grade(folder, assignment, sandbox="auto", name=None, warm=None):
        started = time.monotonic()
        verifier = verify.Verifier(tmp_path / "verify.py", db, {})
        try:
            if swallow == "verify-error":
                try:
                    reason = verifier("t::a", ("slow",), {}, {})
                except verify.VerifyError as exc:  # a grader problem: a result, never retried
                    reason = str(exc)
            else:
                try:
                    reason = verifier("t::a", ("slow",), {}, {})
                except:  # noqa: E722  (the worst code on the way: it swallows everything)
                    reason = "swallowed"
        finally:
            verifier.close()
        return api.error_report(assignment, name, f"the student's result: {reason}", started)

    monkeypatch.setattr(api, "grade", grade)
    monkeypatch.setattr(rqueue, "_WORKER_SANDBOX", "none")
    project = tmp_path / "project"
    project.mkdir()
    (project / "manage.py").write_text("# a project\n")
    archive = rqueue.pack(project)
    job_payload = {
        "student": "ada",
        "assignment": assignment.name,
        "digest": assignment.digest,
        "version": __version__,
        "sha256": hashlib.sha256(archive).hexdigest(),
        "archive": base64.b64encode(archive).decode("ascii"),
    }
    conn = redis.Redis.from_url(redis_url)
    GraderWorker, GraderJob, _ = rqueue.worker_classes()
    q = Queue(rqueue.QUEUE, connection=conn, serializer=JSONSerializer, job_class=GraderJob)
    job = q.enqueue(rqueue.JOB_FUNC, job_payload, job_id="grader-overtime", job_timeout=1, retry=Retry(max=1))
    handlers = {sig: signals.getsignal(sig) for sig in (signals.SIGINT, signals.SIGTERM)}
    try:
        worker = GraderWorker([q], connection=conn, serializer=JSONSerializer, job_class=GraderJob)
        started = time.monotonic()
        worker.work(burst=True, with_scheduler=False, logging_level="ERROR")  # the job, then its retry
    finally:
        for sig, handler in handlers.items():
            signals.signal(sig, handler)
    assert time.monotonic() - started < 25  # stopped at its time limit, twice; not after 30 s
    job.refresh()
    assert job.get_status() == "failed" and not job.retries_left, job.get_status()
    assert job.return_value() is None  # no student's result
    failure = job.latest_result().exc_string or ""
    assert "JobOvertime" in failure and "time limit of 1 s" in failure
    assert "time limit of 1 s" in rqueue.failure(job)  # what the batch shows: a grader-side error
