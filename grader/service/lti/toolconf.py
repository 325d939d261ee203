"""pylti1p3's view of the registered platforms (the LtiPlatform rows) and of the launch data
storage: Django's database cache, shared by every process of the service (gunicorn's workers,
the dispatcher), where a per-process cache would lose a login made in another worker."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from pylti1p3.contrib.django import DjangoCacheDataStorage
from pylti1p3.deployment import Deployment
from pylti1p3.registration import Registration
from pylti1p3.tool_config.abstract import ToolConfAbstract

from grader.service.lti import keys
from grader.service.models import LtiPlatform

CACHE = "lti"


def platform_for(iss: str, client_id: str | None) -> LtiPlatform | None:
    """The active registration of `iss` (and `client_id`, when given: several may share an issuer)."""
    found = LtiPlatform.objects.filter(issuer=iss, active=True)
    if client_id:
        found = found.filter(client_id=client_id)
    return found.order_by("pk").first()


def registration(platform: LtiPlatform) -> Registration:
    private, public = keys.tool_keys(str(settings.CONFIG.data_dir))
    reg = Registration()
    reg.set_issuer(platform.issuer).set_client_id(platform.client_id).set_auth_login_url(
        platform.auth_login_url
    ).set_auth_token_url(platform.auth_token_url).set_key_set_url(platform.key_set_url).set_tool_private_key(
        private
    ).set_tool_public_key(public)
    if platform.auth_audience:
        reg.set_auth_audience(platform.auth_audience)
    return reg


class PlatformToolConf(ToolConfAbstract):
    """Registrations from LtiPlatform: one issuer may have several client ids."""

    def check_iss_has_one_client(self, iss: str) -> bool:
        return False

    def check_iss_has_many_clients(self, iss: str) -> bool:
        return True

    def find_registration_by_issuer(self, iss: str, *args: Any, **kwargs: Any) -> Registration:
        platform = platform_for(iss, None)
        return registration(platform) if platform is not None else None  # type: ignore[return-value]

    def find_registration_by_params(self, iss: str, client_id: str, *args: Any, **kwargs: Any) -> Registration:
        platform = platform_for(iss, client_id)
        return registration(platform) if platform is not None else None  # type: ignore[return-value]

    def find_deployment(self, iss: str, deployment_id: str) -> Deployment | None:
        return self.find_deployment_by_params(iss, deployment_id, "")

    def find_deployment_by_params(
        self, iss: str, deployment_id: str, client_id: str, *args: Any, **kwargs: Any
    ) -> Deployment | None:
        platform = platform_for(iss, client_id or None)
        if platform is None or deployment_id not in platform.deployments:
            return None
        return Deployment().set_deployment_id(deployment_id)

    def get_jwks(self, iss: str | None = None, client_id: str | None = None, **kwargs: Any) -> dict[str, Any]:
        return keys.jwks(str(settings.CONFIG.data_dir))


def tool_conf() -> PlatformToolConf:
    return PlatformToolConf()


def storage() -> DjangoCacheDataStorage:
    return DjangoCacheDataStorage(cache_name=CACHE)
