"""The routing rules, one by one, on small queues (the simulation puts them together)."""

from __future__ import annotations

import datetime as dt

from finestreta.queueing.routing import Agent, Waiting, agent_for, can_serve, match, next_for

NOW = dt.datetime(2026, 12, 1, 10, 0, tzinfo=dt.UTC)
MIN = dt.timedelta(minutes=1)


def agent(id_: int = 1, *, org: int = 1, services=(10,), languages=("ca", "es"), since=NOW, **kw):  # type: ignore[no-untyped-def]
    return Agent(
        id=id_,
        organisation_id=org,
        services=frozenset(services),
        languages=frozenset(languages),
        available_since=since,
        **kw,
    )


def waiting(id_: int, *, org: int = 1, service: int = 10, joined=NOW - 10 * MIN, **kw):  # type: ignore[no-untyped-def]
    return Waiting(id=id_, organisation_id=org, service_id=service, joined_at=joined, **kw)


def test_an_agent_gets_the_citizen_who_came_first() -> None:
    queue = [waiting(2, joined=NOW - 5 * MIN), waiting(1, joined=NOW - 9 * MIN)]
    assert next_for(agent(), queue, NOW).id == 1


def test_an_appointment_at_its_time_comes_before_walk_ins_who_came_earlier() -> None:
    queue = [waiting(1, joined=NOW - 30 * MIN), waiting(2, joined=NOW - MIN, due=NOW - MIN)]
    assert next_for(agent(), queue, NOW).id == 2


def test_an_appointment_not_yet_due_waits_for_its_time() -> None:
    queue = [waiting(1, joined=NOW - 30 * MIN, due=NOW + 5 * MIN)]
    assert next_for(agent(), queue, NOW) is None
    assert next_for(agent(), queue, NOW + 5 * MIN).id == 1


def test_a_higher_priority_goes_first_and_arrival_decides_within_a_priority() -> None:
    queue = [
        waiting(1, joined=NOW - 30 * MIN),
        waiting(2, joined=NOW - 2 * MIN, priority=1),
        waiting(3, joined=NOW - 3 * MIN, priority=1),
    ]
    assert [w.id for _a, w in match([agent(1), agent(2), agent(3)], queue, NOW)] == [3, 2, 1]


def test_an_agent_serves_only_with_the_skill_service_language_and_sign_language() -> None:
    catalan = agent(languages=("ca",))
    assert not can_serve(catalan, waiting(1, service=11))
    assert not can_serve(catalan, waiting(1, language="en"))
    assert can_serve(catalan, waiting(1, language="ca"))
    assert can_serve(catalan, waiting(1))  # no language asked for
    assert not can_serve(catalan, waiting(1, sign_language=True))
    assert can_serve(agent(sign_language=True), waiting(1, sign_language=True))


def test_a_citizen_the_first_agent_cannot_serve_does_not_block_the_next() -> None:
    queue = [waiting(1, language="en", joined=NOW - 9 * MIN), waiting(2, joined=NOW - MIN)]
    assert next_for(agent(languages=("ca",)), queue, NOW).id == 2
    assert next_for(agent(languages=("ca", "en")), queue, NOW).id == 1


def test_another_organisation_s_queue_is_served_only_where_it_shares_its_agents() -> None:
    theirs = waiting(1, org=2)
    assert not can_serve(agent(org=1), theirs)
    assert can_serve(agent(org=1, serves_for=frozenset({2})), theirs)


def test_a_lapsed_offer_passes_to_the_next_agent_and_never_back() -> None:
    lapsed = waiting(1, passed_by=frozenset({7}))
    assert next_for(agent(7), [lapsed], NOW) is None
    assert agent_for(lapsed, [agent(7, since=NOW - 9 * MIN), agent(8)]).id == 8


def test_the_agent_free_for_longest_is_offered_first() -> None:
    agents = [agent(1, since=NOW - MIN), agent(2, since=NOW - 9 * MIN), agent(3, since=NOW)]
    assert agent_for(waiting(1), agents).id == 2


def test_match_pairs_each_agent_and_each_citizen_at_most_once() -> None:
    agents = [agent(i, since=NOW - i * MIN) for i in range(1, 4)]
    queue = [waiting(i, joined=NOW - (10 - i) * MIN) for i in range(1, 6)]
    offers = match(agents, queue, NOW)
    assert len(offers) == 3
    assert len({a.id for a, _w in offers}) == 3 and len({w.id for _a, w in offers}) == 3
    # The three first citizens, the longest-free agent taking the first.
    assert [(a.id, w.id) for a, w in offers] == [(3, 1), (2, 2), (1, 3)]


def test_the_wait_is_a_range_from_recent_calls_and_the_agents_at_work() -> None:
    from finestreta.queueing.routing import estimate_wait

    calls = [dt.timedelta(minutes=m) for m in (4, 5, 6, 7, 8, 9, 20)]
    default = dt.timedelta(minutes=15)
    assert estimate_wait(ahead=6, handling=calls, agents=3, default=default) == (
        2 * dt.timedelta(minutes=7),
        3 * dt.timedelta(minutes=9),
    )
    # Too few calls yet: the service's usual duration.
    assert estimate_wait(ahead=1, handling=calls[:2], agents=1, default=default) == (
        default,
        2 * default,
    )
    # Next in line: within about half a call.
    assert estimate_wait(ahead=0, handling=calls, agents=2, default=default) == (
        dt.timedelta(0),
        dt.timedelta(minutes=3.5),
    )
    # Nobody with the skill at work: no number.
    assert estimate_wait(ahead=0, handling=calls, agents=0, default=default) is None
