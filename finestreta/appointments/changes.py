"""Changing an appointment: cancel, move, record the outcome; and the signed links that let a
citizen manage it without an account."""

from __future__ import annotations

import datetime as dt

from django.db import IntegrityError, transaction
from django.utils.crypto import constant_time_compare
from django.utils.translation import gettext_lazy as _

from finestreta.accounts.models import Membership
from finestreta.appointments import notify
from finestreta.appointments.common import (
    JOIN_SALT,
    LINK_VALID_AFTER_END,
    MANAGE_SALT,
    InvalidLink,
    NotChangeable,
    SlotTaken,
    link_signature,
    next_free,
    split_token,
)
from finestreta.appointments.models import (
    Appointment,
    CancelledBy,
)
from finestreta.appointments.waiting_list import offer_freed_time
from finestreta.catalogue.models import Channel
from finestreta.integrations import services as integrations
from finestreta.lib.metrics import BOOKING_CONFLICTS
from finestreta.privacy.services import Action, record_event
from finestreta.scheduling.services import find_slots, slot_query
from finestreta.tenants.models import Organisation

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
        integrations.emit_appointment("appointment.cancelled", current, now=now)
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
        BOOKING_CONFLICTS.labels("offered").inc()
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
                BOOKING_CONFLICTS.labels("race").inc()
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
        integrations.emit_appointment(
            "appointment.changed", current, now=now, previous_start=before.starts_at
        )
        offer_freed_time(freed=before, now=now)
    return current


def record_outcome(
    *, appointment: Appointment, attended: bool, now: dt.datetime, staff: Membership | None
) -> Appointment:
    """Mark an appointment attended, or not come, once its time has started. `staff` None: the
    platform did (a video citizen who never joined within the grace period)."""
    with transaction.atomic():
        current = Appointment.objects.select_for_update().get(pk=appointment.pk)
        finished = (Appointment.Status.ATTENDED, Appointment.Status.NO_SHOW)
        if current.status not in (Appointment.Status.BOOKED, *finished):
            raise NotChangeable()
        if current.starts_at > now + dt.timedelta(minutes=30):
            raise NotChangeable(_("An appointment can be marked only once its time has come."))
        was = current.status
        current.status = Appointment.Status.ATTENDED if attended else Appointment.Status.NO_SHOW
        current.save(update_fields=["status"])
        record_event(
            action=Action.APPOINTMENT_ATTENDED if attended else Action.APPOINTMENT_NO_SHOW,
            actor=staff.user if staff else None,
            organisation=current.organisation,
            target=current,
            details={"code": current.code, **({} if staff else {"automatic": True})},
        )
        if current.status != was:  # marked again the same way: nothing new to tell
            integrations.emit_appointment(
                f"appointment.{current.status}", current, now=now, by_platform=staff is None
            )
        if attended:
            notify.send_survey(current, now=now)
    return current


# --- Manage links and calendar files -------------------------------------------------------


def manage_token(appointment: Appointment) -> str:
    """The secret part of the link that lets the citizen see, move or cancel the appointment:
    its code and a signature over it and its nonce (a new nonce revokes every link sent)."""
    signature = link_signature(
        MANAGE_SALT, appointment.pk, appointment.code, appointment.manage_nonce
    )
    return f"{appointment.code}-{signature}"


def join_token(appointment: Appointment) -> str:
    """The secret part of the video join link: like the manage link (the same nonce revokes
    both), but it lets its holder into the call only — not move or cancel the appointment."""
    signature = link_signature(
        JOIN_SALT, appointment.pk, appointment.code, appointment.manage_nonce
    )
    return f"{appointment.code}-{signature}"


def get_appointment_by_join_token(
    *, organisation: Organisation, token: str, now: dt.datetime
) -> Appointment:
    """The video appointment a join link names, or InvalidLink (a wrong or revoked signature,
    not a video appointment, or a link past its validity)."""
    return get_appointment_by_token(organisation=organisation, token=token, now=now, salt=JOIN_SALT)


def get_appointment_by_token(
    *, organisation: Organisation, token: str, now: dt.datetime, salt: str = MANAGE_SALT
) -> Appointment:
    code, signature = split_token(token)
    found = (
        Appointment.objects.select_related("service", "office", "organisation", "municipality")
        .filter(organisation=organisation, code=code)
        .exclude(status=Appointment.Status.HELD)
        .first()
    )
    if (
        found is None
        or not found.manage_nonce
        or not constant_time_compare(
            signature, link_signature(salt, found.pk, found.code, found.manage_nonce)
        )
        or found.ends_at + LINK_VALID_AFTER_END < now
        or (salt == JOIN_SALT and found.channel != Channel.VIDEO)
    ):
        raise InvalidLink()
    return found
