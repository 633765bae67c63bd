"""Staff single sign-on in Chromium against a real OpenID Connect provider: the login page's
form leads to the provider and the logout form ends there, which the browser allows only
because those pages' Content-Security-Policy names the provider in `form-action` (browsers
apply it to the redirects after a form). Any violation fails the test (conftest)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from playwright.sync_api import expect

from finestreta.accounts.models import IdentityProvider, Membership, Role
from tests.browser.conftest import Visit
from tests.browser.data import BrowserData
from tests.idp.oidc import OidcClient, OidcProvider, OidcUser, run_oidc_provider

LAIA = OidcUser("laia", "laia-secret", "laia@example.net", "Laia", "Serra", ("oac",))
SECRET = "a-client-secret-known-to-both"  # noqa: S105 - test provider only


@pytest.fixture(scope="module")
def oidc_provider() -> Iterator[OidcProvider]:
    with run_oidc_provider(users=[LAIA]) as provider:
        yield provider


def test_a_member_of_staff_signs_in_and_out_through_their_provider_in_the_browser(
    browser_data: BrowserData,
    open_page: Callable[..., Visit],
    live_server,  # type: ignore[no-untyped-def]
    oidc_provider: OidcProvider,
) -> None:
    oidc_provider.add_client(
        OidcClient(
            client_id="finestreta-staff",
            client_secret=SECRET,
            redirect_uris=(f"{live_server.url}/auth/oidc/browser-sso/login/callback/",),
            post_logout_redirect_uris=(f"{live_server.url}/",),
        )
    )
    IdentityProvider.objects.create(
        organisation=browser_data.organisation,
        slug="browser-sso",
        name="Corporate SSO",
        protocol=IdentityProvider.Protocol.OIDC,
        issuer=oidc_provider.issuer,
        client_id="finestreta-staff",
        client_secret=SECRET,
        scopes="openid profile email groups",
        role_attribute="groups",
        role_mapping={"oac": Role.AGENT},
    )
    visit = open_page("en")
    page = visit.page
    visit.goto("/accounts/login/")
    page.get_by_role("button", name="log in with Corporate SSO").press("Enter")
    page.wait_for_url(f"{oidc_provider.base_url}/**")
    page.fill("#id_username", LAIA.username)
    page.fill("#id_password", LAIA.password)
    page.keyboard.press("Enter")
    page.wait_for_url(f"{live_server.url}/**")
    expect(page.get_by_role("button", name="Log out")).to_be_visible()
    membership = Membership.objects.get(user__socialaccount__provider="browser-sso")
    assert membership.is_active and membership.role == Role.AGENT
    assert visit.csp_messages == []

    # Logging out here ends the session at the provider too (this provider asks to confirm),
    # which sends the browser back.
    page.get_by_role("button", name="Log out").press("Enter")
    page.wait_for_url(f"{oidc_provider.base_url}/o/logout/**")
    page.locator("input[name=allow]").click()
    page.wait_for_url(f"{live_server.url}/", timeout=15_000)
    expect(page.get_by_role("link", name="Staff login")).to_be_visible()
