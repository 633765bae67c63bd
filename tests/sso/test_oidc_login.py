"""Staff single sign-on over OpenID Connect against a real provider (django-oauth-toolkit)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests
from allauth.socialaccount.models import SocialAccount

from finestreta.accounts.models import IdentityProvider, Membership, Role
from tests.idp.oidc import (
    OidcClient,
    OidcProvider,
    OidcUser,
    provider_confirm_logout,
    provider_login,
    run_oidc_provider,
)
from tests.personas import Personas
from tests.sso.common import post_with_csrf, start_sso

MARTA = OidcUser("marta", "marta-secret", "marta@vilanova.example", "Marta", "Soler", ("oac",))
SECRET = "a-client-secret-known-to-both"  # noqa: S105 - test provider only


@pytest.fixture(scope="module")
def oidc_provider() -> Iterator[OidcProvider]:
    with run_oidc_provider(users=[MARTA]) as provider:
        yield provider


@pytest.fixture
def site(
    transactional_db: None, live_server, settings, oidc_provider: OidcProvider, personas: Personas
) -> dict:
    base = live_server.url.replace("localhost", "127.0.0.1")
    settings.SITE_URL = base
    oidc_provider.add_client(
        OidcClient(
            client_id="finestreta-org-b",
            client_secret=SECRET,
            redirect_uris=(f"{base}/auth/oidc/org-b-sso/login/callback/",),
            post_logout_redirect_uris=(f"{base}/",),
        )
    )
    provider = IdentityProvider(
        organisation=personas.org_b,
        slug="org-b-sso",
        name="Vilanova SSO",
        protocol=IdentityProvider.Protocol.OIDC,
        issuer=oidc_provider.issuer,
        client_id="finestreta-org-b",
        client_secret=SECRET,
        scopes="openid profile email groups",
    )
    provider.full_clean()
    provider.save()
    return {"base": base, "provider": provider, "login_url": "/auth/oidc/org-b-sso/login/"}


def sign_in(site: dict, user: OidcUser) -> requests.Session:
    session = requests.Session()
    at_provider = start_sso(session, site["base"], site["login_url"])
    final = provider_login(session, at_provider, user.username, user.password, follow=True)
    final.raise_for_status()
    return session


def test_the_discovery_document_is_read_and_a_complete_code_flow_with_pkce_signs_in(
    site: dict, personas: Personas
) -> None:
    # The provider refuses any authorization request without a PKCE challenge, so getting here
    # proves PKCE was used.
    session = sign_in(site, MARTA)
    account = SocialAccount.objects.get(provider="org-b-sso")
    user = account.user
    assert (user.first_name, user.last_name, user.email) == (
        "Marta",
        "Soler",
        "marta@vilanova.example",
    )
    membership = Membership.objects.get(user=user)
    assert membership.organisation == personas.org_b and not membership.is_active
    assert session.get(f"{site['base']}/org-b/staff/", allow_redirects=False).status_code == 404
    membership.is_active = True
    membership.save()
    assert session.get(f"{site['base']}/org-b/staff/", allow_redirects=False).status_code == 200
    assert session.get(f"{site['base']}/org-a/staff/", allow_redirects=False).status_code == 404


def test_the_user_is_matched_on_issuer_and_subject(site: dict) -> None:
    sign_in(site, MARTA)
    sign_in(site, MARTA)
    accounts = SocialAccount.objects.filter(provider="org-b-sso")
    assert accounts.count() == 1
    assert accounts.get().uid != MARTA.email  # the subject, not the e-mail


def test_a_claim_can_grant_a_role(site: dict) -> None:
    provider = site["provider"]
    provider.role_attribute = "groups"
    provider.role_mapping = {"oac": "agent"}
    provider.save()
    session = sign_in(site, MARTA)
    membership = Membership.objects.get(user__socialaccount__provider="org-b-sso")
    assert membership.is_active and membership.role == Role.AGENT
    assert session.get(f"{site['base']}/org-b/staff/", allow_redirects=False).status_code == 200


def test_a_wrong_client_secret_signs_nobody_in(site: dict) -> None:
    provider = site["provider"]
    provider.client_secret = "not-the-secret"  # noqa: S105
    provider.save()
    session = requests.Session()
    at_provider = start_sso(session, site["base"], site["login_url"])
    provider_login(session, at_provider, MARTA.username, MARTA.password, follow=True)
    assert session.get(f"{site['base']}/accounts/staff/", allow_redirects=False).status_code == 302
    assert not SocialAccount.objects.exists()


def test_logout_ends_the_providers_session_too(site: dict, oidc_provider: OidcProvider) -> None:
    session = sign_in(site, MARTA)
    response = post_with_csrf(
        session, site["base"], "/accounts/staff/", "/accounts/logout/", allow_redirects=False
    )
    assert response.status_code == 302
    assert response.headers["Location"].startswith(oidc_provider.end_session_endpoint)
    confirm = session.get(response.headers["Location"])
    back = provider_confirm_logout(session, confirm)
    assert back.headers["Location"].startswith(site["base"])
    assert session.get(f"{site['base']}/accounts/staff/", allow_redirects=False).status_code == 302
    # A new sign-on asks for the password again: the provider's session is gone.
    at_provider = start_sso(session, site["base"], site["login_url"])
    assert at_provider.url.startswith(oidc_provider.base_url)
    assert 'name="password"' in at_provider.text
