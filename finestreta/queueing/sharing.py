"""Queues shared between organisations (ADR 25): which agreements are in force, what they let a
partner's agent attend, and the one narrow way such an agent reaches a host's data — the
attention they are serving now, nothing else.

An agreement is in force when both organisations' administrators have approved it, today is
between its dates and neither has revoked it. Its partner's chosen agents then have the skill for
the host's listed procedures (routing's `serves_for` and `services`); routing offers them the
host's citizens as it offers their own. Accepting makes the attention an appointment *of the
host* whose agent is the partner's agent (the host stays responsible for the data; the agent's
own agenda stays protected against overlaps). While — and only while — that agent serves it,
they may open its call and finish it at their desk; the host's agendas, appointments, reports and
every other citizen stay out of their reach.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from django.db import connection
from django.db.models import Q, QuerySet
from django.utils import timezone

from finestreta.appointments.models import Appointment
from finestreta.lib import prepared
from finestreta.queueing.models import QueueEntry, SharingAgreement


def in_force(now: dt.datetime) -> Q:
    today = timezone.localdate(now)
    return (
        Q(
            host_approved_at__isnull=False,
            partner_approved_at__isnull=False,
            revoked_at__isnull=True,
        )
        & Q(starts_on__lte=today)
        & (Q(ends_on__isnull=True) | Q(ends_on__gte=today))
        & Q(host__is_active=True, partner__is_active=True)
    )


def agreements_in_force(now: dt.datetime) -> QuerySet[SharingAgreement]:
    return SharingAgreement.objects.filter(in_force(now))


@dataclass(frozen=True)
class SharedSkills:
    organisations: frozenset[int]  # hosts whose queues the agent also serves
    services: frozenset[int]  # the hosts' procedures they may attend


NONE = SharedSkills(frozenset(), frozenset())


def shared_skills(membership_ids: Iterable[int], now: dt.datetime) -> dict[int, SharedSkills]:
    """What agreements in force add to each of these agents' skills (one query)."""
    through = SharingAgreement.agents.through
    services = SharingAgreement.services.through
    ids = list(membership_ids)
    if not ids:
        return {}
    found: dict[int, tuple[set[int], set[int]]] = {}
    rows = (
        through.objects.filter(membership_id__in=ids, sharingagreement__in=agreements_in_force(now))
        .values_list("membership_id", "sharingagreement__host_id", "sharingagreement_id")
        .distinct()
    )
    agreement_services: dict[int, set[int]] = {}
    listed = list(rows)
    for agreement_id, service_id in services.objects.filter(
        sharingagreement_id__in={row[2] for row in listed}
    ).values_list("sharingagreement_id", "service_id"):
        agreement_services.setdefault(agreement_id, set()).add(service_id)
    for member_id, host_id, agreement_id in listed:
        orgs, services_ = found.setdefault(member_id, (set(), set()))
        orgs.add(host_id)
        services_ |= agreement_services.get(agreement_id, set())
    return {
        member_id: SharedSkills(frozenset(orgs), frozenset(services_))
        for member_id, (orgs, services_) in found.items()
    }


def skills_of(membership_id: int, now: dt.datetime) -> SharedSkills:
    return agent_skills(membership_id, now)[1]


def agent_skills(membership_id: int, now: dt.datetime) -> tuple[frozenset[int], SharedSkills]:
    """One agent's own procedures and what agreements in force add, in one read: it runs for
    every routing decision (bench/queue_routing.py), where building two ORM queries cost more
    than running them. The same rules as `in_force`."""
    sql, params = skills_query(membership_id, now)
    return skills_from(prepared.fetch(sql, params))


def skills_query(membership_id: int, now: dt.datetime) -> tuple[str, list[object]]:
    """The SQL of `agent_skills` and its parameters, for a caller that joins it to a read of
    its own (a routing decision reads it with the agent's locked desk): rows of (service,
    0) for the agent's own procedures and (service, host) for those an agreement adds."""
    from finestreta.accounts.models import Membership
    from finestreta.tenants.models import Organisation

    own = Membership.services.through._meta.db_table
    agents = SharingAgreement.agents.through._meta.db_table
    shared = SharingAgreement.services.through._meta.db_table
    agreements = SharingAgreement._meta.db_table
    organisations = Organisation._meta.db_table
    today = connection.ops.adapt_datefield_value(timezone.localdate(now))
    sql = f"""
        SELECT service_id, 0 AS host_id FROM {own} WHERE membership_id = %s
        UNION ALL
        SELECT s.service_id, a.host_id
        FROM {agents} g
        JOIN {agreements} a ON a.id = g.sharingagreement_id
        JOIN {shared} s ON s.sharingagreement_id = a.id
        JOIN {organisations} h ON h.id = a.host_id
        JOIN {organisations} p ON p.id = a.partner_id
        WHERE g.membership_id = %s
          AND a.host_approved_at IS NOT NULL AND a.partner_approved_at IS NOT NULL
          AND a.revoked_at IS NULL AND a.starts_on <= %s
          AND (a.ends_on IS NULL OR a.ends_on >= %s)
          AND h.is_active = %s AND p.is_active = %s
    """  # noqa: S608 - only table names are formatted in
    return sql, [membership_id, membership_id, today, today, True, True]


def skills_from(rows: Iterable[Sequence[object]]) -> tuple[frozenset[int], SharedSkills]:
    """`agent_skills` from the rows of `skills_query` (a row of NULLs, from an outer join,
    adds nothing)."""
    pairs = [(int(service), int(host or 0)) for service, host in rows if service is not None]  # type: ignore[call-overload]
    services = frozenset(service for service, host in pairs if not host)
    hosts = frozenset(host for _service, host in pairs if host)
    if not hosts:
        return services, NONE
    return services, SharedSkills(hosts, frozenset(service for service, host in pairs if host))


def helping_agents(host_id: int, now: dt.datetime) -> list[int]:
    """The partners' agents who may serve `host`'s queue now."""
    return list(
        SharingAgreement.agents.through.objects.filter(
            sharingagreement__in=agreements_in_force(now).filter(host=host_id),
            membership__is_active=True,
        )
        .values_list("membership_id", flat=True)
        .distinct()
    )


def serving_for_host(membership_id: int, appointment: Appointment) -> bool:
    """The partner's agent is attending this host appointment now (taken from the shared
    queue): the only host data within their reach."""
    return QueueEntry.objects.filter(
        appointment=appointment, served_by=membership_id, state=QueueEntry.State.SERVING
    ).exists()
