"""Encryption keys at rest from the environment: a list of Fernet keys where the first encrypts
and every one decrypts, so that a new key goes first and the old ones stay until what they
encrypted has been rotated (`MultiFernet.rotate`) or deleted.

Without keys, development and the tests derive one from SECRET_KEY (HKDF, one per purpose);
production gets `None` and the caller refuses to keep anything (the deploy checks say so)."""

from __future__ import annotations

import base64

from cryptography.fernet import Fernet, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings


def derived_key(purpose: str) -> bytes:
    """A Fernet key derived from SECRET_KEY for `purpose` (development and tests only)."""
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose.encode()).derive(
        settings.SECRET_KEY.encode()
    )
    return base64.urlsafe_b64encode(derived)


def fernet_keys(configured: list[str], purpose: str) -> MultiFernet | None:
    keys = [key.encode() for key in configured]
    if not keys:
        if not (settings.DEBUG or settings.TESTING):
            return None
        keys = [derived_key(purpose)]
    return MultiFernet([Fernet(key) for key in keys])
