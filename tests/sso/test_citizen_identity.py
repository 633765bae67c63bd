"""A citizen identifies themselves with their electronic identity before a video call, through
real providers: OpenID Connect (django-oauth-toolkit, as VÀLid) and SAML 2.0 (SimpleSAMLphp,
as Cl@ve). The answer identifies the citizen of that appointment and signs nobody in; a
citizens' provider never opens a staff session; an answer is used once."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import requests
from allauth.socialaccount.models import SocialAccount
from django.utils import timezone

from finestreta.accounts.models import IdentityProvider, Membership, User
from finestreta.appointments.models import Appointment
from finestreta.appointments.services import join_token
from finestreta.catalogue.models import AttentionLevel
from finestreta.identity import identify
from finestreta.identity.models import Assurance, IdentityCheck, ServicePolicy
from tests.factories import AppointmentFactory, IdentityProviderFactory, ServiceFactory
from tests.idp.oidc import (
    OidcClient,
    OidcProvider,
    OidcUser,
    callback_url,
    provider_login,
    run_oidc_provider,
)
from tests.idp.saml import SamlIdp, SamlServiceProvider, SamlUser, idp_login, run_saml_idp
from tests.personas import Personas
from tests.sso.common import post_with_csrf

# The test provider releases the username as preferred_username: here it is the DNI, as
# VÀLid's `identifier` claim is.
MARTA = OidcUser("12345678Z", "marta-secret", "marta@example.net", "Marta", "Vidal")
PERE = SamlUser(
    "pere",
    "pere-secret",
    {
        "uid": ["clave-4711"],
        "givenName": ["Pere"],
        "sn": ["Roig"],
        "PersonIdentifier": ["ES/ES/87654321X"],
    },
)
SECRET = "a-client-secret-known-to-both"  # noqa: S105 - test provider only


@dataclass
class Site:
    base: str
    appointment: Appointment

    @property
    def page(self) -> str:
        item = self.appointment
        return f"/{item.organisation.slug}/video/{join_token(item)}/"

    def session(self) -> requests.Session:
        session = requests.Session()
        session.headers["Accept-Language"] = "en"
        return session

    def start(self, session: requests.Session, slug: str) -> requests.Response:
        """Press "Identify me with …" on the page before the call."""
        return post_with_csrf(
            session,
            self.base,
            self.page,
            f"{self.page}identity/{slug}/",
            expect=f"{self.page}identity/{slug}/",
            timeout=30,
        )


@pytest.fixture(scope="module")
def oidc_provider() -> Iterator[OidcProvider]:
    with run_oidc_provider(users=[MARTA]) as provider:
        yield provider


@pytest.fixture(scope="module")
def saml_idp() -> Iterator[SamlIdp]:
    with run_saml_idp(users=[PERE], hostname="localhost") as idp:
        yield idp


@pytest.fixture
def base(transactional_db: None, live_server, settings) -> str:  # type: ignore[no-untyped-def]
    url = live_server.url.replace("localhost", "127.0.0.1")
    settings.SITE_URL = url
    return url


def appointment_for(personas: Personas, id_document: str) -> Appointment:
    service = ServiceFactory(
        organisation=personas.org_a,
        attention_level=AttentionLevel.ATTENDED,
        offices=[personas.office_a],
    )
    ServicePolicy.objects.create(service=service, identity=Assurance.ELECTRONIC_ID)
    # Real time: the providers sign what they say with the real clock.
    starts = timezone.now().replace(microsecond=0) + dt.timedelta(minutes=10)
    return AppointmentFactory(
        agent=Membership.objects.get(user=personas.agent_a),
        service=service,
        starts_at=starts,
        id_document=id_document,
    )


@pytest.fixture
def valid(base: str, oidc_provider: OidcProvider, personas: Personas) -> Site:
    oidc_provider.add_client(
        OidcClient(
            client_id="finestreta-valid",
            client_secret=SECRET,
            redirect_uris=(f"{base}/auth/oidc/org-a-valid/login/callback/",),
        )
    )
    provider = IdentityProviderFactory(
        organisation=personas.org_a,
        slug="org-a-valid",
        citizens=True,
        issuer=oidc_provider.issuer,
        client_id="finestreta-valid",
        client_secret=SECRET,
    )
    provider.full_clean()
    return Site(base, appointment_for(personas, "12345678-Z"))


@pytest.fixture
def clave(base: str, saml_idp: SamlIdp, personas: Personas) -> Site:
    provider = IdentityProvider(
        organisation=personas.org_a,
        slug="org-a-clave",
        name="Cl@ve",
        audience=IdentityProvider.Audience.CITIZENS,
        protocol=IdentityProvider.Protocol.SAML,
        idp_metadata=saml_idp.metadata_xml(),
        attribute_mapping={"first_name": "givenName", "last_name": "sn"},
        document_attribute="PersonIdentifier",
    )
    provider.full_clean()
    provider.save()
    saml_idp.add_service_provider(
        SamlServiceProvider(
            entity_id=f"{base}/auth/saml/org-a-clave/metadata/",
            acs_url=f"{base}/auth/saml/org-a-clave/acs/",
            slo_url=f"{base}/auth/saml/org-a-clave/sls/",
        )
    )
    return Site(base, appointment_for(personas, "87654321X"))


def signed_in(session: requests.Session, base: str) -> bool:
    return session.get(f"{base}/accounts/staff/", allow_redirects=False).status_code != 302


def assert_nobody_signed_in(session: requests.Session, base: str, users_before: int) -> None:
    assert not signed_in(session, base)
    assert User.objects.count() == users_before
    assert not SocialAccount.objects.exists()


def test_a_citizen_identifies_with_openid_connect_and_comes_back_to_their_page_not_signed_in(
    valid: Site,
) -> None:
    users = User.objects.count()
    session = valid.session()
    at_provider = valid.start(session, "org-a-valid")
    final = provider_login(session, at_provider, MARTA.username, MARTA.password, follow=True)
    assert final.status_code == 200 and final.url == f"{valid.base}{valid.page}#identity"
    assert "Thank you: you have identified yourself." in final.text
    assert "You identified yourself with VÀLid" in final.text

    check = IdentityCheck.objects.get()
    assert (check.method, check.verified, check.agent, check.identified_name) == (
        "electronic_id",
        True,
        None,
        "Marta Vidal",
    )
    assert check.document_hash == identify.document_hash("dni", "12345678Z")
    assert check.appointment == valid.appointment
    assert_nobody_signed_in(session, valid.base, users)


def test_a_citizen_identifies_with_saml_and_the_eidas_identifier_is_compared(
    clave: Site,
) -> None:
    users = User.objects.count()
    session = clave.session()
    at_idp = clave.start(session, "org-a-clave")
    acs_url, saml_response, relay_state = idp_login(session, at_idp, PERE.username, PERE.password)
    final = session.post(
        acs_url, data={"SAMLResponse": saml_response, "RelayState": relay_state}, timeout=30
    )
    assert final.status_code == 200 and final.url == f"{clave.base}{clave.page}#identity"
    assert "You identified yourself with Cl@ve" in final.text
    check = IdentityCheck.objects.get()
    assert (check.verified, check.document_type, check.identified_name) == (
        True,
        "dni",
        "Pere Roig",
    )
    assert_nobody_signed_in(session, clave.base, users)


def test_someone_else_than_the_booked_citizen_is_not_identified(valid: Site) -> None:
    valid.appointment.id_document = "11111111H"
    valid.appointment.save()
    session = valid.session()
    at_provider = valid.start(session, "org-a-valid")
    final = provider_login(session, at_provider, MARTA.username, MARTA.password, follow=True)
    assert "is not the one of the document given when booking" in final.text
    assert not IdentityCheck.objects.get().verified
    assert identify.identified(valid.appointment) is None


def test_the_citizens_provider_never_signs_anyone_in_as_staff(valid: Site) -> None:
    users = User.objects.count()
    session = valid.session()
    login_page = session.get(f"{valid.base}/accounts/login/").text
    assert "/auth/oidc/org-a-valid/login/" not in login_page  # not offered to staff
    # Started by hand at allauth's own address, as staff single sign-on starts.
    at_provider = post_with_csrf(
        session, valid.base, "/accounts/login/", "/auth/oidc/org-a-valid/login/", timeout=30
    )
    final = provider_login(session, at_provider, MARTA.username, MARTA.password, follow=True)
    assert final.status_code == 403
    assert "The identification could not be used" in final.text
    assert not IdentityCheck.objects.exists()
    assert_nobody_signed_in(session, valid.base, users)


def test_an_answer_of_the_provider_is_used_once(valid: Site) -> None:
    session = valid.session()
    at_provider = valid.start(session, "org-a-valid")
    leaving = provider_login(session, at_provider, MARTA.username, MARTA.password)
    callback = callback_url(leaving)
    first = session.get(callback, allow_redirects=False, timeout=30)
    assert first.status_code == 302 and first.headers["Location"].endswith("#identity")
    replayed = session.get(callback, allow_redirects=False, timeout=30)
    assert replayed.status_code == 403
    assert "The identification could not be used" in replayed.text
    # Another browser with the same answer has no state at all.
    stolen = requests.get(callback, allow_redirects=False, timeout=30)
    assert stolen.status_code == 403
    assert IdentityCheck.objects.count() == 1


def test_a_join_link_of_another_organisation_cannot_use_this_provider(
    valid: Site, personas: Personas
) -> None:
    other = AppointmentFactory(
        agent=Membership.objects.get(user=personas.agent_b),
        service=personas.service_b,
        starts_at=valid.appointment.starts_at,
    )
    page = f"/org-b/video/{join_token(other)}/"
    session = valid.session()
    response = post_with_csrf(
        session, valid.base, page, f"{page}identity/org-a-valid/", allow_redirects=False
    )
    assert response.status_code == 404
    assert not IdentityCheck.objects.exists()
