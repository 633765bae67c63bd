"""Routing of the virtual queue, as pure functions: no ORM, no clock, no request (ADR 21).

Who waits is a `Waiting` (a walk-in citizen, or a booked one whose time has come), who serves is
an available `Agent`; the services module loads both, asks these functions, and records the
offer. The rules (issue "desk and queue", 3):

- an agent serves only what they have the skill for: the service, the citizen's language (when
  the citizen asked for one) and sign language (when needed), in their own organisation or one
  that shares its queue with it;
- appointments at their time come before walk-ins; then the higher priority (vulnerable people,
  as the organisation configures); then first come, first served;
- a citizen whose offer an agent let lapse (or declined) is not offered to that agent again: the
  next skilled agent gets them, in their place in the queue;
- among available agents, the one free for longest is offered first (work is shared fairly),
  but a booked citizen goes to the agent they were booked with when that agent is free;
- an agent is offered one citizen at a time and a citizen goes to one agent at a time: `match`
  never pairs either twice, and the services module keeps that true across transactions.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Waiting:
    id: int
    organisation_id: int
    service_id: int
    joined_at: dt.datetime
    language: str = ""  # "" when the citizen did not ask for a language
    sign_language: bool = False
    priority: int = 0  # higher goes first
    due: dt.datetime | None = None  # a booked citizen's appointment time
    passed_by: frozenset[int] = field(default_factory=frozenset)  # agents who let it lapse
    preferred: int | None = None  # a booked citizen's own agent, offered first when free


@dataclass(frozen=True)
class Agent:
    id: int
    organisation_id: int
    services: frozenset[int]
    languages: frozenset[str]
    available_since: dt.datetime
    sign_language: bool = False
    # Organisations whose queues this agent also serves (their agreement to share agents).
    serves_for: frozenset[int] = field(default_factory=frozenset)


def ready(waiting: Waiting, now: dt.datetime) -> bool:
    """A booked citizen is routed from their appointment's time, a walk-in at once."""
    return waiting.due is None or waiting.due <= now


def rank(waiting: Waiting) -> tuple[int, int, dt.datetime, int]:
    """Sort key of a ready citizen: appointments first, then priority, then arrival (for
    appointments, their time), then the order of entry."""
    booked = waiting.due is not None
    return (0 if booked else 1, -waiting.priority, waiting.due or waiting.joined_at, waiting.id)


def can_serve(agent: Agent, waiting: Waiting) -> bool:
    return (
        (
            waiting.organisation_id == agent.organisation_id
            or waiting.organisation_id in agent.serves_for
        )
        and waiting.service_id in agent.services
        and (not waiting.language or waiting.language in agent.languages)
        and (agent.sign_language or not waiting.sign_language)
        and agent.id not in waiting.passed_by
    )


def next_for(agent: Agent, waiting: Iterable[Waiting], now: dt.datetime) -> Waiting | None:
    """The citizen to offer `agent`, who has just become available: the first in the queue's
    order among those the agent can serve; None when there is nobody."""
    best: Waiting | None = None
    best_rank: tuple[int, int, dt.datetime, int] | None = None
    for candidate in waiting:
        if not ready(candidate, now) or not can_serve(agent, candidate):
            continue
        candidate_rank = rank(candidate)
        if best_rank is None or candidate_rank < best_rank:
            best, best_rank = candidate, candidate_rank
    return best


def in_turn_for(agent: Agent, waiting: Iterable[Waiting], now: dt.datetime) -> list[Waiting]:
    """Everyone `agent` can serve now, in the queue's order: `next_for` first, then whom to
    offer if that one was taken by another agent a moment before."""
    return sorted((w for w in waiting if ready(w, now) and can_serve(agent, w)), key=rank)


def agent_for(waiting: Waiting, agents: Iterable[Agent]) -> Agent | None:
    """The available agent to offer `waiting` to: a booked citizen's own agent when they are
    among them, else the one free for longest among those with the skill; None when nobody can
    serve them now."""
    skilled = [agent for agent in agents if can_serve(agent, waiting)]
    for agent in skilled:
        if agent.id == waiting.preferred:
            return agent
    return min(skilled, key=lambda agent: (agent.available_since, agent.id), default=None)


def match(
    agents: Sequence[Agent], waiting: Sequence[Waiting], now: dt.datetime
) -> list[tuple[Agent, Waiting]]:
    """Offers for everyone available at once (after a pause, or when a queue opens): citizens in
    the queue's order, each to the skilled agent free for longest who is not yet taken. Each
    agent and each citizen appears at most once."""
    free = {agent.id: agent for agent in agents}
    offers: list[tuple[Agent, Waiting]] = []
    for candidate in sorted((w for w in waiting if ready(w, now)), key=rank):
        if not free:
            break
        agent = agent_for(candidate, free.values())
        if agent is not None:
            offers.append((agent, candidate))
            del free[agent.id]
    return offers


def estimate_wait(
    *, ahead: int, handling: Sequence[dt.timedelta], agents: int, default: dt.timedelta
) -> tuple[dt.timedelta, dt.timedelta] | None:
    """An honest range for the wait of a citizen with `ahead` people before them: the typical
    (median) and a long (third quartile) handling time of recent calls — or `default` when
    there are too few — times the rounds of calls before their turn with `agents` skilled
    agents at work. None when nobody with the skill is at work: no number would be honest."""
    if agents <= 0:
        return None
    times = sorted(handling) if len(handling) >= 5 else [default]
    typical = times[len(times) // 2]
    long = times[(len(times) * 3) // 4]
    rounds = ahead // agents + (1 if ahead % agents else 0)
    if ahead == 0:
        return dt.timedelta(0), typical / 2  # the next free agent: within about half a call
    return typical * rounds, long * (rounds + 1)
