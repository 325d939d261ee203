"""The grading service under load and under faults, with real components only: `grader serve`
(gunicorn and its dispatcher) on a PostgreSQL cluster or SQLite of the test's own, in-process
workers or real `grader worker` processes on a real redis-server, real sandboxed gradings.

* load: 200 distinct submissions from 12 concurrent clients are all accepted within 60 s, and
  each is graded exactly once with its known score (p50/p95 from POST to graded printed);
* faults with RQ: a worker killed -9 while it grades, the service stopped (SIGTERM or kill -9)
  and started again, Redis restarted without its data: every submission ends graded with its
  score, or as an error that says it is not the student's doing, and never holds two reports;
* faults in-process: the service killed -9 while it grades grades those submissions after it
  starts again.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from servers import ROOT, Postgres, Redis, Service, post_submission, postgres_bin, wait_for, zip_project

pytestmark = pytest.mark.e2e
needs_redis = pytest.mark.skipif(shutil.which("redis-server") is None, reason="redis-server is not installed")
needs_postgres = pytest.mark.skipif(postgres_bin() is None, reason="PostgreSQL is not installed")


def _shared_conftest():
    """tests/conftest.py (its build_submission), by path: `import conftest` may be this folder's."""
    spec = importlib.util.spec_from_file_location("_tests_conftest", ROOT / "tests" / "conftest.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


build_submission = _shared_conftest().build_submission
ASSIGNMENT = "signals-profile"
VARIANTS = ROOT / "assignments" / ASSIGNMENT / "variants"

# A receiver that sleeps 2 s once per grading (every save would run past the time limit): a
# grading that lasts long enough to be interrupted, with the solution's 10 points.
SLOW_SIGNALS = {
    "users/signals.py": """
    import time

    from django.conf import settings
    from django.db.models.signals import post_save
    from django.dispatch import receiver

    from .models import Profile

    SLEPT = []


    @receiver(post_save, sender=settings.AUTH_USER_MODEL)
    def create_profile(sender, instance, created, **kwargs):
        if not SLEPT:
            SLEPT.append(True)
            time.sleep(2)
        if created:
            Profile.objects.create(user=instance)
"""
}

# kind: (expected score, expected report status)
EXPECTED = {
    "solution": (10.0, "graded"),
    "template": (1.0, "graded"),
    "no-created-check": (7.0, "graded"),
    "import-error": (0.0, "error"),
    "slow": (10.0, "graded"),
}


def _project(dest: Path, kind: str) -> Path:
    if kind == "slow":
        return build_submission(dest, SLOW_SIGNALS, solution=True)
    if kind in ("solution", "template"):
        return build_submission(dest, solution=kind == "solution")
    expect = (VARIANTS / kind / "expect.toml").read_text()
    build_submission(dest, solution='base = "solution"' in expect)
    shutil.copytree(VARIANTS / kind / "files", dest, dirs_exist_ok=True)
    return dest


class Archives:
    """Distinct archives of known kinds: each project's manage.py gets a comment line of its own."""

    def __init__(self, folder: Path) -> None:
        self.folder, self.projects, self.n = Path(folder), {}, 0

    def make(self, kind: str) -> bytes:
        if kind not in self.projects:
            self.projects[kind] = _project(self.folder / kind, kind)
        manage = self.projects[kind] / "manage.py"
        original = manage.read_text()
        self.n += 1
        manage.write_text(original + f"# submission {self.n}\n")
        try:
            return zip_project(self.projects[kind])
        finally:
            manage.write_text(original)


class Database:
    """Reads the service's database directly (PostgreSQL, or its SQLite file)."""

    def __init__(self, service: Service, pg: Postgres | None = None) -> None:
        self.pg = pg
        self.sqlite = service.data / "grader.sqlite3"

    def query(self, sql: str) -> list[tuple]:
        if self.pg is not None:
            import psycopg

            with psycopg.connect(self.pg.url, autocommit=True) as conn:
                return list(conn.execute(sql).fetchall())
        conn = sqlite3.connect(self.sqlite, timeout=30)
        try:
            return list(conn.execute(sql).fetchall())
        finally:
            conn.close()

    def submissions(self) -> dict[int, dict]:
        report = "s.report::text" if self.pg is not None else "s.report"
        rows = self.query(
            "SELECT s.id, st.student_id, s.status, s.attempts, s.score, s.error, s.sha256, s.job_id, "
            f"{report} FROM grading_submission s JOIN grading_student st ON st.id = s.student_id"
        )
        keys = ("id", "student", "status", "attempts", "score", "error", "sha256", "job_id", "report")
        out = {}
        for row in rows:
            sub = dict(zip(keys, row))
            sub["report"] = json.loads(sub["report"]) if sub["report"] else None
            out[sub["id"]] = sub
        return out

    def statuses(self) -> dict[str, int]:
        return dict(self.query("SELECT status, COUNT(*) FROM grading_submission GROUP BY status"))

    def wait_done(self, n: int, timeout: float) -> dict[int, dict]:
        def done() -> bool:
            counts = self.statuses()
            return counts.get("graded", 0) + counts.get("error", 0) >= n

        try:
            wait_for(done, timeout, "every submission graded", 1.0)
        except TimeoutError as exc:
            raise AssertionError(f"{exc}: {self.statuses()}") from None
        return self.submissions()


def submit_all(service: Service, tokens: dict[str, str], work: list[tuple[str, bytes]], clients: int) -> list[dict]:
    """POST every (student, archive) from `clients` threads; what each POST answered."""

    def post(item: tuple[str, bytes]) -> dict:
        student, archive = item
        started = time.monotonic()
        status, body = post_submission(service.url, tokens[student], ASSIGNMENT, archive)
        return {"student": student, "status": status, "body": body, "s": time.monotonic() - started}

    with ThreadPoolExecutor(clients) as pool:
        return list(pool.map(post, work))


def check_outcomes(subs: dict[int, dict], expected: dict[int, str], tokens_by_student: dict[str, str]) -> None:
    """Each submission graded with its kind's score, or an error that is not the student's doing;
    one row per archive; a report (one) exactly when graded, for the right student."""
    assert sorted(subs) == sorted(expected), "submissions lost or added"
    assert len({s["sha256"] for s in subs.values()}) == len(subs), "a submission stored twice"
    for pk, sub in subs.items():
        score, status = EXPECTED[expected[pk]]
        assert sub["student"] in tokens_by_student
        assert 1 <= sub["attempts"] <= 3, sub
        if sub["status"] == "graded":
            assert sub["report"] is not None and sub["error"] == "", sub
            assert (sub["score"], sub["report"]["status"], sub["report"]["score"]) == (score, status, score), (
                expected[pk],
                sub,
            )
            assert sub["report"]["submission"] == sub["student"]
            assert not sub["report"].get("grader_fault")
        else:
            assert sub["status"] == "error", sub
            assert sub["report"] is None and sub["score"] is None, sub
            assert "not your doing" in sub["error"], sub["error"]


def _students(service: Service, n: int) -> dict[str, str]:
    return service.students(*({"student_id": f"s{i:02d}", "name": f"Student {i}"} for i in range(n)))


# ----------------------------------------------------------------------------- load


@needs_postgres
def test_200_submissions_from_concurrent_clients_are_accepted_in_a_minute_and_each_graded_once(tmp_path):
    pg = Postgres(tmp_path / "pg").start()
    service = None
    try:
        service = Service(tmp_path / "svc", "--db", pg.url, "--workers", "2", "--rate", "1000").start()
        tokens = _students(service, 20)
        archives = Archives(tmp_path / "projects")
        # mostly the starter (the fastest to grade); the others' scores show that no report
        # went to another submission
        kinds = ["template"] * 7 + ["solution", "no-created-check", "import-error"]
        work, kind_of = [], []
        for round_ in range(10):  # 20 students x 10 submissions, every archive its own
            for i, student in enumerate(sorted(tokens)):
                kind = kinds[(i + round_) % len(kinds)]
                work.append((student, archives.make(kind)))
                kind_of.append(kind)

        started = time.monotonic()
        answers = submit_all(service, tokens, work, clients=12)
        window = time.monotonic() - started
        refused = [a for a in answers if a["status"] != 201]
        assert not refused, refused[:3]
        assert window <= 60, f"200 submissions took {window:.1f} s to be accepted"
        expected = {a["body"]["id"]: kind for a, kind in zip(answers, kind_of)}
        assert len(expected) == 200

        db = Database(service, pg)
        subs = db.wait_done(200, timeout=240)
        graded_after = time.monotonic() - started
        check_outcomes(subs, expected, tokens)
        # graded once: claimed once (attempts), by one of the service's two worker threads
        assert all(s["status"] == "graded" and s["attempts"] == 1 for s in subs.values())
        owners = {owner.rsplit(":", 1)[-1] for (owner,) in db.query("SELECT claimed_by FROM grading_submission")}
        assert owners == {"worker-0", "worker-1"}, owners
        rows = db.query("SELECT COUNT(*), COUNT(DISTINCT sha256) FROM grading_submission")
        assert rows == [(200, 200)]
        assert "Traceback" not in service.log.read_text()

        latency = [
            float(t) for (t,) in db.query("SELECT EXTRACT(EPOCH FROM finished - created) FROM grading_submission")
        ]
        posts = sorted(a["s"] for a in answers)
        q = statistics.quantiles(latency, n=20)
        print(
            f"\nload: 200 submissions accepted in {window:.1f} s ({200 / window:.1f}/s, POST p50 "
            f"{statistics.median(posts) * 1000:.0f} ms, p95 {statistics.quantiles(posts, n=20)[18] * 1000:.0f} ms); "
            f"all graded after {graded_after:.1f} s ({200 / graded_after:.2f}/s); POST to graded p50 "
            f"{statistics.median(latency):.1f} s, p95 {q[18]:.1f} s, max {max(latency):.1f} s"
        )
    finally:
        if service is not None:
            service.stop()
        pg.stop()


# ----------------------------------------------------------------------------- faults with RQ


def _processes() -> dict[int, tuple[int, str]]:
    """Every process: pid -> (parent pid, command name)."""
    found = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            found[int(entry)] = (
                int(stat[stat.rindex(")") + 2 :].split()[1]),
                stat[stat.index("(") + 1 : stat.rindex(")")],
            )
    return found


def _descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for child, (parent, _) in _processes().items():
        children.setdefault(parent, []).append(child)
    found, stack = [], [pid]
    while stack:
        for child in children.get(stack.pop(), []):
            found.append(child)
            stack.append(child)
    return found


def _sandboxes(pid: int) -> int:
    """How many sandboxed gradings run under `pid`: a cold child's bubblewrap (the outer one, which
    runs the harness's bootstrap.py), or a warm child's init (forked by a worker's zygote, whose own
    bubblewrap runs zygote.py and is no grading)."""
    procs = _processes()
    count = 0
    for child in _descendants(pid):
        parent, name = procs.get(child, (0, ""))
        if name == "grader-init":
            count += 1
        elif name == "bwrap" and procs.get(parent, (0, ""))[1] != "bwrap":
            try:
                count += b"bootstrap.py" in Path(f"/proc/{child}/cmdline").read_bytes()
            except OSError:
                continue
    return count


class Workers:
    """`grader worker` processes, each in a process group of its own."""

    def __init__(self, folder: Path) -> None:
        self.folder, self.procs = Path(folder), []

    def start(self, url: str, n: int = 1) -> None:
        for _ in range(n):
            log = open(self.folder / f"worker{len(self.procs)}.log", "ab")
            self.procs.append(
                subprocess.Popen(
                    [sys.executable, "-m", "grader", "worker", url],
                    cwd=self.folder,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            )
            log.close()

    def grading(self) -> subprocess.Popen | None:
        """A live worker with a work horse that runs a sandboxed child (it holds a job)."""
        for proc in self.procs:
            if proc.poll() is None and _sandboxes(proc.pid) >= 1:
                return proc
        return None

    def kill(self, proc: subprocess.Popen, sig: int = signal.SIGKILL) -> None:
        """`sig` to the worker's process group and everything under it: SIGKILL as a machine that
        dies, SIGTERM as `systemctl stop` (every process of the unit, the sandboxed child too)."""
        victims = _descendants(proc.pid)
        os.killpg(proc.pid, sig)
        for pid in victims:
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:  # RQ's warm shutdown missed the signal: see the report
            print(f"\nworker {proc.pid} still runs 15 s after {signal.Signals(sig).name}: killed -9")
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)

    def stop(self) -> None:
        """SIGTERM (RQ's warm shutdown), again after 5 s (its cold shutdown: now and then an idle
        worker, just done with a job, goes on waiting on Redis after the first), then SIGKILL."""
        for sig in (signal.SIGTERM, signal.SIGTERM, signal.SIGKILL):
            alive = [proc for proc in self.procs if proc.poll() is None]
            for proc in alive:
                os.killpg(proc.pid, sig)
            for proc in alive:
                try:
                    proc.wait(5)
                except subprocess.TimeoutExpired:
                    pass


@pytest.fixture
def rq_service(tmp_path):
    """A service on SQLite with --queue on a redis-server of the test's own, 2 `grader worker`s
    and 3 students; yields (service, redis, workers, tokens)."""
    redis = Redis(tmp_path / "redis").start()
    workers = Workers(tmp_path)
    service = Service(tmp_path / "svc", "--queue", redis.url, "--rate", "1000")
    try:
        service.start()
        tokens = _students(service, 3)
        workers.start(redis.url, 2)
        yield service, redis, workers, tokens
    finally:
        workers.stop()
        service.stop()
        redis.stop()


BATCH = ["slow", "template", "solution", "slow", "no-created-check", "template"]


def _submit_batch(tmp_path: Path, service: Service, tokens: dict[str, str], kinds: list[str]) -> dict[int, str]:
    """Submit one after the other: the service grades them in this order."""
    archives = Archives(tmp_path / "projects")
    students = sorted(tokens)
    work = [(students[i % len(students)], archives.make(kind)) for i, kind in enumerate(kinds)]
    answers = submit_all(service, tokens, work, clients=1)
    assert all(a["status"] == 201 for a in answers), answers
    return {a["body"]["id"]: kind for a, kind in zip(answers, kinds)}


@needs_redis
@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM], ids=["kill9", "sigterm-all"])
def test_a_worker_killed_while_it_grades_loses_nothing(tmp_path, rq_service, sig):
    service, redis, workers, tokens = rq_service
    expected = _submit_batch(tmp_path, service, tokens, BATCH)
    victim = wait_for(workers.grading, 60, "a worker grading")
    workers.kill(victim, sig)
    workers.start(redis.url)
    db = Database(service)
    subs = db.wait_done(len(expected), timeout=150)
    check_outcomes(subs, expected, tokens)
    # RQ retried the dead worker's job itself (same job, same attempt): no submission errs
    assert all(s["status"] == "graded" and s["attempts"] == 1 for s in subs.values()), subs


@needs_redis
@pytest.mark.parametrize("kill", [False, True], ids=["sigterm", "kill9"])
def test_the_service_restarted_mid_batch_collects_every_job(tmp_path, rq_service, kill):
    service, redis, workers, tokens = rq_service
    expected = _submit_batch(tmp_path, service, tokens, BATCH)
    db = Database(service)
    wait_for(lambda: db.statuses().get("graded", 0) >= 2, 60, "two graded")
    service.stop(kill=kill)
    time.sleep(3)  # the workers grade on while the service is down
    service.start()
    subs = db.wait_done(len(expected), timeout=150)
    check_outcomes(subs, expected, tokens)
    assert all(s["status"] == "graded" and s["attempts"] == 1 for s in subs.values()), subs


@needs_redis
def test_redis_restarted_without_its_data_mid_batch_loses_no_submission(tmp_path, rq_service):
    service, redis, workers, tokens = rq_service
    expected = _submit_batch(tmp_path, service, tokens, BATCH)
    db = Database(service)
    wait_for(lambda: db.statuses().get("graded", 0) >= 2 and workers.grading(), 60, "two graded, one grading")
    redis.restart()  # not persistent: every job, queued, running or finished, is gone
    workers.start(redis.url, 2)
    subs = db.wait_done(len(expected), timeout=180)
    check_outcomes(subs, expected, tokens)
    print("\nattempts after the Redis restart:", sorted(s["attempts"] for s in subs.values()))


# The rows as a kill -9 leaves them: `no_job` claimed (attempt 1) but its job id not yet stored;
# `lost_job` claimed again (attempt 2) with its job id stored but the job never enqueued. (Not
# attempt 1: that job did exist, and the kill may have come before the collector deleted it.)
CRASHED = """
from grader.service.models import Submission
Submission.objects.filter(pk={no_job}).update(
    status="grading", claimed_by="queue", job_id="", attempts=1, report=None, score=None, finished=None
)
Submission.objects.filter(pk={lost_job}).update(
    status="grading", claimed_by="queue", job_id="grader-service-{lost_job}-2", attempts=2, report=None,
    score=None, finished=None
)
"""


@needs_redis
def test_a_service_killed_between_claiming_and_enqueueing_grades_the_submission_after_it_starts(tmp_path, rq_service):
    """kill -9 right after a submission is claimed for the queue leaves it `grading` by the queue
    with no job id yet (or with a job id that never reached Redis). Before: recover() left every
    row the queue held to the collector, which only looks at rows with a job id: the first one
    stayed `grading` for good."""
    service, redis, workers, tokens = rq_service
    expected = _submit_batch(tmp_path, service, tokens, ["solution", "template"])
    db = Database(service)
    db.wait_done(2, timeout=60)
    service.stop(kill=True)
    no_job, lost_job = sorted(expected)
    service.shell(CRASHED.format(no_job=no_job, lost_job=lost_job))
    service.start()
    subs = db.wait_done(2, timeout=60)
    check_outcomes(subs, expected, tokens)
    assert [(s["status"], s["attempts"]) for _, s in sorted(subs.items())] == [("graded", 2), ("graded", 3)]


# ----------------------------------------------------------------------------- faults in-process


@pytest.mark.parametrize("how", ["kill9", "sigterm-all"])
def test_the_service_killed_while_it_grades_grades_those_submissions_after_it_starts(tmp_path, how):
    """kill9: the service's process group is killed -9 while two gradings run (their sandboxed
    children die with it). sigterm-all: SIGTERM to the service and every process under it, the
    gradings' children too, as `systemctl stop` does (KillMode=control-group)."""
    service = Service(tmp_path / "svc", "--workers", "2", "--rate", "1000").start()
    try:
        tokens = _students(service, 2)
        expected = _submit_batch(tmp_path, service, tokens, ["slow", "slow", "template", "solution"])
        db = Database(service)
        # the two slow ones (the first submitted) in their sandboxes: neither can end before the kill
        wait_for(lambda: _sandboxes(service.proc.pid) == 2, 30, "two sandboxed gradings", 0.05)
        held = {pk for (pk,) in db.query("SELECT id FROM grading_submission WHERE status = 'grading'")}
        assert held == {pk for pk, kind in expected.items() if kind == "slow"}
        if how == "kill9":
            service.stop(kill=True)
            assert db.statuses().get("grading") == 2
        else:
            assert service.proc is not None
            for pid in [service.proc.pid, *_descendants(service.proc.pid)]:
                try:
                    os.kill(pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
            service.proc.wait(60)
        service.start()
        subs = db.wait_done(len(expected), timeout=90)
        check_outcomes(subs, expected, tokens)
        assert all(s["status"] == "graded" for s in subs.values())
        assert {pk for pk, s in subs.items() if s["attempts"] == 2} == held
        log = service.log.read_text()
        assert "the service stopped while grading it" in log
        if how == "sigterm-all":  # the children died of the signal: their reports were not stored
            assert "not stored, the service is stopping" in log
    finally:
        service.stop()
