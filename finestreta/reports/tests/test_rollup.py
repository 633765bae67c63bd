"""The daily roll-up gives the same figures as the appointments themselves, for every breakdown
and filter, whether a range is all rolled up, partly or not at all; it is refreshed by the
workers, leaves today live, and outlives the appointments purged behind it."""

from __future__ import annotations

import dataclasses
import datetime as dt
from io import StringIO

import pytest
from django.core.management import call_command

from finestreta.appointments.models import Appointment
from finestreta.reports import kpis, rollup
from finestreta.reports.models import DailyFigures, FiguresState
from finestreta.reports.tests.test_kpis import DAYS, FIRST_DAY, seed
from tests.factories import AppointmentFactory
from tests.personas import Personas

LAST_DAY = FIRST_DAY + dt.timedelta(days=DAYS - 1)
AFTER = dt.datetime(2026, 12, 1, 12, tzinfo=dt.UTC)  # the seeded days are all in the past
FIELDS = [f.name for f in dataclasses.fields(kpis.Figures) if f.name not in ("sums",)]


def comparable(report: kpis.Report) -> list[dict[str, object]]:
    out = []
    for row in [*report.rows, report.total]:
        values = {}
        for name in FIELDS:
            value = getattr(row, name)
            values[name] = round(value, 6) if isinstance(value, float) else value
        out.append(values)
    return out


def both_ways(personas: Personas, filters: kpis.Filters, group: str | None) -> tuple:  # type: ignore[type-arg]
    """The report read live (no roll-up) and read from a roll-up of every seeded day."""
    FiguresState.objects.filter(organisation=personas.org_a).delete()
    live = kpis.report(personas.org_a, filters, group=group)
    rollup.refresh(personas.org_a, FIRST_DAY, LAST_DAY, now=AFTER)
    assert rollup.split(personas.org_a, filters)[1] is None  # all of it from the roll-up
    rolled = kpis.report(personas.org_a, filters, group=group)
    return comparable(live), comparable(rolled)


@pytest.mark.django_db
@pytest.mark.parametrize(
    "group", [None, "office", "service", "level", "channel", "agent", "day", "month"]
)
def test_every_breakdown_is_the_same_from_the_roll_up_as_from_the_appointments(
    personas: Personas, group: str | None
) -> None:
    seed(personas)
    live, rolled = both_ways(personas, kpis.Filters(start=FIRST_DAY, end=LAST_DAY), group)
    assert live[-1]["attended"] and live[-1]["answers"] and live[-1]["travel_km"]
    assert rolled == live


@pytest.mark.django_db
@pytest.mark.parametrize(
    "narrow",
    [
        {"channel": "video"},
        {"level": "informative"},
        {"end": FIRST_DAY + dt.timedelta(days=1)},
    ],
)
def test_filters_are_the_same_from_the_roll_up_as_from_the_appointments(
    personas: Personas, narrow: dict[str, object]
) -> None:
    seed(personas)
    filters = dataclasses.replace(kpis.Filters(start=FIRST_DAY, end=LAST_DAY), **narrow)  # type: ignore[arg-type]
    live, rolled = both_ways(personas, filters, "office")
    assert rolled == live


@pytest.mark.django_db
def test_an_office_and_an_agent_filter_are_the_same_both_ways(personas: Personas) -> None:
    specs, _made = seed(personas)
    office = next(s.office for s in specs if s.office)
    agent = specs[0].agent
    for narrow in ({"office_id": office}, {"agent_id": agent}):
        filters = dataclasses.replace(kpis.Filters(start=FIRST_DAY, end=LAST_DAY), **narrow)  # type: ignore[arg-type]
        live, rolled = both_ways(personas, filters, "channel")
        assert rolled == live and live[-1]["booked"]


@pytest.mark.django_db
def test_a_range_partly_rolled_up_adds_the_live_days_to_the_rolled_ones(
    personas: Personas,
) -> None:
    seed(personas)
    filters = kpis.Filters(start=FIRST_DAY, end=LAST_DAY)
    live = comparable(kpis.report(personas.org_a, filters, group="day"))
    live_months = comparable(kpis.report(personas.org_a, filters, group="month"))
    middle = FIRST_DAY + dt.timedelta(days=2)
    # Refreshed on the middle day: the days before it are rolled up, the rest is read live.
    rollup.refresh(
        personas.org_a,
        FIRST_DAY,
        LAST_DAY,
        now=dt.datetime.combine(middle, dt.time(12), tzinfo=dt.UTC),
    )
    rolled, rest = rollup.split(personas.org_a, filters)
    assert rolled is not None and rest is not None and rest.start == middle
    assert not DailyFigures.objects.filter(day__gte=middle).exists()
    assert comparable(kpis.report(personas.org_a, filters, group="day")) == live
    assert comparable(kpis.report(personas.org_a, filters, group="month")) == live_months


@pytest.mark.django_db
def test_a_change_to_a_rolled_up_day_shows_after_the_next_refresh(personas: Personas) -> None:
    seed(personas)
    filters = kpis.Filters(start=FIRST_DAY, end=LAST_DAY)
    assert rollup.refresh_due(now=AFTER) > 0  # every organisation, the first time
    before = kpis.report(personas.org_a, filters).total
    changed = kpis.appointments_in(personas.org_a, filters).filter(status="attended").first()
    assert changed is not None
    Appointment.objects.filter(pk=changed.pk).update(status="no_show")
    assert kpis.report(personas.org_a, filters).total.attended == before.attended  # settled
    assert rollup.refresh_due(now=AFTER + rollup.REFRESH_EVERY / 2) == 0  # not due yet
    assert rollup.refresh_due(now=AFTER + rollup.REFRESH_EVERY) > 0
    after = kpis.report(personas.org_a, filters).total
    assert (after.attended, after.no_show) == (before.attended - 1, before.no_show + 1)


@pytest.mark.django_db
def test_today_is_never_rolled_up_and_always_counted(personas: Personas) -> None:
    seed(personas)
    today = AFTER.date()
    rollup.refresh(personas.org_a, FIRST_DAY, today, now=AFTER)
    state = FiguresState.objects.get(organisation=personas.org_a)
    assert state.rolled_up_until == today
    AppointmentFactory(
        agent=personas.membership(personas.agent_a),
        service=personas.service_a,
        starts_at=AFTER + dt.timedelta(hours=1),
        attended=True,
    )
    [row] = kpis.figures(personas.org_a, kpis.Filters(start=today, end=today))
    assert row.booked == row.attended == 1


@pytest.mark.django_db
def test_the_figures_outlive_the_appointments_purged_behind_them(personas: Personas) -> None:
    seed(personas)
    filters = kpis.Filters(start=FIRST_DAY, end=LAST_DAY)
    rollup.refresh(personas.org_a, FIRST_DAY, LAST_DAY, now=AFTER)
    before = comparable(kpis.report(personas.org_a, filters, group="office"))
    first = Appointment.objects.filter(organisation=personas.org_a).order_by("starts_at")[0]
    from finestreta.queueing.models import QueueEntry
    from finestreta.reports.models import SurveyAnswer
    from finestreta.video.models import Room

    SurveyAnswer.objects.filter(appointment=first).delete()
    QueueEntry.objects.filter(appointment=first).delete()
    Room.objects.filter(appointment=first).delete()
    first.delete()
    assert comparable(kpis.report(personas.org_a, filters, group="office")) == before


@pytest.mark.django_db
def test_another_organisations_roll_up_is_never_read(personas: Personas) -> None:
    seed(personas)
    filters = kpis.Filters(start=FIRST_DAY, end=LAST_DAY)
    live_b = comparable(kpis.report(personas.org_b, filters, group="service"))
    live_a = comparable(kpis.report(personas.org_a, filters, group="service"))
    rollup.refresh(personas.org_a, FIRST_DAY, LAST_DAY, now=AFTER)
    rollup.refresh(personas.org_b, FIRST_DAY, LAST_DAY, now=AFTER)
    assert comparable(kpis.report(personas.org_b, filters, group="service")) == live_b
    assert comparable(kpis.report(personas.org_a, filters, group="service")) == live_a
    assert not DailyFigures.objects.filter(
        organisation=personas.org_a, service__organisation=personas.org_b
    ).exists()


@pytest.mark.django_db
def test_the_command_rebuilds_the_days_it_is_given(personas: Personas) -> None:
    seed(personas)
    out = StringIO()
    call_command(
        "refresh_figures", "--since", FIRST_DAY.isoformat(), "--organisation", "org-a", stdout=out
    )
    assert "org-a:" in out.getvalue()
    assert DailyFigures.objects.filter(organisation=personas.org_a, day=FIRST_DAY).exists()
