"""``grader service lti_platform NAME --issuer ... --client-id ...``: register (or update) a
learning platform that launches the service over LTI 1.3; without options, show it."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from grader.service.models import LtiPlatform

FIELDS = {
    "issuer": "the platform's issuer (Moodle: Platform ID; Canvas: https://canvas.instructure.com)",
    "client_id": "the client id the platform gave this tool",
    "auth_login_url": "the platform's authentication request URL (Moodle: Authentication request URL)",
    "auth_token_url": "the platform's access token URL (Moodle: Access token URL)",
    "key_set_url": "the platform's public keyset URL (Moodle: Public keyset URL)",
    "auth_audience": "the token endpoint's audience, when it is not the token URL (rare)",
}


class Command(BaseCommand):
    help = (
        "Register or update an LTI 1.3 platform (Moodle, Canvas) by name: its issuer, client id, deployment "
        "id(s), authentication, token and keyset URLs, and the course (context) ids it serves; prints the "
        "registration. See `grader service lti_config` for what to paste into the platform."
    )

    def add_arguments(self, parser):
        parser.add_argument("name", help="what you call the platform (e.g. moodle)")
        for field, text in FIELDS.items():
            parser.add_argument("--" + field.replace("_", "-"), dest=field, default=None, help=text)
        parser.add_argument(
            "--deployment", action="append", default=[], metavar="ID", help="a deployment id (repeat for more)"
        )
        parser.add_argument(
            "--context",
            action="append",
            default=[],
            metavar="ID",
            help="a course (context) id whose launches are accepted and whose Instructors become staff (repeat)",
        )
        parser.add_argument("--replace", action="store_true", help="--deployment/--context replace the lists")
        parser.add_argument("--inactive", action="store_true", help="refuse this platform's launches from now on")

    def handle(self, *args, **options):
        platform = LtiPlatform.objects.filter(name=options["name"]).first()
        made = platform is None
        if platform is None:
            platform = LtiPlatform(name=options["name"])
        for field in FIELDS:
            if options[field] is not None:
                setattr(platform, field, options[field].strip())
        for field, option in (("deployment_ids", "deployment"), ("contexts", "context")):
            given = [v.strip() for v in options[option] if v.strip()]
            if given or options["replace"]:
                old = [] if options["replace"] else [v.strip() for v in getattr(platform, field).splitlines()]
                setattr(platform, field, "\n".join(dict.fromkeys([v for v in old if v] + given)))
        platform.active = not options["inactive"]
        try:
            platform.full_clean()
        except ValidationError as exc:
            missing = ", ".join(
                "--" + ("deployment" if f == "deployment_ids" else f.replace("_", "-")) + f" ({'; '.join(m)})"
                for f, m in exc.message_dict.items()
            )
            raise CommandError(f"the platform {options['name']!r} cannot be saved: {missing}") from None
        platform.save()
        self.stdout.write(f"{'registered' if made else 'updated'} LTI platform {platform.name}:")
        for label, value in (
            ("issuer", platform.issuer),
            ("client id", platform.client_id),
            ("deployment ids", ", ".join(platform.deployments)),
            ("authentication request URL", platform.auth_login_url),
            ("access token URL", platform.auth_token_url),
            ("public keyset URL", platform.key_set_url),
            ("courses (context ids)", ", ".join(platform.context_ids) or "any; no instructor becomes staff"),
            ("active", "yes" if platform.active else "no"),
        ):
            self.stdout.write(f"  {label}: {value}")
