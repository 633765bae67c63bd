"""Single sign-on through each organisation's identity provider (allauth adapters).

- allauth's apps are built from `IdentityProvider` rows (see sso_config.build_social_app);
- a person is matched on (provider, subject or NameID) — never on an e-mail address;
- someone new gets an inactive membership of the provider's organisation: no access until an
  administrator grants a role, or the provider's role mapping grants one;
- the session remembers which organisation's provider signed it in, and staff access helpers
  refuse every other organisation (see accounts.services.get_membership_for_staff);
- a citizens' provider (electronic identity before a call) never signs anyone in: its answers go
  to identity.electronic_id, which records them for the appointment the journey started from.
"""

from __future__ import annotations

import re
from typing import Any

from allauth.account.adapter import DefaultAccountAdapter
from allauth.core.exceptions import ImmediateHttpResponse
from allauth.socialaccount.adapter import DefaultSocialAccountAdapter
from allauth.socialaccount.models import SocialApp, SocialLogin
from django.http import HttpRequest
from django.shortcuts import render

from finestreta.accounts.models import IdentityProvider, Role, User
from finestreta.accounts.sso_config import build_social_app

PROTOCOL_OF_PROVIDER = {"saml": IdentityProvider.Protocol.SAML, "openid_connect": "oidc"}
USERNAME_UNSAFE = re.compile(r"[^\w.@+-]")


class AccountAdapter(DefaultAccountAdapter):
    def is_open_for_signup(self, request: HttpRequest) -> bool:
        # Nobody signs up with a password: staff come through their organisation's provider.
        return False


def identity_provider_for(sociallogin: SocialLogin) -> IdentityProvider | None:
    return (
        IdentityProvider.objects.select_related("organisation")
        .filter(slug=sociallogin.account.provider, is_active=True, organisation__is_active=True)
        .first()
    )


def claims_of(sociallogin: SocialLogin) -> dict[str, list[str]]:
    """The provider's attributes (SAML) or claims (OIDC) as lists of strings."""
    data = sociallogin.account.extra_data or {}
    if "userinfo" in data or "id_token" in data:
        merged = {**(data.get("id_token") or {}), **(data.get("userinfo") or {})}
    else:
        merged = data
    claims: dict[str, list[str]] = {}
    for key, value in merged.items():
        values = value if isinstance(value, list) else [value]
        claims[key] = [str(v) for v in values]
    return claims


def mapped_role(idp: IdentityProvider, claims: dict[str, list[str]]) -> Role | None:
    """The highest role the provider's role attribute grants, if any."""
    if not idp.role_attribute or not idp.role_mapping:
        return None
    from finestreta.accounts.models import ROLE_RANK

    granted = [
        Role(idp.role_mapping[v])
        for v in claims.get(idp.role_attribute, [])
        if v in idp.role_mapping
    ]
    return max(granted, key=lambda role: ROLE_RANK[role]) if granted else None


def unique_username(base: str) -> str:
    base = USERNAME_UNSAFE.sub("_", base)[:140] or "staff"
    candidate, n = base, 1
    while User.objects.filter(username=candidate).exists():
        n += 1
        candidate = f"{base}~{n}"
    return candidate


class SocialAccountAdapter(DefaultSocialAccountAdapter):
    def list_apps(
        self, request: HttpRequest | None, provider: str | None = None, client_id: str | None = None
    ) -> list[SocialApp]:
        providers = IdentityProvider.objects.select_related("organisation").filter(
            is_active=True, organisation__is_active=True
        )
        if provider in PROTOCOL_OF_PROVIDER:
            providers = providers.filter(protocol=PROTOCOL_OF_PROVIDER[provider])
        elif provider:
            providers = providers.filter(slug=provider)
        apps = [build_social_app(idp) for idp in providers]
        if client_id:
            apps = [app for app in apps if app.client_id == client_id]
        return apps

    def is_open_for_signup(self, request: HttpRequest, sociallogin: SocialLogin) -> bool:
        return True

    def is_auto_signup_allowed(self, request: HttpRequest, sociallogin: SocialLogin) -> bool:
        return True

    def on_authentication_error(
        self,
        request: HttpRequest,
        provider: Any,
        error: Any = None,
        exception: Any = None,
        extra_context: Any = None,
    ) -> None:
        """A citizen whose identification failed (cancelled, refused, replayed) gets the
        citizens' page, not the staff one."""
        slug = getattr(getattr(provider, "app", None), "provider_id", "")
        idp = (
            IdentityProvider.objects.select_related("organisation")
            .filter(slug=slug, audience=IdentityProvider.Audience.CITIZENS)
            .first()
            if slug
            else None
        )
        if idp is not None:
            from finestreta.identity import electronic_id

            electronic_id.refuse(request, idp)
        super().on_authentication_error(request, provider, error, exception, extra_context)

    def pre_social_login(self, request: HttpRequest, sociallogin: SocialLogin) -> None:
        idp = identity_provider_for(sociallogin)
        if idp is None:
            raise ImmediateHttpResponse(render(request, "accounts/sso_refused.html", status=403))
        from finestreta.identity import electronic_id

        if idp.audience == IdentityProvider.Audience.CITIZENS or electronic_id.STATE_KEY in (
            sociallogin.state.get("data") or {}
        ):
            electronic_id.complete(request, sociallogin, idp)  # raises: nobody signs in
        user = sociallogin.user
        if sociallogin.is_existing and not user.is_active:
            raise ImmediateHttpResponse(
                render(request, "accounts/sso_refused.html", {"inactive": True}, status=403)
            )

    def populate_user(
        self, request: HttpRequest, sociallogin: SocialLogin, data: dict[str, Any]
    ) -> Any:
        user = super().populate_user(request, sociallogin, data)
        user.username = unique_username(f"{sociallogin.account.provider}.{sociallogin.account.uid}")
        return user

    def save_user(self, request: HttpRequest, sociallogin: SocialLogin, form: Any = None) -> Any:
        user = super().save_user(request, sociallogin, form)
        user.set_unusable_password()
        user.save(update_fields=["password"])
        from finestreta.accounts.services import provision_sso_user

        idp = identity_provider_for(sociallogin)
        if idp is None:  # pre_social_login already refused unknown providers
            raise ImmediateHttpResponse(render(request, "accounts/sso_refused.html", status=403))
        provision_sso_user(user=user, identity_provider=idp, request=request)
        return user
