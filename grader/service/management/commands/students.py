"""``grader service students ROSTER.csv``: add (or update) the course's students from a roster
and print one new token per student, as CSV, for the instructor to hand out."""

from __future__ import annotations

import csv
import sys
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from grader.service.auth import new_token
from grader.service.models import Student

COLUMNS = ("student_id", "name", "email", "github", "repository")


class Command(BaseCommand):
    help = (
        "Add or update students from a roster CSV with a header row: student_id (required), name, email, "
        "github, repository (owner/name, for CI uploads). Prints student_id,token for each student given "
        "a new token (only its digest is stored: keep the output safe, hand each student theirs)."
    )

    def add_arguments(self, parser):
        parser.add_argument("roster", help="the roster CSV ('-' for standard input)")
        parser.add_argument("--no-tokens", action="store_true", help="add the students, make no tokens")
        parser.add_argument("--new-tokens", action="store_true", help="a new token also for students who have one")

    def handle(self, *args, **options):
        source = sys.stdin if options["roster"] == "-" else None
        try:
            handle = source or Path(options["roster"]).open(newline="", encoding="utf-8-sig")
        except OSError as exc:
            raise CommandError(f"cannot read the roster: {exc}") from None
        with handle:
            reader = csv.DictReader(handle)
            if not reader.fieldnames or "student_id" not in reader.fieldnames:
                raise CommandError(
                    f"the roster needs a header row with student_id (and any of {', '.join(COLUMNS[1:])})"
                )
            rows = list(reader)
        out = csv.writer(self.stdout)
        if not options["no_tokens"]:
            out.writerow(["student_id", "token"])
        users = get_user_model()
        with transaction.atomic():
            for n, row in enumerate(rows, 2):
                sid = (row.get("student_id") or "").strip()
                if not sid:
                    raise CommandError(f"roster line {n}: student_id is empty")
                user, new_user = users.objects.get_or_create(
                    username=sid, defaults={"email": (row.get("email") or "").strip()}
                )
                if new_user:
                    user.set_unusable_password()  # students sign in with a token
                    user.save(update_fields=["password"])
                student, made = Student.objects.update_or_create(
                    student_id=sid,
                    defaults={
                        "user": user,
                        "name": (row.get("name") or "").strip(),
                        "github": (row.get("github") or "").strip(),
                        "repository": (row.get("repository") or "").strip(),
                    },
                )
                if options["no_tokens"]:
                    continue
                if made or options["new_tokens"] or not student.tokens.filter(revoked=False).exists():
                    out.writerow([sid, new_token(student, label="roster")])
        self.stderr.write(f"{len(rows)} student(s) in the roster")
