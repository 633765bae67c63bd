"""Holding a time and booking it, with no double booking ever: the database has the last word
(see migration 0002); these functions turn its refusal into a clear answer with the next free
times."""

from __future__ import annotations

import datetime as dt
import secrets
import time
from functools import partial

from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy as _

from finestreta.accounts.models import Membership
from finestreta.appointments import notify
from finestreta.appointments.common import (
    MAX_HOLDS_PER_CLIENT,
    Booking,
    Contact,
    HoldExpired,
    SlotTaken,
    TooManyAppointments,
    TooManyBookingsToday,
    TooManyHolds,
    VerificationNeeded,
    new_code,
    next_free,
)
from finestreta.appointments.models import (
    NEEDS,
    Appointment,
    WaitingListEntry,
)
from finestreta.catalogue.models import Channel, Service
from finestreta.integrations import services as integrations
from finestreta.lib.metrics import BOOKING_CONFLICTS
from finestreta.lib.transactions import lock_agent_time, retry_on_deadlock
from finestreta.privacy.services import Action, record_event
from finestreta.scheduling.availability import Slot, SlotQuery
from finestreta.scheduling.services import find_slots, slot_query
from finestreta.tenants.models import Office, Organisation

# --- Holding a time ------------------------------------------------------------------------


def release_expired_holds(*, now: dt.datetime) -> int:
    """Free every time whose hold ran out; a waiting-list offer that lapsed puts its person
    back in their place on the list. Returns how many holds were released."""
    expired = Appointment.objects.filter(status=Appointment.Status.HELD, hold_expires_at__lte=now)
    with transaction.atomic():
        WaitingListEntry.objects.filter(
            status=WaitingListEntry.Status.OFFERED, offered__in=expired
        ).update(status=WaitingListEntry.Status.WAITING, offered=None)
        count, _by_model = expired.delete()
    return count


def hold_slot(
    *,
    service: Service,
    channel: Channel,
    start: dt.datetime,
    now: dt.datetime,
    office: Office | None = None,
    client: str = "",
    minutes: int | None = None,
    idempotency_key: str | None = None,
    schedule_release: bool = True,
) -> Appointment:
    """Keep the time `start` for a while (the organisation's hold time by default) on the first
    skilled agent free then, so nobody else takes it while the citizen fills in the form.

    `client` is `client_key()` of the requester's address: one address holds a few times at
    most. Raises SlotTaken with the next free times when nobody is free any more.
    """
    if client:
        holding = Appointment.objects.filter(
            status=Appointment.Status.HELD, held_by=client, hold_expires_at__gt=now
        ).count()
        if holding >= MAX_HOLDS_PER_CLIENT:
            raise TooManyHolds()
    query = slot_query(service=service, now=now)
    offered = find_slots(service=service, channel=channel, now=now, office=office, at=start)
    slot = next((s for s in offered if s.start == start), None)
    if slot is None:
        BOOKING_CONFLICTS.labels("offered").inc()
        everything = find_slots(service=service, channel=channel, now=now, office=office)
        raise SlotTaken(next_free(everything, after=start))
    expires = now + dt.timedelta(minutes=minutes or service.organisation.booking_hold_minutes)
    released = False
    for agent_id in slot.resource_ids:
        for _retry in range(2):
            try:
                held = _insert_hold(
                    service, channel, office, int(agent_id), slot, query, expires, client,
                    idempotency_key,
                )  # fmt: skip
                if schedule_release:
                    transaction.on_commit(partial(_release_at, expires))
                return held
            except IntegrityError:
                BOOKING_CONFLICTS.labels("race").inc()
                # Perhaps an expired hold is still in the way (availability already ignores
                # it, the database does not): clear them once, then try the agent again.
                if released or not release_expired_holds(now=now):
                    break
                released = True
    remaining = find_slots(service=service, channel=channel, now=now, office=office)
    raise SlotTaken(next_free(remaining, after=start))


def _release_at(moment: dt.datetime) -> None:
    from finestreta.appointments.tasks import release_expired_holds as release

    release.using(run_after=moment).enqueue()


@retry_on_deadlock
def _insert_hold(
    service: Service,
    channel: Channel,
    office: Office | None,
    agent_id: int,
    slot: Slot,
    query: SlotQuery,
    expires: dt.datetime,
    client: str = "",
    idempotency_key: str | None = None,
) -> Appointment:
    occupied = query.occupied(slot.start)
    with transaction.atomic():  # on its own: a deadlock's victim is tried again
        lock_agent_time(agent_id)
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
            status=Appointment.Status.HELD,
            hold_expires_at=expires,
            held_by=client,
            code=new_code(),
            idempotency_key=idempotency_key or None,
        )


def release_hold(*, appointment: Appointment) -> None:
    """The citizen went back or gave up: the time is free again at once."""
    Appointment.objects.filter(pk=appointment.pk, status=Appointment.Status.HELD).delete()


def get_hold(*, organisation: Organisation, pk: int, now: dt.datetime) -> Appointment:
    """A time still held (or booked a moment ago, for a double-submitted form)."""
    found = (
        Appointment.objects.select_related("service", "office", "organisation")
        .filter(organisation=organisation, pk=pk)
        .filter(Q(status=Appointment.Status.BOOKED) | Q(status=Appointment.Status.HELD))
        .first()
    )
    if found is None:
        raise HoldExpired()
    return found


# --- Booking -------------------------------------------------------------------------------


def _same_person(contact: Contact) -> Q | None:
    same = Q()
    if contact.email:
        same |= Q(email__iexact=contact.email)
    if contact.phone:
        same |= Q(phone=contact.phone)
    if contact.id_document:
        same |= Q(id_document=contact.id_document)
    return same or None


def active_for_contact(
    *, organisation: Organisation, contact: Contact, now: dt.datetime, excluding: int | None
) -> QuerySet[Appointment]:
    """Upcoming booked appointments of the same person: same e-mail, mobile or ID document."""
    same = _same_person(contact)
    if same is None:
        return Appointment.objects.none()
    found = Appointment.objects.filter(
        same,
        organisation=organisation,
        status=Appointment.Status.BOOKED,
        ends_at__gt=now,
    )
    return found if excluding is None else found.exclude(pk=excluding)


def check_contact_limits(
    *, organisation: Organisation, contact: Contact, now: dt.datetime, excluding: int | None
) -> None:
    """Refuse a person who already has the most upcoming appointments allowed, or who booked
    (and perhaps cancelled) many times in the last day: booking and cancelling in a loop is
    how a bot keeps times from everyone else."""
    limit = organisation.max_active_appointments
    if (
        active_for_contact(
            organisation=organisation, contact=contact, now=now, excluding=excluding
        ).count()
        >= limit
    ):
        raise TooManyAppointments()
    same = _same_person(contact)
    if (
        same is not None
        and Appointment.objects.filter(
            same, organisation=organisation, booked_at__gte=now - dt.timedelta(days=1)
        ).count()
        >= 2 * limit
    ):
        raise TooManyBookingsToday()


@retry_on_deadlock
def confirm_booking(
    *,
    appointment: Appointment,
    contact: Contact,
    now: dt.datetime,
    booked_by: Membership | None = None,
    idempotency_key: str | None = None,
) -> Appointment:
    """Turn a held time into a booked appointment for `contact`.

    A hold that ran out still counts while its row exists: nobody else can have taken the time.
    A second submission of the same form returns the appointment booked by the first.
    """
    with transaction.atomic():
        current = (
            Appointment.objects.select_for_update()
            .select_related("organisation", "service")
            .filter(pk=appointment.pk)
            .first()
        )
        if current is None or current.status not in (
            Appointment.Status.HELD,
            Appointment.Status.BOOKED,
        ):
            raise HoldExpired()
        if current.status == Appointment.Status.BOOKED:
            return current
        organisation = current.organisation
        if booked_by is None:
            check_contact_limits(
                organisation=organisation, contact=contact, now=now, excluding=current.pk
            )
        if (
            booked_by is None
            and current.service.requires_verification
            and not current.verification_codes.filter(verified_at__isnull=False).exists()
        ):
            raise VerificationNeeded()
        _apply_contact(current, contact)
        current.status = Appointment.Status.BOOKED
        current.hold_expires_at = None
        current.booked_at = now
        current.booked_by = booked_by
        current.manage_nonce = secrets.token_urlsafe(9)[:12]
        if idempotency_key:
            current.idempotency_key = idempotency_key
        current.save()
        if booked_by is not None:
            record_event(
                action=Action.APPOINTMENT_BOOKED,
                actor=booked_by.user,
                organisation=organisation,
                target=current,
                details={"code": current.code},
            )
        WaitingListEntry.objects.filter(
            offered=current, status=WaitingListEntry.Status.OFFERED
        ).update(status=WaitingListEntry.Status.BOOKED)
        notify.notify_appointment(current, kind="booking_confirmed")
        integrations.emit_appointment("appointment.created", current, now=now)
    return current


def _apply_contact(appointment: Appointment, contact: Contact) -> None:
    appointment.name = contact.name
    appointment.email = contact.email
    appointment.phone = contact.phone
    appointment.language = contact.language
    appointment.municipality_id = contact.municipality_id
    appointment.id_document = contact.id_document
    for flag in NEEDS:
        setattr(appointment, flag, flag in contact.needs)
    appointment.notes = contact.notes
    appointment.representative_name = contact.representative_name
    appointment.representative_email = contact.representative_email
    appointment.representative_phone = contact.representative_phone
    appointment.representative_relation = contact.representative_relation


def find_by_idempotency_key(*, organisation: Organisation, key: str) -> Appointment | None:
    return Appointment.objects.filter(organisation=organisation, idempotency_key=key).first()


def _await_keyed(organisation: Organisation, key: str) -> Appointment | None:
    """The appointment another request with the same key is making: wait (a few seconds at
    most) for it to be booked, so that both requests answer with the same booked appointment.
    None when that request gave up."""
    earlier = None
    for _attempt in range(50):
        earlier = find_by_idempotency_key(organisation=organisation, key=key)
        if earlier is None or earlier.status != Appointment.Status.HELD:
            return earlier
        time.sleep(0.1)
    return earlier


def _finish_keyed(
    earlier: Appointment,
    contact: Contact,
    now: dt.datetime,
    booked_by: Membership | None,
    idempotency_key: str | None,
) -> Booking:
    """A retry's answer when its key already names an appointment: that appointment, or —
    when it is still only held, its request cut off between the hold and the booking (the
    database went away, the process died) — that hold, booked now. Never a hold answered as if
    it were a booking."""
    if earlier.status != Appointment.Status.HELD:
        return Booking(earlier, created=False)
    if booked_by is None and earlier.service.requires_verification:
        raise VerificationNeeded()
    booked = confirm_booking(
        appointment=earlier,
        contact=contact,
        now=now,
        booked_by=booked_by,
        idempotency_key=idempotency_key,
    )
    return Booking(booked, created=True)


def book_appointment(
    *,
    service: Service,
    channel: Channel,
    start: dt.datetime,
    now: dt.datetime,
    contact: Contact | None = None,
    office: Office | None = None,
    idempotency_key: str | None = None,
    booked_by: Membership | None = None,
    client: str = "",
) -> Booking:
    """Hold and book `start` in one step (the API, and staff booking for a caller).

    Raises SlotTaken (with the next free times) when nobody is free any more — also when another
    request took the last agent a moment ago: the database, not this check, has the last word.
    A retry with the same idempotency key returns the appointment the first request made.
    """
    organisation = service.organisation
    contact = contact or Contact(name="")
    if idempotency_key:
        earlier = _await_keyed(organisation, idempotency_key)
        if earlier is not None:
            return _finish_keyed(earlier, contact, now, booked_by, idempotency_key)
    if booked_by is None and service.requires_verification:
        # A code goes to a held time; in one step there is nothing to send it for.
        raise VerificationNeeded(
            _(
                "This service asks for a code sent to the person before booking: "
                "hold a time, ask for the code, then book the hold with it."
            )
        )
    # The hold commits on its own (a short transaction per agent tried: long transactions
    # waiting on each other's exclusion checks would deadlock under contention); if the
    # booking then fails, the hold is released at once (or expires, should this process die).
    # The key goes on the hold itself: a second request with it is refused by the database
    # at once, and answers with the first request's appointment.
    try:
        held = hold_slot(
            service=service,
            channel=channel,
            start=start,
            now=now,
            office=office,
            client=client,
            idempotency_key=idempotency_key,
            schedule_release=False,  # booked at once, or released below
        )
    except SlotTaken:
        earlier = _await_keyed(organisation, idempotency_key) if idempotency_key else None
        if earlier is not None:
            return _finish_keyed(earlier, contact, now, booked_by, idempotency_key)
        raise
    try:
        booked = confirm_booking(
            appointment=held,
            contact=contact,
            now=now,
            booked_by=booked_by,
            idempotency_key=idempotency_key,
        )
    except IntegrityError:
        release_hold(appointment=held)
        # The same idempotency key won a race a moment ago: answer with its appointment.
        if idempotency_key:
            earlier = find_by_idempotency_key(organisation=organisation, key=idempotency_key)
            if earlier is not None:
                return Booking(earlier, created=False)
        raise
    except BaseException:
        release_hold(appointment=held)
        raise
    return Booking(booked, created=True)
