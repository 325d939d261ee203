"""End-to-end: grade real submissions with the real CLI and check every score.

Each submission is a small overlay on student_template/ (see conftest.py). The
expected scores are exact: a correct variant must earn 10/10, and each wrong
variant exactly the points of the checks it really satisfies.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from importlib import metadata
from pathlib import Path

import pytest
from conftest import APPS_IMPORTING_SIGNALS, ASSIGNMENT, CHECK_IDS, check, run_cli, scores, validate

from grader import authoring, rubric

pytestmark = pytest.mark.e2e

DJANGO_VERSION = tuple(int(p) for p in metadata.version("django").split(".")[:2])
FULL = {
    "project-loads": 1.0,
    "receiver-registered-in-ready": 3.0,
    "profile-created-once": 3.0,
    "resave-no-duplicate": 3.0,
}
NOTHING = dict.fromkeys(CHECK_IDS, 0.0)


def line_of(project: Path, path: str, marker: str) -> str:
    """'path:line' of the first line of `marker` in the project's file `path`."""
    text = (project / path).read_text()
    assert text.count(marker) >= 1, marker
    return f"{path}:{text[: text.index(marker)].count(chr(10)) + 1}"


# ---------------------------------------------------------------- reference and template


def test_reference_solution_gets_full_marks(make_submission, grade):
    report = grade(make_submission(solution=True))
    assert report["status"] == "graded"
    assert report["score"] == 10 and report["max_score"] == 10
    assert [c["id"] for c in report["checks"]] == CHECK_IDS
    assert scores(report) == FULL
    assert all(c["status"] == "passed" for c in report["checks"])
    assert report["message"] == "10 of 10 points"
    assert report["assignment"] == "signals-profile"


def test_untouched_template_only_loads(make_submission, grade):
    report = grade(make_submission())
    assert report["status"] == "graded"
    assert report["score"] == 1
    assert scores(report) == {**NOTHING, "project-loads": 1.0}
    assert check(report, "project-loads")["status"] == "passed"
    reg = check(report, "receiver-registered-in-ready")
    # users/signals.py holds only the TODO text: nothing is there to import yet.
    assert reg["status"] == "failed" and reg["diagnosis"] == "receiver-not-connected"
    assert "no post_save receiver for the user model" in reg["feedback"]
    assert reg["location"] == ""
    created = check(report, "profile-created-once")
    assert created["status"] == "failed" and created["diagnosis"] == "no-profile"
    resave = check(report, "resave-no-duplicate")
    assert resave["status"] == "skipped"
    assert resave["feedback"].startswith("not run: profile-created-once")
    assert resave["score"] == 0 and resave["max_score"] == 3


# ---------------------------------------------------------------- wrong solutions

# The submissions are signals-profile's variants of the same names (their files live once,
# there); these tests read what each gets: the exact points, diagnosis, phrase and line.
ASSIGNED = rubric.load(ASSIGNMENT)
VARIANTS = {case.name: case for case in authoring.cases(ASSIGNED)}
WRONG = {
    # The receiver is written, but nothing ever imports users/signals.py.
    "signals-never-imported": dict(
        scores={**NOTHING, "project-loads": 1.0},
        status="graded",
        failing={
            "receiver-registered-in-ready": (
                "receiver-module-not-imported",
                "users/signals.py is never imported",
                "users/signals.py",
            ),
            "profile-created-once": ("no-profile", "no profile exists after", ""),
        },
    ),
    # Connected as a side effect of importing models.py: works, but not in ready().
    "connected-from-models": dict(
        scores={**FULL, "receiver-registered-in-ready": 0.0},
        status="graded",
        failing={
            "receiver-registered-in-ready": (
                "connected-in-models",
                "while models.py is imported",
                ("users/models.py", "from . import signals"),
            )
        },
    ),
    # No `created` check: every save of a user creates another profile.
    "no-created-check": dict(
        scores={**FULL, "resave-no-duplicate": 0.0},
        status="graded",
        failing={
            "resave-no-duplicate": (
                "no-created-check",
                "IntegrityError",
                ("users/signals.py", "Profile.objects.create("),
            )
        },
    ),
    # Listens to the Profile model instead of the user model.
    "wrong-sender": dict(
        scores={**NOTHING, "project-loads": 1.0},
        status="graded",
        failing={
            "receiver-registered-in-ready": (
                "wrong-sender",
                "listens to Profile, not to the user model",
                ("users/signals.py", "@receiver("),
            ),
            "profile-created-once": ("no-profile", "no profile exists after"),
        },
    ),
    # pre_save: the user has no primary key yet, the profile cannot be saved.
    "pre-save": dict(
        scores={**NOTHING, "project-loads": 1.0},
        status="graded",
        failing={
            "receiver-registered-in-ready": (
                "wrong-signal",
                "connected to pre_save",
                ("users/signals.py", "@receiver("),
            ),
            "profile-created-once": (
                "pre-save",
                "unsaved related object",
                ("users/signals.py", "Profile.objects.create("),
            ),
        },
    ),
    # user_logged_in: a profile only appears at the first login.
    "user-logged-in": dict(
        scores={**NOTHING, "project-loads": 1.0},
        status="graded",
        failing={
            "receiver-registered-in-ready": (
                "wrong-signal",
                "connected to user_logged_in",
                ("users/signals.py", "@receiver("),
            ),
            "profile-created-once": ("no-profile", "no profile exists after"),
        },
    ),
    # Two receivers both create a profile for each new user.
    "two-creating-receivers": dict(
        scores={**NOTHING, "project-loads": 1.0, "receiver-registered-in-ready": 3.0},
        status="graded",
        failing={"profile-created-once": ("several-receivers", "IntegrityError", ("users/signals.py", 'bio=""'))},
    ),
    # No **kwargs: with DEBUG = True Django refuses the receiver when it is connected.
    "receiver-without-kwargs": dict(
        scores=NOTHING,
        status="error",
        failing={
            "project-loads": (
                "receiver-kwargs",
                "must accept keyword arguments (**kwargs)",
                ("users/signals.py", "@receiver("),
            )
        },
    ),
    # Saves its own instance in post_save: endless recursion.
    "receiver-saves-instance": dict(
        scores={**NOTHING, "project-loads": 1.0, "receiver-registered-in-ready": 3.0},
        status="graded",
        failing={
            "profile-created-once": ("receiver-recursion", "RecursionError", ("users/signals.py", "instance.save()"))
        },
    ),
    # A function defined inside ready() and connected weakly dies when ready() returns.
    # KNOWN GRADER BUG: with the template's DEBUG = True, Django's signature cache
    # (django.utils.inspect._get_func_parameters, an lru_cache filled by the
    # func_accepts_kwargs() check in Signal.connect) keeps the function alive, so the
    # grader sees a live receiver and gives 10/10 to code that loses its receiver as
    # soon as DEBUG is off (see the -debug-off variant below).
    "nested-receiver-garbage-collected": dict(
        scores={**NOTHING, "project-loads": 1.0},
        status="graded",
        failing={
            "receiver-registered-in-ready": ("receiver-garbage-collected", "garbage-collected"),
            "profile-created-once": ("no-profile", "no profile exists after"),
        },
    ),
    # The same nested receiver with DEBUG = False: Django's signature cache (filled only
    # when DEBUG is on) no longer keeps the function alive, so it really is collected.
    "nested-receiver-garbage-collected-debug-off": dict(
        scores={**NOTHING, "project-loads": 1.0},
        status="graded",
        failing={
            "receiver-registered-in-ready": (
                "receiver-garbage-collected",
                "garbage-collected",
                ("users/apps.py", "post_save.connect("),
            ),
            "profile-created-once": ("no-profile", "no profile exists after"),
        },
    ),
    # users/apps.py has two AppConfig subclasses and none is marked default:
    # Django uses a plain AppConfig and the ready() with the import never runs.
    "two-appconfigs-wrong-one-used": dict(
        scores={**NOTHING, "project-loads": 1.0},
        status="graded",
        failing={
            "receiver-registered-in-ready": (
                "appconfig-not-loaded",
                "defines ready(), but Django loads django.apps.config.AppConfig",
                "",
            ),
            "profile-created-once": ("no-profile", "no profile exists after"),
        },
    ),
    # Connected in the ready() of another app of the project, not of the users app.
    "connected-in-another-apps-ready": dict(
        scores={**FULL, "receiver-registered-in-ready": 0.0},
        status="graded",
        failing={
            "receiver-registered-in-ready": (
                "wrong-app-ready",
                "in the ready() of accounts.apps.AccountsConfig",
                ("users/signals.py", "@receiver("),
            )
        },
    ),
    # Every save deletes the user's profile and makes a new, empty one: never two
    # profiles, but whatever the profile held (bio) is lost at each save.
    # KNOWN GRADER GAP: the resave tests only count profiles, so this earns 10/10.
    "profile-recreated-on-every-save": dict(
        scores={**FULL, "resave-no-duplicate": 0.0},
        status="graded",
        failing={"resave-no-duplicate": ("profile-replaced", "replaced by a new one")},
    ),
    # The anti-pattern of the lesson: User.save() overridden (monkeypatched) in ready().
    "monkeypatched-user-save": dict(
        scores={**NOTHING, "project-loads": 1.0, "profile-created-once": 3.0},
        status="graded",
        failing={
            "receiver-registered-in-ready": (
                "save-overridden",
                "anti-pattern of the lesson",
                ("users/apps.py", "def save(user, *args, **kwargs):"),
            ),
            "resave-no-duplicate": ("no-created-check", "IntegrityError", ("users/apps.py", "Profile.objects.create(")),
        },
    ),
}


@pytest.mark.parametrize("name", list(WRONG))
def test_wrong_solution_gets_exact_partial_score(name, grade, tmp_path):
    case = WRONG[name]
    project = authoring.build(ASSIGNED, VARIANTS[name], tmp_path / name)
    report = grade(project)
    assert scores(report) == case["scores"], json.dumps(report["checks"], indent=1)
    assert report["status"] == case["status"]
    assert report["score"] == sum(case["scores"].values())
    for check_id, (diagnosis, phrase, *where) in case["failing"].items():
        result = check(report, check_id)
        assert result["status"] in ("failed", "error"), result
        assert result["score"] == 0
        if diagnosis is not None:
            assert result.get("diagnosis") == diagnosis, result
        assert phrase in result["feedback"], result
        assert result["hint"], result  # a failed check always says what to do
        if where:
            expected = where[0] if isinstance(where[0], str) else line_of(project, *where[0])
            assert result.get("location") == expected, result


BROKEN_SIGNALS = """
    from django.conf import settings
    from django.db.models.signals import post_save
    from django.dispatch import receiver

    from .models import Profile


    @receiver(post_save, sender=settings.AUTH_USER_MODEL)
    def create_profile(sender, instance, created, **kwargs)
        if created:
            Profile.objects.create(user=instance)
"""


def test_syntax_error_names_file_and_line(make_submission, grade):
    sub = make_submission({"users/apps.py": APPS_IMPORTING_SIGNALS, "users/signals.py": BROKEN_SIGNALS})
    lines = (sub / "users" / "signals.py").read_text().splitlines()
    lineno = next(i for i, line in enumerate(lines, 1) if line.startswith("def create_profile"))
    where = f"users/signals.py:{lineno}"
    report = grade(sub)
    assert report["status"] == "error"
    assert report["score"] == 0
    assert scores(report) == NOTHING
    loads = check(report, "project-loads")
    assert loads["status"] == "failed"
    assert loads["diagnosis"] == "syntax-error"
    assert loads["location"] == where
    assert "SyntaxError" in loads["feedback"]
    assert f"({where})" in loads["feedback"]
    assert where in report["message"]
    assert any(frame.startswith(f"{where}: def create_profile") for frame in loads["student_traceback"])
    for other in CHECK_IDS[1:]:
        result = check(report, other)
        assert result["status"] == "skipped"
        assert result["feedback"].startswith("not run: project-loads")


# ---------------------------------------------------------------- correct variants

# The correct ways of writing it are signals-profile's variants named correct-* (graded by
# check-assignment too); this test grades them as a student would and reads what they get.
CORRECT = {name: case for name, case in VARIANTS.items() if name.startswith("correct-")}
# Kept here, not a variant: it is right only where Django runs async receivers (5.0+).
ASYNC_RECEIVER = {
    "users/apps.py": APPS_IMPORTING_SIGNALS,
    "users/signals.py": """
        from django.conf import settings
        from django.db.models.signals import post_save
        from django.dispatch import receiver

        from .models import Profile


        @receiver(post_save, sender=settings.AUTH_USER_MODEL)
        async def create_profile(sender, instance, created, **kwargs):
            if created:
                await Profile.objects.aget_or_create(user=instance)
    """,
}


@pytest.mark.parametrize("name", [*CORRECT, "async-receiver"])
def test_correct_variant_gets_full_marks(name, make_submission, grade, tmp_path):
    if name == "async-receiver":
        if DJANGO_VERSION < (5, 0):
            pytest.skip("Django before 5.0 does not run async receivers (the variant is wrong there)")
        project = make_submission(ASYNC_RECEIVER, name=name)
    else:
        project = authoring.build(ASSIGNED, CORRECT[name], tmp_path / name)
    report = grade(project)
    assert scores(report) == FULL, json.dumps(report["checks"], indent=1)
    assert report["status"] == "graded"
    assert report["score"] == 10
    assert all(c["status"] == "passed" for c in report["checks"])
    # the overlays keep models and migrations in step: no makemigrations warning
    assert not [w for w in report["warnings"] if "migration" in w], report["warnings"]


# ---------------------------------------------------------------- the submission is left alone


def _tree_digest(root: Path) -> dict[str, str]:
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in sorted(filenames):
            path = Path(dirpath) / name
            rel = path.relative_to(root).as_posix()
            if path.is_symlink():
                out[rel] = "link:" + os.readlink(path)
            else:
                out[rel] = hashlib.sha256(path.read_bytes()).hexdigest()
        for name in dirnames:
            out[(Path(dirpath) / name).relative_to(root).as_posix() + "/"] = "dir"
    return out


def test_submission_is_not_modified_by_grading(make_submission, grade):
    # A submission that also writes files when imported: only the grader's copy may change.
    sub = make_submission(
        {
            "users/apps.py": APPS_IMPORTING_SIGNALS,
            "users/signals.py": """
            from pathlib import Path

            from django.conf import settings
            from django.db.models.signals import post_save
            from django.dispatch import receiver

            from .models import Profile

            Path(__file__).with_name("written_at_import.txt").write_text("x")


            @receiver(post_save, sender=settings.AUTH_USER_MODEL)
            def create_profile(sender, instance, created, **kwargs):
                if created:
                    Profile.objects.create(user=instance)
        """,
        }
    )
    (sub / "db.sqlite3").write_bytes(b"the student's own database")
    before = _tree_digest(sub)
    mtimes = {p: p.stat().st_mtime_ns for p in sub.rglob("*")}
    report = grade(sub)
    assert scores(report) == FULL
    assert _tree_digest(sub) == before
    assert {p: p.stat().st_mtime_ns for p in sub.rglob("*")} == mtimes
    assert not (sub / "users" / "written_at_import.txt").exists()
    assert not list(sub.rglob("__pycache__"))


# ---------------------------------------------------------------- not a project / usage errors


def test_folder_without_manage_py_is_an_error_report(tmp_path, make_submission):
    sub = make_submission({"manage.py": None}, solution=True)
    out = tmp_path / "no-manage.json"
    proc = run_cli("grade", str(sub), "--output", str(out), "--quiet")
    assert proc.returncode == 0, proc.stderr
    report = validate(json.loads(out.read_text()))
    assert report["status"] == "error"
    assert report["score"] == 0
    assert report["max_score"] == 10
    assert "no manage.py found" in report["message"]
    assert scores(report) == NOTHING
    assert all(c["status"] == "error" and "manage.py" in c["feedback"] for c in report["checks"])


def test_unknown_assignment_is_a_usage_error(tmp_path, make_submission):
    sub = make_submission(solution=True)
    out = tmp_path / "unknown.json"
    proc = run_cli("grade", str(sub), "--output", str(out), "--quiet", "--assignment", "no-such-assignment")
    assert proc.returncode == 2
    assert "unknown assignment 'no-such-assignment'" in proc.stderr
    assert "signals-profile" in proc.stderr  # the known ones are listed
    assert not out.exists()


# ---------------------------------------------------------------- sandbox selection


def test_auto_sandbox_falls_back_with_a_warning_when_bwrap_is_missing(make_submission, tmp_path):
    """Where bubblewrap is missing, --sandbox auto grades in a plain child, says so in the
    report's warnings and records "sandbox": "none"; --sandbox bwrap is a usage error."""
    sub = make_submission(solution=True)
    env = {"PATH": str(Path(sys.executable).parent)}  # no /usr/bin: no bwrap to be found
    out = tmp_path / "auto.json"
    proc = run_cli("grade", str(sub), "--output", str(out), "--quiet", env=env)
    assert proc.returncode == 0, proc.stderr
    report = validate(json.loads(out.read_text()))
    assert report["sandbox"] == "none" and report["score"] == 10
    assert any("bubblewrap" in w and "without the sandbox" in w for w in report["warnings"]), report["warnings"]
    strict = run_cli("grade", str(sub), "--output", str(out), "--sandbox", "bwrap", env=env)
    assert strict.returncode == 2 and "bubblewrap" in strict.stderr


def test_manage_py_linked_to_a_device_does_not_hang_the_grader(make_submission, grade):
    sub = make_submission()
    (sub / "manage.py").unlink()
    (sub / "manage.py").symlink_to("/dev/zero")
    report = grade(sub)
    assert report["status"] == "error" and report["score"] == 0
    assert "manage.py" in report["message"]
