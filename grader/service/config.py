"""The service's configuration: one JSON file in the data folder, written by ``grader serve``
and read by the settings of every process of the service (gunicorn's workers, the dispatcher,
``grader service``). Standard library only: the CLI reads it without Django."""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

ENV = "GRADER_SERVICE_CONFIG"  # the path of service.json, for the processes of one service
FILE = "service.json"
SECRET_FILE = "secret_key"
GITHUB_ISSUER = "https://token.actions.githubusercontent.com"
GITHUB_JWKS = GITHUB_ISSUER + "/.well-known/jwks"


@dataclass(frozen=True)
class ServiceConfig:
    data: str  # the data folder: service.json, the secret key, the SQLite database, logs
    db: str = ""  # a database URL (postgresql://user:password@host:5432/name); "": SQLite in data
    queue: str = ""  # a Redis URL: grade on RQ workers (grader worker); "": in-process workers
    course: str = ""  # course.toml (due dates, late policy, extensions, submission limits)
    public_url: str = ""  # how students reach the service (https://grader.example.edu); "" on loopback
    bind: str = "127.0.0.1:8000"
    workers: int = 2  # grading workers (in-process threads; ignored with a queue)
    web_workers: int = 2  # gunicorn processes
    sandbox: str = "auto"
    upload_mb: float = 20.0  # the largest submission archive accepted
    rate: int = 10  # submissions per student ...
    rate_window_s: int = 60  # ... in this many seconds
    attempts: int = 3  # a submission whose grading the service lost this often ends as an error
    oidc_audience: str = ""  # GitHub Actions' OIDC tokens with this audience are accepted ("": off)
    oidc_issuer: str = GITHUB_ISSUER
    oidc_jwks: str = GITHUB_JWKS
    assignments: list[str] = field(default_factory=list)  # offered ones ([]: the course's, or all)

    @property
    def data_dir(self) -> Path:
        return Path(self.data)

    def database_url(self) -> str:
        return self.db or f"sqlite:///{self.data_dir / 'grader.sqlite3'}"


def path_of(data: Path) -> Path:
    return Path(data) / FILE


def write(config: ServiceConfig) -> Path:
    data = config.data_dir
    data.mkdir(parents=True, exist_ok=True)
    os.chmod(data, 0o700)  # the database, its password and the secret key live here
    target = path_of(data)
    tmp = target.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        json.dump(asdict(config), out, indent=2)
    os.replace(tmp, target)
    return target


def read(path: Path | str | None = None) -> ServiceConfig:
    """The configuration at `path`, or at $GRADER_SERVICE_CONFIG."""
    where = path or os.environ.get(ENV)
    if not where:
        raise LookupError(f"no service configuration: {ENV} is not set (start the service with `grader serve`)")
    raw: dict[str, Any] = json.loads(Path(where).read_text(encoding="utf-8"))
    known = {f.name for f in fields(ServiceConfig)}
    return ServiceConfig(**{k: v for k, v in raw.items() if k in known})


def secret_key(data: Path) -> str:
    """The service's SECRET_KEY, made once and kept in the data folder (mode 0600)."""
    path = Path(data) / SECRET_FILE
    try:
        return path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        pass
    key = secrets.token_urlsafe(50)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process of the service made it first
        return path.read_text(encoding="ascii").strip()
    with os.fdopen(fd, "w", encoding="ascii") as out:
        out.write(key)
    return key
