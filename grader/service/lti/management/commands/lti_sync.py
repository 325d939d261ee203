"""``grader service lti_sync``: send the LTI grades that are pending or failed now (the service
retries them at each grading too) and say what each became."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from grader.service.lti import passback
from grader.service.models import LtiGrade


class Command(BaseCommand):
    help = (
        "Send every pending or failed LTI grade to its platform now (retries the failed ones) and print "
        "each outcome; --all sends every student's score again (after a platform lost its grades)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--all", action="store_true", help="send every LTI grade again, even those sent")

    def handle(self, *args, **options):
        if options["all"]:
            LtiGrade.objects.exclude(status=LtiGrade.SENDING).update(status=LtiGrade.PENDING, trigger=None)
        pending = list(
            LtiGrade.objects.filter(status__in=[LtiGrade.PENDING, LtiGrade.FAILED]).values_list("pk", flat=True)
        )
        outcome = passback.drain(retry_failed=True)
        for row in LtiGrade.objects.filter(pk__in=pending).select_related("identity", "identity__platform"):
            line = f"{row.identity} {row.assignment}: {row.status}"
            if row.status == LtiGrade.SENT:
                line += f" ({row.score_given:g} of {row.score_maximum:g})"
            elif row.error:
                line += f" ({row.error})"
            self.stdout.write(line)
        summary = ", ".join(f"{n} {status}" for status, n in sorted(outcome.items())) or "nothing to send"
        self.stdout.write(f"LTI grades: {summary}")
        if outcome.get(LtiGrade.FAILED):
            self.stderr.write("some grades were not sent: see why above (admin: LTI grades); run this again later")
