"""Public API of the appointments app: holding, booking, moving and cancelling times, with no
double booking ever, and the signed links that let a citizen manage an appointment without an
account.

The database refuses overlapping active appointments of one agent (see migration 0002); these
functions turn that refusal into a clear answer with the next free times. Every error a person
can cause is a `BookingError` with a stable `code` (for the API) and a plain message (for people).
"""

from __future__ import annotations

import datetime as dt
import secrets
import time
from dataclasses import dataclass, field
from functools import partial
from zoneinfo import ZoneInfo

from django.core import signing
from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.utils.crypto import constant_time_compare, salted_hmac
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from finestreta.accounts.models import Membership
from finestreta.appointments import notify
from finestreta.appointments.models import (
    NEEDS,
    Appointment,
    CancelledBy,
    VerificationCode,
    WaitingListEntry,
)
from finestreta.catalogue.models import Channel, Service
from finestreta.privacy.services import Action, record_event
from finestreta.scheduling.availability import Slot, SlotQuery
from finestreta.scheduling.services import find_slots, slot_query
from finestreta.tenants.models import Office, Organisation

# Unambiguous characters for codes read aloud or typed from an SMS.
CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
# One address may keep this many times held at once: enough for a family booking together,
# too few to hoard a morning's slots.
MAX_HOLDS_PER_CLIENT = 3
# A manage link works until this long after the appointment.
LINK_VALID_AFTER_END = dt.timedelta(days=30)
MANAGE_SALT = "finestreta.appointments.manage"
WAITING_SALT = "finestreta.appointments.waiting"


class BookingError(Exception):
    """A refusal a person can understand and act on."""

    code = "booking_error"
    message: str | Promise = _("This could not be done.")

    def __init__(self, message: str | Promise | None = None) -> None:
        super().__init__(str(message or self.message))
        if message is not None:
            self.message = message


class SlotTaken(BookingError):
    """The time was just taken; `alternatives` are the next free times."""

    code = "slot_taken"
    message = _("This time was just taken by someone else. Please choose another one.")

    def __init__(self, alternatives: list[Slot]) -> None:
        super().__init__()
        self.alternatives = alternatives


class HoldExpired(BookingError):
    code = "hold_expired"
    message = _(
        "We could not keep this time any longer because the form took too long. "
        "Please choose a time again."
    )


class TooManyHolds(BookingError):
    code = "too_many_holds"
    message = _(
        "You are already choosing several times at once. Finish or cancel one of them first."
    )


class TooManyAppointments(BookingError):
    code = "too_many_appointments"
    message = _(
        "This person already has as many upcoming appointments as allowed. "
        "Cancel one of them, or call us, to book another."
    )


class TooManyBookingsToday(BookingError):
    code = "too_many_bookings"
    message = _("This person has booked many times today. Try again tomorrow, or call us to book.")


class NotChangeable(BookingError):
    code = "not_changeable"
    message = _("This appointment can no longer be changed.")


class VerificationNeeded(BookingError):
    code = "verification_required"
    message = _("Write the code we sent you to confirm the appointment.")


class WrongCode(BookingError):
    code = "wrong_code"
    message = _("This code is not right or has expired. Check it, or ask for a new one.")


class TooManyCodes(BookingError):
    code = "too_many_codes"
    message = _("We have sent you several codes already. Check your e-mail or messages.")


class InvalidLink(BookingError):
    code = "invalid_link"
    message = _("This link is not valid or has expired. Check the latest message we sent you.")


@dataclass(frozen=True)
class Contact:
    """Who is attended, as the citizen (or whoever books for them) gave it."""

    name: str
    email: str = ""
    phone: str = ""  # E.164, already validated
    language: str = "ca"
    municipality_id: int | None = None
    id_document: str = ""
    needs: frozenset[str] = field(default_factory=frozenset)
    notes: str = ""
    representative_name: str = ""
    representative_email: str = ""
    representative_phone: str = ""
    representative_relation: str = ""

    def __post_init__(self) -> None:
        unknown = set(self.needs) - set(NEEDS)
        if unknown:
            raise ValueError(f"unknown needs: {sorted(unknown)}")


@dataclass(frozen=True)
class Booking:
    appointment: Appointment
    created: bool  # False when an earlier request with the same idempotency key made it


def new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(8))


def client_key(address: str) -> str:
    """A keyed hash of a network address: enough to count holds, useless to anyone else."""
    return salted_hmac("finestreta.holds", address).hexdigest()[:32] if address else ""


def next_free(slots: list[Slot], *, after: dt.datetime, count: int = 3) -> list[Slot]:
    later = [s for s in slots if s.start >= after]
    return (later or slots)[:count]


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
        everything = find_slots(service=service, channel=channel, now=now, office=office)
        raise SlotTaken(next_free(everything, after=start))
    expires = now + dt.timedelta(minutes=minutes or service.organisation.booking_hold_minutes)
    released = False
    for agent_id in slot.resource_ids:
        for _retry in range(2):
            try:
                with transaction.atomic():
                    held = _insert_hold(
                        service,
                        channel,
                        office,
                        int(agent_id),
                        slot,
                        query,
                        expires,
                        client,
                        idempotency_key,
                    )
                if schedule_release:
                    transaction.on_commit(partial(_release_at, expires))
                return held
            except IntegrityError:
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
    if idempotency_key:
        earlier = _await_keyed(organisation, idempotency_key)
        if earlier is not None:
            return Booking(earlier, created=False)
    contact = contact or Contact(name="")
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
            return Booking(earlier, created=False)
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


# --- Changing and cancelling ---------------------------------------------------------------


def can_be_changed(appointment: Appointment, *, now: dt.datetime) -> bool:
    return appointment.status == Appointment.Status.BOOKED and appointment.starts_at > now


def cancel_appointment(
    *,
    appointment: Appointment,
    now: dt.datetime,
    by: CancelledBy,
    reason: str = "",
    staff: Membership | None = None,
) -> Appointment:
    """Cancel an upcoming appointment; the freed time goes to the waiting list first."""
    with transaction.atomic():
        current = Appointment.objects.select_for_update().get(pk=appointment.pk)
        if current.status == Appointment.Status.CANCELLED:
            return current
        if not can_be_changed(current, now=now):
            raise NotChangeable()
        current.status = Appointment.Status.CANCELLED
        current.cancelled_at = now
        current.cancelled_by = by
        current.cancellation_reason = reason[:300]
        current.save(
            update_fields=["status", "cancelled_at", "cancelled_by", "cancellation_reason"]
        )
        if staff is not None:
            record_event(
                action=Action.APPOINTMENT_CANCELLED,
                actor=staff.user,
                organisation=current.organisation,
                target=current,
                details={"code": current.code, "reason": current.cancellation_reason},
            )
        notify.notify_appointment(current, kind="booking_cancelled")
        offer_freed_time(freed=current, now=now)
    return current


def reschedule_appointment(
    *,
    appointment: Appointment,
    start: dt.datetime,
    now: dt.datetime,
    staff: Membership | None = None,
) -> Appointment:
    """Move an upcoming appointment to `start` (same service, channel and office), keeping its
    code and manage link. The agent may change; the old time goes to the waiting list."""
    service = appointment.service
    channel = Channel(appointment.channel)
    offered = find_slots(
        service=service,
        channel=channel,
        now=now,
        office=appointment.office,
        ignoring=appointment.pk,
        at=start,
    )
    slot = next((s for s in offered if s.start == start), None)
    if slot is None:
        everything = find_slots(
            service=service,
            channel=channel,
            now=now,
            office=appointment.office,
            ignoring=appointment.pk,
        )
        raise SlotTaken(next_free(everything, after=start))
    query = slot_query(service=service, now=now)
    occupied = query.occupied(slot.start)
    with transaction.atomic():
        current = Appointment.objects.select_for_update().get(pk=appointment.pk)
        if not can_be_changed(current, now=now):
            raise NotChangeable()
        before = Appointment(
            pk=current.pk,
            organisation_id=current.organisation_id,
            service_id=current.service_id,
            channel=current.channel,
            office_id=current.office_id,
            starts_at=current.starts_at,
        )
        # The current agent first: a move within their day is the least surprise.
        agents = sorted(slot.resource_ids, key=lambda a: int(a) != current.agent_id)
        for agent_id in agents:
            try:
                with transaction.atomic():
                    Appointment.objects.filter(pk=current.pk).update(
                        agent_id=int(agent_id),
                        starts_at=slot.start,
                        ends_at=slot.end,
                        occupied_from=occupied.start,
                        occupied_until=occupied.end,
                        times_rescheduled=current.times_rescheduled + 1,
                    )
                break
            except IntegrityError:
                continue
        else:
            raise SlotTaken(
                next_free(
                    find_slots(
                        service=service,
                        channel=channel,
                        now=now,
                        office=appointment.office,
                        ignoring=appointment.pk,
                    ),
                    after=start,
                )
            )
        current.refresh_from_db()
        if staff is not None:
            record_event(
                action=Action.APPOINTMENT_MOVED,
                actor=staff.user,
                organisation=current.organisation,
                target=current,
                details={
                    "code": current.code,
                    "from": before.starts_at.isoformat(),
                    "to": current.starts_at.isoformat(),
                },
            )
        notify.notify_appointment(
            current, kind="booking_moved", version=str(current.times_rescheduled)
        )
        offer_freed_time(freed=before, now=now)
    return current


def record_outcome(
    *, appointment: Appointment, attended: bool, now: dt.datetime, staff: Membership
) -> Appointment:
    """Mark an appointment attended, or not come, once its time has started."""
    with transaction.atomic():
        current = Appointment.objects.select_for_update().get(pk=appointment.pk)
        finished = (Appointment.Status.ATTENDED, Appointment.Status.NO_SHOW)
        if current.status not in (Appointment.Status.BOOKED, *finished):
            raise NotChangeable()
        if current.starts_at > now + dt.timedelta(minutes=30):
            raise NotChangeable(_("An appointment can be marked only once its time has come."))
        current.status = Appointment.Status.ATTENDED if attended else Appointment.Status.NO_SHOW
        current.save(update_fields=["status"])
        record_event(
            action=Action.APPOINTMENT_ATTENDED if attended else Action.APPOINTMENT_NO_SHOW,
            actor=staff.user,
            organisation=current.organisation,
            target=current,
            details={"code": current.code},
        )
    return current


# --- Manage links and calendar files -------------------------------------------------------


def manage_token(appointment: Appointment) -> str:
    """The secret part of the link that lets the citizen see, move or cancel the appointment."""
    return signing.dumps([appointment.pk, appointment.manage_nonce], salt=MANAGE_SALT)


def get_appointment_by_token(
    *, organisation: Organisation, token: str, now: dt.datetime
) -> Appointment:
    try:
        pk, nonce = signing.loads(token, salt=MANAGE_SALT)
    except (signing.BadSignature, ValueError, TypeError) as error:
        raise InvalidLink() from error
    found = (
        Appointment.objects.select_related("service", "office", "organisation", "municipality")
        .filter(organisation=organisation, pk=pk, manage_nonce=nonce)
        .exclude(status=Appointment.Status.HELD)
        .first()
    )
    if found is None or not nonce or found.ends_at + LINK_VALID_AFTER_END < now:
        raise InvalidLink()
    return found


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
    try:
        with transaction.atomic():
            held = hold_slot(
                service=service,
                channel=Channel(freed.channel),
                start=freed.starts_at,
                now=now,
                office=freed.office,
                minutes=service.organisation.waiting_list_offer_hours * 60,
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
    return signing.dumps([entry.pk, entry.manage_nonce], salt=WAITING_SALT)


def get_waiting_entry_by_token(*, organisation: Organisation, token: str) -> WaitingListEntry:
    try:
        pk, nonce = signing.loads(token, salt=WAITING_SALT)
    except (signing.BadSignature, ValueError, TypeError) as error:
        raise InvalidLink() from error
    found = (
        WaitingListEntry.objects.select_related("service", "office", "offered")
        .filter(organisation=organisation, pk=pk, manage_nonce=nonce)
        .first()
    )
    if found is None:
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


# --- Verification code before confirming ---------------------------------------------------

CODE_VALID = dt.timedelta(minutes=15)
MAX_CODES_PER_HOLD = 3
MAX_TRIES_PER_CODE = 5


def _code_hash(appointment: Appointment, code: str) -> str:
    return salted_hmac("finestreta.verification", f"{appointment.pk}:{code}").hexdigest()


def where_to_send_code(contact: Contact) -> tuple[str, str]:
    """E-mail first (free and unlimited), else the mobile; the representative's when the
    person attended gave neither."""
    for channel, address in (
        ("email", contact.email),
        ("sms", contact.phone),
        ("email", contact.representative_email),
        ("sms", contact.representative_phone),
    ):
        if address:
            return channel, address
    raise BookingError(_("Give an e-mail or a mobile phone, so that we can send you the code."))


def send_verification_code(
    *, appointment: Appointment, contact: Contact, now: dt.datetime
) -> VerificationCode:
    """Send a new six-digit code for this held time (three at most)."""
    with transaction.atomic():
        current = Appointment.objects.select_for_update().get(pk=appointment.pk)
        sent = current.verification_codes.count()
        if sent >= MAX_CODES_PER_HOLD:
            raise TooManyCodes()
        channel, address = where_to_send_code(contact)
        code = f"{secrets.randbelow(10**6):06d}"
        current.language = contact.language
        record = VerificationCode.objects.create(
            appointment=current,
            channel=channel,
            recipient=address,
            code_hash=_code_hash(current, code),
            expires_at=now + CODE_VALID,
        )
        notify.send_verification_code(
            current, channel=channel, address=address, code=code, attempt=sent + 1
        )
    return record


def latest_code(*, appointment: Appointment) -> VerificationCode | None:
    return appointment.verification_codes.first()


def check_verification_code(*, appointment: Appointment, code: str, now: dt.datetime) -> None:
    """Mark the latest code verified if `code` is it; WrongCode otherwise (five tries)."""
    with transaction.atomic():
        record = (
            VerificationCode.objects.select_for_update()
            .filter(appointment=appointment)
            .order_by("-created_at", "-pk")
            .first()
        )
        if record is None or record.verified_at is not None:
            if record is not None:
                return
            raise WrongCode()
        record.attempts += 1
        record.save(update_fields=["attempts"])
        valid = (
            record.expires_at > now
            and record.attempts <= MAX_TRIES_PER_CODE
            and constant_time_compare(record.code_hash, _code_hash(appointment, code.strip()))
        )
        if valid:
            record.verified_at = now
            record.save(update_fields=["verified_at"])
    if not valid:
        raise WrongCode()
