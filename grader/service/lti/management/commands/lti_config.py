"""``grader service lti_config``: what a Moodle or Canvas administrator pastes in to register
the service as an LTI 1.3 tool (its URLs, its public keyset, the scopes it asks for)."""

from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand

from grader.service.lti import keys, logic
from grader.service.lti.views import tool_urls
from grader.service.models import LtiPlatform


class Command(BaseCommand):
    help = "Print the URLs of this tool a platform's LTI 1.3 registration needs (from --public-url), and the platforms registered."

    def handle(self, *args, **options):
        urls = tool_urls()
        self.stdout.write("LTI 1.3 tool: what the platform's administrator pastes in")
        for label, url in urls.items():
            self.stdout.write(f"  {label}:\n      {url}")
        self.stdout.write("  grade passback (AGS) scopes:\n      " + "\n      ".join(logic.AGS_SCOPES))
        key = keys.jwks(str(settings.CONFIG.data_dir))["keys"][0]
        self.stdout.write(f"  tool key: RS256, kid {key['kid']} (kept in the data folder, {keys.KEY_FILE})")
        if not next(iter(urls.values())).startswith("https://"):
            self.stdout.write(
                "  note: these URLs are not HTTPS. Platforms and browsers need HTTPS for LTI (cookies across "
                "sites are SameSite=None; Secure): start grader serve with --public-url https://... behind a TLS proxy."
            )
        platforms = list(LtiPlatform.objects.order_by("name"))
        if not platforms:
            self.stdout.write(
                "No platform is registered yet: `grader service lti_platform NAME --issuer ... --client-id ... "
                "--deployment ... --auth-login-url ... --auth-token-url ... --key-set-url ...` (see docs/lti.md)"
            )
        for p in platforms:
            contexts = ", ".join(p.context_ids) or "any (no instructor becomes staff)"
            self.stdout.write(
                f"platform {p.name}{'' if p.active else ' (inactive)'}: {p.issuer}, client id {p.client_id}, "
                f"deployments {', '.join(p.deployments) or 'none'}, courses {contexts}"
            )
