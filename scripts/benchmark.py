#!/usr/bin/env python3
"""Benchmark of the grader (not part of the test run).

Measures, in one run on this machine, medians over several runs:
  floor  `python -c "import django; django.setup()"` with the submission's settings
  naive  plain pytest + pytest-django on the hidden suite with the student's own settings
  grade  `grader grade` on the reference solution (a cold grading child)
  warm   one submission on the warm path (grader/warm.py): api.grade with a worker's zygote
  batch  `grader batch` over N generated submissions with --jobs 1 and --jobs 2
  queue  the same batch on a Redis queue (a local redis-server) with two `grader worker`s
  rss    peak RSS of a grading child
and prints the ratios the targets are about. Usage:

    .venv/bin/python scripts/benchmark.py [--runs 7] [--batch 50] [--batch-runs 3]
                                          [--class-size 300] [--json FILE]

With --service, it measures the grading service instead (and only it):
  service  `grader serve` (gunicorn; PostgreSQL in a cluster of its own, or SQLite; 2 in-process
           workers in the sandbox) taking N distinct submissions from concurrent clients through
           the API: how long they took to be accepted, the median and 95th percentile from POST
           to result, when the last was graded

    .venv/bin/python scripts/benchmark.py --service [N] [--service-db auto|sqlite|postgresql]
                                          [--service-clients 12] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "student_template"
ASSIGNMENT = ROOT / "assignments" / "signals-profile"
PY = sys.executable
GRADER = [PY, "-m", "grader"]

VARIANTS = {
    "solution": {},
    "template": None,  # the untouched template
    "no-created-check": {
        "users/signals.py": """
        from django.conf import settings
        from django.db.models.signals import post_save
        from django.dispatch import receiver
        from .models import Profile

        @receiver(post_save, sender=settings.AUTH_USER_MODEL)
        def create_profile(sender, instance, **kwargs):
            Profile.objects.create(user=instance)
        """
    },
    "syntax-error": {"users/signals.py": "def oops(:\n"},
    "connected-in-models": {
        "users/apps.py": """
        from django.apps import AppConfig

        class UsersConfig(AppConfig):
            name = "users"
            default_auto_field = "django.db.models.BigAutoField"
        """,
        "users/models.py+": "\nfrom . import signals  # noqa\n",
    },
}


def make_submission(dest: Path, variant: str) -> Path:
    shutil.copytree(TEMPLATE, dest, ignore=shutil.ignore_patterns("__pycache__", "db.sqlite3"))
    files = VARIANTS[variant]
    if files is None:
        return dest
    shutil.copytree(ASSIGNMENT / "solution", dest, dirs_exist_ok=True)
    for rel, text in files.items():
        if rel.endswith("+"):
            with open(dest / rel[:-1], "a") as fh:
                fh.write(textwrap.dedent(text))
        else:
            (dest / rel).write_text(textwrap.dedent(text).lstrip())
    return dest


def timed(cmd: list, cwd: Path, env: dict | None = None) -> float:
    start = time.perf_counter()
    done = subprocess.run(cmd, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    elapsed = time.perf_counter() - start
    if done.returncode not in (0, 1):
        raise SystemExit(f"{cmd[:4]} failed ({done.returncode}): {done.stderr.decode()[-2000:]}")
    return elapsed


def median_of(runs: int, func) -> float:
    return statistics.median(func() for _ in range(runs))


def bench_floor(project: Path, runs: int) -> float:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "mysite.settings"}
    return median_of(runs, lambda: timed([PY, "-c", "import django; django.setup()"], project, env))


NAIVE_CONFTEST = """
import os, sys
sys.path[:0] = [{harness!r}]
from _grader_harness import state
state.start(submission=os.getcwd(), student_settings="mysite.settings", token="naive",
            models={{"profile": "users.Profile"}},
            connections={{"test_registration.py::test_receiver_registered_in_ready":
                          {{"signal": "post_save", "sender": "user", "ready": "profile"}}}})
pytest_plugins = ["_grader_harness.plugin"]

import pytest


@pytest.fixture(scope="session", autouse=True)
def _grading_database(django_db_blocker):
    # by hand: the student's real migrations, on the student's own database settings
    from django.core.management import call_command
    from django.db import connection

    with django_db_blocker.unblock():
        call_command("migrate", verbosity=0, interactive=False)
        with connection.cursor() as cursor:
            cursor.execute("CREATE TABLE IF NOT EXISTS _grader_evidence "
                           "(nodeid TEXT, kind TEXT, value INTEGER)")
    yield
"""


def bench_naive(work: Path, runs: int) -> float:
    """What an instructor would do by hand: the hidden suite as the project's own tests,
    with the student's settings (default password hasher, migrations applied), plain pytest."""

    def once() -> float:
        project = make_submission(Path(tempfile.mkdtemp(dir=work)) / "naive", "solution")
        shutil.copytree(
            ASSIGNMENT / "tests", project / "hidden_tests", ignore=shutil.ignore_patterns("pytest.ini", "__pycache__")
        )
        (project / "conftest.py").write_text(NAIVE_CONFTEST.format(harness=str(ROOT / "grader" / "harness")))
        (project / "pytest.ini").write_text("[pytest]\nDJANGO_SETTINGS_MODULE = mysite.settings\n")
        return timed([PY, "-m", "pytest", "-q", "-p", "no:cacheprovider", "hidden_tests"], project)

    return median_of(runs, once)


def bench_grade(project: Path, runs: int, out: Path) -> float:
    return median_of(runs, lambda: timed([*GRADER, "grade", str(project), "-o", str(out), "-q"], ROOT))


def bench_warm(project: Path, runs: int) -> float | None:
    """What one submission costs a worker that has its zygote (as a batch's, a queue's or the
    service's workers do): api.grade, from copying the submission to the report."""
    from grader import api, rubric, warm

    if not warm.usable("auto"):
        return None
    assignment = rubric.find("signals-profile")
    with warm.pool("auto") as pool:
        handle = pool.handle(assignment) if pool is not None else None
        if handle is None:
            return None
        api.grade(project, assignment, warm=handle)  # the first one warms the grader's side too

        def once() -> float:
            start = time.perf_counter()
            report = api.grade(project, assignment, warm=handle)
            elapsed = time.perf_counter() - start
            if report.score != report.max_score:
                raise SystemExit(f"the warm path graded the solution {report.score}: {report.message}")
            return elapsed

        return median_of(runs, once)


def make_class(base: Path, size: int) -> Path:
    source = base / f"class-{size}"
    names = list(VARIANTS)
    for i in range(size):
        # each submission its own (a note of the student's): the queue grades identical
        # submissions once, so a class of copies would measure nothing
        made = make_submission(source / f"student{i:04d}", names[i % len(names)])
        (made / "NOTES.txt").write_text(f"student {i}\n")
    return source


def bench_batch(source: Path, jobs: int, out: Path) -> float:
    shutil.rmtree(out, ignore_errors=True)
    return timed(
        [
            *GRADER,
            "batch",
            str(source),
            "--assignment",
            "signals-profile",
            "--jobs",
            str(jobs),
            "--output-dir",
            str(out),
        ],
        ROOT,
    )


def bench_queue(source: Path, workers: int, runs: int, out: Path) -> float | None:
    """`grader batch --queue` with `workers` warm `grader worker`s and a redis-server of its own
    on a loopback port; Redis is emptied before each run, so that every run grades everything."""
    import socket

    if not shutil.which("redis-server"):
        print("note: no redis-server: the queue is not measured", file=sys.stderr)
        return None
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"redis://127.0.0.1:{port}/0"
    server = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
    )
    procs = []
    try:
        import redis

        conn = redis.Redis.from_url(url)
        for _ in range(100):
            try:
                conn.ping()
                break
            except redis.RedisError:
                time.sleep(0.05)
        procs = [
            subprocess.Popen([*GRADER, "worker", url], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            for _ in range(workers)
        ]
        time.sleep(2)  # the workers are up and waiting, as they are in a real deployment

        def once() -> float:
            conn.flushall()
            shutil.rmtree(out, ignore_errors=True)
            return timed(
                [
                    *GRADER,
                    "batch",
                    str(source),
                    "--assignment",
                    "signals-profile",
                    "--queue",
                    url,
                    "--output-dir",
                    str(out),
                ],
                ROOT,
            )

        return median_of(runs, once)
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(30)
        server.terminate()
        server.wait(10)


def bench_service(work: Path, n: int, db: str, clients: int) -> dict:
    """`grader serve` with 2 in-process workers on PostgreSQL (a cluster of its own in `work`) or
    SQLite: n distinct submissions (the VARIANTS in turn, 10 per student) posted through the API
    by `clients` threads at once, then waited for. The service, PostgreSQL and the posting are
    tests/servers.py's, as the service's tests use them."""
    import statistics
    from concurrent.futures import ThreadPoolExecutor

    sys.path.insert(0, str(ROOT / "tests"))
    import servers

    if db == "auto":
        db = "postgresql" if servers.postgres_bin() else "sqlite"
    pg = servers.Postgres(work / "pg").start() if db == "postgresql" else None
    args = ["--workers", "2", "--rate", str(max(10, n))] + (["--db", pg.url] if pg else [])
    service = servers.Service(work / "service", *args)
    try:
        service.start()
        tokens = service.students(*({"student_id": f"s{i:03d}"} for i in range(max(1, -(-n // 10)))))
        names, students = list(VARIANTS), sorted(tokens)
        projects = {v: make_submission(work / "service-projects" / v, v) for v in names}
        archives = []
        for i in range(n):  # each its own (a note of the student's), as in make_class
            project = projects[names[i % len(names)]]
            (project / "NOTES.txt").write_text(f"submission {i}\n")
            archives.append((students[i % len(students)], servers.zip_project(project)))

        def post(item: tuple[str, bytes]) -> int:
            status, _ = servers.post_submission(service.url, tokens[item[0]], "signals-profile", item[1])
            return status

        started = time.monotonic()
        with ThreadPoolExecutor(clients) as pool:
            statuses = list(pool.map(post, archives))
        accepted_s = time.monotonic() - started
        if statuses.count(201) != n:
            raise SystemExit(f"the service refused {n - statuses.count(201)} of {n} submissions: {set(statuses)}")

        if pg is not None:
            import psycopg

            def query(sql: str) -> list:
                with psycopg.connect(pg.url, autocommit=True) as conn:
                    return conn.execute(sql).fetchall()

            seconds = "EXTRACT(EPOCH FROM finished - created)"
        else:
            import sqlite3

            def query(sql: str) -> list:
                conn = sqlite3.connect(service.data / "grader.sqlite3", timeout=30)
                try:
                    return conn.execute(sql).fetchall()
                finally:
                    conn.close()

            seconds = "(julianday(finished) - julianday(created)) * 86400"
        done = "SELECT COUNT(*) FROM grading_submission WHERE status IN ('graded', 'error')"
        deadline = time.monotonic() + 60 + 10 * n
        while query(done)[0][0] < n:
            if time.monotonic() > deadline:
                raise SystemExit(f"the service has not graded the {n} submissions after {10 * n + 60} s")
            time.sleep(0.25)
        total_s = time.monotonic() - started
        latency = sorted(float(t) for (t,) in query(f"SELECT {seconds} FROM grading_submission"))
        counts = dict(query("SELECT status, COUNT(*) FROM grading_submission GROUP BY status"))
        attempts = query("SELECT MAX(attempts) FROM grading_submission")[0][0]
    finally:
        service.stop()
        if pg is not None:
            pg.stop()
    return {
        "service_n": n,
        "service_db": db,
        "service_clients": clients,
        "service_accepted_s": accepted_s,
        "service_accepted_per_s": n / accepted_s,
        "service_result_p50_s": statistics.median(latency),
        "service_result_p95_s": statistics.quantiles(latency, n=20)[18] if n > 1 else latency[0],
        "service_total_s": total_s,
        "service_graded": counts.get("graded", 0),
        "service_errors": counts.get("error", 0),
        "service_max_attempts": attempts,
    }


def peak_child_rss(project: Path, out: Path) -> float:
    """Peak RSS (MB, VmHWM) of the grading child, sampled from /proc while `grader grade`
    runs (the child lives in the sandbox's PID namespace, so rusage does not reach it)."""
    import threading

    peak = 0
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            for entry in Path("/proc").iterdir():
                if not entry.name.isdigit():
                    continue
                try:
                    if b"_grader_harness/bootstrap.py" not in (entry / "cmdline").read_bytes():
                        continue
                    for line in (entry / "status").read_text().splitlines():
                        if line.startswith("VmHWM:"):
                            peak = max(peak, int(line.split()[1]))
                except OSError:
                    continue
            time.sleep(0.005)

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    subprocess.run([*GRADER, "grade", str(project), "-o", str(out), "-q"], cwd=ROOT, stdout=subprocess.DEVNULL)
    done.set()
    thread.join()
    return peak / 1024


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--batch", type=int, default=50, help="submissions in the jobs1/jobs2 batches")
    parser.add_argument("--batch-runs", type=int, default=3, help="runs of each batch (median)")
    parser.add_argument("--class-size", type=int, default=0, help="also time a batch of this many (e.g. 300)")
    parser.add_argument("--json", type=Path, help="write the numbers here too")
    parser.add_argument(
        "--service",
        type=int,
        nargs="?",
        const=200,
        default=0,
        metavar="N",
        help="time the grading service taking N submissions (default 200), and nothing else",
    )
    parser.add_argument(
        "--service-db",
        choices=["auto", "sqlite", "postgresql"],
        default="auto",
        help="the service's database (auto: PostgreSQL when installed)",
    )
    parser.add_argument("--service-clients", type=int, default=12, help="clients posting at once")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="grader-bench-"))
    try:
        results: dict = {"cores": os.cpu_count()}
        if not args.service:
            project = make_submission(work / "solution", "solution")
            results["floor_s"] = bench_floor(project, args.runs)
            results["grade_s"] = bench_grade(project, args.runs, work / "grade.json")
            warm_s = bench_warm(project, args.runs)
            if warm_s is not None:
                results["warm_s"] = warm_s
            results["naive_s"] = bench_naive(work, max(3, args.runs // 2))
            results["child_peak_rss_mb"] = peak_child_rss(project, work / "rss.json")
        if args.batch and not args.service:
            source = make_class(work, args.batch)
            results["batch_n"] = args.batch
            runs = max(1, args.batch_runs)
            results["batch_jobs1_s"] = median_of(runs, lambda: bench_batch(source, 1, work / "b1"))
            results["batch_jobs2_s"] = median_of(runs, lambda: bench_batch(source, 2, work / "b2"))
            queued = bench_queue(source, 2, runs, work / "q2")
            if queued is not None:
                results["queue_workers2_s"] = queued
        if args.class_size and not args.service:
            source = make_class(work, args.class_size)
            results["class_n"] = args.class_size
            results["class_jobs2_s"] = bench_batch(source, os.cpu_count() or 2, work / "class")
        if args.service:
            results.update(bench_service(work, args.service, args.service_db, args.service_clients))
    finally:
        shutil.rmtree(work, ignore_errors=True)

    r = results
    rows = []
    if "floor_s" in r:
        rows += [
            ("floor (import django; django.setup())", f"{r['floor_s']:.3f} s", ""),
            ("naive (plain pytest + pytest-django)", f"{r['naive_s']:.3f} s", ""),
            ("grader grade (reference solution)", f"{r['grade_s']:.3f} s", ""),
            ("grade / floor", f"{r['grade_s'] / r['floor_s']:.2f}x", "target <= 2.0x"),
            ("naive / grade", f"{r['naive_s'] / r['grade_s']:.2f}x", "target >= 3x"),
            ("peak RSS of a grading child", f"{r['child_peak_rss_mb']:.0f} MB", "target <= 200 MB"),
        ]
    if "warm_s" in r:
        rows.append(("warm path, one submission (api.grade)", f"{r['warm_s']:.3f} s", "target <= 0.3 s"))
    if "batch_n" in r:
        rows += [
            (f"grader batch, {r['batch_n']} submissions, --jobs 1", f"{r['batch_jobs1_s']:.1f} s", ""),
            (f"grader batch, {r['batch_n']} submissions, --jobs 2", f"{r['batch_jobs2_s']:.1f} s", ""),
            ("batch throughput, --jobs 2", f"{r['batch_n'] / r['batch_jobs2_s']:.1f}/s", "target >= 6/s"),
            ("throughput jobs2 / jobs1", f"{r['batch_jobs1_s'] / r['batch_jobs2_s']:.2f}x", "target >= 1.8x"),
        ]
    if "queue_workers2_s" in r:
        rows += [
            (f"grader batch --queue, {r['batch_n']} submissions, 2 workers", f"{r['queue_workers2_s']:.1f} s", ""),
            ("throughput queue / local jobs2", f"{r['batch_jobs2_s'] / r['queue_workers2_s']:.2f}x", "target >= 0.85x"),
            (
                "added cost per job on the queue",
                f"{(r['queue_workers2_s'] - r['batch_jobs2_s']) / r['batch_n'] * 1000:.0f} ms",
                "",
            ),
        ]
    if "class_n" in r:
        rows.append(
            (
                f"grader batch, {r['class_n']} submissions, {r['cores']} jobs",
                f"{r['class_jobs2_s']:.1f} s",
                "target < 120 s for 300",
            )
        )
    if "service_n" in r:
        what = f"grader serve ({r['service_db']}, 2 workers), {r['service_n']} from {r['service_clients']} clients"
        rows += [
            (f"{what}: accepted", f"{r['service_accepted_s']:.1f} s", "target <= 60 s for 200"),
            ("  submissions accepted per second", f"{r['service_accepted_per_s']:.1f}/s", ""),
            ("  POST to result, p50", f"{r['service_result_p50_s']:.1f} s", ""),
            ("  POST to result, p95", f"{r['service_result_p95_s']:.1f} s", ""),
            ("  all graded after", f"{r['service_total_s']:.1f} s", ""),
            (
                "  graded / errors / most attempts",
                f"{r['service_graded']} / {r['service_errors']} / {r['service_max_attempts']}",
                "",
            ),
        ]
    width = max(len(a) for a, _, _ in rows)
    how = "one run" if args.service else f"medians of {args.runs} runs"
    print(f"benchmark on {r['cores']} cores, {how}")
    for name, value, target in rows:
        print(f"  {name:<{width}}  {value:>10}  {target}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
