from __future__ import annotations

from typing import Any

from allauth.account.auth_backends import AuthenticationBackend
from django.conf import settings
from django.contrib.auth.backends import ModelBackend


class LocalBackend(ModelBackend):
    """Username and password, for platform administrators only (who then give a second factor).

    Staff log in through their organisation's identity provider. Demo accounts (any role) may
    use a password, and only while DEBUG is on.
    """

    def user_can_authenticate(self, user: Any) -> bool:
        if getattr(user, "is_demo", False):
            return settings.DEBUG and super().user_can_authenticate(user)
        return bool(user.is_superuser) and super().user_can_authenticate(user)


class SSOBackend(AuthenticationBackend):
    """The backend of single-sign-on sessions. It never checks a password: people reach it only
    through an identity provider (allauth logs them in with it)."""

    def authenticate(self, request: Any, **credentials: Any) -> None:
        return None

    def user_can_authenticate(self, user: Any) -> bool:
        if getattr(user, "is_demo", False) and not settings.DEBUG:
            return False
        return super().user_can_authenticate(user)
