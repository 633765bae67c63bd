"""What the supervisor's live view shows (issue "desk and queue", 4), as plain data: each agent's
state, each service's queue (how many wait, the longest wait), the calls in progress, and today's
service level — the share of citizens taken into a call within QUEUE_TARGET_SECONDS of joining
the queue. Read-only; the page and its live updates come with the desk."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import Count, Min

from finestreta.catalogue.models import Service
from finestreta.queueing.models import DeskStatus, QueueEntry
from finestreta.tenants.models import Organisation

State = QueueEntry.State


@dataclass(frozen=True)
class AgentLine:
    membership_id: int
    name: str
    state: str
    reason: str
    since: dt.datetime


@dataclass(frozen=True)
class QueueLine:
    service_id: int
    service: str
    waiting: int
    longest: dt.timedelta  # how long the first of them has waited


@dataclass(frozen=True)
class Overview:
    agents: list[AgentLine]
    queues: list[QueueLine]
    in_calls: int
    answered_today: int  # taken into a call today
    answered_in_time: int  # of those, within the target
    left_today: int  # left the queue before being attended

    @property
    def service_level(self) -> float | None:
        """The share answered within the target; None before anybody was answered today."""
        if not self.answered_today:
            return None
        return self.answered_in_time / self.answered_today


def overview(*, organisation: Organisation, now: dt.datetime) -> Overview:
    desks = (
        DeskStatus.objects.filter(membership__organisation=organisation, membership__is_active=True)
        .select_related("membership__user")
        .order_by("state", "since")
    )
    agents = [
        AgentLine(
            membership_id=desk.membership_id,
            name=str(desk.membership.user),
            state=desk.state,
            reason=desk.reason,
            since=desk.since,
        )
        for desk in desks
    ]
    waiting = (
        QueueEntry.objects.filter(
            organisation=organisation, state__in=[State.WAITING, State.OFFERED]
        )
        .values("service_id")
        .annotate(count=Count("pk"), first=Min("joined_at"))
    )
    names = dict(Service.objects.filter(organisation=organisation).values_list("pk", "name"))
    queues = sorted(
        (
            QueueLine(
                service_id=row["service_id"],
                service=names.get(row["service_id"], ""),
                waiting=row["count"],
                longest=now - row["first"],
            )
            for row in waiting
        ),
        key=lambda line: line.longest,
        reverse=True,
    )
    local = now.astimezone(ZoneInfo(organisation.time_zone))
    midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
    today = QueueEntry.objects.filter(organisation=organisation, joined_at__gte=midnight)
    answered = list(today.filter(served_at__isnull=False).values_list("joined_at", "served_at"))
    target = dt.timedelta(seconds=settings.QUEUE_TARGET_SECONDS)
    return Overview(
        agents=agents,
        queues=queues,
        in_calls=QueueEntry.objects.filter(organisation=organisation, state=State.SERVING).count(),
        answered_today=len(answered),
        answered_in_time=sum(
            1 for joined, served in answered if served is not None and served - joined <= target
        ),
        left_today=today.filter(state=State.LEFT).count(),
    )
