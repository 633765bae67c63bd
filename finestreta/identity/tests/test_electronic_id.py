"""Identifying with an electronic identity: what is recorded from a provider's answer, what it
meets, who may start it and when an answer is refused. The journeys through real OpenID Connect
and SAML providers are in tests/sso/test_citizen_identity.py."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest
import time_machine
from allauth.core.exceptions import ImmediateHttpResponse
from django.contrib.messages.storage.fallback import FallbackStorage
from django.core.exceptions import ValidationError
from django.test import Client, RequestFactory

from finestreta.accounts.models import IdentityProvider, Membership
from finestreta.accounts.services import list_login_providers
from finestreta.appointments.models import Appointment
from finestreta.appointments.services import join_token
from finestreta.catalogue.models import AttentionLevel
from finestreta.identity import electronic_id, identify, receipts
from finestreta.identity.models import (
    Assurance,
    IdentityCheck,
    LevelPolicy,
    Recording,
    ServicePolicy,
    SignatureRoute,
)
from finestreta.identity.policy import Rules
from finestreta.privacy.models import AuditEvent
from finestreta.video import services
from tests.factories import AppointmentFactory, IdentityProviderFactory, ServiceFactory
from tests.personas import Personas, log_in

START = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC)
DURING = START - dt.timedelta(minutes=10)
CLAIMS = {"preferred_username": ["12345678Z"], "acr": ["substantial"]}


@pytest.fixture(autouse=True)
def clock() -> Iterator[None]:
    with time_machine.travel(DURING, tick=False):
        yield


def citizens_provider(organisation: Any, slug: str = "valid") -> IdentityProvider:
    provider = IdentityProviderFactory(
        organisation=organisation, slug=slug, citizens=True, issuer="https://valid.example/o"
    )
    provider.full_clean()  # a valid configuration, as the administration would save it
    return provider


@pytest.fixture
def provider(personas: Personas) -> IdentityProvider:
    return citizens_provider(personas.org_a)


@pytest.fixture
def appointment(personas: Personas, provider: IdentityProvider) -> Appointment:
    service = ServiceFactory(
        organisation=personas.org_a,
        attention_level=AttentionLevel.ATTENDED,
        offices=[personas.office_a],
    )
    ServicePolicy.objects.create(
        service=service,
        identity=Assurance.ELECTRONIC_ID,
        recording=Recording.NEVER,
        signature=SignatureRoute.NONE,
    )
    return AppointmentFactory(
        agent=Membership.objects.get(user=personas.agent_a),
        service=service,
        starts_at=START,
        id_document="12345678-z",
    )


def record(appointment: Appointment, provider: IdentityProvider, **claims: list[str]):  # type: ignore[no-untyped-def]
    return electronic_id.record_electronic_identity(
        appointment=appointment,
        provider=provider,
        subject="sub-1",
        claims={**CLAIMS, **claims},
        name="Marta Vidal",
        now=DURING,
    )


def test_the_providers_answer_identifies_the_citizen_of_the_booked_document(
    appointment: Appointment, provider: IdentityProvider
) -> None:
    check = record(appointment, provider)
    assert (check.method, check.verified, check.agent, check.provider) == (
        "electronic_id",
        True,
        None,
        provider,
    )
    assert (check.identified_name, check.assurance_level, check.document_type) == (
        "Marta Vidal",
        "substantial",
        "dni",
    )
    assert check.document_hash == identify.document_hash("dni", "12345678Z")
    assert check.document_number == ""  # the procedure does not keep the number
    assert check.subject_hash and "sub-1" not in check.subject_hash
    event = AuditEvent.objects.get(action=AuditEvent.Action.IDENTITY_CHECKED)
    assert event.actor is None and event.details["provider"] == "valid"
    assert identify.identified(appointment) == check


def test_another_persons_document_does_not_identify_the_citizen(
    appointment: Appointment, provider: IdentityProvider
) -> None:
    check = record(appointment, provider, preferred_username=["87654321X"])
    assert not check.verified
    assert identify.identified(appointment) is None
    assert "not the one of the document given when booking" in electronic_id.problem_of(check)


def test_a_provider_that_says_no_document_cannot_confirm_a_booked_one(
    appointment: Appointment, provider: IdentityProvider
) -> None:
    check = record(appointment, provider, preferred_username=[])
    assert not check.verified and check.document_hash == ""
    assert "cannot be compared" in electronic_id.problem_of(check)


def test_without_a_booked_document_the_providers_word_is_enough(
    appointment: Appointment, provider: IdentityProvider
) -> None:
    appointment.id_document = ""
    appointment.save()
    provider.document_attribute = ""
    provider.save()
    assert record(appointment, provider).verified


def test_a_clave_eidas_identifier_and_an_nie_are_read(
    appointment: Appointment, provider: IdentityProvider
) -> None:
    appointment.id_document = "X1234567L"
    appointment.save()
    ServicePolicy.objects.filter(service=appointment.service).update(keeps_document_number=True)
    check = record(appointment, provider, preferred_username=["ES/ES/x1234567l"])
    assert (check.verified, check.document_type, check.document_number) == (
        True,
        "nie",
        "X1234567L",
    )


def test_an_electronic_identity_meets_every_requirement_and_nothing_else_meets_it() -> None:
    def meets(method: str, asked: Assurance) -> bool:
        check = IdentityCheck(method=method, verified=True)
        return identify.satisfies(check, Rules(asked, Recording.NEVER, SignatureRoute.NONE))

    assert all(
        meets("electronic_id", asked)
        for asked in (Assurance.CONTACT_CODE, Assurance.ID_DOCUMENT, Assurance.ELECTRONIC_ID)
    )
    assert not meets("id_document", Assurance.ELECTRONIC_ID)
    assert not meets("contact_code", Assurance.ELECTRONIC_ID)
    assert meets("id_document", Assurance.CONTACT_CODE)


def test_electronic_identity_cannot_be_asked_without_a_citizens_provider(
    personas: Personas,
) -> None:
    policy = LevelPolicy(
        organisation=personas.org_b,
        attention_level=AttentionLevel.ATTENDED,
        identity=Assurance.ELECTRONIC_ID,
    )
    with pytest.raises(ValidationError) as refused:
        policy.full_clean()
    assert "identity" in refused.value.message_dict
    citizens_provider(personas.org_b, slug="valid-b")
    policy.full_clean()


def test_a_citizens_provider_grants_no_roles_and_is_not_offered_to_staff(
    personas: Personas, provider: IdentityProvider
) -> None:
    provider.role_attribute = "groups"
    provider.role_mapping = {"oac": "agent"}
    with pytest.raises(ValidationError):
        provider.full_clean()
    assert [p.name for p in list_login_providers()] == []


def test_the_page_before_the_call_offers_the_organisations_identity_services(
    client: Client, appointment: Appointment, provider: IdentityProvider
) -> None:
    url = f"/org-a/video/{join_token(appointment)}/"
    response = client.get(url)
    page = response.content.decode()
    # Browsers apply form-action to the redirect after the form: the service must be named.
    directives = [d.strip() for d in response["Content-Security-Policy"].split(";")]
    assert "form-action 'self' https://valid.example" in directives
    assert 'id="identity"' in page
    assert "This procedure needs you to identify yourself with your electronic identity" in page
    assert f'action="{url}identity/valid/"' in page

    record(appointment, provider)
    page = client.get(url).content.decode()
    assert "You identified yourself with VÀLid" in page and "Identify me with" not in page


def test_a_procedure_that_does_not_identify_offers_no_identity_service(
    client: Client, appointment: Appointment
) -> None:
    ServicePolicy.objects.filter(service=appointment.service).update(identity=Assurance.NONE)
    page = client.get(f"/org-a/video/{join_token(appointment)}/").content.decode()
    assert 'id="identity"' not in page


def test_only_the_organisations_own_citizens_providers_can_be_started(
    client: Client, appointment: Appointment, personas: Personas
) -> None:
    citizens_provider(personas.org_b, slug="valid-b")
    staff = IdentityProviderFactory(organisation=personas.org_a, slug="gicar")
    base = f"/org-a/video/{join_token(appointment)}/identity/"
    assert client.post(f"{base}valid-b/").status_code == 404
    assert client.post(f"{base}{staff.slug}/").status_code == 404
    assert client.get(f"{base}valid/").status_code == 405


def test_an_identity_service_that_does_not_answer_gets_a_clear_message(
    client: Client, appointment: Appointment, provider: IdentityProvider
) -> None:
    provider.issuer = "http://127.0.0.1:9/o"  # the discard port: nothing listens
    provider.save()
    url = f"/org-a/video/{join_token(appointment)}/"
    response = client.post(f"{url}identity/valid/")
    assert response.status_code == 503
    page = response.content.decode()
    assert "VÀLid is not answering right now" in page and f'href="{url}"' in page


def answer(provider: IdentityProvider, mark: dict[str, Any] | None) -> tuple[Any, SimpleNamespace]:
    request = RequestFactory().get("/auth/oidc/valid/login/callback/")
    request.session = {}  # type: ignore[assignment]
    request._messages = FallbackStorage(request)  # type: ignore[attr-defined]
    sociallogin = SimpleNamespace(
        state={"data": {electronic_id.STATE_KEY: mark} if mark is not None else {}},
        account=SimpleNamespace(uid="sub-1", extra_data={"userinfo": CLAIMS}),
        user=SimpleNamespace(first_name="Marta", last_name="Vidal"),
    )
    return request, sociallogin


def mark_of(item: Appointment, **changes: Any) -> dict[str, Any]:
    return {
        "appointment": item.pk,
        "organisation": item.organisation_id,
        "provider": "valid",
        "token": join_token(item),
        **changes,
    }


@pytest.mark.parametrize(
    "changes",
    [
        None,  # an answer that did not start from a join link
        {"organisation": -1},
        {"provider": "another"},
        {"token": "not-a-token"},
        {"appointment": -1},
    ],
)
def test_an_answer_for_no_or_another_appointment_is_refused_and_records_nothing(
    appointment: Appointment, provider: IdentityProvider, changes: dict[str, Any] | None
) -> None:
    mark = None if changes is None else mark_of(appointment, **changes)
    request, sociallogin = answer(provider, mark)
    with pytest.raises(ImmediateHttpResponse) as refused:
        electronic_id.complete(request, sociallogin, provider)  # type: ignore[arg-type]
    assert refused.value.response.status_code == 403
    assert not IdentityCheck.objects.exists()


def test_a_staff_provider_never_records_a_citizens_identity(
    appointment: Appointment, provider: IdentityProvider
) -> None:
    provider.audience = IdentityProvider.Audience.STAFF
    provider.document_attribute = ""
    provider.save()
    request, sociallogin = answer(provider, mark_of(appointment))
    with pytest.raises(ImmediateHttpResponse) as refused:
        electronic_id.complete(request, sociallogin, provider)  # type: ignore[arg-type]
    assert refused.value.response.status_code == 403
    assert not IdentityCheck.objects.exists()


def test_the_answer_for_the_appointment_goes_back_to_its_page(
    appointment: Appointment, provider: IdentityProvider
) -> None:
    request, sociallogin = answer(provider, mark_of(appointment))
    with pytest.raises(ImmediateHttpResponse) as back:
        electronic_id.complete(request, sociallogin, provider)  # type: ignore[arg-type]
    assert back.value.response.status_code == 302
    assert back.value.response["Location"] == (f"/org-a/video/{join_token(appointment)}/#identity")
    assert IdentityCheck.objects.get().verified


def test_the_agents_panel_and_the_receipt_say_how_the_citizen_identified(
    appointment: Appointment, provider: IdentityProvider, personas: Personas
) -> None:
    room = services.get_room(appointment)
    agent = log_in(personas.agent_a)
    url = f"/org-a/staff/video/{room.public_id}/identity/"
    page = agent.get(url).content.decode()
    assert "The person identifies themselves with their electronic identity (VÀLid)" in page
    assert "Record the check" not in page  # a document on camera would not meet the rule

    record(appointment, provider, preferred_username=["87654321X"])
    page = agent.get(url).content.decode()
    assert "whose document is not the one given when booking" in page

    check = record(appointment, provider)
    page = agent.get(url).content.decode()
    assert "Identified themselves with their electronic identity (VÀLid) as Marta Vidal" in page
    assert "Level of assurance: substantial." in page
    assert receipts.identification(check) == (
        "With their electronic identity (VÀLid), as Marta Vidal."
    )
