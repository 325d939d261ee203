"""Pure pieces of the child's harness, tested in this process (no Django set-up needed)."""

from __future__ import annotations

import sys

from conftest import ROOT

sys.path.insert(0, str(ROOT / "grader" / "harness"))

from _grader_harness import bootstrap


def test_a_limit_the_system_refuses_is_reported_not_fatal():
    assert bootstrap._set_limits({"RLIMIT_NOT_ON_THIS_SYSTEM": 1}) == ["RLIMIT_NOT_ON_THIS_SYSTEM"]


def test_dotenv_lines_are_read_as_python_dotenv_reads_them(tmp_path, monkeypatch):
    for key in ("PLAIN", "QUOTED", "EXPORTED", "COMMENTED", "EMPTY", "KEPT", "PYTHONPATH", "LD_PRELOAD", "PATH"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("KEPT", "from the environment")
    env = tmp_path / ".env"
    env.write_bytes(
        "\ufeff# a comment\r\nPLAIN=value\r\nQUOTED='two words # not a comment'\r\n"
        'export EXPORTED="x=y"\r\nCOMMENTED=abc # trailing\r\nEMPTY=\r\nKEPT=from the file\r\n'
        "PYTHONPATH=/evil\r\nLD_PRELOAD=/evil.so\r\nPATH=/evil\r\nnot a line\r\n".encode()
    )
    refused = bootstrap.load_dotenv(str(env))
    import os

    assert os.environ["PLAIN"] == "value"
    assert os.environ["QUOTED"] == "two words # not a comment"
    assert os.environ["EXPORTED"] == "x=y"
    assert os.environ["COMMENTED"] == "abc"
    assert os.environ["EMPTY"] == ""
    assert os.environ["KEPT"] == "from the environment"  # nothing already set is overridden
    assert refused == ["PYTHONPATH", "LD_PRELOAD", "PATH"]
    assert "PYTHONPATH" not in os.environ and "LD_PRELOAD" not in os.environ
    assert bootstrap.load_dotenv(str(tmp_path / "missing")) == []


def test_the_form_reader_posts_what_a_browser_posts():
    from _grader_harness.api import browser_form

    page = """
    <form id="other"><input name="q" value="no"></form>
    <form method="post" id="user_form">
      <input type="hidden" name="csrfmiddlewaretoken" value="t">
      <input type="text" name="username" value="">
      <input type="password" name="password1">
      <input type="checkbox" name="is_staff">
      <input type="checkbox" name="is_active" checked>
      <input type="radio" name="usable_password" value="true" checked>
      <input type="radio" name="usable_password" value="false">
      <input type="hidden" name="profile-TOTAL_FORMS" value="1" id="id_profile-TOTAL_FORMS">
      <input type="hidden" name="profile-INITIAL_FORMS" value="0">
      <textarea name="profile-0-bio">
hello</textarea>
      <select name="profile-0-kind"><option value="">---</option><option value="a" selected>A</option></select>
      <select name="profile-0-size"><option>small</option><option>big</option></select>
      <input type="file" name="profile-0-image">
      <input type="text" name="locked" value="x" disabled>
      <input type="submit" name="_save" value="Save">
    </form>"""
    data, controls = browser_form(page, "user_form")
    assert data == {
        "csrfmiddlewaretoken": ["t"],
        "username": [""],
        "password1": [""],
        "is_active": ["on"],
        "usable_password": ["true"],
        "profile-TOTAL_FORMS": ["1"],
        "profile-INITIAL_FORMS": ["0"],
        "profile-0-bio": ["hello"],
        "profile-0-kind": ["a"],
        "profile-0-size": ["small"],
    }
    assert {"is_staff", "usable_password", "profile-0-image", "locked"} <= controls
    assert "q" not in data


def test_run_settings_travel_as_one_json_line_and_refuse_another_protocol():
    import json

    import pytest

    from _grader_harness.protocol import PROTOCOL_VERSION, RunSettings

    sent = RunSettings(
        submission="/grading/run/submission",
        settings="mysite.settings",
        db="/db",
        suite="/suite",
        tests=["test_a.py"],
        models={"profile": "users.Profile"},
        rlimits={"RLIMIT_NPROC": [64, 64]},
    )
    line = sent.to_line()
    assert line.endswith(b"\n") and line.count(b"\n") == 1
    assert RunSettings.from_line(line.decode()) == sent
    older = json.loads(line)
    older["version"] = PROTOCOL_VERSION - 1
    with pytest.raises(ValueError, match="install them from the same version"):
        RunSettings.from_line(json.dumps(older))
