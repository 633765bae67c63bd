"""Identifying the citizen in a call: a code sent to their contact (attempt limits and a
lockout), or an identity document checked with a checklist and kept only as a keyed hash."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from finestreta.accounts.models import Membership
from finestreta.catalogue.models import AttentionLevel
from finestreta.identity import codes, identify
from finestreta.identity.models import (
    CodePurpose,
    DocumentType,
    IdentityCheck,
    ServicePolicy,
)
from finestreta.notifications.models import Message
from finestreta.privacy.models import AuditEvent
from tests.factories import AppointmentFactory, ServiceFactory

NOW = dt.datetime(2026, 12, 1, 9, 5, tzinfo=dt.UTC)
TODAY = NOW.date()


@pytest.fixture
def appointment(personas):  # type: ignore[no-untyped-def]
    service = ServiceFactory(organisation=personas.org_a, attention_level=AttentionLevel.ATTENDED)
    return AppointmentFactory(
        agent=Membership.objects.get(user=personas.agent_a),
        service=service,
        phone="+34600111678",
        email="nuria@example.org",
    )


def sent_code(appointment) -> str:  # type: ignore[no-untyped-def]
    """The code as the citizen receives it: read from the message in the outbox."""
    message = Message.objects.filter(kind="identity_code").latest("pk")
    assert message.recipient == appointment.phone
    return re.search(r"\b(\d{6})\b", message.body)[1]  # type: ignore[index]


def send(appointment, at=NOW):  # type: ignore[no-untyped-def]
    destination = codes.destinations(appointment)[0]
    return codes.send_code(
        appointment=appointment, purpose=CodePurpose.IDENTIFY, destination=destination, now=at
    )


def test_the_citizen_is_identified_by_the_code_sent_to_their_mobile(appointment, personas) -> None:  # type: ignore[no-untyped-def]
    assert [d.masked for d in codes.destinations(appointment)] == ["•••• 678", "n•••@example.org"]
    record = send(appointment)
    code = sent_code(appointment)
    assert re.fullmatch(r"\d{6}", code)
    assert code not in record.code_hash  # only a keyed hash is kept
    check = identify.identify_by_code(
        appointment=appointment, agent=personas.agent_a, code=f" {code[:3]} {code[3:]} ", now=NOW
    )
    assert (check.verified, check.method, check.agent) == (True, "contact_code", personas.agent_a)
    assert identify.identified(appointment) == check
    assert AuditEvent.objects.filter(action=AuditEvent.Action.IDENTITY_CHECKED).count() == 1


def test_a_code_goes_only_to_the_contact_given_for_the_appointment(appointment) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(codes.CodeRefused):
        codes.send_code(
            appointment=appointment,
            purpose=CodePurpose.IDENTIFY,
            destination=codes.Destination("sms", "+34600999999"),
            now=NOW,
        )


def test_five_wrong_codes_lock_identification_for_fifteen_minutes_even_with_a_new_code(
    appointment, personas
) -> None:  # type: ignore[no-untyped-def]
    send(appointment)
    right = sent_code(appointment)
    wrong = "000000" if right != "000000" else "111111"
    for left in (4, 3, 2, 1):
        with pytest.raises(codes.WrongCode, match=f"{left} tr"):
            identify.identify_by_code(
                appointment=appointment, agent=personas.agent_a, code=wrong, now=NOW
            )
    with pytest.raises(codes.CodeLocked):
        identify.identify_by_code(
            appointment=appointment, agent=personas.agent_a, code=wrong, now=NOW
        )
    # Locked: even the right code, and no new code, until fifteen minutes have passed.
    with pytest.raises(codes.CodeLocked):
        identify.identify_by_code(
            appointment=appointment, agent=personas.agent_a, code=right, now=NOW
        )
    with pytest.raises(codes.CodeLocked):
        send(appointment, at=NOW + dt.timedelta(minutes=14))
    assert AuditEvent.objects.filter(action=AuditEvent.Action.IDENTITY_CODE_LOCKED).count() == 1
    later = NOW + dt.timedelta(minutes=16)
    send(appointment, at=later)
    check = identify.identify_by_code(
        appointment=appointment, agent=personas.agent_a, code=sent_code(appointment), now=later
    )
    assert check.verified
    assert not IdentityCheck.objects.filter(verified=False).exists()


def test_an_expired_code_and_too_many_codes_are_refused_with_a_reason(
    appointment, personas
) -> None:  # type: ignore[no-untyped-def]
    send(appointment)
    with pytest.raises(codes.CodeExpired):
        identify.identify_by_code(
            appointment=appointment,
            agent=personas.agent_a,
            code=sent_code(appointment),
            now=NOW + dt.timedelta(minutes=16),
        )
    later = NOW + dt.timedelta(minutes=20)
    send(appointment, at=later)
    send(appointment, at=later)
    send(appointment, at=later)
    with pytest.raises(codes.CodeRefused, match="quarter of an hour"):
        send(appointment, at=later)


@pytest.mark.parametrize(
    ("document_type", "number", "problem"),
    [
        (DocumentType.DNI, "12345678Z", ""),
        (DocumentType.DNI, "12.345.678-z", ""),
        (DocumentType.DNI, "12345678A", "letter does not match"),
        (DocumentType.DNI, "1234567Z", "eight digits"),
        (DocumentType.NIE, "X1234567L", ""),
        (DocumentType.NIE, "X1234567A", "letter does not match"),
        (DocumentType.PASSPORT, "PAA123456", ""),
        (DocumentType.PASSPORT, "P!", "between 4 and 20"),
    ],
)
def test_a_dni_or_nie_number_must_carry_its_control_letter(document_type, number, problem) -> None:  # type: ignore[no-untyped-def]
    found = identify.number_problem(document_type, identify.normalise_number(number))
    assert (problem in found) if problem else found == ""


def document(appointment, agent, **changes):  # type: ignore[no-untyped-def]
    fields = {
        "document_type": DocumentType.DNI,
        "number": "12345678Z",
        "number_checked": True,
        "photo_matches": True,
        "not_expired": True,
        "expires_on": TODAY + dt.timedelta(days=400),
    }
    fields.update(changes)
    return identify.check_document(
        appointment=appointment, agent=agent, today=TODAY, now=NOW, **fields
    )


def test_a_document_identifies_only_with_every_item_ticked_and_keeps_no_number_by_default(
    appointment, personas
) -> None:  # type: ignore[no-untyped-def]
    failed = document(appointment, personas.agent_a, photo_matches=False)
    assert not failed.verified
    assert identify.identified(appointment) is None
    passed = document(appointment, personas.agent_a)
    assert passed.verified and identify.identified(appointment) == passed
    assert passed.document_number == ""
    assert "12345678" not in passed.document_hash
    # The same document gives the same fingerprint, whatever its spelling.
    assert passed.document_hash == identify.document_hash("dni", "12345678-z")
    assert passed.document_hash != identify.document_hash("nie", "12345678Z")


def test_the_fingerprint_depends_on_the_key_from_the_environment(settings) -> None:  # type: ignore[no-untyped-def]
    settings.IDENTITY_HASH_KEY = "a" * 40
    first = identify.document_hash("dni", "12345678Z")
    settings.IDENTITY_HASH_KEY = "b" * 40
    assert identify.document_hash("dni", "12345678Z") != first


def test_the_number_is_kept_where_the_procedure_needs_it(appointment, personas) -> None:  # type: ignore[no-untyped-def]
    ServicePolicy.objects.create(
        service=appointment.service, identity="id_document", keeps_document_number=True
    )
    assert document(appointment, personas.agent_a).document_number == "12345678Z"


def test_an_expired_date_with_not_expired_ticked_is_refused_and_nothing_is_recorded(
    appointment, personas
) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(identify.CheckRefused) as refused:
        document(appointment, personas.agent_a, expires_on=TODAY - dt.timedelta(days=1))
    assert set(refused.value.errors) == {"expires_on"}
    with pytest.raises(identify.CheckRefused) as refused:
        document(appointment, personas.agent_a, number="12345678A")
    assert set(refused.value.errors) == {"number"}
    assert not IdentityCheck.objects.exists()


def test_a_habilitation_counts_only_within_its_dates_and_its_organisation(personas) -> None:  # type: ignore[no-untyped-def]
    from finestreta.identity.models import HabilitatedOfficial

    HabilitatedOfficial.objects.create(
        organisation=personas.org_a,
        user=personas.agent_a,
        reference="Resolució 12/2026",
        valid_from=dt.date(2026, 1, 1),
        valid_until=dt.date(2026, 12, 31),
    )
    org = personas.org_a.pk
    assert identify.habilitation_of(personas.agent_a, org, dt.date(2026, 6, 1)) is not None
    assert identify.habilitation_of(personas.agent_a, org, dt.date(2027, 1, 1)) is None
    assert identify.habilitation_of(personas.agent_a, org, dt.date(2025, 12, 31)) is None
    assert (
        identify.habilitation_of(personas.agent_a, personas.org_b.pk, dt.date(2026, 6, 1)) is None
    )


def test_the_deploy_check_asks_for_a_long_hash_key(settings) -> None:  # type: ignore[no-untyped-def]
    from finestreta.identity.deploy_checks import check_identity_settings

    settings.IDENTITY_HASH_KEY = ""
    assert [e.id for e in check_identity_settings(None)] == ["finestreta.identity.E001"]
    settings.IDENTITY_HASH_KEY = "x" * 40
    assert check_identity_settings(None) == []


def test_without_a_key_outside_development_no_fingerprint_is_made(settings) -> None:  # type: ignore[no-untyped-def]
    from django.core.exceptions import ImproperlyConfigured

    settings.IDENTITY_HASH_KEY = ""
    settings.DEBUG = False
    settings.TESTING = False
    with pytest.raises(ImproperlyConfigured):
        identify.document_hash("dni", "12345678Z")
