"""Reminders: queued when an appointment is booked or moved, at the organisation's offsets, and
suppressed when their time comes if the appointment was cancelled or moved since."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import transaction

from finestreta.accounts.models import Membership
from finestreta.appointments import notify
from finestreta.appointments.changes import cancel_appointment
from finestreta.appointments.models import Appointment, CancelledBy
from finestreta.appointments.services import join_token, manage_token
from finestreta.notifications.models import Message, MessagingSettings
from finestreta.notifications.services import deliver, deliver_due, reminder_offsets
from tests.factories import AppointmentFactory

START = dt.datetime(2026, 12, 10, 10, 0, tzinfo=dt.UTC)  # 11:00 in Madrid
BOOKED_AT = dt.datetime(2026, 12, 1, 10, 0, tzinfo=dt.UTC)


@pytest.fixture
def appointment(personas) -> Appointment:  # type: ignore[no-untyped-def]
    return AppointmentFactory(
        agent=Membership.objects.get(user=personas.agent_a),
        service=personas.service_a,
        starts_at=START,
        phone="+34612345678",
        language="en",
    )


def book(appointment: Appointment, capture) -> None:  # type: ignore[no-untyped-def]
    with capture(execute=True), transaction.atomic():
        notify.notify_appointment(appointment, kind="booking_confirmed", now=BOOKED_AT)


def reminders() -> list[Message]:
    return list(Message.objects.filter(kind="reminder").order_by("send_after", "channel"))


def test_reminders_are_queued_24_hours_and_1_hour_before_by_email_and_sms(
    appointment, django_capture_on_commit_callbacks
) -> None:
    book(appointment, django_capture_on_commit_callbacks)
    queued = reminders()
    assert [(m.channel, m.send_after) for m in queued] == [
        ("email", START - dt.timedelta(hours=24)),
        ("sms", START - dt.timedelta(hours=24)),
        ("email", START - dt.timedelta(hours=1)),
        ("sms", START - dt.timedelta(hours=1)),
    ]
    assert all(m.appointment_starts_at == START for m in queued)
    # Nothing leaves before its time: the dispatcher sends the confirmations at once, and finds
    # the first pair of reminders due 24 hours before.
    assert deliver_due(now=BOOKED_AT) == 2
    assert deliver_due(now=START - dt.timedelta(hours=24, seconds=1)) == 0
    assert deliver_due(now=START - dt.timedelta(hours=24)) == 2
    sms = queued[1].body
    # No personal data; the booking code appears only inside the signed link.
    text = sms.replace(manage_token(appointment), "").replace(join_token(appointment), "")
    assert "nuria" not in text.lower() and appointment.code not in text
    # A video appointment's SMS reminder carries the link into the call.
    assert "10/12" in sms and "11:00" in sms and "/video/" in sms
    email = queued[0]
    assert "11:00" in email.subject or "11:00" in email.body
    assert "/appointment/" in email.body


def test_an_organisation_s_own_offsets_apply_bad_parts_ignored_and_past_ones_skipped(
    personas, appointment, django_capture_on_commit_callbacks
) -> None:
    MessagingSettings.objects.create(organisation=personas.org_a, reminder_hours="300, 48,x,2")
    book(appointment, django_capture_on_commit_callbacks)
    offsets = {START - m.send_after for m in reminders()}
    # 300 hours before is before the booking: skipped.
    assert offsets == {dt.timedelta(hours=48), dt.timedelta(hours=2)}


def test_reminder_offsets_are_read_forgivingly() -> None:
    assert reminder_offsets("24,1") == [24, 1]
    assert reminder_offsets(" 1, 24 ,24, -3, 1.5, abc,, 0") == [24, 1]
    assert reminder_offsets("") == []


def test_booking_twice_queues_each_reminder_once(
    appointment, django_capture_on_commit_callbacks
) -> None:
    book(appointment, django_capture_on_commit_callbacks)
    book(appointment, django_capture_on_commit_callbacks)
    assert len(reminders()) == 4


def test_a_reminder_of_a_cancelled_appointment_is_suppressed_when_its_time_comes(
    appointment, django_capture_on_commit_callbacks
) -> None:
    book(appointment, django_capture_on_commit_callbacks)
    cancel_appointment(appointment=appointment, now=BOOKED_AT, by=CancelledBy.CITIZEN)
    for message in reminders():
        assert deliver(message_id=message.pk, now=message.send_after) == "suppressed"
    assert not Message.objects.filter(kind="reminder", attempts__gt=0).exists()


def test_a_moved_appointment_suppresses_the_old_reminders_and_sends_the_new_ones(
    appointment, django_capture_on_commit_callbacks
) -> None:
    book(appointment, django_capture_on_commit_callbacks)
    old = reminders()
    new_start = START + dt.timedelta(days=2)
    new_end = new_start + dt.timedelta(minutes=30)
    Appointment.objects.filter(pk=appointment.pk).update(  # as reschedule_appointment does
        starts_at=new_start,
        ends_at=new_end,
        occupied_from=new_start,
        occupied_until=new_end,
        times_rescheduled=1,
    )
    appointment.refresh_from_db()
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        notify.notify_appointment(appointment, kind="booking_moved", version="1", now=BOOKED_AT)
    fresh = [m for m in reminders() if m.appointment_starts_at == new_start]
    assert len(fresh) == 4
    for message in old:
        assert deliver(message_id=message.pk, now=message.send_after) == "suppressed"
    for message in fresh:
        assert deliver(message_id=message.pk, now=message.send_after) == "delivered"


def test_an_sms_reminder_that_quiet_hours_would_hold_past_the_start_is_not_sent(
    personas, django_capture_on_commit_callbacks
) -> None:
    # 09:00 in Madrid: the 1-hour reminder falls at 08:00, in the quiet hours until 09:00.
    early = AppointmentFactory(
        agent=Membership.objects.get(user=personas.agent_a),
        service=personas.service_a,
        starts_at=dt.datetime(2026, 12, 10, 8, 0, tzinfo=dt.UTC),
        phone="+34612345678",
    )
    book(early, django_capture_on_commit_callbacks)
    sms = Message.objects.filter(kind="reminder", channel="sms").order_by("send_after")
    assert [m.status for m in sms] == ["queued", "suppressed"]
    email = Message.objects.filter(kind="reminder", channel="email").order_by("send_after")
    assert [m.status for m in email] == ["queued", "queued"]
