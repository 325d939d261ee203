"""`grader similar` end to end (issue 25): a class as GitHub Classroom's clones give it (tests/
downloads.py), two students who copied from each other (names changed, a file renamed), four
who wrote their own, one who handed in the untouched starter. Everyone who wrote code has the
same ready(): Django's idiom, common to the class, is no pair's."""

from __future__ import annotations

import csv
import textwrap

import pytest
from conftest import run_cli
from downloads import Student, github, github_roster, zip_folder

ADA = """
    from django.conf import settings
    from django.db.models.signals import post_save
    from django.dispatch import receiver

    from .models import Profile


    @receiver(post_save, sender=settings.AUTH_USER_MODEL)
    def make_profile_for_new_user(sender, instance, created, **kwargs):
        \"\"\"Give every new user a profile, once.\"\"\"
        if not created:
            return None
        profile, made = Profile.objects.get_or_create(user=instance)
        if made and not profile.bio:
            profile.bio = "Hello, I am " + instance.get_username()
            profile.save(update_fields=["bio"])
        return profile


    def words_in_bios(users):
        total = 0
        for user in users:
            if hasattr(user, "profile") and user.profile.bio:
                total += len(user.profile.bio.split())
        return total
"""
# Bob's is Ada's with every name changed, the docstring gone and the module renamed.
BOB = (
    ADA.replace("make_profile_for_new_user", "give_profile")
    .replace("profile", "p")
    .replace("made", "fresh")
    .replace("words_in_bios", "bio_length")
    .replace("total", "n")
    .replace('    """Give every new user a p, once."""\n', "")
)
DEE = """
    from django.contrib.auth import get_user_model
    from django.db.models.signals import post_save

    from .models import Profile


    def on_user_saved(sender, instance, created, raw=False, **kwargs):
        # fixtures load users with raw=True: leave those alone
        if raw or not created:
            return
        Profile.objects.create(user=instance)


    post_save.connect(on_user_saved, sender=get_user_model(), dispatch_uid="profile-on-user")
"""
EVE = """
    from django.conf import settings
    from django.db import transaction
    from django.db.models import signals

    from . import models


    def ensure_profile(**kwargs):
        user = kwargs["instance"]
        if kwargs.get("created"):
            with transaction.atomic():
                models.Profile.objects.update_or_create(user=user, defaults={})


    signals.post_save.connect(ensure_profile, sender=settings.AUTH_USER_MODEL, weak=False)
"""
FAY = """
    from django.db.models.signals import post_save
    from django.dispatch import receiver
    from django.contrib.auth.models import User

    from users.models import Profile


    @receiver(post_save, sender=User, dispatch_uid="fay-profile")
    def profile_for(sender, **kw):
        if not kw["created"]:
            return
        try:
            kw["instance"].profile
        except Profile.DoesNotExist:
            Profile(user=kw["instance"]).save()
"""
GUS = """
    import logging

    from django.conf import settings
    from django.db.models.signals import post_save

    from .models import Profile

    log = logging.getLogger(__name__)


    def handler(sender, instance, created, update_fields=None, **extra):
        if created:
            obj = Profile.objects.create(user_id=instance.pk)
            log.info("profile %s for user %s", obj.pk, instance.pk)


    post_save.connect(handler, settings.AUTH_USER_MODEL)
"""
APPS = """
    from django.apps import AppConfig


    class UsersConfig(AppConfig):
        default_auto_field = "django.db.models.BigAutoField"
        name = "users"

        def ready(self):
            from . import {module}  # noqa: F401
"""
STUDENTS = [
    Student("Ada Lovelace", "ada"),
    Student("Bob Byron", "bob"),
    Student("Cy Starter", "cy", solved=False),
    Student("Dee Dee", "dee"),
    Student("Eve Moneypenny", "eve"),
    Student("Fay Wray", "fay"),
    Student("Gus Grissom", "gus"),
]


@pytest.mark.e2e
def test_the_students_who_copied_rank_first_and_starter_code_matches_no_one(tmp_path):
    source = github(tmp_path / "signals-profile-submissions", STUDENTS)
    for sid, module, code in (
        ("ada", "signals", ADA),
        ("bob", "receivers", BOB),
        ("dee", "signals", DEE),
        ("eve", "signals", EVE),
        ("fay", "signals", FAY),
        ("gus", "signals", GUS),
    ):
        repo = source / f"signals-profile-{sid}"
        (repo / "users" / "signals.py").unlink()
        (repo / "users" / f"{module}.py").write_text(textwrap.dedent(code))
        (repo / "users" / "apps.py").write_text(textwrap.dedent(APPS.format(module=module)))
    roster = github_roster(tmp_path / "classroom_roster.csv", STUDENTS)
    out = tmp_path / "similar"
    done = run_cli("similar", str(source), "--roster", str(roster), "--output", str(out), "--threshold", "0")
    assert done.returncode == 0, done.stderr
    assert "7 students" in done.stdout and "never a verdict" in done.stdout
    rows = list(csv.DictReader((out / "similar.csv").open(encoding="utf-8")))
    first = rows[0]
    assert {first["student_a"], first["student_b"]} == {"ada", "bob"}
    assert {first["name_a"], first["name_b"]} == {"Ada Lovelace", "Bob Byron"}
    assert float(first["a_in_b"]) > 0.8 and float(first["b_in_a"]) > 0.8
    assert "users/receivers.py" in first["files_a"] + first["files_b"]
    for row in rows[1:]:  # everyone else wrote their own: far below the pair who copied
        assert max(float(row["a_in_b"]), float(row["b_in_a"])) < 0.5, row
    # the untouched starter is all boilerplate: it matches no one, even at threshold 0
    assert not [r for r in rows if "cy" in (r["student_a"], r["student_b"])]
    page = (out / "similar.html").read_text(encoding="utf-8")
    assert "never a verdict" in page and "Ada Lovelace (ada)" in page and "<mark>" in page
    assert "<script" not in page

    # the download as a .zip (unpacked as grader batch unpacks it; the starter is the one the
    # projects' marker names); by default the pairs below 25% are left out of both files
    download = zip_folder(source, tmp_path / "signals-profile-submissions.zip")
    default = run_cli("similar", str(download), "--output", str(tmp_path / "default"))
    assert default.returncode == 0, default.stderr
    listed = list(csv.DictReader((tmp_path / "default" / "similar.csv").open(encoding="utf-8")))
    above = [r for r in rows if max(float(r["a_in_b"]), float(r["b_in_a"])) >= 0.25]
    assert [(r["student_a"], r["student_b"]) for r in listed] == [(r["student_a"], r["student_b"]) for r in above]
    assert len(listed) < len(rows) and (listed[0]["student_a"], listed[0]["student_b"]) == ("ada", "bob")


def test_a_class_of_one_is_a_usage_error_that_says_why(tmp_path):
    source = github(tmp_path / "signals-profile-submissions", STUDENTS[:1])
    done = run_cli("similar", str(source), "--output", str(tmp_path / "out"))
    assert done.returncode == 2 and "nothing to pair" in done.stderr
