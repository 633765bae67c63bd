"""`manage.py check --deploy`: what a production video set-up must not lack."""

from __future__ import annotations

from typing import Any

from cryptography.fernet import Fernet
from django.conf import settings
from django.core.checks import Error, Tags, Warning, register


@register(Tags.security, deploy=True)
def check_video_settings(app_configs: Any, **kwargs: Any) -> list[Any]:
    found: list[Any] = []
    if not settings.VIDEO_FILE_KEYS:
        found.append(
            Error(
                "VIDEO_FILE_KEYS is not set: files shared in calls cannot be encrypted, so "
                "uploads are refused.",
                hint='Set it to a Fernet key: python -c "from cryptography.fernet import '
                'Fernet; print(Fernet.generate_key().decode())"',
                id="finestreta.video.E001",
            )
        )
    for key in settings.VIDEO_FILE_KEYS:
        try:
            Fernet(key.encode())
        except ValueError:
            found.append(
                Error("A key in VIDEO_FILE_KEYS is not a Fernet key.", id="finestreta.video.E002")
            )
    if not settings.VIDEO_TURN_URLS:
        found.append(
            Warning(
                "VIDEO_TURN_URLS is not set: citizens behind strict firewalls or mobile "
                "networks may not connect to calls.",
                hint="Run coturn with use-auth-secret and set VIDEO_TURN_URLS and "
                "VIDEO_TURN_SECRET (docs/deploy).",
                id="finestreta.video.W001",
            )
        )
    return found
