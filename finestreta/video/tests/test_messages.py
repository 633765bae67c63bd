"""The video call in the messages: the join link in the confirmation, the reminders and the
calendar file of a video appointment; "send the link again" from the staff; and the e-mail to the
agent when a citizen has waited a while unadmitted, withdrawn once they are let in."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import transaction

from finestreta.accounts.models import Membership
from finestreta.appointments import notify
from finestreta.appointments.common import InvalidLink
from finestreta.appointments.services import (
    get_appointment_by_join_token,
    get_appointment_by_token,
    join_token,
    manage_token,
)
from finestreta.notifications.models import Message
from finestreta.video import services
from finestreta.video.models import Presence
from tests.factories import AppointmentFactory

START = dt.datetime(2026, 12, 10, 10, 0, tzinfo=dt.UTC)
BOOKED_AT = dt.datetime(2026, 12, 1, 10, 0, tzinfo=dt.UTC)


@pytest.fixture
def appointment(personas):  # type: ignore[no-untyped-def]
    return AppointmentFactory(
        agent=Membership.objects.get(user=personas.agent_a),
        service=personas.service_a,
        starts_at=START,
        phone="+34612345678",
        language="en",
    )


def join_path(appointment) -> str:  # type: ignore[no-untyped-def]
    return f"/{appointment.organisation.slug}/video/{join_token(appointment)}/"


def test_a_video_booking_s_messages_and_calendar_carry_the_join_link(appointment) -> None:
    with transaction.atomic():
        notify.notify_appointment(appointment, kind="booking_confirmed", now=BOOKED_AT)
    email = Message.objects.get(kind="booking_confirmed", channel="email")
    assert join_path(appointment) in email.body
    assert join_path(appointment).encode() in bytes(email.attachment)  # the .ics
    sms_reminders = Message.objects.filter(kind="reminder", channel="sms")
    assert sms_reminders.count() == 2
    assert all(join_path(appointment) in m.body for m in sms_reminders)
    assert all(join_path(appointment) in m.body for m in Message.objects.filter(kind="reminder"))


def test_an_in_person_booking_has_no_join_link(personas, appointment) -> None:
    appointment.channel = "in_person"
    appointment.office = personas.office_a
    appointment.save()
    with transaction.atomic():
        notify.notify_appointment(appointment, kind="booking_confirmed", now=BOOKED_AT)
    assert not Message.objects.filter(body__contains="/video/").exists()


def test_the_join_link_lets_in_only_and_the_manage_link_does_not_join(appointment) -> None:
    org = appointment.organisation
    found = get_appointment_by_join_token(
        organisation=org, token=join_token(appointment), now=BOOKED_AT
    )
    assert found == appointment
    with pytest.raises(InvalidLink):  # the join link does not manage the appointment
        get_appointment_by_token(organisation=org, token=join_token(appointment), now=BOOKED_AT)
    with pytest.raises(InvalidLink):  # nor does the manage link join the call
        get_appointment_by_join_token(
            organisation=org, token=manage_token(appointment), now=BOOKED_AT
        )
    appointment.manage_nonce = "revoked"  # a new nonce revokes both
    appointment.save()
    with pytest.raises(InvalidLink):
        get_appointment_by_join_token(organisation=org, token=join_token(found), now=BOOKED_AT)


def test_staff_can_send_the_link_again_each_press_a_new_message(appointment) -> None:
    assert notify.send_join_link(appointment, now=BOOKED_AT, version="1") == 2
    assert notify.send_join_link(appointment, now=BOOKED_AT, version="1") == 0  # the same press
    assert notify.send_join_link(appointment, now=BOOKED_AT, version="2") == 2
    sms = Message.objects.filter(kind="video_join_link", channel="sms").first()
    assert sms is not None and join_path(appointment) in sms.body and sms.urgent
    assert "Núria" not in sms.body  # no personal data in an SMS
    appointment.status = "cancelled"
    assert notify.send_join_link(appointment, now=BOOKED_AT, version="3") == 0


@pytest.mark.django_db(transaction=True)
def test_the_agent_is_alerted_when_a_citizen_waits_unadmitted_and_not_once_let_in(
    personas, appointment
) -> None:
    personas.agent_a.email = "agent@example.org"
    personas.agent_a.save()
    appointment.refresh_from_db()  # as `authenticate` loads it: the agent as now saved
    room = services.get_room(appointment)
    now = START - dt.timedelta(minutes=5)
    citizen = services.Joiner(room=room, role="citizen", name=appointment.name)
    first = services.join(citizen, channel_name="c1", resume=None, now=now).presence
    alert = Message.objects.get(kind="staff_citizen_waiting")
    assert alert.recipient == "agent@example.org"
    assert alert.send_after == now + dt.timedelta(minutes=3)
    assert f"/staff/video/{room.public_id}/" in alert.body and appointment.name in alert.subject

    # Let in before the alert leaves: it is withdrawn.
    staff = Presence.objects.create(
        room=room,
        peer="p_staff",
        role="staff",
        name="Agent",
        state="admitted",
        since=now,
        last_seen=now,
        user=personas.agent_a,
    )
    services.admit(room=room, staff_peer=staff, peer=first.peer, now=now)
    alert.refresh_from_db()
    assert alert.status == Message.Status.SUPPRESSED
