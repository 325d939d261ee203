"""What of the grading service needs no server: its configuration file, `grader submit`'s
archive and request body, and the command's answers when it cannot submit."""

from __future__ import annotations

import email
import email.policy
import io
import stat
import subprocess
import sys
import zipfile

import pytest

from grader import submitclient
from grader.service import config


def test_the_configuration_round_trips_private_and_ignores_keys_it_does_not_know(tmp_path):
    cfg = config.ServiceConfig(data=str(tmp_path / "data"), db="postgresql://u:secret@h/db", workers=3)
    path = config.write(cfg)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    path.write_text(path.read_text().replace('"workers": 3', '"workers": 3, "from_a_newer_grader": 1'))
    assert config.read(path) == cfg
    assert cfg.database_url() == "postgresql://u:secret@h/db"
    assert config.ServiceConfig(data="/srv/g").database_url() == "sqlite:////srv/g/grader.sqlite3"


def test_the_secret_key_is_made_once_and_kept(tmp_path):
    first = config.secret_key(tmp_path)
    assert len(first) > 40 and config.secret_key(tmp_path) == first
    assert stat.S_IMODE((tmp_path / config.SECRET_FILE).stat().st_mode) == 0o600


def test_reading_without_a_configuration_says_how_to_start(monkeypatch):
    monkeypatch.delenv(config.ENV, raising=False)
    with pytest.raises(LookupError, match="grader serve"):
        config.read()


def test_the_archive_holds_the_project_without_git_venvs_or_caches(tmp_path):
    (tmp_path / "users").mkdir()
    (tmp_path / "manage.py").write_text("# manage\n")
    (tmp_path / "users" / "signals.py").write_text("# receivers\n")
    for junk in (".git/config", ".venv/bin/python", "users/__pycache__/signals.cpython-311.pyc"):
        (tmp_path / junk).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / junk).write_text("x")
    names = zipfile.ZipFile(io.BytesIO(submitclient.pack_zip(tmp_path))).namelist()
    assert "manage.py" in names and "users/signals.py" in names
    assert not [n for n in names if n.startswith((".git", ".venv")) or "__pycache__" in n]


def test_the_request_body_is_multipart_a_server_reads():
    body, content_type = submitclient.multipart({"assignment": "signals-m2m"}, "project.zip", b"PK\x03\x04data")
    message = email.message_from_bytes(
        f"Content-Type: {content_type}\r\n\r\n".encode() + body, policy=email.policy.HTTP
    )
    parts = {p.get_param("name", header="content-disposition"): p for p in message.iter_parts()}
    assert parts["assignment"].get_content() == "signals-m2m"
    assert parts["archive"].get_content() == b"PK\x03\x04data"
    assert parts["archive"].get_filename() == "project.zip"


def _submit(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "grader", "submit", *args], capture_output=True, text=True, env=env, timeout=60
    )


def test_submit_without_a_token_says_where_one_comes_from(tmp_path):
    done = _submit("http://127.0.0.1:9", str(tmp_path), "-a", "signals-m2m", env={"PATH": "/usr/bin:/bin"})
    assert done.returncode == 2
    assert "GRADER_TOKEN" in done.stderr and "instructor" in done.stderr


def test_submit_to_a_service_that_is_not_there_says_so(tmp_path):
    (tmp_path / "manage.py").write_text("")
    done = _submit("http://127.0.0.1:9", str(tmp_path), "-a", "signals-m2m", "--token", "gst_x")
    assert done.returncode == 2
    assert "cannot reach the grading service at http://127.0.0.1:9" in done.stderr
