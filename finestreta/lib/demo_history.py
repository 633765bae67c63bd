"""A few months of past attentions for the demo's dashboard: appointments by video, telephone and
in person with how they ended, their video calls (lobby wait and length), walk-ins taken from
the queue, outcome codes, the citizens' municipalities and their survey answers.

Deterministic and idempotent: each day and agent draws from a random generator seeded with
both, and every appointment's code is made of its day, agent and slot, so a second run adds only
the days that have passed since the first and changes nothing else. History stops three working
days before today, clear of the demo's hand-written appointments (`demo_schedules`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import random
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from django.db import transaction

from finestreta.accounts.models import Membership, Role
from finestreta.appointments.models import Appointment, CancelledBy
from finestreta.catalogue.models import Channel, OutcomeCode
from finestreta.tenants.models import Municipality, Organisation

DAYS = 120  # about four months
SLOT_HOURS = (9, 10, 11, 12, 13)  # one attention per hour at most: durations never overlap
PREFIX = "H"
Status = Appointment.Status

COMMENTS = [
    "Molt amable i clara, gràcies.",
    "M'ha estalviat anar a l'oficina.",
    "La connexió ha anat una mica lenta.",
    "Muy rápido y sin desplazarme.",
    "He esperat més del que pensava.",
    "",
]


# Resolved, information given, needs a follow-up, referred (the demo's outcome codes, in order).
OUTCOME_WEIGHTS = [45, 30, 15, 10]
NEAR_KM = 45  # the citizens of the history live this close to one of the organisation's offices


@dataclass(frozen=True)
class Draws:
    """What chance decided for one appointment (drawn whether or not it is written)."""

    minute: int
    town: int | None
    lobby: float  # seconds in the video lobby
    length: float  # seconds of the call
    queue: float  # seconds in the walk-in queue
    outcome: OutcomeCode | None
    answer: bool
    score: int
    comment: str
    language: str


@dataclass(frozen=True)
class HistorySummary:
    appointments: int
    survey_answers: int


def _code(day: dt.date, agent: Membership, slot: int) -> str:
    return f"{PREFIX}{day:%y%m%d}{agent.pk:03d}{slot}"  # at most 12 characters


def _nonce(code: str) -> str:
    return hashlib.sha256(f"demo-history:{code}".encode()).hexdigest()[:12]


def _towns_near(org: Organisation) -> list[int]:
    from finestreta.reports.kpis import _distance_km
    from finestreta.tenants.models import Office

    offices = [
        (lat, lon)
        for lat, lon in Office.objects.filter(
            organisation=org, municipality__isnull=False
        ).values_list("municipality__latitude", "municipality__longitude")
    ]
    return [
        pk
        for pk, lat, lon in Municipality.objects.order_by("pk").values_list(
            "pk", "latitude", "longitude"
        )
        if any(_distance_km((lat, lon), office) <= NEAR_KM for office in offices)
    ]


def _status(rng: random.Random) -> tuple[str, str]:
    roll = rng.random()
    if roll < 0.78:
        return Status.ATTENDED, ""
    if roll < 0.86:
        return Status.NO_SHOW, ""
    if roll < 0.96:
        return Status.CANCELLED, CancelledBy.CITIZEN
    return Status.CANCELLED, CancelledBy.OFFICE


def _score(rng: random.Random) -> int:
    return rng.choices([1, 2, 3, 4, 5], weights=[3, 5, 12, 38, 42])[0]


def _past_working_days(today: dt.date) -> list[dt.date]:
    days, day, skipped = [], today, 0
    while (today - day).days < DAYS:
        day -= dt.timedelta(days=1)
        if day.weekday() >= 5:
            continue
        skipped += 1
        if skipped > 3:  # clear of the demo's appointments of the last working days
            days.append(day)
    return days


@transaction.atomic
def load_history(organisations: dict[str, Organisation], today: dt.date) -> HistorySummary:
    from finestreta.queueing.models import QueueEntry
    from finestreta.reports.models import SurveyAnswer
    from finestreta.video.models import Role as VideoRole
    from finestreta.video.models import Room, RoomEvent

    made: list[Appointment] = []
    extras: dict[str, Draws] = {}
    days = _past_working_days(today)
    for org in organisations.values():
        zone = ZoneInfo(org.time_zone)
        towns = _towns_near(org)
        outcomes = list(OutcomeCode.objects.filter(organisation=org).order_by("pk"))
        agents = list(
            Membership.objects.filter(organisation=org, role=Role.AGENT, is_active=True)
            .select_related("user")
            .prefetch_related("services__offices", "offices")
            .order_by("pk")
        )
        existing = set(
            Appointment.objects.filter(organisation=org, code__startswith=PREFIX).values_list(
                "code", flat=True
            )
        )
        for agent in agents:
            skills = [s for s in agent.services.all() if s.is_active]
            if not skills:
                continue
            offices = {o.pk: o for o in agent.offices.all()}
            for day in days:
                # Seeded by names, not keys: PostgreSQL's sequences move on with every test.
                seed = f"{org.slug}:{agent.user.username}:{day.isoformat()}"
                rng = random.Random(seed)  # noqa: S311 - demo figures, not secrets  # nosec B311
                for slot, hour in enumerate(SLOT_HOURS):
                    if rng.random() < 0.35:
                        continue
                    code = _code(day, agent, slot)
                    service = rng.choice(skills)
                    channel = rng.choice(service.channels)
                    office = None
                    if channel == Channel.IN_PERSON:
                        here = [o for o in service.offices.all() if o.pk in offices]
                        if not here:
                            channel = Channel.VIDEO if service.offers_video else Channel.PHONE
                            if channel not in service.channels:
                                continue
                        else:
                            office = rng.choice(here)
                    occupied = (
                        service.buffer_before_minutes
                        + service.duration_minutes
                        + service.buffer_after_minutes
                    )
                    status, cancelled_by = _status(rng)
                    walk_in = (
                        channel == Channel.VIDEO
                        and status == Status.ATTENDED
                        and rng.random() < 0.15
                    )
                    # Drawn whatever is kept, so the draws of a day never depend on what exists.
                    draws = Draws(
                        minute=rng.choice([0, 0, 0, 15]),
                        town=rng.choice(towns) if towns and rng.random() < 0.9 else None,
                        lobby=rng.uniform(20, 420),
                        length=rng.uniform(6 * 60, 24 * 60),
                        queue=rng.uniform(60, 900),
                        outcome=(
                            rng.choices(outcomes, weights=OUTCOME_WEIGHTS[: len(outcomes)])[0]
                            if outcomes
                            else None
                        ),
                        answer=rng.random() < 0.45,
                        score=_score(rng),
                        comment=rng.choice(COMMENTS),
                        language=rng.choices(["ca", "es", "oc", "en"], weights=[70, 25, 2, 3])[0],
                    )
                    if code in existing or occupied > 60:
                        continue
                    starts = dt.datetime.combine(
                        day,
                        dt.time(hour, draws.minute),
                        tzinfo=zone,
                    )
                    ends = starts + dt.timedelta(minutes=service.duration_minutes)
                    appointment = Appointment(
                        organisation=org,
                        service=service,
                        channel=channel,
                        office=office,
                        agent=agent,
                        starts_at=starts,
                        ends_at=ends,
                        occupied_from=starts - dt.timedelta(minutes=service.buffer_before_minutes),
                        occupied_until=ends + dt.timedelta(minutes=service.buffer_after_minutes),
                        status=status,
                        code=code,
                        name="Persona de demostració",
                        email=f"demo.{code.lower()}@example.org",
                        language=draws.language,
                        municipality_id=draws.town,
                        manage_nonce=_nonce(code),
                        booked_at=starts - dt.timedelta(days=5),
                        cancelled_at=(
                            starts - dt.timedelta(days=1) if status == Status.CANCELLED else None
                        ),
                        cancelled_by=cancelled_by,
                        walk_in=walk_in,
                        outcome=draws.outcome if status == Status.ATTENDED else None,
                    )
                    made.append(appointment)
                    extras[code] = draws
    Appointment.objects.bulk_create(made, batch_size=500)
    rooms, events, entries, answers = [], [], [], []
    for appointment in made:
        draws = extras[appointment.code]
        if appointment.status != Status.ATTENDED:
            continue
        if appointment.channel == Channel.VIDEO:
            arrived = appointment.starts_at - dt.timedelta(minutes=2)
            admitted = arrived + dt.timedelta(seconds=draws.lobby)
            if appointment.walk_in:
                joined = appointment.starts_at - dt.timedelta(seconds=draws.queue)
                entries.append(
                    QueueEntry(
                        organisation_id=appointment.organisation_id,
                        service_id=appointment.service_id,
                        channel=QueueEntry.Channel.VIDEO,
                        state=QueueEntry.State.SERVED,
                        name=appointment.name,
                        email=appointment.email,
                        joined_at=joined,
                        served_by_id=appointment.agent_id,
                        served_at=appointment.starts_at,
                        ended_at=appointment.ends_at,
                        appointment=appointment,
                        locale=appointment.language,
                    )
                )
                arrived, admitted = appointment.starts_at, appointment.starts_at
            room = Room(
                organisation_id=appointment.organisation_id,
                appointment=appointment,
                public_id=_nonce("room" + appointment.code) + _nonce(appointment.code)[:10],
                state=Room.State.ENDED,
                citizen_admitted_at=admitted,
                ended_at=admitted + dt.timedelta(seconds=draws.length),
            )
            rooms.append(room)
            events.append((room, arrived))
        if draws.answer:
            answers.append(
                SurveyAnswer(
                    organisation_id=appointment.organisation_id,
                    appointment=appointment,
                    score=draws.score,
                    comment=draws.comment,
                    language=appointment.language,
                    answered_at=appointment.ends_at + dt.timedelta(hours=1),
                )
            )
    Room.objects.bulk_create(rooms, batch_size=500)
    RoomEvent.objects.bulk_create(
        [
            RoomEvent(room=room, kind=RoomEvent.Kind.JOINED, role=VideoRole.CITIZEN, at=at)
            for room, at in events
        ],
        batch_size=500,
    )
    QueueEntry.objects.bulk_create(entries, batch_size=500)
    SurveyAnswer.objects.bulk_create(answers, batch_size=500)
    history = Appointment.objects.filter(
        organisation__in=organisations.values(), code__startswith=PREFIX
    )
    return HistorySummary(
        appointments=history.count(),
        survey_answers=SurveyAnswer.objects.filter(appointment__in=history).count(),
    )
