"""An assignment's verify.py: the grader checks what the database cannot say (files in
MEDIA_ROOT, e-mail sent) in folders it owns, after the child has exited, and a submission
that fakes storage or mail so that the hidden test passes is caught there."""

from __future__ import annotations

import json
import textwrap

import pytest
from conftest import run_cli

from grader import rubric

HIDDEN_TEST = '''
"""outputs: a stored file and an e-mail, written through Django's own storage and mail."""
from _grader_harness import support


def test_file_and_mail():
    support.require_database()
    from django.core import mail
    from django.core.files.base import ContentFile
    from django.core.files.storage import default_storage

    name = default_storage.save("notes/hello.txt", ContentFile(b"hello"))
    support.note("file", name)
    assert default_storage.exists(name)
    sent = mail.send_mail("Order 42", "Thank you.", "shop@localhost", ["ada@localhost"])
    support.note("subject", "Order 42")
    assert sent == 1
'''

VERIFY = '''
"""What the database cannot say: the file is in MEDIA_ROOT, the e-mail was written."""


def file_stored(run):
    name = run.note("file")
    if not name or run.media.read(name) != b"hello":
        return f"the stored file {name!r} is not in MEDIA_ROOT"
    return None


def mail_sent(run):
    subjects = [str(m["subject"]) for m in run.mail.messages]
    if subjects != [run.note("subject")]:
        return f"the e-mail sent were {subjects}"
    return None
'''

RUBRIC_MORE = """
[folders]
media = true
mail = true

[[checks]]
id = "outputs"
title = "A file is stored and an e-mail sent"
points = 1
tests = ["test_outputs.py::test_file_and_mail"]

[evidence."test_outputs.py::test_file_and_mail"]
verify = ["file_stored", "mail_sent"]
"""

EXPECT_PASS = """
[checks.project-loads]
status = "passed"
[checks.tag-count]
status = "passed"
[checks.outputs]
status = "passed"
"""

FAKES = {
    "storage-faked": """
        from django.core.files.storage import FileSystemStorage
        saved = set()
        FileSystemStorage._save = lambda self, name, content: saved.add(name) or name
        FileSystemStorage.exists = lambda self, name: name in saved
    """,
    "mail-faked": """
        from django.core.mail.backends.filebased import EmailBackend
        EmailBackend.send_messages = lambda self, messages: len(messages)
    """,
}


@pytest.fixture(scope="module")
def toy(tmp_path_factory):
    """The new-assignment example, with a check whose evidence is verify.py's."""
    tmp = tmp_path_factory.mktemp("verify")
    made = run_cli("new-assignment", "toy-files", "--dir", str(tmp), cwd=tmp)
    assert made.returncode == 0, made.stderr
    folder = tmp / "toy-files"
    rubric_path = folder / "rubric.toml"
    # the starter writes the file and the mail too (the hidden test does): it earns that point
    rubric_path.write_text(rubric_path.read_text().replace("starter_score = 1", "starter_score = 2") + RUBRIC_MORE)
    (folder / "tests" / "test_outputs.py").write_text(HIDDEN_TEST)
    (folder / "verify.py").write_text(VERIFY)
    for variant in (folder / "variants").iterdir():  # graded runs: the starter's own outputs pass
        expect = variant / "expect.toml"
        text = expect.read_text()
        if variant.name == "count-faked-in-memory":  # the starter's points, and this one
            text = text.replace("score = 1\n", "score = 2\n", 1)
        expect.write_text(text + '\n[checks.outputs]\nstatus = "passed"\n')
    apps = (folder / "solution" / "blog" / "apps.py").read_text()
    for name, patch in FAKES.items():
        case = folder / "variants" / name
        (case / "files" / "blog").mkdir(parents=True)
        (case / "files" / "blog" / "apps.py").write_text(
            apps.replace(
                "    def ready(self):\n", "    def ready(self):\n" + textwrap.indent(textwrap.dedent(patch), " " * 8), 1
            )
        )
        (case / "expect.toml").write_text(
            f'description = "{name}: the hidden test passes, the folder says otherwise"\n'
            'status = "graded"\n'  # issue 21: a disagreement is graded on what the grader read, not tampered
            + EXPECT_PASS.replace(
                '[checks.outputs]\nstatus = "passed"',
                '[checks.outputs]\nstatus = "failed"\ndiagnosis = "evidence-disagrees"',
            )
        )
    return folder


def test_the_rubric_names_its_folders_and_verifiers(toy):
    assignment = rubric.load(toy)
    assert assignment.folders == ("media", "mail")
    assert assignment.evidence["test_outputs.py::test_file_and_mail"].verify == ("file_stored", "mail_sent")


@pytest.mark.e2e
def test_verify_backs_a_pass_and_catches_faked_storage_and_mail(toy):
    proc = run_cli("check-assignment", str(toy), "--jobs", "2", timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "OK: every case gives what it expects" in proc.stdout


@pytest.mark.e2e
def test_the_disagreeing_check_says_what_the_folder_showed(toy, tmp_path):
    from grader import authoring

    assignment = rubric.load(toy)
    case = next(c for c in authoring.cases(assignment) if c.name == "storage-faked")
    built = authoring.build(assignment, case, tmp_path / "built")
    out = tmp_path / "report.json"
    proc = run_cli("grade", str(built), "--assignment", str(toy), "--output", str(out), "--quiet")
    assert proc.returncode == 0, proc.stderr
    report = json.loads(out.read_text())
    assert report["status"] == "graded"  # issue 21: no proof of tampering
    outputs = next(c for c in report["checks"] if c["id"] == "outputs")
    assert outputs["score"] == 0 and outputs["diagnosis"] == "evidence-disagrees"
    # the check names what the grader saw itself; never verify.py (the grader's internals)
    assert "not in MEDIA_ROOT" in outputs["feedback"] and "verify.py" not in outputs["feedback"]


def test_a_verify_function_the_rubric_names_must_exist(toy, tmp_path):
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(toy, copy)
    (copy / "verify.py").write_text("def file_stored(run):\n    return None\n")
    with pytest.raises(rubric.RubricError, match="verify.py defines no function mail_sent"):
        rubric.load(copy)
