"""``grader service token STUDENT_ID``: a new token for one student (printed once)."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from grader.service.auth import new_token, revoke
from grader.service.models import Student, Token


class Command(BaseCommand):
    help = "Make a new token for a student and print it (only its digest is stored); --revoke revokes the others."

    def add_arguments(self, parser):
        parser.add_argument("student_id")
        parser.add_argument("--revoke", action="store_true", help="revoke the student's other tokens")
        parser.add_argument("--label", default="", help="what the token is for (shown in the admin)")

    def handle(self, *args, **options):
        student = Student.objects.filter(student_id=options["student_id"]).first()
        if student is None:
            raise CommandError(
                f"no student {options['student_id']!r}: add them with `grader service students ROSTER.csv`"
            )
        if options["revoke"]:
            revoke(Token.objects.filter(student=student))  # and signs the student out of the web
        self.stdout.write(new_token(student, label=options["label"]))
