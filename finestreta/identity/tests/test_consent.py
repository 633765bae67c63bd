"""Consent records: the exact text shown (one version per wording and language), the answer,
how and when, and a withdrawal that stamps the record instead of removing it."""

from __future__ import annotations

import datetime as dt

import pytest

from finestreta.accounts.models import Membership
from finestreta.catalogue.models import AttentionLevel
from finestreta.identity import consent
from finestreta.identity.models import ConsentKind, ConsentMethod, ConsentText
from finestreta.privacy.models import AuditEvent
from tests.factories import AppointmentFactory, ServiceFactory

NOW = dt.datetime(2026, 12, 1, 9, 5, tzinfo=dt.UTC)


@pytest.fixture
def appointment(personas):  # type: ignore[no-untyped-def]
    service = ServiceFactory(organisation=personas.org_a, attention_level=AttentionLevel.ASSISTED)
    return AppointmentFactory(
        agent=Membership.objects.get(user=personas.agent_a), service=service, language="es"
    )


def test_an_answer_keeps_the_version_of_the_text_in_the_citizen_s_language(
    appointment,
) -> None:  # type: ignore[no-untyped-def]
    record = consent.record_consent(
        appointment=appointment,
        kind=ConsentKind.RECORDING,
        granted=True,
        method=ConsentMethod.CLICKED,
        ip_address="192.0.2.7",
        now=NOW,
    )
    assert record.text.language == "es"
    assert record.text.version == 1
    assert "grabar" in record.text.body  # Spanish words, not Catalan
    assert (record.person, record.ip_address, record.in_force) == ("Núria Vidal", "192.0.2.7", True)
    event = AuditEvent.objects.get(action=AuditEvent.Action.CONSENT_RECORDED)
    assert event.details["text_version"] == 1
    assert event.organisation_id == appointment.organisation_id


def test_a_changed_privacy_notice_is_a_new_version_and_the_old_answer_keeps_its_own(
    appointment,
) -> None:  # type: ignore[no-untyped-def]
    organisation = appointment.organisation
    organisation.privacy_notice_es = "Primera versión del aviso."
    organisation.save()
    first = consent.record_consent(
        appointment=appointment,
        kind=ConsentKind.PRIVACY_NOTICE,
        granted=True,
        method=ConsentMethod.CLICKED,
        now=NOW,
    )
    organisation.privacy_notice_es = "Segunda versión del aviso."
    organisation.save()
    second = consent.record_consent(
        appointment=appointment,
        kind=ConsentKind.PRIVACY_NOTICE,
        granted=True,
        method=ConsentMethod.CLICKED,
        now=NOW,
    )
    first.refresh_from_db()
    assert (first.text.version, first.text.body) == (1, "Primera versión del aviso.")
    assert (second.text.version, second.text.body) == (2, "Segunda versión del aviso.")
    # The same words again are the same version, not a third.
    assert consent.current_text(organisation, ConsentKind.PRIVACY_NOTICE, "es") == second.text
    assert ConsentText.objects.filter(kind=ConsentKind.PRIVACY_NOTICE).count() == 2


def test_a_spoken_consent_needs_the_agent_who_heard_it(appointment, personas) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(consent.ConsentRefused):
        consent.record_consent(
            appointment=appointment,
            kind=ConsentKind.RECORDING,
            granted=True,
            method=ConsentMethod.SPOKEN,
            now=NOW,
        )
    record = consent.record_consent(
        appointment=appointment,
        kind=ConsentKind.RECORDING,
        granted=True,
        method=ConsentMethod.SPOKEN,
        attested_by=personas.agent_a,
        now=NOW,
    )
    assert record.attested_by == personas.agent_a


def test_withdrawing_stamps_the_record_and_ends_the_consent_without_deleting_it(
    appointment,
) -> None:  # type: ignore[no-untyped-def]
    record = consent.record_consent(
        appointment=appointment,
        kind=ConsentKind.RECORDING,
        granted=True,
        method=ConsentMethod.CLICKED,
        now=NOW,
    )
    assert consent.has_consent(appointment, ConsentKind.RECORDING)
    consent.withdraw_consent(record=record, method=ConsentMethod.CLICKED, now=NOW)
    record.refresh_from_db()
    assert record.withdrawn_at == NOW
    assert not consent.has_consent(appointment, ConsentKind.RECORDING)
    assert len(consent.consents_of(appointment)) == 1
    with pytest.raises(consent.ConsentRefused):  # twice is refused, with a reason
        consent.withdraw_consent(record=record, method=ConsentMethod.CLICKED, now=NOW)


def test_the_latest_answer_counts_and_pending_lists_what_is_still_unasked(
    appointment,
) -> None:  # type: ignore[no-untyped-def]
    assert consent.pending(appointment) == [ConsentKind.PRIVACY_NOTICE, ConsentKind.RECORDING]
    for granted in (True, False):
        consent.record_consent(
            appointment=appointment,
            kind=ConsentKind.RECORDING,
            granted=granted,
            method=ConsentMethod.CLICKED,
            now=NOW,
        )
    assert not consent.has_consent(appointment, ConsentKind.RECORDING)  # a later "no" counts
    # ... and withdraws the "yes": no record stays in force to be withdrawn again.
    assert not [r for r in consent.consents_of(appointment) if r.in_force]
    assert consent.pending(appointment) == [ConsentKind.PRIVACY_NOTICE]
