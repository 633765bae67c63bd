"""Offers against the real database: the same choice as the pure rules over the whole waiting
list, one offer per agent and one agent per citizen even when many agents ask at once, lapses
and declines that pass the citizen on, accepting and ending a call."""

from __future__ import annotations

import datetime as dt
import random
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import IntegrityError, connection, transaction

from finestreta.catalogue.models import Service
from finestreta.lib import prepared
from finestreta.queueing import routing, services
from finestreta.queueing.models import DeskStatus, Lapse, QueueEntry
from tests.factories import MembershipFactory, ServiceFactory

NOW = dt.datetime(2026, 12, 1, 10, 0, tzinfo=dt.UTC)
SECOND = dt.timedelta(seconds=1)
State = QueueEntry.State


def make_agent(personas, services_=None, *, since=NOW, languages=("ca", "es"), sign=False):  # type: ignore[no-untyped-def]
    member = MembershipFactory(
        organisation=personas.org_a, languages=list(languages), sign_language=sign
    )
    member.services.set(services_ or [personas.service_a])
    services.set_desk_status(membership=member, state="available", now=since)
    return member


def walk_in(personas, name="Citizen", *, at=NOW - 60 * SECOND, service=None, **kw):  # type: ignore[no-untyped-def]
    return services.enter_queue(
        organisation=personas.org_a,
        service=service or personas.service_a,
        channel="video",
        name=name,
        now=at,
        **kw,
    )


@pytest.mark.django_db
def test_the_offer_is_the_pure_rules_choice_over_the_whole_waiting_list(personas) -> None:
    rng = random.Random(7)
    other = ServiceFactory(organisation=personas.org_a, offers_video=True)
    for n in range(150):
        booked = rng.random() < 0.2
        joined = NOW - rng.randint(1, 3600) * SECOND
        entry = walk_in(
            personas,
            f"Citizen {n}",
            at=joined,
            service=rng.choice([personas.service_a, other]),
            language=rng.choice(["", "", "ca", "es", "en"]),
            sign_language=rng.random() < 0.1,
            priority=1 if rng.random() < 0.1 else 0,
        )
        if booked:
            QueueEntry.objects.filter(pk=entry.pk).update(
                due=joined + rng.randint(-600, 600) * SECOND
            )
    agents = [
        make_agent(personas, [personas.service_a], languages=("ca",)),
        make_agent(personas, [other], languages=("ca", "es", "en")),
        make_agent(personas, [personas.service_a, other], sign=True),
    ]
    for member in agents:
        desk = DeskStatus.objects.get(membership=member)
        everyone = [services.as_waiting(e) for e in QueueEntry.objects.filter(state=State.WAITING)]
        expected = routing.next_for(services.as_agent(member, desk), everyone, NOW)
        offered = services.offer_next(membership=member, now=NOW)
        assert offered is not None and expected is not None
        assert offered.pk == expected.id
        assert (offered.state, offered.offered_to_id) == (State.OFFERED, member.pk)


@pytest.mark.django_db
def test_an_agent_holds_one_offer_and_the_database_refuses_a_second(personas) -> None:
    agent = make_agent(personas)
    first, second = walk_in(personas, "A"), walk_in(personas, "B")
    assert services.offer_next(membership=agent, now=NOW).pk == first.pk
    assert services.offer_next(membership=agent, now=NOW) is None
    with pytest.raises(IntegrityError):
        QueueEntry.objects.filter(pk=second.pk).update(state=State.OFFERED, offered_to=agent)


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("many_connections")
def test_thirty_agents_asking_at_once_never_share_a_citizen_or_get_two(personas) -> None:
    agents = [make_agent(personas) for _ in range(30)]
    citizens = [walk_in(personas, f"C{n}", at=NOW - (100 - n) * SECOND) for n in range(12)]
    barrier = threading.Barrier(len(agents))

    def ask(member) -> int | None:  # type: ignore[no-untyped-def]
        try:
            barrier.wait(timeout=30)
            offered = services.offer_next(membership=member, now=NOW)
            return offered.pk if offered else None
        except IntegrityError:
            return None
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=len(agents)) as pool:
        outcomes = [pk for pk in pool.map(ask, agents) if pk is not None]
    assert len(outcomes) == len(set(outcomes))  # nobody offered twice
    offered = QueueEntry.objects.filter(state=State.OFFERED)
    assert offered.count() == len(outcomes)
    assert len(set(offered.values_list("offered_to", flat=True))) == len(outcomes)
    # Whoever was not offered in the rush is offered by the next round, in the queue's order.
    services.route(organisation=personas.org_a, now=NOW)
    assert QueueEntry.objects.filter(state=State.OFFERED).count() == len(citizens)


@pytest.mark.django_db
def test_a_lapsed_offer_goes_to_the_next_agent_and_the_first_is_paused(personas) -> None:
    first = make_agent(personas, since=NOW - 60 * SECOND)
    second = make_agent(personas, since=NOW)
    citizen = walk_in(personas)
    made = services.route(organisation=personas.org_a, now=NOW)
    assert [(e.pk, e.offered_to_id) for e in made] == [(citizen.pk, first.pk)]
    later = NOW + dt.timedelta(seconds=31)
    assert services.expire_offers(now=later) == 1
    assert DeskStatus.objects.get(membership=first).state == "paused"
    assert Lapse.objects.filter(entry=citizen, membership=first).exists()
    made = services.route(organisation=personas.org_a, now=later)
    assert [(e.pk, e.offered_to_id) for e in made] == [(citizen.pk, second.pk)]


@pytest.mark.django_db
def test_a_declined_citizen_keeps_their_place_and_comes_back_to_that_agent_later(
    personas,
) -> None:
    agent = make_agent(personas)
    first, second = walk_in(personas, "A", at=NOW - 90 * SECOND), walk_in(personas, "B")
    assert services.offer_next(membership=agent, now=NOW).pk == first.pk
    services.decline_offer(membership=agent, entry_id=first.pk, now=NOW)
    assert services.offer_next(membership=agent, now=NOW).pk == second.pk
    services.decline_offer(membership=agent, entry_id=second.pk, now=NOW)
    assert services.offer_next(membership=agent, now=NOW + 10 * SECOND) is None
    back = services.offer_next(membership=agent, now=NOW + dt.timedelta(seconds=121))
    assert back is not None and back.pk == first.pk  # still first in the queue


@pytest.mark.django_db
def test_accepting_starts_the_call_once_and_ending_it_frees_the_agent_for_the_next(
    personas,
) -> None:
    agent, other = make_agent(personas), make_agent(personas, since=NOW + SECOND)
    first, second = walk_in(personas, "A", at=NOW - 90 * SECOND), walk_in(personas, "B")
    offered = services.offer_next(membership=agent, now=NOW)
    with pytest.raises(services.QueueError):  # not theirs
        services.accept_offer(membership=other, entry_id=offered.pk, now=NOW)
    serving = services.accept_offer(membership=agent, entry_id=first.pk, now=NOW + SECOND)
    assert (serving.state, serving.served_by_id) == (State.SERVING, agent.pk)
    assert DeskStatus.objects.get(membership=agent).state == "in_call"
    with pytest.raises(services.QueueError):  # twice
        services.accept_offer(membership=agent, entry_id=first.pk, now=NOW + SECOND)
    assert services.offer_next(membership=agent, now=NOW + SECOND) is None  # in a call
    services.finish_call(membership=agent, entry_id=first.pk, now=NOW + 600 * SECOND)
    assert QueueEntry.objects.get(pk=first.pk).state == State.SERVED
    made = services.route(organisation=personas.org_a, now=NOW + 601 * SECOND)
    assert [e.pk for e in made] == [second.pk]


@pytest.mark.django_db
def test_an_offer_too_late_to_accept_is_refused(personas) -> None:
    agent = make_agent(personas)
    citizen = walk_in(personas)
    services.offer_next(membership=agent, now=NOW)
    with pytest.raises(services.QueueError) as refused:
        services.accept_offer(membership=agent, entry_id=citizen.pk, now=NOW + 31 * SECOND)
    assert refused.value.code == "offer_gone"


@pytest.mark.django_db
def test_a_citizen_who_leaves_is_never_offered_and_an_offer_is_withdrawn(personas) -> None:
    agent = make_agent(personas)
    citizen = walk_in(personas)
    services.offer_next(membership=agent, now=NOW)
    assert services.leave_queue(entry=citizen, now=NOW)
    assert QueueEntry.objects.get(pk=citizen.pk).state == State.LEFT
    assert services.offer_next(membership=agent, now=NOW) is None


@pytest.mark.django_db
def test_entering_the_queue_refuses_what_the_service_cannot_take(personas) -> None:
    phone_less = Service.objects.get(pk=personas.service_a.pk)
    with pytest.raises(services.QueueError) as refused:
        walk_in(personas, "  ")
    assert refused.value.code == "no_name"
    with pytest.raises(services.QueueError) as refused:
        services.enter_queue(
            organisation=personas.org_b,
            service=phone_less,
            channel="video",
            name="X",
            now=NOW,
        )
    assert refused.value.code == "no_service"
    with pytest.raises(services.QueueError) as refused:
        services.enter_queue(
            organisation=personas.org_a, service=phone_less, channel="in_person", name="X", now=NOW
        )
    assert refused.value.code == "no_channel"


@pytest.mark.django_db
def test_a_waiting_citizen_sees_who_is_ahead_and_an_honest_range_for_the_wait(personas) -> None:
    first = walk_in(personas, "A", at=NOW - 300 * SECOND)
    urgent = walk_in(personas, "B", at=NOW - 10 * SECOND, priority=1)
    me = walk_in(personas, "C", at=NOW - 200 * SECOND)
    later = walk_in(personas, "D", at=NOW - 100 * SECOND)
    elsewhere = ServiceFactory(organisation=personas.org_a, offers_video=True)
    walk_in(personas, "E", at=NOW - 900 * SECOND, service=elsewhere)  # another queue
    # Nobody with the skill at work yet: no number.
    position = services.queue_position(entry=me, now=NOW)
    assert (position.ahead, position.wait) == (2, None)
    assert services.queue_position(entry=urgent, now=NOW).ahead == 0
    assert services.queue_position(entry=later, now=NOW).ahead == 3
    # Two skilled agents at work (one speaks only Catalan: it still counts for these).
    make_agent(personas)
    make_agent(personas, languages=("ca",))
    make_agent(personas, [elsewhere])  # another service's agent does not count
    usual = dt.timedelta(minutes=personas.service_a.duration_minutes)
    assert services.queue_position(entry=me, now=NOW).wait == (usual, 2 * usual)
    # An English speaker waits for the one agent... who speaks no English: no number.
    english = walk_in(personas, "F", language="en")
    assert services.queue_position(entry=english, now=NOW).wait is None
    assert services.queue_position(entry=first, now=NOW).ahead == 1  # after the urgent one


@pytest.mark.django_db
def test_a_round_of_offers_is_the_pure_rules_match_of_free_agents_and_the_queue(personas) -> None:
    rng = random.Random(11)
    other = ServiceFactory(organisation=personas.org_a, offers_video=True)
    for n in range(60):
        walk_in(
            personas,
            f"Citizen {n}",
            at=NOW - rng.randint(1, 3600) * SECOND,
            service=rng.choice([personas.service_a, other]),
            language=rng.choice(["", "ca", "en"]),
            priority=1 if rng.random() < 0.2 else 0,
        )
    for _ in range(8):
        make_agent(
            personas,
            rng.sample([personas.service_a, other], rng.randint(1, 2)),
            since=NOW - rng.randint(1, 600) * SECOND,
            languages=rng.choice([("ca",), ("ca", "en")]),
        )
    agents = [services.as_agent(desk.membership, desk) for desk in DeskStatus.objects.all()]
    queue = [services.as_waiting(e) for e in QueueEntry.objects.filter(state=State.WAITING)]
    expected = {(a.id, w.id) for a, w in routing.match(agents, queue, NOW)}
    made = services.route(organisation=personas.org_a, now=NOW)
    assert {(e.offered_to_id, e.pk) for e in made} == expected
    assert len(made) == 8


def _setting(name: str) -> str:
    with connection.cursor() as cursor:
        cursor.execute(f"SHOW {name}")
        return str(cursor.fetchone()[0])


class _RolledBack(Exception):
    pass


@pytest.mark.django_db(transaction=True)
def test_a_decision_runs_prepared_and_on_postgresql_commits_without_waiting_for_the_disk(
    personas, monkeypatch
) -> None:
    # ADR 30. On SQLite the same decision runs through Django's cursor; the offer is the same.
    agent = make_agent(personas)
    first, second = walk_in(personas, "First"), walk_in(personas, "Second", at=NOW - SECOND)
    postgres = connection.vendor == "postgresql"
    writes: list[str] = []
    run = prepared.run
    monkeypatch.setattr(prepared, "run", lambda sql, params: writes.append(sql) or run(sql, params))
    relaxed = "set_config('synchronous_commit', 'off', true)"

    connection.close()  # a new session: nothing prepared, nothing set
    with pytest.raises(_RolledBack), transaction.atomic():  # in a caller's transaction
        assert services.offer_next(membership=agent, now=NOW).pk == first.pk
        if postgres:  # the caller's commit stays synchronous
            assert _setting("synchronous_commit") == "on"
            assert _setting("plan_cache_mode") == "force_generic_plan"
        raise _RolledBack
    assert relaxed not in writes[-1]
    if postgres:  # the rollback undid the session's SET: the next decision sets it again
        assert _setting("plan_cache_mode") == "auto"
    assert QueueEntry.objects.get(pk=first.pk).state == State.WAITING

    offered = services.offer_next(membership=agent, now=NOW)  # on its own: its own commit
    assert offered is not None and offered.pk == first.pk
    assert offered.joined_at == first.joined_at and offered.sign_language is False
    assert (relaxed in writes[-1]) is postgres
    assert QueueEntry.objects.get(pk=first.pk).offered_to_id == agent.pk
    assert QueueEntry.objects.get(pk=second.pk).state == State.WAITING
    if postgres:
        assert _setting("synchronous_commit") == "on"  # that transaction only
        assert _setting("plan_cache_mode") == "force_generic_plan"
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM pg_prepared_statements")
            assert cursor.fetchone()[0] >= 3  # the desk and skills, the candidates, the offer
    assert services.offer_next(membership=agent, now=NOW) is None  # one offer at a time


@pytest.mark.django_db(transaction=True)
def test_an_agent_who_pauses_while_being_offered_holds_no_offer_afterwards(personas) -> None:
    agent = make_agent(personas)
    walk_in(personas, "First")
    barrier = threading.Barrier(2)
    results: list[object] = []

    def offer() -> None:
        barrier.wait()
        results.append(services.offer_next(membership=agent, now=NOW))
        connection.close()

    def pause() -> None:
        barrier.wait()
        services.set_desk_status(membership=agent, state="paused", reason="break", now=NOW)
        connection.close()

    for _ in range(5):
        with ThreadPoolExecutor(2) as pool:
            list(pool.map(lambda job: job(), [offer, pause]))
        # Whichever came first, a paused agent holds no offer.
        assert not QueueEntry.objects.filter(offered_to=agent, state=State.OFFERED).exists()
        services.set_desk_status(membership=agent, state="available", now=NOW)
