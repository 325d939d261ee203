"""The LTI endpoints: OIDC login initiation, the launch (resource links and deep linking), the
instructor's choice of assignments for a deep link, the tool's public keyset and the page of
the URLs a platform's administrator pastes in.

Only the platform's POSTs (login initiation, launch) are exempt from CSRF: they come from the
platform's site and carry their own proof (the signed id_token, its nonce and the state cookie).
The deep-linking choice is this site's own form, CSRF-protected, and names a launch of this
browser's session."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from django.conf import settings
from django.contrib.admin.views.decorators import staff_member_required
from django.contrib.auth import login as django_login
from django.db import IntegrityError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from pylti1p3.contrib.django import DjangoMessageLaunch, DjangoOIDCLogin
from pylti1p3.deep_link_resource import DeepLinkResource
from pylti1p3.exception import LtiException, OIDCException
from pylti1p3.lineitem import LineItem

from grader.service import rules
from grader.service.lti import identity, keys, logic, toolconf
from grader.service.lti.passback import assignment_max, kick, mark_pending
from grader.service.models import LtiGrade, LtiNonce, LtiPlatform, Submission

log = logging.getLogger("grader.service")
CLAIM = identity.CLAIM
AGS = "https://purl.imsglobal.org/spec/lti-ags/claim/endpoint"
DEEP_LINK_SESSION = "lti_deep_link"
NONCE_KEEP = dt.timedelta(days=2)  # longer than any id_token lives (and pylti1p3 keeps its nonce a day)


class WindowLink(DeepLinkResource):
    """An LtiResourceLink that asks the platform to open it in a new window (the service's pages
    refuse to be framed, and browsers block third-party cookies in frames)."""

    def to_dict(self) -> dict[str, object]:
        return {**super().to_dict(), "window": {"targetName": "_blank"}}


def tool_url(name: str, request: HttpRequest | None = None) -> str:
    """An absolute URL of the service: its --public-url, else as this request reached it."""
    path = reverse(name)
    public = settings.CONFIG.public_url.rstrip("/")
    if public:
        return public + path
    if request is not None:
        return request.build_absolute_uri(path)
    return f"http://{settings.CONFIG.bind}{path}"


def tool_urls(request: HttpRequest | None = None) -> dict[str, str]:
    """What a platform's administrator pastes in, by the names Moodle and Canvas give them."""
    launch = tool_url("lti-launch", request)
    return {
        "login initiation URL (Moodle: Initiate login URL; Canvas: OpenID Connect Initiation Url)": tool_url(
            "lti-login", request
        ),
        "redirect / launch URL (Moodle: Tool URL and Redirection URI(s); Canvas: Target Link URI and Redirect URIs)": launch,
        "deep linking URL (Moodle: Content Selection URL; Canvas: the Deep Linking placement's Target Link URI)": launch,
        "public keyset URL (Moodle: Public keyset URL; Canvas: Public JWK URL)": tool_url("lti-jwks", request),
    }


def refused(request: HttpRequest, message: str, status: int) -> HttpResponse:
    log.warning("LTI launch refused (%s): %s", status, message)
    return render(request, "grading/lti_refused.html", {"message": message}, status=status)


def explain(exc: Exception) -> tuple[str, int]:
    """pylti1p3's reason, said for the person launching (and the operator reading the log)."""
    text = str(exc)
    low = text.lower()
    if "state not found" in low or "missing state" in low or "missing %s cookie" in low:
        return (
            "this launch does not belong to this browser (its state cookie is missing or does not match). Open the "
            "activity again from the course page; if it keeps happening, your browser blocks the grading service's "
            "cookies: open it in a new window, over HTTPS (see docs/lti.md, Troubleshooting)",
            403,
        )
    if "nonce" in low:
        return ("this launch was already used or has expired: open the activity again from the course page", 403)
    if "deployment" in low:
        return (
            "this deployment of the tool is not registered with the grading service: its operator adds the "
            "platform's deployment id to the platform's registration (admin: LTI platforms)",
            403,
        )
    if "not found in settings" in low or "registration" in low or "client id not registered" in low:
        return (
            "this platform (its issuer and client id) is not registered with the grading service: its operator "
            "registers it (grader service lti_platform, or the admin's LTI platforms; see docs/lti.md)",
            403,
        )
    if "expired" in low:
        return ("the launch has expired: open the activity again from the course page", 403)
    if "signature" in low or "decode" in low or "public key" in low or "kid" in low:
        return (
            f"the launch is not signed by the registered platform's key ({text}): the operator checks the "
            "platform's public keyset URL in its registration",
            403,
        )
    if "missing id_token" in low or "jwt must contain" in low or "can't be decoded" in low:
        return ("this is not an LTI launch (no valid id_token was posted)", 400)
    return (f"the launch is not valid: {text}", 403)


# ----------------------------------------------------------------------------- the platform's requests


@csrf_exempt  # the platform's cross-site request: the launch that follows is checked
@require_http_methods(["GET", "POST"])
def login(request: HttpRequest) -> HttpResponse:
    """OIDC login initiation: send the browser to the platform's authorization endpoint."""
    params = request.POST if request.method == "POST" else request.GET
    iss, client_id = params.get("iss", ""), params.get("client_id", "")
    if not iss or not params.get("login_hint"):
        return refused(
            request, "this is not an LTI login initiation (no iss or login_hint): start from the course", 400
        )
    if toolconf.platform_for(iss, client_id or None) is None:
        return refused(
            request,
            f"the platform {iss} (client id {client_id or 'not sent'}) is not registered with this grading service: "
            "its operator registers it (grader service lti_platform, or the admin's LTI platforms; see docs/lti.md)",
            403,
        )
    oidc = DjangoOIDCLogin(request, toolconf.tool_conf(), launch_data_storage=toolconf.storage())
    try:
        return oidc.redirect(tool_url("lti-launch", request))
    except (LtiException, OIDCException) as exc:
        return refused(request, *explain(exc))


def _used(claims: dict[str, Any]) -> bool:
    """Record the launch's nonce; True if it was used before (a replayed id_token)."""
    LtiNonce.objects.filter(used__lt=timezone.now() - NONCE_KEEP).delete()
    try:
        LtiNonce.objects.create(nonce=str(claims.get("nonce"))[:255], issuer=str(claims.get("iss"))[:300])
    except IntegrityError:
        return True
    return False


@csrf_exempt  # the platform's form post: its signed id_token, nonce and state are checked instead
@require_POST
def launch(request: HttpRequest) -> HttpResponse:
    message = DjangoMessageLaunch(request, toolconf.tool_conf(), launch_data_storage=toolconf.storage())
    message.set_jwt_verify_options({"verify_aud": False, "require": ["exp", "iat", "iss", "aud", "nonce"]})  # type: ignore[dict-item]
    try:
        claims = dict(message.get_launch_data())  # validates: state, signature, iss/aud, deployment, nonce
    except (LtiException, OIDCException) as exc:
        return refused(request, *explain(exc))
    except Exception as exc:  # a platform's keyset that cannot be fetched or read, a malformed claim
        log.exception("LTI launch")
        return refused(request, f"the launch cannot be checked: {type(exc).__name__}: {exc}", 400)
    if _used(claims):
        return refused(request, "this launch was already used: open the activity again from the course page", 403)
    platform = toolconf.platform_for(str(claims.get("iss")), message.get_client_id())
    if platform is None:  # (validated just now: the registration was removed meanwhile)
        return refused(request, *explain(LtiException("Registration not found.")))
    try:
        who = identity.sign_in(platform, claims)
    except identity.LaunchRefused as exc:
        return refused(request, str(exc), exc.status)
    if message.is_deep_link_launch():
        return _deep_link_page(request, message, claims, who)
    if not message.is_resource_launch():
        return refused(request, "the grading service handles course links and deep linking only", 400)
    django_login(request, who.user, backend="django.contrib.auth.backends.ModelBackend")
    assignment = _assignment(claims)
    if who.student is not None and assignment:
        _remember_line_item(who, claims, assignment)
    if who.staff:
        return redirect("dashboard")
    return redirect("home")


def _assignment(claims: dict[str, Any]) -> str:
    """The assignment a link points to: its custom parameter `assignment` (deep linking sets it)."""
    custom = claims.get(CLAIM + "custom")
    name = str((custom or {}).get("assignment") or "").strip() if isinstance(custom, dict) else ""
    return name if name in rules.offered() else ""


def _remember_line_item(who: identity.Who, claims: dict[str, Any], assignment: str) -> None:
    """The link's line item for this student's scores (AGS), when the platform offers one."""
    endpoint = claims.get(AGS)
    if not isinstance(endpoint, dict):
        return
    link = claims.get(CLAIM + "resource_link")
    values = {
        "context_id": str(identity.context_of(claims).get("id") or "")[:255],
        "lineitem": str(endpoint.get("lineitem") or "")[:500],
        "lineitems": str(endpoint.get("lineitems") or "")[:500],
        "scopes": [s for s in endpoint.get("scope") or [] if isinstance(s, str)],
    }
    link_id = str((link or {}).get("id") or "")[:255] if isinstance(link, dict) else ""
    row, made = LtiGrade.objects.get_or_create(
        identity=who.identity, assignment=assignment, resource_link_id=link_id, defaults=values
    )
    changed = made or any(getattr(row, k) != v for k, v in values.items() if k != "lineitem" or v)
    if not made and changed:
        LtiGrade.objects.filter(pk=row.pk).update(**{k: v for k, v in values.items() if k != "lineitem" or v})
    # work graded before this link existed (or before the student first launched it) is sent now
    graded = Submission.objects.filter(student=who.student, assignment=assignment, status=Submission.GRADED)
    if changed and who.student is not None and graded.exists() and mark_pending(who.student.pk, assignment):
        kick()


# ----------------------------------------------------------------------------- deep linking


def _deep_link_page(request: HttpRequest, message: Any, claims: dict[str, Any], who: identity.Who) -> HttpResponse:
    if not who.staff:
        return refused(request, "only the course's instructors choose what the grading service's links point to", 403)
    settings_claim = claims.get("https://purl.imsglobal.org/spec/lti-dl/claim/deep_linking_settings") or {}
    request.session[DEEP_LINK_SESSION] = message.get_launch_id()
    offered = [{"name": name, "max_score": assignment_max(name)} for name in rules.offered()]
    return render(
        request,
        "grading/lti_deep_link.html",
        {
            "launch_id": message.get_launch_id(),
            "assignments": offered,
            "multiple": str(settings_claim.get("accept_multiple", True)).lower() not in ("false", "0"),
            "platform": who.identity.platform.name,
            "course": identity.context_of(claims).get("title") or "",
        },
    )


@require_POST
def deep_link(request: HttpRequest) -> HttpResponse:
    """The instructor's choice: the signed deep-linking response, posted back to the platform."""
    launch_id = request.POST.get("launch_id", "")
    if not launch_id or request.session.get(DEEP_LINK_SESSION) != launch_id:
        return refused(
            request, "this choice does not belong to a deep-linking launch of this browser: start again", 403
        )
    try:
        message = DjangoMessageLaunch.from_cache(
            launch_id, request, toolconf.tool_conf(), launch_data_storage=toolconf.storage()
        )
        link = message.get_deep_link()
    except (LtiException, OIDCException):
        return refused(request, "the deep-linking launch has expired: start again from the platform", 403)
    chosen = [a for a in request.POST.getlist("assignment") if a in rules.offered()]
    if not chosen:
        return refused(request, "choose at least one assignment", 400)
    settings_claim = message.get_launch_data().get(
        "https://purl.imsglobal.org/spec/lti-dl/claim/deep_linking_settings", {}
    )
    if str(settings_claim.get("accept_multiple", True)).lower() in ("false", "0"):
        chosen = chosen[:1]
    url = tool_url("lti-launch", request)
    resources = []
    for name in chosen:
        maximum = assignment_max(name)
        resources.append(
            WindowLink()
            .set_url(url)
            .set_title(name)
            .set_custom_params({"assignment": name})
            .set_lineitem(LineItem().set_score_maximum(maximum).set_label(name).set_resource_id(name).set_tag(name))
        )
    token = link.get_response_jwt(resources)
    del request.session[DEEP_LINK_SESSION]
    return render(
        request,
        "grading/lti_deep_link_return.html",
        {"return_url": settings_claim.get("deep_link_return_url", ""), "jwt": token, "chosen": chosen},
    )


# ----------------------------------------------------------------------------- the tool's own pages


@require_GET
def jwks(request: HttpRequest) -> JsonResponse:
    return JsonResponse(keys.jwks(str(settings.CONFIG.data_dir)))


@staff_member_required
@require_GET
def config(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "grading/lti_config.html",
        {
            "urls": tool_urls(request),
            "platforms": LtiPlatform.objects.order_by("name"),
            "scopes": logic.AGS_SCOPES,
            "https": tool_url("lti-launch", request).startswith("https://"),
        },
    )
