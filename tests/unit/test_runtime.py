"""Unit tests of grader/runtime.py: the rubric's [runtime], reading a student's
requirements, and the cached install (with pip, against the package index this
machine reaches)."""

from __future__ import annotations

import time

import pytest

from grader import runtime


def test_runtime_is_parsed_and_validated():
    rt = runtime.parse({"packages": ["Pillow>=10", "django_crispy_forms", "crispy-bootstrap5"]}, "r.toml")
    assert rt.names == {"pillow", "django-crispy-forms", "crispy-bootstrap5"}
    assert runtime.parse(None, "r.toml") == runtime.Runtime()
    for raw, problem in [
        ({"packages": "Pillow"}, "list of pip requirement strings"),
        ({"packages": ["Pillow >="]}, "is not a requirement"),
        ({"packages": ["x @ https://example.invalid/x.whl"]}, "not URLs"),
        ({"pakages": []}, "unknown [runtime] keys"),
        ([], "must be a table"),
    ]:
        with pytest.raises(ValueError, match=problem.replace("[", r"\[").replace("]", r"\]")):
            runtime.parse(raw, "r.toml")


def test_requirements_of_every_shape_are_read(tmp_path):
    (tmp_path / "requirements.txt").write_bytes(
        "\ufeffDjango==5.2\r\nPillow>=10 # images\r\n-r base.txt\r\n--index-url x\r\n# c\r\n"
        "stripe[async]==9.1 ; python_version>'3'\r\nweird name here\r\n".encode("utf-16-le")
    )
    (tmp_path / "requirements-dev.txt").write_text("pytest\n")
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\ndependencies = ["celery>=5"]\n')
    found = runtime.declared(tmp_path)
    assert set(found) == {"django", "pillow", "stripe", "weird", "pytest", "celery"}
    assert found["stripe"][1] == "requirements.txt" and found["celery"][1] == "pyproject.toml"


def test_requirement_warnings_name_what_the_grader_lacks(tmp_path):
    (tmp_path / "requirements.txt").write_text("Django==3.2\nacme-allowed\nstripe\nno-such-package-here>=2\n")
    rt = runtime.Runtime(("acme-allowed>=10",))  # allowed, and installed nowhere
    usable = runtime.Environment(path=tmp_path)
    notes = runtime.requirement_warnings(tmp_path, rt, usable)
    assert any("lists no-such-package-here>=2, stripe, which the grader does not install" in n for n in notes), notes
    assert any("asks for Django==3.2, but the grader runs Django" in n for n in notes), notes
    # an allowed package that could not be installed is missing too
    notes = runtime.requirement_warnings(tmp_path, rt, runtime.Environment(problem="pip failed"))
    assert any("acme-allowed, no-such-package-here>=2, stripe" in n for n in notes), notes
    assert runtime.requirement_warnings(tmp_path / "nothing-here", rt, usable) == []


def test_a_failed_install_is_reported_and_not_retried_at_once(tmp_path, monkeypatch):
    monkeypatch.setenv(runtime.CACHE_ENV, str(tmp_path))
    rt = runtime.Runtime(("grader-test-no-such-package-7f3k==1.0",))
    assert not runtime.installed(rt)
    env = runtime.ensure(rt)
    assert not env.usable and "pip failed" in env.problem
    started = time.monotonic()
    again = runtime.ensure(rt)
    assert again.problem == env.problem
    assert time.monotonic() - started < 1.0  # the failure is remembered, pip is not run again
    assert not list((tmp_path / "runtime").glob("*/site"))  # no half-installed folder left


def test_installed_packages_leave_out_the_graders_own(tmp_path, monkeypatch):
    monkeypatch.setenv(runtime.CACHE_ENV, str(tmp_path))
    rt = runtime.Runtime(("crispy-bootstrap5",))  # depends on django-crispy-forms and Django
    env = runtime.ensure(rt)
    assert env.usable, env.problem
    assert (env.path / "crispy_bootstrap5").is_dir() and (env.path / "crispy_forms").is_dir()
    assert not (env.path / "django").exists()  # Django and its dependencies stay the grader's
    assert not list(env.path.glob("[Dd]jango-*.dist-info"))
    assert runtime.installed(rt) and runtime.ensure(rt).path == env.path
