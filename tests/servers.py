"""Real servers for the tests, each started by the test on loopback ports of its own and stopped
after it: redis-server, a PostgreSQL cluster in a temporary folder (Debian's package) and the
grading service itself (`grader serve`, gunicorn and its workers)."""

from __future__ import annotations

import csv
import glob
import io
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(predicate, timeout: float, what: str, every: float = 0.1):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what}: not after {timeout:g} s")
        time.sleep(every)


# ----------------------------------------------------------------------------- Redis


class Redis:
    """A redis-server of the test's own: loopback only, a password, nothing saved to disk unless
    `persist` (then restart() keeps the data, as a production Redis with its dump file does)."""

    def __init__(self, folder: Path, persist: bool = False) -> None:
        self.folder, self.persist = Path(folder), persist
        self.port, self.password = free_port(), secrets.token_hex(8)
        self.url = f"redis://:{self.password}@127.0.0.1:{self.port}/0"
        self.proc: subprocess.Popen | None = None

    def start(self) -> Redis:
        self.folder.mkdir(parents=True, exist_ok=True)
        save = ["--save", "1 1", "--appendonly", "yes"] if self.persist else ["--save", "", "--appendonly", "no"]
        self.proc = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--requirepass",
                self.password,
                *save,
                "--dir",
                str(self.folder),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        import redis

        def up() -> bool:
            try:
                return bool(redis.Redis.from_url(self.url).ping())
            except redis.RedisError:
                return False

        wait_for(up, 10, "redis-server")
        return self

    def stop(self, kill: bool = False) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL if kill else signal.SIGTERM)
            self.proc.wait(10)

    def restart(self, kill: bool = False) -> None:
        self.stop(kill)
        self.start()


# ----------------------------------------------------------------------------- PostgreSQL


def postgres_bin() -> Path | None:
    """Debian's PostgreSQL server programs (postgresql-NN), the newest; None without them."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[-3]))
    return Path(found[-1]).parent if found else None


class Postgres:
    """A PostgreSQL cluster of the test's own in `folder`, listening on a loopback port (and a
    socket in the folder), with a database and a password user for the service. As root, the
    cluster belongs to the `postgres` user (initdb refuses root)."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        self.bin = postgres_bin()
        self.port = free_port()
        self.password = secrets.token_hex(8)
        self.url = f"postgresql://grader:{self.password}@127.0.0.1:{self.port}/grading"

    def _run(self, *argv: str, check: bool = True) -> subprocess.CompletedProcess:
        command = list(argv)
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        return subprocess.run(command, check=check, capture_output=True, text=True, timeout=120)

    def start(self) -> Postgres:
        assert self.bin is not None, "PostgreSQL is not installed (make test installs Debian's postgresql)"
        self.folder.mkdir(parents=True, exist_ok=True)
        data = self.folder / "data"
        if os.geteuid() == 0:
            shutil.chown(self.folder, "postgres", "postgres")
            os.chmod(self.folder, 0o700)
            for parent in list(self.folder.parents)[:-1]:  # postgres must reach its folder
                if parent.stat().st_mode & 0o001 == 0 and str(parent).startswith(("/tmp", "/var/tmp")):
                    os.chmod(parent, parent.stat().st_mode | 0o001)
        if not data.exists():
            self._run(str(self.bin / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres", "--no-sync")
        self._run(
            str(self.bin / "pg_ctl"),
            "-D",
            str(data),
            "-l",
            str(self.folder / "log"),
            "-w",
            "-t",
            "60",
            "-o",
            f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off",
            "start",
        )
        sql = (
            f"DO $$BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname='grader') THEN "
            f"CREATE ROLE grader LOGIN PASSWORD '{self.password}'; END IF; END$$;"
        )
        psql = [str(self.bin / "psql"), "-h", str(self.folder), "-p", str(self.port), "-U", "postgres", "-q"]
        self._run(*psql, "-c", sql)
        if "grading" not in self._run(*psql, "-Atc", "SELECT datname FROM pg_database").stdout.split():
            self._run(*psql, "-c", "CREATE DATABASE grading OWNER grader")
        return self

    def stop(self) -> None:
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.folder / "data"), "-m", "fast", "-w", "stop", check=False)


# ----------------------------------------------------------------------------- the service


class Service:
    """`grader serve` in a subprocess of the test, on a port of its own, with a data folder in
    the test's tmp_path. `students(...)` adds students and returns their tokens;
    `instructor(...)` adds a staff user."""

    def __init__(self, folder: Path, *args: str, env: dict | None = None) -> None:
        self.folder = Path(folder)
        self.data = self.folder / "data"
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.args = list(args)
        self.env = {**os.environ, **(env or {})}
        self.proc: subprocess.Popen | None = None
        self.log = self.folder / "serve.log"

    def cli(self, *argv: str, input: str | None = None, env: dict | None = None) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "grader", *argv],
            capture_output=True,
            text=True,
            timeout=300,
            input=input,
            env={**self.env, **(env or {})},
            cwd=self.folder,
        )

    def start(self, timeout: float = 60) -> Service:
        self.folder.mkdir(parents=True, exist_ok=True)
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "grader",
                    "serve",
                    "--data",
                    str(self.data),
                    "--bind",
                    f"127.0.0.1:{self.port}",
                    *self.args,
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                env=self.env,
                cwd=self.folder,
                start_new_session=True,
            )

        def up() -> bool:
            if self.proc.poll() is not None:
                raise RuntimeError(f"grader serve stopped ({self.proc.returncode}):\n{self.log.read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(self.url + "/healthz", timeout=2) as r:
                    return r.status == 200
            except (urllib.error.URLError, OSError):
                return False

        wait_for(up, timeout, "grader serve", 0.2)
        return self

    def stop(self, kill: bool = False) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL if kill else signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)

    def manage(self, *argv: str, input: str | None = None, env: dict | None = None) -> subprocess.CompletedProcess:
        done = self.cli("service", "--data", str(self.data), *argv, input=input, env=env)
        assert done.returncode == 0, done.stdout + done.stderr
        return done

    def students(self, *rows: dict[str, str]) -> dict[str, str]:
        """Add students (dicts with student_id and any of name, github, repository); their tokens."""
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=["student_id", "name", "github", "repository"])
        writer.writeheader()
        for row in rows:
            writer.writerow({k: row.get(k, "") for k in writer.fieldnames})
        done = self.manage("students", "-", input=out.getvalue())
        return {r["student_id"]: r["token"] for r in csv.DictReader(io.StringIO(done.stdout))}

    def instructor(self, username: str = "teacher", password: str | None = None) -> tuple[str, str]:
        password = password or secrets.token_hex(12)
        self.manage(
            "createsuperuser",
            "--noinput",
            "--username",
            username,
            "--email",
            f"{username}@example.edu",
            env={"DJANGO_SUPERUSER_PASSWORD": password},
        )
        return username, password

    def shell(self, code: str) -> str:
        """Run Python in `grader service shell` (the service's models); what it printed."""
        return self.manage("shell", "-c", code).stdout

    def api(self, path: str, token: str) -> tuple[int, dict]:
        request = urllib.request.Request(self.url + path, headers={"Authorization": f"Bearer {token}"})
        try:
            with urllib.request.urlopen(request, timeout=30) as r:
                return r.status, json.loads(r.read())
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read() or b"{}")


def zip_project(folder: Path) -> bytes:
    from grader import submitclient

    return submitclient.pack_zip(folder)


def post_submission(
    url: str, token: str, assignment: str, archive: bytes, name: str = "project.zip"
) -> tuple[int, dict]:
    """POST /api/submissions as `grader submit` does; (HTTP status, JSON answer)."""
    from grader import submitclient

    body, content_type = submitclient.multipart({"assignment": assignment}, name, archive)
    request = urllib.request.Request(
        url + "/api/submissions",
        data=body,
        method="POST",
        headers={"Authorization": f"Bearer {token}", "Content-Type": content_type},
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")


CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]
