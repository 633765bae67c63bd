"""A video citizen who never joins is marked not come after the grace period, by the platform;
one who joined (even only the waiting room), other channels and other states are left alone."""

from __future__ import annotations

import datetime as dt

import pytest

from finestreta.accounts.models import Membership
from finestreta.appointments.models import Appointment
from finestreta.privacy.models import AuditEvent
from finestreta.video import services
from finestreta.video.models import RoomEvent
from tests.factories import AppointmentFactory

START = dt.datetime(2026, 12, 1, 10, 0, tzinfo=dt.UTC)
GRACE = dt.timedelta(minutes=15)


def appointment(personas, **kw):  # type: ignore[no-untyped-def]
    values = {
        "agent": Membership.objects.get(user=personas.agent_a),
        "service": personas.service_a,
        "channel": "video",
        "starts_at": START,
        **kw,
    }
    return AppointmentFactory(**values)


@pytest.mark.django_db
def test_a_video_citizen_who_never_joined_is_marked_not_come_after_the_grace_period(
    personas,
) -> None:
    absent = appointment(personas)
    assert services.mark_no_shows(now=START + GRACE - dt.timedelta(seconds=1)) == 0
    assert services.mark_no_shows(now=START + GRACE) == 1
    absent.refresh_from_db()
    assert absent.status == Appointment.Status.NO_SHOW
    event = AuditEvent.objects.get(action=AuditEvent.Action.APPOINTMENT_NO_SHOW)
    assert event.actor is None and event.details["automatic"] is True
    assert services.mark_no_shows(now=START + GRACE) == 0  # once


@pytest.mark.django_db
def test_a_citizen_who_joined_even_only_the_waiting_room_is_left_to_the_agent(personas) -> None:
    came = appointment(personas)
    room = services.get_room(came)
    RoomEvent.objects.create(room=room, kind="joined", role="citizen", peer="p_x", at=START)
    staff_only = appointment(personas, starts_at=START + dt.timedelta(hours=1))
    RoomEvent.objects.create(
        room=services.get_room(staff_only), kind="joined", role="staff", peer="p_y", at=START
    )
    later = START + dt.timedelta(hours=1) + GRACE
    assert services.mark_no_shows(now=later) == 1  # the one only the agent joined
    assert Appointment.objects.get(pk=came.pk).status == Appointment.Status.BOOKED
    assert Appointment.objects.get(pk=staff_only.pk).status == Appointment.Status.NO_SHOW


@pytest.mark.django_db
def test_other_channels_states_and_old_appointments_are_left_alone(personas) -> None:
    phone = appointment(personas, channel="phone", starts_at=START)
    cancelled = appointment(
        personas, starts_at=START + dt.timedelta(hours=1), status=Appointment.Status.CANCELLED
    )
    old = appointment(personas, starts_at=START - dt.timedelta(days=3))
    assert services.mark_no_shows(now=START + dt.timedelta(hours=3)) == 0
    for item in (phone, cancelled, old):
        before = item.status
        item.refresh_from_db()
        assert item.status == before
