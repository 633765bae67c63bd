"""What the agent's desk shows (read only): their state, the citizen offered to them, the
attention in progress, and the citizens waiting for their skills in the queue's order; and the
fingerprint of all that, which the desk's socket compares to tell the page to refresh."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import Case, Count, Max, Q, Value, When
from django.db.models.functions import Coalesce
from django.utils import timezone

from finestreta.accounts.models import Membership
from finestreta.catalogue.models import OutcomeCode
from finestreta.queueing import sharing
from finestreta.queueing.models import DeskStatus, QueueEntry
from finestreta.queueing.services import WAITING_FIELDS

State = QueueEntry.State
# Waiting citizens listed on the desk (the rest are counted).
LISTED = 30


@dataclass(frozen=True)
class WaitingLine:
    entry: QueueEntry
    waited: dt.timedelta
    skilled: bool  # the agent has the skill for them (else: another colleague's)


@dataclass(frozen=True)
class DeskView:
    state: str
    reason: str
    since: dt.datetime | None
    offer: QueueEntry | None
    offer_seconds: int  # left to accept the offer
    call: QueueEntry | None
    room: str  # the public id of the call's video room ("" for a telephone call)
    waiting: list[WaitingLine]
    waiting_total: int
    outcomes: list[OutcomeCode]


def desk_view(*, membership: Membership, now: dt.datetime) -> DeskView:
    desk = DeskStatus.objects.filter(membership=membership).first()
    offer = (
        QueueEntry.objects.select_related("service")
        .filter(offered_to=membership, state=State.OFFERED)
        .first()
    )
    call = (
        QueueEntry.objects.select_related("service", "appointment")
        .filter(served_by=membership, state=State.SERVING)
        .first()
    )
    room = ""
    if call is not None and call.appointment is not None:
        from finestreta.video.models import Room

        room = (
            Room.objects.filter(appointment=call.appointment)
            .values_list("public_id", flat=True)
            .first()
            or ""
        )
    shared = sharing.skills_of(membership.pk, now)
    services = set(membership.services.values_list("pk", flat=True)) | shared.services
    # Their organisation's queue, and the shared procedures of the hosts they help (ADR 25).
    queue = QueueEntry.objects.filter(
        Q(organisation=membership.organisation_id)
        | Q(organisation__in=shared.organisations, service__in=shared.services),
        state__in=[State.WAITING, State.OFFERED],
    )
    # routing.rank in SQL: the booked first, then priority, then arrival (their time for the
    # booked), then order of entry; only the first LISTED rows are read.
    booked_first = Case(When(due__isnull=False, then=Value(0)), default=Value(1))
    rows = list(
        queue.select_related("service")
        .only(*WAITING_FIELDS, "channel", "service__name", "state")
        .order_by(booked_first, "-priority", Coalesce("due", "joined_at"), "pk")[:LISTED]
    )
    waiting = [
        WaitingLine(entry=entry, waited=now - entry.joined_at, skilled=entry.service_id in services)
        for entry in rows
    ]
    total = queue.count() if len(rows) == LISTED else len(rows)
    left = 0
    if offer is not None and offer.offer_expires_at is not None:
        left = max(0, int((offer.offer_expires_at - now).total_seconds()))
    return DeskView(
        state=desk.state if desk else DeskStatus.State.OFFLINE,
        reason=desk.reason if desk else "",
        since=desk.since if desk else None,
        offer=offer,
        offer_seconds=left,
        call=call,
        room=room,
        waiting=waiting,
        waiting_total=total,
        # The outcomes of the attention's organisation (a host's, for a shared call).
        outcomes=list(
            OutcomeCode.objects.filter(
                organisation=call.organisation_id if call else membership.organisation_id,
                is_active=True,
            )
        ),
    )


def hosts_of(membership: Membership) -> list[int]:
    """The organisations whose queues this agent also serves under an agreement in force."""
    return sorted(sharing.skills_of(membership.pk, timezone.now()).organisations)


def fingerprint(
    *, organisation_id: int, membership_id: int, hosts: Iterable[int] = ()
) -> tuple[object, ...]:
    """Changes whenever what a desk or the supervisor's view shows changes (bar the clocks): a
    few small aggregate reads. `hosts`: the organisations whose queues the agent also serves."""
    entries = QueueEntry.objects.filter(organisation__in=[organisation_id, *hosts]).aggregate(
        waiting=Count("pk", filter=Q(state=State.WAITING)),
        offered=Count("pk", filter=Q(state=State.OFFERED)),
        serving=Count("pk", filter=Q(state=State.SERVING)),
        last=Max("joined_at"),
        mine=Max("pk", filter=Q(offered_to=membership_id, state=State.OFFERED)),
        calls=Max("pk", filter=Q(served_by=membership_id, state=State.SERVING)),
        ended=Max("ended_at"),
    )
    desks = DeskStatus.objects.filter(membership__organisation=organisation_id).aggregate(
        since=Max("since"), count=Count("pk")
    )
    from finestreta.video.models import Room

    # The video calls in progress (the supervisor's list of calls to listen to).
    rooms = Room.objects.filter(organisation=organisation_id).aggregate(
        admitted=Max("citizen_admitted_at"), ended=Max("ended_at")
    )
    return (*entries.values(), *desks.values(), *rooms.values())
