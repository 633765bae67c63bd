"""`manage.py check --deploy`: what identification in production must not lack."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import Error, Tags, register


@register(Tags.security, deploy=True)
def check_identity_settings(app_configs: Any, **kwargs: Any) -> list[Any]:
    if len(settings.IDENTITY_HASH_KEY) >= 32:
        return []
    return [
        Error(
            "IDENTITY_HASH_KEY is not set or shorter than 32 characters: identity documents "
            "cannot be checked in calls.",
            hint='Set it to a long random value: python -c "import secrets; '
            'print(secrets.token_urlsafe(48))"',
            id="finestreta.identity.E001",
        )
    ]
