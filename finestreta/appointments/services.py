"""Public API of the appointments app: holding and booking times, with no double booking ever.

The database refuses overlapping active appointments of one agent (see migration 0002); these
functions turn that refusal into a clear answer with the next free times.
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass

from django.db import IntegrityError, transaction

from finestreta.appointments.models import Appointment
from finestreta.catalogue.models import Channel, Service
from finestreta.scheduling.availability import Slot, SlotQuery
from finestreta.scheduling.services import find_slots, slot_query
from finestreta.tenants.models import Office

# Unambiguous characters for codes read aloud or typed from an SMS.
CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"


class SlotTaken(Exception):
    """The time was just taken; `alternatives` are the next free times."""

    def __init__(self, alternatives: list[Slot]) -> None:
        super().__init__("slot taken")
        self.alternatives = alternatives


@dataclass(frozen=True)
class Booking:
    appointment: Appointment
    created: bool  # False when an earlier request with the same idempotency key made it


def new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(8))


def book_appointment(
    *,
    service: Service,
    channel: Channel,
    start: dt.datetime,
    now: dt.datetime,
    office: Office | None = None,
    idempotency_key: str | None = None,
) -> Booking:
    """Book `start` for `service` on the first skilled agent free then.

    Raises SlotTaken (with the next free times) when nobody is free any more — also when another
    request took the last agent a moment ago: the database, not this check, has the last word.
    """
    if idempotency_key:
        earlier = Appointment.objects.filter(
            organisation=service.organisation, idempotency_key=idempotency_key
        ).first()
        if earlier is not None:
            return Booking(earlier, created=False)
    query = slot_query(service=service, now=now)
    offered = find_slots(service=service, channel=channel, now=now, office=office)
    slot = next((s for s in offered if s.start == start), None)
    if slot is None:
        raise SlotTaken(next_free(offered, after=start))
    for agent_id in slot.resource_ids:
        try:
            with transaction.atomic():
                appointment = _insert(
                    service, channel, office, int(agent_id), slot, query, idempotency_key
                )
            return Booking(appointment, created=True)
        except IntegrityError:
            if idempotency_key:
                earlier = Appointment.objects.filter(
                    organisation=service.organisation, idempotency_key=idempotency_key
                ).first()
                if earlier is not None:
                    return Booking(earlier, created=False)
            continue  # that agent was just taken: try the next one
    remaining = find_slots(service=service, channel=channel, now=now, office=office)
    raise SlotTaken(next_free(remaining, after=start))


def _insert(
    service: Service,
    channel: Channel,
    office: Office | None,
    agent_id: int,
    slot: Slot,
    query: SlotQuery,
    idempotency_key: str | None,
) -> Appointment:
    occupied = query.occupied(slot.start)
    return Appointment.objects.create(
        organisation=service.organisation,
        service=service,
        channel=channel,
        office=office,
        agent_id=agent_id,
        starts_at=slot.start,
        ends_at=slot.end,
        occupied_from=occupied.start,
        occupied_until=occupied.end,
        status=Appointment.Status.BOOKED,
        code=new_code(),
        idempotency_key=idempotency_key or None,
    )


def next_free(slots: list[Slot], *, after: dt.datetime, count: int = 3) -> list[Slot]:
    later = [s for s in slots if s.start >= after]
    return (later or slots)[:count]
