"""The dashboard's figures against a seeded dataset whose answers the test computes itself, from
the specification it generated (not from the database): totals, and breakdowns by office,
channel, agent and day; the range's edges in the organisation's time zone; another
organisation's appointments never counted; travel avoided by its stated method."""

from __future__ import annotations

import datetime as dt
import math
import random
from collections import defaultdict
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import pytest

from finestreta.accounts.models import Membership
from finestreta.appointments.models import Appointment
from finestreta.catalogue.models import OutcomeCode
from finestreta.queueing.models import QueueEntry
from finestreta.reports import kpis
from finestreta.reports.models import SurveyAnswer
from finestreta.tenants.models import Municipality
from finestreta.video import services as video
from finestreta.video.models import Room, RoomEvent
from tests.factories import AppointmentFactory, MembershipFactory, OfficeFactory, ServiceFactory
from tests.personas import Personas

MADRID = ZoneInfo("Europe/Madrid")
FIRST_DAY = dt.date(2026, 11, 2)
DAYS = 5
STATUSES = ["attended"] * 6 + ["no_show", "cancelled", "cancelled", "booked"]


@dataclass
class Spec:
    """What the test made, in plain values: the answers are computed from these."""

    office: int | None
    channel: str
    agent: int
    day: dt.date
    status: str
    cancelled_by: str = ""
    resolves: bool | None = None  # None: no outcome
    lobby_wait: float | None = None
    queue_wait: float | None = None
    handling: float | None = None
    score: int | None = None
    municipality: tuple[float, float] | None = None


def haversine(a: tuple[float, float], b: tuple[float, float]) -> float:
    (lat1, lon1), (lat2, lon2) = (map(math.radians, a), map(math.radians, b))
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * 6371.0 * math.asin(math.sqrt(h))


def place(code: str, name: str, latitude: float, longitude: float) -> Municipality:
    found, _created = Municipality.objects.update_or_create(
        ine_code=code, defaults={"name": name, "latitude": latitude, "longitude": longitude}
    )
    return found


def seed(personas: Personas) -> tuple[list[Spec], dict[str, object]]:
    rng = random.Random(11)
    org = personas.org_a
    places = {
        "girona": place("170792", "Girona", 41.9794, 2.8214),
        "figueres": place("170669", "Figueres", 42.2664, 2.9617),
        "olot": place("171143", "Olot", 42.1822, 2.4890),
    }
    offices = [
        personas.office_a,
        OfficeFactory(organisation=org, slug="oficina-figueres", name="Oficina Figueres"),
    ]
    offices[0].municipality = places["girona"]
    offices[0].save()
    offices[1].municipality = places["figueres"]
    offices[1].save()
    service = ServiceFactory(
        organisation=org, offers_video=True, offers_in_person=True, offers_phone=True
    )
    service.offices.set(offices)
    agents = [
        Membership.objects.get(user=personas.agent_a),
        MembershipFactory(organisation=org),
    ]
    resolved = OutcomeCode.objects.create(organisation=org, code="ok", label="OK", resolves=True)
    unresolved = OutcomeCode.objects.create(
        organisation=org, code="more", label="More", resolves=False
    )
    specs: list[Spec] = []
    for day_number in range(DAYS):
        day = FIRST_DAY + dt.timedelta(days=day_number)
        for slot in range(8):
            agent = agents[slot % 2]
            start = dt.datetime.combine(day, dt.time(9), tzinfo=MADRID) + dt.timedelta(
                minutes=35 * (slot // 2)
            )
            channel = rng.choice(["video", "video", "phone", "in_person"])
            status = rng.choice(STATUSES)
            office = rng.choice(offices) if channel == "in_person" else None
            place_name = rng.choice(["girona", "figueres", "olot", None])
            spec = Spec(
                office=office.pk if office else None,
                channel=channel,
                agent=agent.pk,
                day=day,
                status=status,
                municipality=(
                    (places[place_name].latitude, places[place_name].longitude)
                    if place_name
                    else None
                ),
            )
            appointment = AppointmentFactory(
                agent=agent,
                service=service,
                office=office,
                channel=channel,
                starts_at=start,
                status=status,
                municipality=places[place_name] if place_name else None,
            )
            if status == "cancelled":
                spec.cancelled_by = rng.choice(["citizen", "office"])
                Appointment.objects.filter(pk=appointment.pk).update(cancelled_by=spec.cancelled_by)
            if status == "attended":
                if rng.random() < 0.7:
                    spec.resolves = rng.random() < 0.6
                    Appointment.objects.filter(pk=appointment.pk).update(
                        outcome=resolved if spec.resolves else unresolved
                    )
                if channel == "video":
                    room = video.get_room(appointment)
                    arrived = start - dt.timedelta(seconds=rng.randint(0, 600))
                    spec.lobby_wait = rng.randint(10, 900)
                    admitted = arrived + dt.timedelta(seconds=spec.lobby_wait)
                    spec.handling = rng.randint(300, 1800)
                    for at in (arrived, arrived + dt.timedelta(seconds=5)):  # twice: the first
                        RoomEvent.objects.create(room=room, kind="joined", role="citizen", at=at)
                    Room.objects.filter(pk=room.pk).update(
                        citizen_admitted_at=admitted,
                        ended_at=admitted + dt.timedelta(seconds=spec.handling),
                        state="ended",
                    )
                if channel == "phone" and rng.random() < 0.5:  # "attention now" by phone
                    joined = start - dt.timedelta(minutes=20)
                    spec.queue_wait = rng.randint(30, 1200)
                    QueueEntry.objects.create(
                        organisation=org,
                        service=service,
                        channel="phone",
                        name="Walk-in",
                        state="done",
                        joined_at=joined,
                        served_at=joined + dt.timedelta(seconds=spec.queue_wait),
                        ended_at=joined + dt.timedelta(seconds=spec.queue_wait + 300),
                        appointment=appointment,
                    )
                if rng.random() < 0.6:
                    spec.score = rng.randint(1, 5)
                    SurveyAnswer.objects.create(
                        organisation=org,
                        appointment=appointment,
                        score=spec.score,
                        language="ca",
                        answered_at=start + dt.timedelta(hours=1),
                    )
            specs.append(spec)
    # Outside: the day before the range (late evening in Madrid, still the 1st there), and
    # another organisation's appointment inside it.
    AppointmentFactory(
        agent=agents[0],
        service=service,
        starts_at=dt.datetime.combine(FIRST_DAY, dt.time(0), tzinfo=MADRID)
        - dt.timedelta(minutes=30),
        status="attended",
    )
    AppointmentFactory(
        agent=Membership.objects.get(user=personas.agent_b),
        service=personas.service_b,
        starts_at=dt.datetime.combine(FIRST_DAY, dt.time(10), tzinfo=MADRID),
        status="attended",
    )
    offices_at = [(41.9794, 2.8214), (42.2664, 2.9617)]
    return specs, {"offices_at": offices_at, "service": service, "offices": offices}


def expected(specs: list[Spec], offices_at: list[tuple[float, float]]) -> dict[str, object]:
    attended = [s for s in specs if s.status == "attended"]
    with_outcome = [s for s in attended if s.resolves is not None]

    def mean(values: list[float]) -> float | None:
        return sum(values) / len(values) if values else None

    remote = [s for s in attended if s.channel in ("video", "phone")]
    km = sum(
        2 * min(haversine(s.municipality, o) for o in offices_at) * kpis.ROAD_FACTOR
        for s in remote
        if s.municipality
    )
    scores = [s.score for s in attended if s.score is not None]
    return {
        "booked": len(specs),
        "attended": len(attended),
        "no_show": sum(s.status == "no_show" for s in specs),
        "cancelled_by_citizen": sum(s.cancelled_by == "citizen" for s in specs),
        "cancelled_by_office": sum(s.cancelled_by == "office" for s in specs),
        "with_outcome": len(with_outcome),
        "resolved": sum(bool(s.resolves) for s in with_outcome),
        "lobby_wait": mean([s.lobby_wait for s in attended if s.lobby_wait is not None]),
        "queue_wait": mean([s.queue_wait for s in attended if s.queue_wait is not None]),
        "handling": mean([s.handling for s in attended if s.handling is not None]),
        "answers": len(scores),
        "satisfaction": mean([float(x) for x in scores]),
        "visits_avoided": len(remote),
        "travel_km": km,
        "travel_minutes": km / kpis.SPEED_KMH * 60,
        "scores": {n: scores.count(n) for n in set(scores)},
    }


def as_expected(row: kpis.Figures) -> dict[str, object]:
    return {name: getattr(row, name) for name in expected([], [])}


def assert_matches(row: kpis.Figures, wanted: dict[str, object]) -> None:
    got = as_expected(row)
    for name, value in wanted.items():
        if isinstance(value, float):
            assert got[name] == pytest.approx(value, rel=1e-6), name
        else:
            assert got[name] == value, name


@pytest.mark.django_db
def test_the_totals_are_those_computed_from_the_seeded_attentions(personas: Personas) -> None:
    specs, made = seed(personas)
    end = FIRST_DAY + dt.timedelta(days=DAYS - 1)
    [total] = kpis.figures(personas.org_a, kpis.Filters(start=FIRST_DAY, end=end))
    wanted = expected(specs, made["offices_at"])  # type: ignore[arg-type]
    assert wanted["attended"] and wanted["answers"] and wanted["travel_km"]  # a real test
    assert_matches(total, wanted)
    assert total.label == "Total"


@pytest.mark.django_db
@pytest.mark.parametrize("group", ["office", "channel", "agent", "day"])
def test_each_breakdown_row_is_computed_from_its_own_attentions(
    personas: Personas, group: str
) -> None:
    specs, made = seed(personas)
    end = FIRST_DAY + dt.timedelta(days=DAYS - 1)
    rows = kpis.figures(personas.org_a, kpis.Filters(start=FIRST_DAY, end=end), group=group)
    by_key: dict[object, list[Spec]] = defaultdict(list)
    for spec in specs:
        by_key[
            {"office": spec.office, "channel": spec.channel, "agent": spec.agent}.get(
                group, spec.day
            )
        ].append(spec)
    assert {row.key for row in rows} == set(by_key)
    for row in rows:
        assert_matches(row, expected(by_key[row.key], made["offices_at"]))  # type: ignore[arg-type]
        assert row.label


@pytest.mark.django_db
def test_filters_narrow_the_figures_to_their_attentions(personas: Personas) -> None:
    specs, made = seed(personas)
    end = FIRST_DAY + dt.timedelta(days=1)  # the first two days, video only
    [row] = kpis.figures(personas.org_a, kpis.Filters(start=FIRST_DAY, end=end, channel="video"))
    chosen = [s for s in specs if s.channel == "video" and s.day <= end]
    assert_matches(row, expected(chosen, made["offices_at"]))  # type: ignore[arg-type]


@pytest.mark.django_db
def test_an_organisation_with_nothing_in_the_range_gets_zeros(personas: Personas) -> None:
    seed(personas)
    [row] = kpis.figures(
        personas.org_b, kpis.Filters(start=dt.date(2025, 1, 1), end=dt.date(2025, 1, 31))
    )
    assert (row.booked, row.attended, row.satisfaction, row.travel_km) == (0, 0, None, 0.0)


@pytest.mark.django_db
@pytest.mark.parametrize("group", ["office", "level", "month"])
def test_the_total_added_up_from_a_breakdown_is_the_total_of_all_attentions(
    personas: Personas, group: str
) -> None:
    specs, made = seed(personas)
    end = FIRST_DAY + dt.timedelta(days=DAYS - 1)
    found = kpis.report(personas.org_a, kpis.Filters(start=FIRST_DAY, end=end), group=group)
    assert found.rows and found.group == group
    assert_matches(found.total, expected(specs, made["offices_at"]))  # type: ignore[arg-type]
