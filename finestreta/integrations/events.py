"""Events for integrators, written in the caller's transaction (an outbox, as for messages):
one event row with its JSON body and one delivery per active subscription that wants its type.
A change that rolls back takes its event with it; nothing is sent before the commit, because the
workers only see committed deliveries.

Payloads carry identifiers and states, never personal data (no names, e-mail addresses, phones,
documents, notes or free text a person typed): integrators read the details through the API.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from django.utils import timezone

from finestreta.integrations.models import Delivery, Event, EventType, Subscription
from finestreta.tenants.models import Organisation

if TYPE_CHECKING:
    from finestreta.appointments.models import Appointment
    from finestreta.catalogue.models import OutcomeCode
    from finestreta.queueing.models import QueueEntry

PAYLOAD_VERSION = 1
# A data.deleted event names at most this many records; a longer purge sends several events.
MAX_IDS_PER_EVENT = 500
KIND = re.compile(r"^[a-z][a-z0-9_]{0,39}$")


def utc(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def emit(
    *,
    organisation: Organisation,
    event_type: str,
    data: Mapping[str, Any],
    now: dt.datetime | None = None,
    subscriptions: Sequence[Subscription] | None = None,
) -> Event | None:
    """Write an event and its deliveries in the current transaction. Sent to `subscriptions`
    (a test event, a replay) or else to every active subscription of the organisation that wants
    this type; None, and nothing written, when no subscription wants it."""
    if event_type not in EventType.values:
        raise ValueError(f"unknown webhook event type {event_type!r}")
    if subscriptions is None:
        subscriptions = [
            subscription
            for subscription in Subscription.objects.filter(
                organisation_id=organisation.pk, is_active=True
            )
            if subscription.wants(event_type)
        ]
    if not subscriptions:
        return None
    now = now or timezone.now()
    event = Event(organisation_id=organisation.pk, type=event_type, occurred_at=now)
    event.payload = {
        "version": PAYLOAD_VERSION,
        "id": str(event.uid),
        "type": event_type,
        "occurred_at": utc(now),
        "organisation": organisation.slug,
        "data": dict(data),
    }
    event.save()
    Delivery.objects.bulk_create(
        Delivery(
            organisation_id=organisation.pk,
            event=event,
            subscription=subscription,
            due_at=now,
            created_at=now,
        )
        for subscription in subscriptions
    )
    return event


def _zone(appointment: Appointment) -> ZoneInfo:
    office = appointment.office
    if office is not None:
        return ZoneInfo(office.zone_name)
    return ZoneInfo(appointment.organisation.time_zone)


def appointment_data(appointment: Appointment) -> dict[str, Any]:
    """What integrators learn of an appointment: its code (to read it through the API), where,
    how and when, and its state. No personal data."""
    zone = _zone(appointment)
    office = appointment.office
    return {
        "appointment": appointment.code,
        "service": appointment.service.slug,
        "office": office.slug if office is not None else None,
        "channel": appointment.channel,
        "start": appointment.starts_at.astimezone(zone).isoformat(),
        "end": appointment.ends_at.astimezone(zone).isoformat(),
        "status": appointment.status,
        "walk_in": appointment.walk_in,
    }


def emit_appointment(
    event_type: str,
    appointment: Appointment,
    *,
    now: dt.datetime,
    previous_start: dt.datetime | None = None,
    by_platform: bool = False,
) -> Event | None:
    """An appointment was booked, moved (`previous_start`), cancelled, attended or not come
    (`by_platform`: marked by the platform, not by a person). Call it inside the transaction
    of the change."""
    data = appointment_data(appointment)
    if event_type == EventType.APPOINTMENT_CHANGED and previous_start is not None:
        data["previous_start"] = previous_start.astimezone(_zone(appointment)).isoformat()
    elif event_type == EventType.APPOINTMENT_CANCELLED:
        data["cancelled_by"] = appointment.cancelled_by or None
        # The reason is free text a person typed (it may name people): only whether there is one.
        data["reason_given"] = bool(appointment.cancellation_reason)
    elif event_type in (EventType.APPOINTMENT_ATTENDED, EventType.APPOINTMENT_NO_SHOW):
        outcome = appointment.outcome
        data["outcome"] = outcome.code if outcome is not None else None
        data["recorded_by"] = "platform" if by_platform else "staff"
    return emit(
        organisation=appointment.organisation,
        event_type=event_type,
        data=data,
        now=now,
    )


def emit_call_ended(
    *, entry: QueueEntry, outcome: OutcomeCode | None, came: bool, now: dt.datetime
) -> Event | None:
    """An agent ended an attention of the virtual queue, with its outcome codes."""
    appointment = entry.appointment
    return emit(
        organisation=entry.organisation,
        event_type=EventType.CALL_ENDED,
        data={
            "appointment": appointment.code if appointment is not None else None,
            "service": entry.service.slug,
            "channel": entry.channel,
            "came": came,
            "outcomes": [outcome.code] if outcome is not None else [],
            "started_at": utc(entry.served_at) if entry.served_at else None,
            "ended_at": utc(now),
        },
        now=now,
    )


def emit_data_deleted(
    *,
    organisation: Organisation,
    kind: str,
    ids: Iterable[str | int],
    now: dt.datetime | None = None,
) -> list[Event]:
    """Records of `kind` ("appointment", "recording" …) were deleted at the end of their
    retention period: connected systems may delete their copies too. `ids` are what integrators
    know the records by (for appointments, their codes). Several events for a long list, at most
    MAX_IDS_PER_EVENT ids each. Call it in the purge's transaction."""
    if not KIND.match(kind):
        raise ValueError(f"a data kind is a lower-case code, not {kind!r}")
    listed = [str(value) for value in ids]
    events = []
    for start in range(0, len(listed), MAX_IDS_PER_EVENT):
        event = emit(
            organisation=organisation,
            event_type=EventType.DATA_DELETED,
            data={"kind": kind, "ids": listed[start : start + MAX_IDS_PER_EVENT]},
            now=now,
        )
        if event is None:  # nobody subscribed: nor will they for the next part
            break
        events.append(event)
    return events
