"""The virtual queue's public API ("attention now"): a citizen enters and leaves the queue, an
agent's desk state changes, offers are made, accepted, declined or let lapse, calls end.

Every decision of who is offered to whom is `routing.next_for` (pure, ADR 21) applied to the
first rows of the waiting list in the queue's order; these functions load those rows and record
the decision in one transaction. The database keeps the two promises that must hold across
processes: an agent holds at most one offer and one call (unique constraints), and a citizen
is offered to one agent at a time (the offer is a conditional update of a still-waiting row).
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from finestreta.accounts.models import Membership
from finestreta.catalogue.models import OutcomeCode, Service
from finestreta.integrations import services as integrations
from finestreta.lib import prepared
from finestreta.queueing import booked, events, routing, sharing, walk_in
from finestreta.queueing.hours import QueueHours, queue_hours  # noqa: F401 - public face
from finestreta.queueing.models import DeskStatus, Lapse, QueueEntry
from finestreta.queueing.walk_in import (  # noqa: F401 - public face
    Ticket,
    get_entry_by_ticket,
    ticket_path,
    ticket_state,
    ticket_token,
)
from finestreta.tenants.models import Organisation

State = QueueEntry.State
Desk = DeskStatus.State

# What routing needs of a queue entry (field and column names alike).
WAITING_FIELDS = (
    "organisation_id",
    "service_id",
    "joined_at",
    "language",
    "sign_language",
    "priority",
    "due",
    "booked_agent_id",
)
# Rows read per part of the waiting list (the booked citizens due, and each service's
# walk-ins) for one decision: the SQL applies the skill rules and each part's order, so the
# first in turn is among the first rows; the others are who to try when another agent took
# them a moment before (if all were, the worker's loop offers again a moment later).
CANDIDATES = 5


class QueueError(Exception):
    """A refused step, with a stable code and words for the person."""

    def __init__(self, code: str, message: object) -> None:
        super().__init__(str(message))
        self.code = code
        self.message = message


def offer_seconds() -> dt.timedelta:
    return dt.timedelta(seconds=settings.QUEUE_OFFER_SECONDS)


def passed_for() -> dt.timedelta:
    return dt.timedelta(seconds=settings.QUEUE_PASSED_SECONDS)


# --- Citizens ------------------------------------------------------------------------------


def enter_queue(
    *,
    organisation: Organisation,
    service: Service,
    channel: str,
    name: str,
    now: dt.datetime,
    phone: str = "",
    email: str = "",
    language: str = "",
    sign_language: bool = False,
    priority: int = 0,
    locale: str = "",
) -> QueueEntry:
    """A citizen asks for attention now. Raises QueueError when the service cannot take them.
    (Whether the queue is open is the caller's check: `join_queue` for the citizen's pages.)"""
    if service.organisation_id != organisation.pk or not service.is_active:
        raise QueueError("no_service", _("This service is not available."))
    if channel not in QueueEntry.Channel.values or channel not in service.channels:
        raise QueueError("no_channel", _("This service is not attended this way."))
    if not name.strip():
        raise QueueError("no_name", _("Write your name."))
    if channel == QueueEntry.Channel.PHONE and not phone:
        raise QueueError("no_phone", _("Write the telephone number to call you back."))
    events.changed(organisation.pk)
    return QueueEntry.objects.create(
        organisation=organisation,
        locale=locale or organisation.default_language,
        nonce=walk_in.new_nonce(),
        service=service,
        channel=channel,
        name=name.strip(),
        phone=phone,
        email=email,
        language=language,
        sign_language=sign_language,
        priority=priority,
        joined_at=now,
    )


def join_queue(
    *,
    organisation: Organisation,
    service: Service,
    channel: str,
    name: str,
    now: dt.datetime,
    phone: str = "",
    email: str = "",
    language: str = "",
    sign_language: bool = False,
    needs_priority: bool = False,
    locale: str = "",
) -> QueueEntry:
    """The citizen's own way in (the "attention now" pages): only while the queue is open, with
    a way to tell them when it is their turn; priority only where the organisation offers it."""
    if not queue_hours(service, now=now).open:
        raise QueueError("closed", _("Attention now is closed for this service at this time."))
    if not phone and not email:
        raise QueueError(
            "no_contact",
            _("Give a mobile phone or an e-mail, so that we can tell you when it is your turn."),
        )
    priority = 1 if needs_priority and organisation.queue_priority_help else 0
    return enter_queue(
        organisation=organisation,
        service=service,
        channel=channel,
        name=name,
        now=now,
        phone=phone,
        email=email,
        language=language,
        sign_language=sign_language,
        priority=priority,
        locale=locale,
    )


def leave_queue(*, entry: QueueEntry, now: dt.datetime) -> bool:
    """The citizen leaves before being attended (an offer to an agent is withdrawn)."""
    left = QueueEntry.objects.filter(pk=entry.pk, state__in=[State.WAITING, State.OFFERED]).update(
        state=State.LEFT, ended_at=now, offered_to=None
    )
    if left:
        events.changed(entry.organisation_id)
    return bool(left)


@dataclass(frozen=True)
class Position:
    """Where a waiting citizen stands: how many are ahead of them in their service's queue and
    a range for the wait (None when nobody with their skill is at work)."""

    ahead: int
    wait: tuple[dt.timedelta, dt.timedelta] | None


def queue_position(*, entry: QueueEntry, now: dt.datetime) -> Position:
    """For the citizen's status page: those ahead in the same service's queue (in routing's
    order), and an estimate from the service's recent calls and the skilled agents at work."""
    mine = routing.rank(as_waiting(entry))
    others = QueueEntry.objects.filter(
        organisation=entry.organisation_id,
        service=entry.service_id,
        state__in=[State.WAITING, State.OFFERED],
    ).exclude(pk=entry.pk)
    ahead = sum(
        1
        for other in others.only(*WAITING_FIELDS)
        if routing.ready(as_waiting(other), now) and routing.rank(as_waiting(other)) < mine
    )
    served = QueueEntry.objects.filter(
        service=entry.service_id,
        state=State.SERVED,
        ended_at__gte=now - dt.timedelta(days=7),
        served_at__isnull=False,
    ).order_by("-ended_at")[:50]
    handling = [e.ended_at - e.served_at for e in served if e.ended_at and e.served_at]
    at_work = DeskStatus.objects.filter(
        state__in=[Desk.AVAILABLE, Desk.IN_CALL],
        membership__organisation=entry.organisation_id,
        membership__is_active=True,
        membership__services=entry.service_id,
    ).select_related("membership")
    waiting = as_waiting(entry)
    # Their services are filtered in SQL above; languages and sign language here.
    skilled = (as_agent(desk.membership, desk, services={entry.service_id}) for desk in at_work)
    agents = sum(1 for agent in skilled if routing.can_serve(agent, waiting))
    default = dt.timedelta(minutes=entry.service.duration_minutes)
    wait = routing.estimate_wait(ahead=ahead, handling=handling, agents=agents, default=default)
    return Position(ahead=ahead, wait=wait)


# --- Desks ---------------------------------------------------------------------------------


def set_desk_status(
    *, membership: Membership, state: str, now: dt.datetime, reason: str = ""
) -> DeskStatus:
    """The agent says they are available, paused (with a reason) or offline. Becoming available
    starts their turn: the agent free for longest is offered first."""
    if state not in (Desk.AVAILABLE, Desk.PAUSED, Desk.OFFLINE):
        raise QueueError("bad_state", _("Choose available, paused or offline."))
    with transaction.atomic():
        desk, _created = DeskStatus.objects.select_for_update().get_or_create(
            membership=membership, defaults={"state": state, "since": now, "reason": reason}
        )
        if desk.state == Desk.IN_CALL:
            raise QueueError("in_call", _("End the call first."))
        if desk.state != state or desk.reason != reason:
            desk.since = now if desk.state != state else desk.since
            desk.state, desk.reason = state, reason if state == Desk.PAUSED else ""
            desk.save()
        if state != Desk.AVAILABLE:
            withdraw_offer(membership, now)
        events.changed(membership.organisation_id)
    return desk


def withdraw_offer(membership: Membership, now: dt.datetime) -> None:
    """The agent's offer back to the queue, the citizen going to the others first."""
    offered = QueueEntry.objects.filter(offered_to=membership, state=State.OFFERED)
    for entry in offered:
        Lapse.objects.create(entry=entry, membership=membership, at=now)
    offered.update(state=State.WAITING, offered_to=None, offered_at=None, offer_expires_at=None)


# --- Offers --------------------------------------------------------------------------------


def as_agent(
    membership: Membership,
    desk: DeskStatus,
    *,
    services: set[int] | None = None,
    shared: sharing.SharedSkills | None = None,
    now: dt.datetime | None = None,
) -> routing.Agent:
    """The agent as routing sees them: their own skills (`services` when already known, else
    read) and what agreements in force add (`shared` when known, else read for `now`; none
    without either)."""
    if services is None and shared is None and now is not None:
        own, shared = sharing.agent_skills(membership.pk, now)  # one read for both
        services = set(own)
    if services is None:
        services = set(
            Membership.services.through.objects.filter(membership_id=membership.pk).values_list(
                "service_id", flat=True
            )
        )
    if shared is None:
        shared = sharing.skills_of(membership.pk, now) if now is not None else sharing.NONE
    return routing.Agent(
        id=membership.pk,
        organisation_id=membership.organisation_id,
        services=frozenset(services) | shared.services,
        languages=frozenset(membership.languages or []),
        available_since=desk.since,
        sign_language=membership.sign_language,
        serves_for=shared.organisations,
    )


def as_waiting(entry: QueueEntry, passed_by: Iterable[int] = ()) -> routing.Waiting:
    return routing.Waiting(
        id=entry.pk,
        organisation_id=entry.organisation_id,
        service_id=entry.service_id,
        joined_at=entry.joined_at,
        language=entry.language,
        sign_language=entry.sign_language,
        priority=entry.priority,
        due=entry.due,
        passed_by=frozenset(passed_by),
        preferred=entry.booked_agent_id,
    )


def candidates(agent: routing.Agent, now: dt.datetime) -> list[QueueEntry]:
    """The first waiting citizens `agent` may be offered: the booked ones whose time has come
    and the first walk-ins of each of the agent's services, each read along its index and
    stopped after CANDIDATES rows (the skill rules and the agent's recent lapses in SQL; the
    pure rules put them in order). Only the columns routing needs are read.

    Written in SQL rather than built with the ORM: it runs for every decision, and building
    the query took longer than running it (bench/queue_routing.py)."""
    organisations = sorted({agent.organisation_id} | agent.serves_for)
    languages = sorted(agent.languages)
    if not agent.services:
        return []

    def marks(values: list[int] | list[str]) -> str:
        return ", ".join(["%s"] * len(values))

    to_db = connection.ops.adapt_datetimefield_value
    table, lapses = QueueEntry._meta.db_table, Lapse._meta.db_table
    fields = prepared.columns_of(QueueEntry, ["id", *WAITING_FIELDS])
    columns = ", ".join(fields)
    language = "language = ''"
    if languages:
        language = f"(language = '' OR language IN ({marks(languages)}))"
    sign = "" if agent.sign_language else "AND NOT sign_language"
    common = f"""
        state = '{State.WAITING}' AND organisation_id IN ({marks(organisations)})
        AND {language} {sign}
        AND id NOT IN (SELECT entry_id FROM {lapses} WHERE membership_id = %s AND at > %s)
    """  # noqa: S608 - only table names and placeholders are formatted in
    # The state is written in, not a parameter: a prepared statement's generic plan can then
    # use the partial indexes of waiting citizens.
    common_params: list[object] = [
        *organisations,
        *languages,
        agent.id,
        to_db(now - passed_for()),
    ]
    services_ = sorted(agent.services)
    parts = [
        f"""SELECT {columns} FROM (
            SELECT {columns} FROM {table}
            WHERE {common} AND service_id IN ({marks(services_)}) AND due <= %s
            ORDER BY priority DESC, due, id LIMIT %s) AS booked"""  # noqa: S608
    ]
    params = [*common_params, *services_, to_db(now), CANDIDATES]
    for n, service_id in enumerate(services_):  # the same SQL for any services: prepared once
        parts.append(
            f"""SELECT {columns} FROM (
                SELECT {columns} FROM {table}
                WHERE {common} AND service_id = %s AND due IS NULL
                ORDER BY priority DESC, joined_at, id LIMIT %s) AS walk_ins_{n}"""  # noqa: S608
        )
        params += [*common_params, service_id, CANDIDATES]
    return prepared.instances(QueueEntry, fields, " UNION ALL ".join(parts), params)


def offer_next(*, membership: Membership, now: dt.datetime) -> QueueEntry | None:
    """Offer the next citizen to an available agent who holds no offer; None when there is
    nobody for them (or they hold an offer already). The offer lapses after
    QUEUE_OFFER_SECONDS unless accepted. The offer is a conditional update (the citizen must
    still be waiting, the agent still available): when the first in turn was offered to another
    agent a moment before, the next in turn is tried; the database refuses a second offer to one
    agent.

    Three prepared statements and no transaction of their own (ADR 30): the agent's desk and
    skills, the first candidates, the offer. The offer's update is the only write and checks
    the desk again, so the reads need no lock. Inside a caller's transaction they run in a
    savepoint."""
    scope = transaction.atomic() if connection.in_atomic_block else contextlib.nullcontext()
    try:
        with scope:
            desk, (own, shared) = _desk_and_skills(membership, now)
            if desk is None or desk.state != Desk.AVAILABLE:
                return None
            agent = as_agent(membership, desk, services=set(own), shared=shared)
            found = {entry.pk: entry for entry in candidates(agent, now)}
            # The agent's own recent lapses are left out in SQL; nobody else's matter here.
            waiting = [as_waiting(entry) for entry in found.values()]
            for choice in routing.in_turn_for(agent, waiting, now):
                if _take(choice.id, membership, now):
                    events.changed(membership.organisation_id)
                    entry = found[choice.id]
                    entry.state, entry.offered_to = State.OFFERED, membership
                    entry.offered_at, entry.offer_expires_at = now, now + offer_seconds()
                    return entry
    except IntegrityError:  # they hold an offer already (one per agent: a constraint)
        return None
    return None


def _desk_and_skills(
    membership: Membership, now: dt.datetime
) -> tuple[DeskStatus | None, tuple[frozenset[int], sharing.SharedSkills]]:
    """The agent's desk row and their skills (`sharing.agent_skills`) in one read: plain,
    prepared SQL, as it runs for every decision."""
    fields = prepared.columns_of(DeskStatus, ["id", "membership_id", "state", "reason", "since"])
    skills, params = sharing.skills_query(membership.pk, now)
    columns = ", ".join("d." + field for field in fields)
    sql = (
        f"SELECT {columns}, k.service_id, k.host_id"  # noqa: S608 - only names are formatted in
        f" FROM {DeskStatus._meta.db_table} d LEFT JOIN ({skills}) k ON 1 = 1"
        " WHERE d.membership_id = %s"
    )
    rows = prepared.instances(
        DeskStatus, fields, sql, [*params, membership.pk], extra=["service_id", "host_id"]
    )
    if not rows:
        return None, (frozenset(), sharing.NONE)
    skills_ = sharing.skills_from((row.service_id, row.host_id) for row in rows)  # type: ignore[attr-defined]
    return rows[0], skills_


def route(*, organisation: Organisation, now: dt.datetime) -> list[QueueEntry]:
    """Offers for the organisation's available agents who hold none, decided all at once by
    `routing.match` (citizens in the queue's order, each to the skilled agent free for longest):
    the worker's loop, after citizens arrive, offers lapse or calls end. A few reads whatever the
    number of agents, then one conditional update per offer (skipped when the citizen or the
    agent was taken meanwhile)."""
    offered = QueueEntry.objects.filter(state=State.OFFERED).values("offered_to")
    # The organisation's agents, and partners' agents under an agreement in force (ADR 25).
    helping = sharing.helping_agents(organisation.pk, now)
    desks = list(
        DeskStatus.objects.filter(
            Q(membership__organisation=organisation) | Q(membership__in=helping),
            state=Desk.AVAILABLE,
            membership__is_active=True,
        )
        .exclude(membership__in=offered)
        .select_related("membership")
    )
    if not desks:
        return []
    skills: dict[int, set[int]] = {desk.membership_id: set() for desk in desks}
    for member_id, service_id in Membership.services.through.objects.filter(
        membership_id__in=skills
    ).values_list("membership_id", "service_id"):
        skills[member_id].add(service_id)
    shared = sharing.shared_skills(skills, now)
    agents = {
        desk.membership_id: as_agent(
            desk.membership,
            desk,
            services=skills[desk.membership_id],
            shared=shared.get(desk.membership_id, sharing.NONE),
        )
        for desk in desks
    }
    passed: dict[int, set[int]] = {}
    for entry_id, member_id in Lapse.objects.filter(
        membership_id__in=skills, at__gt=now - passed_for()
    ).values_list("entry_id", "membership_id"):
        passed.setdefault(entry_id, set()).add(member_id)
    waiting = [
        as_waiting(entry, passed.get(entry.pk, ()))
        for entry in QueueEntry.objects.filter(organisation=organisation, state=State.WAITING)
        .filter(Q(due__isnull=True) | Q(due__lte=now))
        .only(*WAITING_FIELDS)
    ]
    members = {desk.membership_id: desk.membership for desk in desks}
    made = []
    for agent, citizen in routing.match(list(agents.values()), waiting, now):
        entry = _offer(members[agent.id], citizen.id, now)
        if entry is not None:
            made.append(entry)
    if made:
        events.changed(organisation.pk)
    return made


def _take(entry_id: int, membership: Membership, now: dt.datetime) -> bool:
    """Record one offer if the citizen is still waiting and the agent still available; the
    database refuses a second offer to one agent (IntegrityError). One prepared statement, as
    every decision runs it (bench/queue_routing.py).

    On PostgreSQL the desk is read FOR SHARE: an agent pausing at that moment either waits for
    the offer (and then withdraws it) or is waited for, and the offer, reading the desk again,
    is not made. SQLite runs one writer at a time. Run on its own (autocommit), the offer's
    commit does not wait for the disk (ADR 30): RETURNING calls `set_config` for this
    statement's own transaction, only when the offer is made. A database crash could then lose
    the last fraction of a second of offers, which leaves those citizens waiting as before (an
    offer lapses anyway); the order of changes is kept. In a caller's transaction the caller's
    commit is left as it is."""
    postgres = connection.vendor == "postgresql"
    share = " FOR SHARE" if postgres else ""
    relaxed = postgres and not connection.in_atomic_block
    returning = " RETURNING set_config('synchronous_commit', 'off', true)" if relaxed else ""
    to_db = connection.ops.adapt_datetimefield_value
    # The states are written in, not bound: the statement's generic plan can then use the
    # partial indexes (finestreta.lib.prepared).
    sql = (
        f"UPDATE {QueueEntry._meta.db_table} SET state = '{State.OFFERED}',"  # noqa: S608
        " offered_to_id = %s, offered_at = %s, offer_expires_at = %s"
        f" WHERE id = %s AND state = '{State.WAITING}' AND EXISTS ("
        f"SELECT 1 FROM {DeskStatus._meta.db_table} WHERE membership_id = %s"
        f" AND state = '{Desk.AVAILABLE}'{share}){returning}"
    )
    params = [membership.pk, to_db(now), to_db(now + offer_seconds()), entry_id, membership.pk]
    return prepared.run(sql, params) > 0


def _offer(membership: Membership, entry_id: int, now: dt.datetime) -> QueueEntry | None:
    """One offer of a round, on its own: None when the citizen or the agent was taken
    meanwhile."""
    try:
        with transaction.atomic():
            taken = _take(entry_id, membership, now)
    except IntegrityError:
        return None
    return QueueEntry.objects.get(pk=entry_id) if taken else None


def route_everywhere(*, now: dt.datetime) -> int:
    """The worker's queue loop: lapsed offers back to the queue, then offers for the free agents
    of every organisation with citizens waiting. Safe from several workers at once. Returns the
    offers made."""
    expire_offers(now=now)
    waiting = QueueEntry.objects.filter(state=State.WAITING).values("organisation_id")
    made = 0
    for organisation in Organisation.objects.filter(pk__in=waiting):
        made += len(route(organisation=organisation, now=now))
    return made


def accept_offer(*, membership: Membership, entry_id: int, now: dt.datetime) -> QueueEntry:
    """The agent takes the citizen offered to them: the attention becomes the agent's
    appointment from now (with its video room for a video call), the agent is in a call, and the
    citizen is told it is their turn. When the agent's next appointment starts too soon for
    the call, the citizen goes to the others (QueueError "no_time")."""
    try:
        with transaction.atomic():
            entry = (
                QueueEntry.objects.select_for_update()
                .select_related("service", "organisation")
                .filter(pk=entry_id)
                .first()
            )
            if (
                entry is None
                or entry.state != State.OFFERED
                or entry.offered_to_id != membership.pk
                or (entry.offer_expires_at is not None and entry.offer_expires_at <= now)
            ):
                raise QueueError("offer_gone", _("This citizen is no longer offered to you."))
            if entry.due is not None:  # a booked citizen: their appointment passes to the agent
                appointment = booked.take_over(entry=entry, membership=membership, now=now)
            else:
                appointment = walk_in.make_attention(entry=entry, membership=membership, now=now)
            entry.state, entry.served_by, entry.served_at = State.SERVING, membership, now
            entry.appointment = appointment
            entry.save(update_fields=["state", "served_by", "served_at", "appointment"])
            DeskStatus.objects.filter(membership=membership).update(
                state=Desk.IN_CALL, since=now, reason=""
            )
            if entry.channel == QueueEntry.Channel.VIDEO:
                from finestreta.video.services import get_room

                get_room(appointment)
            if entry.due is None:  # a booked citizen is in the waiting room already
                walk_in.tell_your_turn(entry=entry, appointment=appointment, now=now)
            events.changed(entry.organisation_id)
    except walk_in.NoTimeForCall:
        decline_offer(membership=membership, entry_id=entry_id, now=now)
        raise QueueError("no_time", walk_in.NO_TIME_MESSAGE) from None
    except booked.TakenOver as refusal:
        if refusal.code == "not_booked":  # cancelled meanwhile: out of the queue
            booked.end_entry(entry_id=entry_id, now=now)
        else:
            decline_offer(membership=membership, entry_id=entry_id, now=now)
        raise QueueError(refusal.code, refusal.message) from None
    return entry


def decline_offer(*, membership: Membership, entry_id: int, now: dt.datetime) -> None:
    """The agent passes: the citizen keeps their place and goes to the others first."""
    with transaction.atomic():
        entry = (
            QueueEntry.objects.select_for_update()
            .filter(pk=entry_id, state=State.OFFERED, offered_to=membership)
            .first()
        )
        if entry is None:
            raise QueueError("offer_gone", _("This citizen is no longer offered to you."))
        withdraw_offer(membership, now)
        events.changed(membership.organisation_id)


def expire_offers(*, now: dt.datetime) -> int:
    """Offers not accepted in time go back to the queue (to other agents first); the agent who
    did not answer is paused, as they are probably away from the desk."""
    expired = 0
    due = QueueEntry.objects.filter(state=State.OFFERED, offer_expires_at__lte=now)
    for entry_id, agent_id in list(due.values_list("pk", "offered_to")):
        with transaction.atomic():
            back = QueueEntry.objects.filter(
                pk=entry_id, state=State.OFFERED, offered_to_id=agent_id, offer_expires_at__lte=now
            ).update(state=State.WAITING, offered_to=None, offered_at=None, offer_expires_at=None)
            if not back:
                continue  # accepted or withdrawn meanwhile
            Lapse.objects.create(entry_id=entry_id, membership_id=agent_id, at=now)
            DeskStatus.objects.filter(membership_id=agent_id, state=Desk.AVAILABLE).update(
                state=Desk.PAUSED, since=now, reason="missed_offer"
            )
            events.changed(Membership.objects.get(pk=agent_id).organisation_id)
            expired += 1
    return expired


def finish_call(
    *,
    membership: Membership,
    entry_id: int,
    now: dt.datetime,
    outcome: OutcomeCode | None = None,
    notes: str = "",
    then: str = Desk.AVAILABLE,
    came: bool = True,
) -> QueueEntry:
    """The agent ends the attention: the citizen attended (or, `came` False, not come — they
    never joined), the outcome and notes on its appointment, the video room closed, and the
    agent available for the next citizen or paused for after-call work (`then`)."""
    from finestreta.appointments.services import NotChangeable, record_outcome

    if then not in (Desk.AVAILABLE, Desk.PAUSED):
        raise QueueError("bad_state", _("Choose available or paused."))
    with transaction.atomic():
        entry = (
            QueueEntry.objects.select_for_update(of=("self",))
            .select_related("appointment")
            .filter(pk=entry_id, state=State.SERVING, served_by=membership)
            .first()
        )
        if entry is None:
            raise QueueError("not_serving", _("You are not attending this citizen."))
        # The attention's organisation's outcomes (a host's, for a shared queue's citizen).
        if outcome is not None and outcome.organisation_id != entry.organisation_id:
            raise QueueError("bad_outcome", _("Choose one of the outcomes in the list."))
        entry.state, entry.ended_at = State.SERVED, now
        entry.save(update_fields=["state", "ended_at"])
        DeskStatus.objects.filter(membership=membership).update(
            state=then, since=now, reason="after_call" if then == Desk.PAUSED else ""
        )
        appointment = entry.appointment
        if appointment is not None:
            appointment.staff_notes = notes.strip()[:4000]
            appointment.outcome = outcome
            if now < appointment.ends_at:  # ended early: the agent's time is free again
                appointment.ends_at = appointment.occupied_until = max(
                    now, appointment.starts_at + dt.timedelta(minutes=1)
                )
            appointment.save(update_fields=["staff_notes", "outcome", "ends_at", "occupied_until"])
            try:
                record_outcome(appointment=appointment, attended=came, now=now, staff=membership)
            except NotChangeable:  # cancelled meanwhile: nothing more to record
                pass
            _close_room(appointment, now, membership.user_id)
        integrations.emit_call_ended(entry=entry, outcome=outcome, came=came, now=now)
        events.changed(membership.organisation_id)
    return entry


def _close_room(appointment: object, now: dt.datetime, user_id: int) -> None:
    from finestreta.video.services import close_room

    close_room(appointment=appointment, now=now, user_id=user_id)


def end_not_come(*, appointment_id: int, now: dt.datetime) -> bool:
    """The platform marked a walk-in's appointment not come (they never joined the call): the
    queue entry ends and the agent is available again."""
    with transaction.atomic():
        entry = (
            QueueEntry.objects.select_for_update()
            .filter(appointment_id=appointment_id, state=State.SERVING)
            .first()
        )
        if entry is None:
            return False
        entry.state, entry.ended_at = State.SERVED, now
        entry.save(update_fields=["state", "ended_at"])
        if entry.served_by_id is not None:
            DeskStatus.objects.filter(membership_id=entry.served_by_id, state=Desk.IN_CALL).update(
                state=Desk.AVAILABLE, since=now, reason=""
            )
        events.changed(entry.organisation_id)
    return True
