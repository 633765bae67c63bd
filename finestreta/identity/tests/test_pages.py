"""The pages: the citizen answers before the call on the page of their join link (and can
withdraw); the agent identifies them and records spoken answers in the call's panel, whose
forms answer with the panel again. Another tenant's staff and a silent listener are refused."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator

import pytest
import time_machine
from django.test import Client

from finestreta.accounts.models import Membership
from finestreta.appointments.models import Appointment
from finestreta.appointments.services import join_token
from finestreta.catalogue.models import AttentionLevel
from finestreta.identity.models import ConsentKind, ConsentRecord, IdentityCheck
from finestreta.notifications.models import Message
from finestreta.video import services
from finestreta.video.models import Coaching
from tests.factories import AppointmentFactory, ServiceFactory
from tests.personas import Personas, log_in

START = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC)
DURING = START - dt.timedelta(minutes=10)


@pytest.fixture(autouse=True)
def clock() -> Iterator[None]:
    with time_machine.travel(DURING, tick=False):
        yield


@pytest.fixture
def appointment(personas: Personas) -> Appointment:
    service = ServiceFactory(
        organisation=personas.org_a,
        attention_level=AttentionLevel.ASSISTED,
        offices=[personas.office_a],
    )
    return AppointmentFactory(
        agent=Membership.objects.get(user=personas.agent_a),
        service=service,
        starts_at=START,
        phone="+34612345678",
    )


def precall(item: Appointment) -> str:
    return f"/{item.organisation.slug}/video/{join_token(item)}/"


def panel_url(item: Appointment, what: str = "") -> str:
    room = services.get_room(item)
    return f"/{item.organisation.slug}/staff/video/{room.public_id}/identity/{what}"


def test_the_citizen_reads_the_notice_answers_and_sees_and_withdraws_their_answer(
    client: Client, appointment: Appointment
) -> None:
    page = client.get(precall(appointment)).content.decode()
    assert 'id="consent"' in page
    assert "Do you agree to this call being recorded?" in page
    url = f"{precall(appointment)}consent/"

    # Unticked notice: nothing saved, and the reason is said.
    response = client.post(url, {"recording": "yes"}, follow=True)
    assert "Tick the box once you have read the notice." in response.content.decode()
    assert not ConsentRecord.objects.exists()

    response = client.post(
        url, {"privacy_notice": "on", "recording": "yes"}, REMOTE_ADDR="192.0.2.9", follow=True
    )
    page = response.content.decode()
    assert "Thank you: your answers are saved." in page
    recording = ConsentRecord.objects.get(kind=ConsentKind.RECORDING)
    assert (recording.granted, recording.method, recording.ip_address) == (
        True,
        "clicked",
        "192.0.2.9",
    )
    assert "Do you agree to this call being recorded?" not in page  # answered: not asked again
    assert "you agreed" in page and "text version 1" in page

    withdraw = f"{precall(appointment)}consent/{recording.pk}/withdraw/"
    page = client.post(withdraw, follow=True).content.decode()
    assert "Your consent is withdrawn." in page
    recording.refresh_from_db()
    assert recording.withdrawn_at is not None
    assert ConsentRecord.objects.count() == 2  # nothing removed


def test_a_consent_of_another_appointment_cannot_be_withdrawn_by_this_link(
    client: Client, appointment: Appointment, personas: Personas
) -> None:
    other = AppointmentFactory(
        agent=appointment.agent,
        service=appointment.service,
        starts_at=START + dt.timedelta(hours=2),
    )
    from finestreta.identity import consent

    record = consent.record_consent(
        appointment=other, kind=ConsentKind.RECORDING, granted=True, method="clicked", now=DURING
    )
    response = client.post(f"{precall(appointment)}consent/{record.pk}/withdraw/")
    assert response.status_code == 404
    record.refresh_from_db()
    assert record.withdrawn_at is None


def test_the_agent_identifies_the_citizen_by_the_code_they_read_out(
    appointment: Appointment, personas: Personas
) -> None:
    agent = log_in(personas.agent_a)
    room_page = agent.get(
        f"/org-a/staff/video/{services.get_room(appointment).public_id}/"
    ).content.decode()
    assert 'id="identity-panel"' in room_page and "Not identified yet." in room_page

    response = agent.post(panel_url(appointment, "code/"), {"destination": "sms:+34612345678"})
    assert response.status_code == 200
    assert "Code sent to •••• 678" in response.content.decode()
    code = re.search(r"\b(\d{6})\b", Message.objects.get(kind="identity_code").body)[1]  # type: ignore[index]

    wrong = "000000" if code != "000000" else "111111"
    response = agent.post(panel_url(appointment, "code/check/"), {"code": wrong})
    assert response.status_code == 400
    assert "That is not the code. 4 tries left." in response.content.decode()
    assert 'aria-invalid="true"' in response.content.decode()

    response = agent.post(panel_url(appointment, "code/check/"), {"code": code})
    assert response.status_code == 200
    assert "Identified: the code is right." in response.content.decode()
    assert IdentityCheck.objects.get().agent == personas.agent_a


def test_a_destination_that_is_not_the_appointment_s_is_refused(
    appointment: Appointment, personas: Personas
) -> None:
    agent = log_in(personas.agent_a)
    response = agent.post(panel_url(appointment, "code/"), {"destination": "sms:+34699999999"})
    assert response.status_code == 400
    assert not Message.objects.filter(kind="identity_code").exists()


def test_the_document_checklist_and_a_spoken_answer_are_recorded_with_the_agent(
    appointment: Appointment, personas: Personas
) -> None:
    agent = log_in(personas.agent_a)
    response = agent.post(
        panel_url(appointment, "document/"),
        {"document_type": "dni", "number": "12345678A", "number_checked": "on"},
    )
    assert response.status_code == 400
    assert "The letter does not match the DNI number" in response.content.decode()
    response = agent.post(
        panel_url(appointment, "document/"),
        {
            "document_type": "dni",
            "number": "12345678Z",
            "expires_on": "2030-01-31",
            "number_checked": "on",
            "photo_matches": "on",
            "not_expired": "on",
        },
    )
    assert response.status_code == 200
    assert "Identified with the document." in response.content.decode()
    assert IdentityCheck.objects.get().verified

    response = agent.post(
        panel_url(appointment, "consent/"), {"kind": "recording", "granted": "yes"}
    )
    assert response.status_code == 200
    record = ConsentRecord.objects.get()
    assert (record.method, record.attested_by, record.granted) == ("spoken", personas.agent_a, True)


def test_another_tenant_s_staff_and_a_silent_listener_are_refused_the_panel(
    appointment: Appointment, personas: Personas
) -> None:
    assert log_in(personas.agent_b).get(panel_url(appointment)).status_code in {403, 404}
    room = services.get_room(appointment)
    supervisor = Membership.objects.get(user=personas.supervisor_a)
    Coaching.objects.create(room=room, membership=supervisor, started_at=DURING)
    listener = log_in(personas.supervisor_a)
    assert listener.get(panel_url(appointment)).status_code in {403, 404}
    assert listener.post(
        panel_url(appointment, "consent/"), {"kind": "recording", "granted": "yes"}
    ).status_code in {403, 404}
    assert not ConsentRecord.objects.exists()


def test_a_spoken_answer_to_a_question_the_procedure_does_not_ask_is_refused(
    appointment: Appointment, personas: Personas
) -> None:
    agent = log_in(personas.agent_a)
    response = agent.post(
        panel_url(appointment, "consent/"), {"kind": "image_rights", "granted": "yes"}
    )
    assert response.status_code == 400
    assert not ConsentRecord.objects.exists()
