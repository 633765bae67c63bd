""" "Attention now" for the citizen: the signed link of their place in the queue (their ticket),
and what happens when an agent takes them: the attention becomes an appointment of that agent,
starting now (its video room, notes, outcome and reports are an appointment's), and the citizen
is told "it is your turn" by SMS and e-mail with the link into the call."""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from finestreta.accounts.models import Membership
from finestreta.appointments.models import Appointment
from finestreta.appointments.services import join_token, link_signature, new_code
from finestreta.catalogue.models import Channel
from finestreta.lib.transactions import lock_agent_time
from finestreta.notifications.models import Message
from finestreta.notifications.services import queue_message
from finestreta.queueing.models import QueueEntry

TICKET_SALT = "finestreta.queue.ticket"
# The shortest call worth starting before the agent's next appointment.
SHORTEST_CALL = dt.timedelta(minutes=5)


class NoTimeForCall(Exception):
    """The agent's next appointment starts too soon for this call."""

    def __init__(self, starts_at: dt.datetime) -> None:
        super().__init__(f"next appointment at {starts_at.isoformat()}")
        self.starts_at = starts_at


def new_nonce() -> str:
    return secrets.token_urlsafe(12)[:16]


def ticket_token(entry: QueueEntry) -> str:
    return f"{entry.pk}-{link_signature(TICKET_SALT, entry.pk, entry.nonce)}"


def get_entry_by_ticket(*, organisation_id: int, token: str) -> QueueEntry | None:
    """The queue entry of a ticket link of this organisation; None for any other token."""
    number, _dash, signature = token.partition("-")
    if not number.isdigit() or not signature:
        return None
    entry = (
        QueueEntry.objects.select_related("service", "organisation", "appointment")
        .filter(pk=int(number), organisation=organisation_id)
        .first()
    )
    if entry is None or not entry.nonce:
        return None
    expected = link_signature(TICKET_SALT, entry.pk, entry.nonce)
    return entry if secrets.compare_digest(expected, signature) else None


def ticket_path(entry: QueueEntry) -> str:
    return reverse("queue:ticket", args=[entry.organisation.slug, ticket_token(entry)])


def make_attention(*, entry: QueueEntry, membership: Membership, now: dt.datetime) -> Appointment:
    """The appointment of a walk-in citizen taken by `membership`, from now for the service's
    duration — shortened to end before the agent's next appointment (the database refuses any
    overlap), refused with NoTimeForCall when less than SHORTEST_CALL is left."""
    service = entry.service
    ends = now + dt.timedelta(minutes=service.duration_minutes)
    upcoming = (
        Appointment.objects.filter(
            agent=membership,
            status__in=[Appointment.Status.BOOKED, Appointment.Status.HELD],
            occupied_until__gt=now,
            occupied_from__lt=ends,
        )
        .order_by("occupied_from")
        .values_list("occupied_from", flat=True)
        .first()
    )
    if upcoming is not None:
        if upcoming - now < SHORTEST_CALL:
            raise NoTimeForCall(upcoming)
        ends = upcoming
    try:
        with transaction.atomic():
            lock_agent_time(membership.pk)
            return Appointment.objects.create(
                organisation_id=entry.organisation_id,
                service=service,
                channel=Channel.VIDEO
                if entry.channel == QueueEntry.Channel.VIDEO
                else Channel.PHONE,
                office=None,
                agent=membership,
                starts_at=now,
                ends_at=ends,
                occupied_from=now,
                occupied_until=ends,
                status=Appointment.Status.BOOKED,
                code=new_code(),
                name=entry.name,
                email=entry.email,
                phone=entry.phone,
                language=entry.locale,
                needs_sign_language=entry.sign_language,
                booked_by=membership,
                booked_at=now,
                manage_nonce=new_nonce(),
                walk_in=True,
            )
    except IntegrityError as error:  # an appointment taken at this very moment
        raise NoTimeForCall(now) from error


def join_url(appointment: Appointment) -> str:
    from finestreta.appointments.notify import absolute

    return absolute(join_path(appointment))


def tell_your_turn(*, entry: QueueEntry, appointment: Appointment, now: dt.datetime) -> int:
    """ "It is your turn" by SMS and e-mail (whichever the citizen gave): the link into the video
    call, or that we are calling them now. Urgent (never held for quiet hours). Returns how many
    messages were queued."""
    from finestreta.appointments.notify import absolute

    context = {
        "appointment": appointment,
        "join_url": join_url(appointment) if appointment.channel == Channel.VIDEO else "",
        "ticket_url": absolute(ticket_path(entry)),
    }
    queued = 0
    for channel, address in (
        (Message.Channel.SMS, entry.phone),
        (Message.Channel.EMAIL, entry.email),
    ):
        if not address:
            continue
        message = queue_message(
            organisation=entry.organisation,
            kind="queue_your_turn",
            channel=channel,
            recipient=address,
            language=entry.locale,
            context=context,
            dedup_key=f"queue_your_turn:{entry.pk}:{channel}",
            appointment_id=appointment.pk,
            urgent=True,
            now=now,
        )
        queued += message is not None
    return queued


NO_TIME_MESSAGE = _(
    "Your next appointment starts too soon to take this citizen: they go to a colleague."
)


@dataclass(frozen=True)
class Ticket:
    """What the citizen's ticket page shows, and its live check returns."""

    state: str  # waiting (offered counts as waiting), serving, served, left
    ahead: int | None  # None: the organisation does not show the position
    wait_minutes: tuple[int, int] | None  # None: no honest estimate now
    join_url: str  # for a video call whose turn has come
    phone: str  # for a telephone call-back whose turn has come


def ticket_state(entry: QueueEntry, *, now: dt.datetime) -> Ticket:
    from finestreta.queueing.services import queue_position

    state = entry.state
    if state == QueueEntry.State.OFFERED:
        state = QueueEntry.State.WAITING  # an agent is about to take them: still waiting
    ahead: int | None = None
    wait: tuple[int, int] | None = None
    if state == QueueEntry.State.WAITING:
        position = queue_position(entry=entry, now=now)
        if entry.organisation.queue_shows_position:
            ahead = position.ahead
        if position.wait is not None:
            low, high = position.wait
            wait = (_minutes(low), max(_minutes(high), _minutes(low) + 1))
    appointment = entry.appointment
    serving = state == QueueEntry.State.SERVING and appointment is not None
    return Ticket(
        state=state,
        ahead=ahead,
        wait_minutes=wait,
        join_url=join_path(appointment)
        if serving and appointment and appointment.channel == Channel.VIDEO
        else "",
        phone=entry.phone if serving and entry.channel == QueueEntry.Channel.PHONE else "",
    )


def _minutes(delta: dt.timedelta) -> int:
    return max(0, round(delta.total_seconds() / 60))


def join_path(appointment: Appointment) -> str:
    return reverse("video:precall", args=[appointment.organisation.slug, join_token(appointment)])
