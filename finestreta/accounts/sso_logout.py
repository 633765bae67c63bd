"""Logout that also ends the identity provider's session where the protocol allows it:
SAML 2.0 single logout (SP-initiated LogoutRequest) and OpenID Connect RP-initiated logout."""

from __future__ import annotations

from urllib.parse import urlencode

import requests
from allauth.socialaccount.providers.saml.utils import build_auth
from django.conf import settings
from django.http import HttpRequest

from finestreta.accounts.models import IdentityProvider
from finestreta.accounts.sso import SocialAccountAdapter


def provider_logout_url(request: HttpRequest, auth: dict, *, return_to: str) -> str | None:
    """Where to send the browser after the local logout, or None when the provider offers no
    logout endpoint. `auth` is the session's sign-in record (sessions.session_auth)."""
    if auth.get("method") != "sso" or not auth.get("provider"):
        return None
    idp = IdentityProvider.objects.filter(slug=auth["provider"], is_active=True).first()
    if idp is None:
        return None
    if idp.protocol == IdentityProvider.Protocol.SAML:
        if not idp.idp_slo_url or not auth.get("subject"):
            return None
        app = SocialAccountAdapter().list_apps(request, provider=idp.slug)[0]
        provider = app.get_provider(request)
        saml = build_auth(request, provider)
        return str(
            saml.logout(
                return_to=return_to,
                name_id=auth["subject"],
                name_id_format=auth.get("subject_format"),
                session_index=auth.get("session_index"),
            )
        )
    try:
        discovery = requests.get(
            idp.issuer.rstrip("/") + "/.well-known/openid-configuration",
            timeout=settings.SOCIALACCOUNT_REQUESTS_TIMEOUT,
        ).json()
    except (requests.RequestException, ValueError):
        return None
    endpoint = discovery.get("end_session_endpoint")
    if not endpoint:
        return None
    params = {"client_id": idp.client_id, "post_logout_redirect_uri": return_to}
    if auth.get("id_token"):
        params["id_token_hint"] = auth["id_token"]
    return f"{endpoint}?{urlencode(params)}"
