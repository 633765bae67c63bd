"""The waiting list: a freed time is offered to the first person waiting for it, held for them."""

from __future__ import annotations

import datetime as dt
import secrets
from zoneinfo import ZoneInfo

from django.db import transaction
from django.utils.crypto import constant_time_compare
from django.utils.translation import gettext_lazy as _

from finestreta.appointments import notify
from finestreta.appointments.booking import confirm_booking, hold_slot
from finestreta.appointments.common import (
    WAITING_SALT,
    BookingError,
    Contact,
    HoldExpired,
    InvalidLink,
    link_signature,
    split_token,
)
from finestreta.appointments.models import (
    Appointment,
    WaitingListEntry,
)
from finestreta.catalogue.models import Channel, Service
from finestreta.notifications.services import sending_time
from finestreta.tenants.models import Office, Organisation

# --- Waiting list --------------------------------------------------------------------------


def join_waiting_list(
    *,
    service: Service,
    channel: Channel,
    office: Office | None,
    earliest: dt.date,
    latest: dt.date,
    contact: Contact,
    now: dt.datetime,
) -> WaitingListEntry:
    """Wait for a time for `service` between two dates; the first freed time is offered to the
    first person in line."""
    today = now.astimezone(ZoneInfo(service.organisation.time_zone)).date()
    if earliest < today or latest < earliest:
        raise BookingError(_("Choose a range of dates from today on, the first before the last."))
    if latest > today + dt.timedelta(days=service.max_days_ahead):
        raise BookingError(
            _("Appointments can be booked up to %(days)s days ahead.")
            % {"days": service.max_days_ahead}
        )
    return WaitingListEntry.objects.create(
        organisation=service.organisation,
        service=service,
        channel=channel,
        office=office if channel == Channel.IN_PERSON else None,
        earliest=earliest,
        latest=latest,
        name=contact.name,
        email=contact.email,
        phone=contact.phone,
        language=contact.language,
        manage_nonce=secrets.token_urlsafe(9)[:12],
    )


def offer_freed_time(*, freed: Appointment, now: dt.datetime) -> WaitingListEntry | None:
    """Offer a freed time to the first person waiting for it, holding it for them."""
    service = freed.service
    zone = ZoneInfo(service.organisation.time_zone)
    day = freed.starts_at.astimezone(zone).date()
    waiting = WaitingListEntry.objects.filter(
        service=service,
        channel=freed.channel,
        status=WaitingListEntry.Status.WAITING,
        earliest__lte=day,
        latest__gte=day,
    )
    if freed.channel == Channel.IN_PERSON:
        waiting = waiting.filter(office=freed.office)
    entry = waiting.order_by("created_at", "pk").first()
    if entry is None:
        return None
    minutes = service.organisation.waiting_list_offer_hours * 60
    if entry.phone and not entry.email:
        # Told by SMS only, which waits out the night: the offer lasts as long from the morning.
        morning = sending_time(
            organisation=service.organisation, channel="sms", urgent=False, send_after=None, now=now
        )
        if morning is not None and morning > now:
            minutes += int((morning - now).total_seconds() // 60)
    # Never past the appointment itself.
    minutes = max(1, min(minutes, int((freed.starts_at - now).total_seconds() // 60)))
    try:
        with transaction.atomic():
            held = hold_slot(
                service=service,
                channel=Channel(freed.channel),
                start=freed.starts_at,
                now=now,
                office=freed.office,
                minutes=minutes,
            )
            held.name, held.email, held.phone = entry.name, entry.email, entry.phone
            held.language = entry.language
            held.save(update_fields=["name", "email", "phone", "language"])
    except BookingError:
        return None  # the time is gone again (or not bookable any more): nothing to offer
    entry.status = WaitingListEntry.Status.OFFERED
    entry.offered = held
    entry.save(update_fields=["status", "offered"])
    notify.notify_waiting_list_offer(entry, held)
    return entry


def waiting_token(entry: WaitingListEntry) -> str:
    return f"{entry.pk}-{link_signature(WAITING_SALT, entry.pk, entry.manage_nonce)}"


def get_waiting_entry_by_token(*, organisation: Organisation, token: str) -> WaitingListEntry:
    pk, signature = split_token(token)
    if not pk.isdigit():
        raise InvalidLink()
    found = (
        WaitingListEntry.objects.select_related("service", "office", "offered")
        .filter(organisation=organisation, pk=int(pk))
        .first()
    )
    if found is None or not constant_time_compare(
        signature, link_signature(WAITING_SALT, found.pk, found.manage_nonce)
    ):
        raise InvalidLink()
    return found


def accept_waiting_list_offer(*, entry: WaitingListEntry, now: dt.datetime) -> Appointment:
    if entry.status != WaitingListEntry.Status.OFFERED or entry.offered is None:
        raise HoldExpired()
    return confirm_booking(
        appointment=entry.offered,
        contact=Contact(
            name=entry.name, email=entry.email, phone=entry.phone, language=entry.language
        ),
        now=now,
    )


def leave_waiting_list(*, entry: WaitingListEntry) -> None:
    with transaction.atomic():
        if entry.offered_id is not None:
            Appointment.objects.filter(pk=entry.offered_id, status=Appointment.Status.HELD).delete()
        WaitingListEntry.objects.filter(pk=entry.pk).update(
            status=WaitingListEntry.Status.LEFT, offered=None
        )
