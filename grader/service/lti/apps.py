from __future__ import annotations

from django.apps import AppConfig


class LtiConfig(AppConfig):
    name = "grader.service.lti"
    label = "lti"
    verbose_name = "LTI 1.3"

    def ready(self) -> None:
        from grader.service.lti import passback

        passback.connect()
