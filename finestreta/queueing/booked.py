"""Booked citizens in the pooled queue at their time (issue "desk and queue", 3: appointments at
their time come before walk-ins).

A video appointment with no office is pooled: any agent with the service's skill may attend it
(`video.services.can_serve`). When its citizen comes into the video waiting room, they also
enter the organisation's queue as a booked citizen (`due` = the appointment's time): routing
offers them, from their time on, before every walk-in, to the agent they were booked with when
that agent is available at the desk, else to the skilled agent free for longest. Whoever
accepts takes the appointment over (it becomes theirs; the database still refuses an overlap
with their own appointments, and then the citizen passes to a colleague). The booked agent,
or any colleague who may, can still admit the citizen from the waiting room as before: that
ends the queue's part at once (an offer to someone else is withdrawn), so a citizen is never
served twice. A citizen who leaves the waiting room for good leaves the queue; coming back
puts them back in their place.

Appointments at an office (in person, or video and telephone tied to an office's agents) stay
with their agent and do not enter the queue; neither do telephone appointments, whose citizen
does not "arrive" anywhere: their agent calls them.
"""

from __future__ import annotations

import datetime as dt

from django.db import IntegrityError, transaction
from django.utils.translation import gettext_lazy as _

from finestreta.accounts.models import Membership
from finestreta.appointments.models import Appointment
from finestreta.catalogue.models import Channel
from finestreta.lib.transactions import lock_agent_time
from finestreta.privacy.services import Action, record_event
from finestreta.queueing import events
from finestreta.queueing.models import DeskStatus, QueueEntry

State = QueueEntry.State


class TakenOver(Exception):
    """The appointment cannot pass to this agent: cancelled meanwhile, or their agenda is taken
    at its time."""

    def __init__(self, code: str, message: object) -> None:
        super().__init__(str(message))
        self.code = code
        self.message = message


def is_pooled(appointment: Appointment) -> bool:
    """A booked video appointment any skilled agent may attend (no office)."""
    return (
        appointment.office_id is None
        and not appointment.walk_in
        and appointment.channel == Channel.VIDEO
        and appointment.status == Appointment.Status.BOOKED
    )


def citizen_arrived(*, appointment: Appointment, now: dt.datetime) -> QueueEntry | None:
    """The citizen of a pooled appointment is in the waiting room: their place in the queue
    (made once; back in it after leaving). None for an appointment that is not pooled, or whose
    queue part is over (attended, or taken by an agent)."""
    if not is_pooled(appointment):
        return None
    with transaction.atomic():
        entry, created = QueueEntry.objects.select_for_update().get_or_create(
            appointment=appointment,
            defaults={
                "organisation_id": appointment.organisation_id,
                "service_id": appointment.service_id,
                "channel": QueueEntry.Channel.VIDEO,
                "name": appointment.name or "—",
                "phone": appointment.phone,
                "email": appointment.email,
                "locale": appointment.language or "ca",
                "sign_language": appointment.needs_sign_language,
                "due": appointment.starts_at,
                "booked_agent_id": appointment.agent_id,
                "joined_at": now,
            },
        )
        if not created:
            if entry.state != State.LEFT:
                return entry if entry.state in (State.WAITING, State.OFFERED) else None
            entry.state, entry.ended_at = State.WAITING, None
            entry.save(update_fields=["state", "ended_at"])
        events.changed(appointment.organisation_id)
    return entry


def citizen_left(*, appointment: Appointment, now: dt.datetime) -> bool:
    """The citizen left the waiting room for good: out of the queue (an offer is withdrawn)."""
    left = QueueEntry.objects.filter(
        appointment=appointment, state__in=[State.WAITING, State.OFFERED]
    ).update(
        state=State.LEFT, ended_at=now, offered_to=None, offered_at=None, offer_expires_at=None
    )
    if left:
        events.changed(appointment.organisation_id)
    return bool(left)


def admitted_in_room(*, appointment: Appointment, membership: Membership, now: dt.datetime) -> bool:
    """Staff let the citizen in from the waiting room: the queue's part is over. The entry is
    theirs to finish at the desk (and their desk is in a call) unless they are in another
    attention already; an offer to a colleague is withdrawn. False when there was nothing left
    to do (no entry, or taken already)."""
    with transaction.atomic():
        entry = (
            QueueEntry.objects.select_for_update()
            .filter(appointment=appointment, state__in=[State.WAITING, State.OFFERED])
            .first()
        )
        if entry is None:
            return False
        entry.offered_to, entry.offered_at, entry.offer_expires_at = None, None, None
        entry.served_by, entry.served_at = membership, now
        entry.state = State.SERVING
        try:
            with transaction.atomic():
                entry.save()
        except IntegrityError:  # already in another attention (one call per agent)
            entry.state, entry.ended_at = State.SERVED, now
            entry.save()
        else:
            from finestreta.queueing.services import withdraw_offer

            withdraw_offer(membership, now)  # in a call now: their offer goes to the others
            DeskStatus.objects.filter(
                membership=membership, state=DeskStatus.State.AVAILABLE
            ).update(state=DeskStatus.State.IN_CALL, since=now, reason="")
        events.changed(appointment.organisation_id)
    return True


NOT_BOOKED_ANY_MORE = _("This appointment was cancelled or changed: the citizen is not waiting.")
AGENDA_TAKEN = _(
    "You have another appointment at this appointment's time: the citizen goes to a colleague."
)


def take_over(*, entry: QueueEntry, membership: Membership, now: dt.datetime) -> Appointment:
    """The agent who accepted a booked citizen's offer takes their appointment over (their own
    agenda must be free at its time: the database refuses an overlap). Raises TakenOver. Runs
    inside the acceptance's transaction."""
    appointment = (
        Appointment.objects.select_for_update().filter(pk=entry.appointment_id).first()
        if entry.appointment_id is not None
        else None
    )
    if appointment is None or appointment.status != Appointment.Status.BOOKED:
        raise TakenOver("not_booked", NOT_BOOKED_ANY_MORE)
    if appointment.agent_id == membership.pk:
        return appointment
    before = appointment.agent_id
    try:
        with transaction.atomic():
            lock_agent_time(membership.pk)
            Appointment.objects.filter(pk=appointment.pk).update(agent=membership)
    except IntegrityError as error:  # their agenda is taken at that time
        raise TakenOver("agenda_taken", AGENDA_TAKEN) from error
    appointment.agent = membership
    record_event(
        action=Action.APPOINTMENT_MOVED,
        actor=membership.user,
        organisation=appointment.organisation,
        target=appointment,
        details={"code": appointment.code, "agent_from": before, "agent_to": membership.pk},
    )
    return appointment


def end_entry(*, entry_id: int, now: dt.datetime) -> None:
    """A booked citizen whose appointment was cancelled or changed meanwhile: out of the queue."""
    QueueEntry.objects.filter(pk=entry_id, state__in=[State.WAITING, State.OFFERED]).update(
        state=State.LEFT, ended_at=now, offered_to=None, offered_at=None, offer_expires_at=None
    )
    events.changed(
        QueueEntry.objects.filter(pk=entry_id).values_list("organisation_id", flat=True).get()
    )
