"""grader similar's pure parts (grader/similar.py): which files are a student's own code, the
starter and the class's common code left out, the reports escaped, copydetect missing said."""

from __future__ import annotations

import csv
import io
import sys
import textwrap
from pathlib import Path

import pytest

from grader import similar

CODE = """
    from django.db.models.signals import post_save


    def make(sender, instance, created, **kwargs):
        if created and instance.pk:
            for name in ("a", "b", "c"):
                print(name, instance.pk, sender.__name__, len(kwargs))
        return None
"""


def _tree(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(textwrap.dedent(text))
    return root


def test_only_the_students_own_python_files_and_templates_count(tmp_path):
    root = _tree(
        tmp_path,
        {
            "manage.py": "import sys\n",
            "users/signals.py": CODE,
            "users/templates/users/profile.html": "{% block content %}{{ user }}{% endblock %}",
            "users/migrations/0001_initial.py": "# written by makemigrations\n",
            "users/__pycache__/signals.cpython-312.py": "x = 1\n",
            ".venv/lib/site.py": "x = 1\n",
            "venv/lib/site.py": "x = 1\n",
            ".git/hooks/pre-commit.py": "x = 1\n",
            "static/js/app.py": "x = 1\n",
            "README.html": "<p>not a template</p>",
            "notes.txt": "my notes",
        },
    )
    assert sorted(similar.own_files(root)) == ["manage.py", "users/signals.py", "users/templates/users/profile.html"]


def _student(sid: str, files: dict[str, str], name: str = "") -> similar.Student:
    return similar.Student(sid, name, Path(sid), {k: textwrap.dedent(v) for k, v in files.items()})


def test_starter_code_and_the_classs_common_code_match_no_one():
    starter = {"users/signals.py": CODE}
    untouched = [_student(s, starter) for s in ("a", "b")]
    assert similar.compare(untouched, starter) == []  # the starter is all boilerplate
    renamed = CODE.replace("def make", "def build").replace("for name", "for letter").replace("(name,", "(letter,")
    pair = similar.compare([_student("a", {"x.py": CODE}), _student("b", {"y.py": renamed})], {})
    assert len(pair) == 1 and pair[0].a.share > 0.9 and pair[0].b.files == ["y.py"]
    # what at least half the class (and COMMON_MIN students) has is common: no pair's
    everyone = [_student(str(n), {"x.py": CODE}) for n in range(similar.COMMON_MIN)]
    assert similar.compare(everyone, {}) == []
    assert len(similar.compare(everyone[: similar.COMMON_MIN - 1], {})) == 6  # fewer: every pair


def test_the_reports_escape_what_students_wrote():
    a = _student("=cmd|' /C calc'!A0", {"x.py": CODE}, name="<script>alert(1)</script>")
    b = _student("b", {"y.py": CODE})
    pairs = similar.compare([a, b], {})
    rows = list(csv.reader(io.StringIO(similar.build_csv(pairs))))
    assert rows[0][:3] == ["rank", "student_a", "name_a"]
    assert rows[1][1].startswith("'=")  # never a formula
    page = similar.build_html(pairs, 2, 20, 0.25, [], "class")
    assert "<script>" not in page and "&lt;script&gt;" in page and similar.HINT.split(":")[0] in page


def test_without_copydetect_the_command_says_how_to_install_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "copydetect", None)
    with pytest.raises(similar.SimilarError, match=r"pip install 'django-signals-grader\[similar\]'"):
        similar.require()
