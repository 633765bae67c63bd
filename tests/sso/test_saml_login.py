"""Staff single sign-on over SAML 2.0 against a real IdP (Debian's SimpleSAMLphp)."""

from __future__ import annotations

import base64
from collections.abc import Iterator

import pytest
import requests
from allauth.socialaccount.models import SocialAccount
from lxml import etree

from finestreta.accounts.models import IdentityProvider, Membership, Role, User
from finestreta.privacy.models import AuditEvent
from tests.factories import MembershipFactory, UserFactory
from tests.idp.saml import SamlIdp, SamlServiceProvider, SamlUser, idp_login, run_saml_idp
from tests.personas import Personas
from tests.sso.common import post_with_csrf, start_sso

ANNA = SamlUser(
    "anna",
    "anna-secret",
    {
        "uid": ["anna"],
        "mail": ["anna@gencat.example"],
        "givenName": ["Anna"],
        "sn": ["Puig"],
        "groups": ["atencio"],
    },
)
JOAN = SamlUser(
    "joan",
    "joan-secret",
    {"uid": ["joan"], "mail": ["joan@gencat.example"], "groups": ["supervisio"]},
)


@pytest.fixture(scope="module")
def saml_idp() -> Iterator[SamlIdp]:
    # "localhost" puts the IdP on another site than the SP at 127.0.0.1, as GICAR is.
    with run_saml_idp(users=[ANNA, JOAN], hostname="localhost") as idp:
        yield idp


@pytest.fixture
def site(
    transactional_db: None, live_server, settings, saml_idp: SamlIdp, personas: Personas
) -> dict:
    base = live_server.url.replace("localhost", "127.0.0.1")
    settings.SITE_URL = base
    provider = IdentityProvider(
        organisation=personas.org_a,
        slug="org-a-gicar",
        name="GICAR",
        protocol=IdentityProvider.Protocol.SAML,
        idp_metadata=saml_idp.metadata_xml(),
        attribute_mapping={"email": "mail", "first_name": "givenName", "last_name": "sn"},
    )
    provider.full_clean()
    provider.save()
    saml_idp.add_service_provider(
        SamlServiceProvider(
            entity_id=f"{base}/auth/saml/org-a-gicar/metadata/",
            acs_url=f"{base}/auth/saml/org-a-gicar/acs/",
            slo_url=f"{base}/auth/saml/org-a-gicar/sls/",
        )
    )
    return {"base": base, "provider": provider, "login_url": "/auth/saml/org-a-gicar/login/"}


def sign_in(
    site: dict, user: SamlUser, session: requests.Session | None = None
) -> requests.Session:
    session = session or requests.Session()
    at_idp = start_sso(session, site["base"], site["login_url"])
    acs_url, saml_response, relay_state = idp_login(session, at_idp, user.username, user.password)
    final = session.post(acs_url, data={"SAMLResponse": saml_response, "RelayState": relay_state})
    final.raise_for_status()
    return session


def saml_response_from_idp(site: dict, user: SamlUser) -> tuple[requests.Session, str, str, str]:
    session = requests.Session()
    at_idp = start_sso(session, site["base"], site["login_url"])
    acs_url, saml_response, relay_state = idp_login(session, at_idp, user.username, user.password)
    return session, acs_url, saml_response, relay_state


def signed_in_user(session: requests.Session, site: dict) -> str | None:
    response = session.get(f"{site['base']}/accounts/staff/", allow_redirects=False)
    return None if response.status_code == 302 else response.text


def test_the_service_provider_metadata_is_published_per_organisation(site: dict) -> None:
    response = requests.get(f"{site['base']}/auth/saml/org-a-gicar/metadata/", timeout=10)
    assert response.status_code == 200
    assert f'entityID="{site["base"]}/auth/saml/org-a-gicar/metadata/"' in response.text
    assert f"{site['base']}/auth/saml/org-a-gicar/acs/" in response.text


def test_a_first_sso_login_creates_a_user_with_no_access_until_a_role_is_granted(
    site: dict, personas: Personas
) -> None:
    session = sign_in(site, ANNA)
    account = SocialAccount.objects.get(provider="org-a-gicar", uid="anna")
    user = account.user
    assert (user.first_name, user.last_name, user.email) == ("Anna", "Puig", "anna@gencat.example")
    assert not user.has_usable_password()
    membership = Membership.objects.get(user=user)
    assert membership.organisation == personas.org_a and not membership.is_active
    assert session.get(f"{site['base']}/org-a/staff/", allow_redirects=False).status_code == 404
    assert AuditEvent.objects.filter(action="sso.user_provisioned", actor=user).exists()

    membership.is_active = True
    membership.save()
    assert session.get(f"{site['base']}/org-a/staff/", allow_redirects=False).status_code == 200


def test_the_same_person_signing_in_again_is_the_same_user(site: dict) -> None:
    sign_in(site, ANNA)
    sign_in(site, ANNA)
    assert User.objects.filter(socialaccount__provider="org-a-gicar").count() == 1


def test_users_are_matched_on_the_name_id_never_on_the_e_mail(site: dict) -> None:
    impostor = UserFactory(username="existing", email="anna@gencat.example")
    sign_in(site, ANNA)
    account = SocialAccount.objects.get(provider="org-a-gicar", uid="anna")
    assert account.user != impostor


def test_a_role_mapping_grants_a_role_from_an_attribute(site: dict, personas: Personas) -> None:
    provider = site["provider"]
    provider.role_attribute = "groups"
    provider.role_mapping = {"supervisio": "supervisor"}
    provider.save()
    session = sign_in(site, JOAN)
    membership = Membership.objects.get(user__socialaccount__uid="joan")
    assert membership.is_active and membership.role == Role.SUPERVISOR
    assert (
        session.get(f"{site['base']}/org-a/staff/team/", allow_redirects=False).status_code == 200
    )


def test_a_user_of_organisation_as_provider_gets_nothing_in_organisation_b(
    site: dict, personas: Personas
) -> None:
    session = sign_in(site, ANNA)
    user = User.objects.get(socialaccount__uid="anna")
    Membership.objects.filter(user=user).update(is_active=True)
    # Even a membership of B does not open B to a session that A's provider vouched for.
    MembershipFactory(user=user, organisation=personas.org_b, role=Role.ORG_ADMIN)
    for path in (
        "/org-b/staff/",
        "/org-b/staff/team/",
        f"/org-b/staff/offices/{personas.office_b.slug}/",
    ):
        assert session.get(f"{site['base']}{path}", allow_redirects=False).status_code == 404
    assert session.get(f"{site['base']}/org-a/staff/", allow_redirects=False).status_code == 200


def _tamper(saml_response: str, old: bytes, new: bytes) -> str:
    xml = base64.b64decode(saml_response)
    assert old in xml
    return base64.b64encode(xml.replace(old, new)).decode()


def _strip_signatures(saml_response: str) -> str:
    root = etree.fromstring(base64.b64decode(saml_response))  # noqa: S320 - our own IdP's XML
    for signature in root.iter("{http://www.w3.org/2000/09/xmldsig#}Signature"):
        signature.getparent().remove(signature)
    return base64.b64encode(etree.tostring(root)).decode()


@pytest.mark.parametrize(
    "forge",
    [
        lambda r: _tamper(r, b"anna@gencat.example", b"mallory@gencat.example"),
        lambda r: _tamper(r, b">anna<", b">joan<"),
        _strip_signatures,
    ],
    ids=["tampered-attribute", "tampered-name-id", "unsigned"],
)
def test_a_tampered_or_unsigned_assertion_is_refused(site: dict, forge) -> None:  # type: ignore[no-untyped-def]
    session, acs_url, saml_response, relay_state = saml_response_from_idp(site, ANNA)
    session.post(acs_url, data={"SAMLResponse": forge(saml_response), "RelayState": relay_state})
    assert signed_in_user(session, site) is None
    assert not SocialAccount.objects.exists()


def test_a_replayed_response_is_refused(site: dict) -> None:
    session, acs_url, saml_response, relay_state = saml_response_from_idp(site, ANNA)
    session.post(acs_url, data={"SAMLResponse": saml_response, "RelayState": relay_state})
    assert signed_in_user(session, site) is not None
    other = requests.Session()
    other.post(acs_url, data={"SAMLResponse": saml_response, "RelayState": relay_state})
    assert signed_in_user(other, site) is None


def test_logout_also_ends_the_session_at_the_identity_provider(site: dict) -> None:
    session = sign_in(site, ANNA)
    Membership.objects.filter(user__socialaccount__uid="anna").update(is_active=True)
    response = post_with_csrf(session, site["base"], "/org-a/staff/", "/accounts/logout/")
    response.raise_for_status()
    assert signed_in_user(session, site) is None
    # Back at the IdP, a new login asks for the password again (the IdP session ended).
    at_idp = start_sso(session, site["base"], site["login_url"])
    assert 'name="password"' in at_idp.text


def test_allauths_own_password_and_sign_up_pages_are_closed(site: dict) -> None:
    for path in ("/auth/login/", "/auth/signup/", "/auth/password/reset/", "/auth/email/"):
        response = requests.get(f"{site['base']}{path}", allow_redirects=False, timeout=10)
        assert response.status_code in {301, 302}
        assert response.headers["Location"].startswith("/accounts/login/")


def test_a_failed_sign_on_shows_a_plain_explanation_in_the_platforms_layout(site: dict) -> None:
    session, acs_url, saml_response, relay_state = saml_response_from_idp(site, ANNA)
    page = session.post(acs_url, data={"SAMLResponse": _strip_signatures(saml_response)})
    assert page.status_code in {400, 401, 403}
    assert 'class="skip-link"' in page.text  # our accessible layout
    assert "/accounts/login/" in page.text


def test_opening_the_sign_on_address_directly_asks_before_leaving(site: dict) -> None:
    page = requests.get(f"{site['base']}{site['login_url']}", timeout=10)
    assert page.status_code == 200
    assert 'class="skip-link"' in page.text and "GICAR" in page.text
    assert 'method="post"' in page.text
