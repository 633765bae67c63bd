"""The supervisor's overview against a seeded day, its answers counted here independently."""

from __future__ import annotations

import datetime as dt

import pytest

from finestreta.queueing import services
from finestreta.queueing.models import QueueEntry
from finestreta.queueing.overview import overview
from tests.factories import MembershipFactory, ServiceFactory

# 10:00 in Barcelona (UTC+1 in December); the day began at 23:00 UTC the day before.
NOW = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC)
MIN = dt.timedelta(minutes=1)


@pytest.mark.django_db
def test_the_overview_shows_agents_queues_calls_and_today_s_service_level(personas) -> None:
    other = ServiceFactory(organisation=personas.org_a, name="Beques", offers_video=True)
    available = MembershipFactory(organisation=personas.org_a)
    paused = MembershipFactory(organisation=personas.org_a)
    services.set_desk_status(membership=available, state="available", now=NOW - 30 * MIN)
    services.set_desk_status(
        membership=paused, state="paused", reason="training", now=NOW - 5 * MIN
    )
    MembershipFactory(organisation=personas.org_b)  # another organisation's agent: not shown

    def entry(service, joined, **kw):  # type: ignore[no-untyped-def]
        return QueueEntry.objects.create(
            organisation=personas.org_a,
            service=service,
            channel="video",
            name="X",
            joined_at=joined,
            **kw,
        )

    # Waiting now: two for service A (the first for 40 minutes), one for the other.
    entry(personas.service_a, NOW - 40 * MIN)
    entry(personas.service_a, NOW - 3 * MIN, state="offered", offered_to=available)
    entry(other, NOW - 10 * MIN)
    # Today: answered in 2 and 9 minutes (target 5), one in a call now (answered in 4), one
    # left; yesterday's (before local midnight) do not count.
    entry(personas.service_a, NOW - 60 * MIN, state="served", served_at=NOW - 58 * MIN)
    entry(other, NOW - 50 * MIN, state="served", served_at=NOW - 41 * MIN)
    entry(personas.service_a, NOW - 20 * MIN, state="serving", served_at=NOW - 16 * MIN)
    entry(personas.service_a, NOW - 15 * MIN, state="left")
    entry(personas.service_a, NOW - 11 * 60 * MIN, state="served", served_at=NOW - 600 * MIN)

    seen = overview(organisation=personas.org_a, now=NOW)
    assert [(a.membership_id, a.state, a.reason) for a in seen.agents] == [
        (available.pk, "available", ""),
        (paused.pk, "paused", "training"),
    ]
    assert [(q.service_id, q.waiting, q.longest) for q in seen.queues] == [
        (personas.service_a.pk, 2, 40 * MIN),
        (other.pk, 1, 10 * MIN),
    ]
    assert seen.queues[1].service == "Beques"
    assert seen.in_calls == 1
    assert (seen.answered_today, seen.answered_in_time, seen.left_today) == (3, 2, 1)
    assert seen.service_level == pytest.approx(2 / 3)


@pytest.mark.django_db
def test_before_anybody_is_answered_there_is_no_service_level(personas) -> None:
    assert overview(organisation=personas.org_a, now=NOW).service_level is None
