"""`manage.py check --deploy`: recordings need their own encryption keys in production."""

from __future__ import annotations

from typing import Any

from cryptography.fernet import Fernet
from django.conf import settings
from django.core.checks import Error, Tags, register


@register(Tags.security, deploy=True)
def check_recording_settings(app_configs: Any, **kwargs: Any) -> list[Any]:
    found: list[Any] = []
    if not settings.RECORDING_KEYS:
        found.append(
            Error(
                "RECORDING_KEYS is not set: calls cannot be recorded (recordings are only ever "
                "kept encrypted).",
                hint='Set it to a Fernet key: python -c "from cryptography.fernet import '
                'Fernet; print(Fernet.generate_key().decode())"',
                id="finestreta.recordings.E001",
            )
        )
    for key in settings.RECORDING_KEYS:
        try:
            Fernet(key.encode())
        except ValueError:
            found.append(
                Error(
                    "A key in RECORDING_KEYS is not a Fernet key.",
                    id="finestreta.recordings.E002",
                )
            )
    return found
