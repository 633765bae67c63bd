"""Messages of the video app: the staff alert when a citizen has been waiting a while and nobody
let them in (the agent may not have the lobby open)."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.urls import reverse

from finestreta.notifications.models import Message
from finestreta.notifications.services import queue_message, suppress_queued
from finestreta.video.models import Presence, Room


def _alert_key(room: Room, peer: str) -> str:
    return f"staff_citizen_waiting:{room.pk}:{peer}"


def queue_waiting_alert(room: Room, presence: Presence, *, now: dt.datetime) -> None:
    """E-mail the appointment's agent if the citizen is still waiting after
    VIDEO_STAFF_ALERT_MINUTES (withdrawn when they are admitted, leave or the call ends)."""
    appointment = room.appointment
    agent = appointment.agent.user
    if not agent.email or not agent.is_active:
        return
    organisation = appointment.organisation
    path = reverse("staff-video:room", args=[organisation.slug, room.public_id])
    queue_message(
        organisation=organisation,
        kind="staff_citizen_waiting",
        channel=Message.Channel.EMAIL,
        recipient=agent.email,
        language=agent.preferred_language or organisation.default_language,
        context={
            "appointment": appointment,
            "room_url": settings.SITE_URL.rstrip("/") + path,
            "waiting_since": presence.since,
        },
        dedup_key=_alert_key(room, presence.peer),
        appointment_id=appointment.pk,
        send_after=now + dt.timedelta(minutes=settings.VIDEO_STAFF_ALERT_MINUTES),
        urgent=True,
        now=now,
    )


def withdraw_waiting_alert(room: Room, peer: str) -> None:
    suppress_queued(organisation_id=room.organisation_id, dedup_key=_alert_key(room, peer))
