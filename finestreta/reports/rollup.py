"""The daily roll-up of the figures (ADR 36): per organisation, day, office, procedure, level,
channel and agent, the counts and sums the dashboard adds up, so that a dashboard over a year
of a large organisation reads a few narrow rows instead of joining every appointment with its
call, queue entry and survey answer.

- Each day has a row per office, procedure, level, channel and agent, and a row per office,
  procedure, level and channel for all agents together (agent None), which is what the
  dashboard reads unless it is broken down or filtered by agent.
- `refresh` recomputes the days it is given from the appointments (their rows replaced in one
  transaction) and moves the organisation's `rolled_up_until` to the day after the last day
  refreshed — never past yesterday: today is always read live.
- The workers refresh the last REFRESH_DAYS days every REFRESH_EVERY (`refresh_due`): a survey
  answer, a late outcome or a correction of those days reaches the roll-up within minutes.
  Older days are settled, like a closed accounting period; `manage.py refresh_figures --since`
  rebuilds them on demand.
- `kpis.report` reads the days before `rolled_up_until` from here and the rest live (`split`),
  so the figures are the same either way (tested) and a stopped worker leaves them late by
  days' worth of live reading, never wrong.
- The rows hold no personal data: they stay when the retention purge removes the appointments
  behind them, so the statistics outlive the records.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from django.db import transaction
from django.db.models import F, QuerySet, Sum
from django.db.models.functions import TruncMonth
from django.utils import timezone

from finestreta.reports import kpis
from finestreta.reports.models import DailyFigures, FiguresState
from finestreta.tenants.models import Organisation

REFRESH_DAYS = 35  # the survey's 30 days and a margin for late outcomes and corrections
REFRESH_EVERY = dt.timedelta(minutes=10)
COUNTS = kpis.Figures.COUNTS
SUMS = ("lobby_wait", "queue_wait", "handling")
# The dashboard's breakdowns as the roll-up's columns.
COLUMN = {
    "office": "office",
    "service": "service",
    "level": "level",
    "channel": "channel",
    "agent": "agent",
    "day": "day",
}


def _local_today(organisation: Organisation, now: dt.datetime) -> dt.date:
    return timezone.localtime(now, ZoneInfo(organisation.time_zone)).date()


def split(
    organisation: Organisation, filters: kpis.Filters
) -> tuple[kpis.Filters | None, kpis.Filters | None]:
    """The filters' days that the roll-up holds, and those to read live (None: none)."""
    until = (
        FiguresState.objects.filter(organisation=organisation)
        .values_list("rolled_up_until", flat=True)
        .first()
    )
    if until is None or filters.start >= until:
        return None, filters
    if filters.end < until:
        return filters, None
    return (
        dataclasses.replace(filters, end=until - dt.timedelta(days=1)),
        dataclasses.replace(filters, start=until),
    )


def _in(organisation: Organisation, filters: kpis.Filters) -> QuerySet[DailyFigures]:
    return DailyFigures.objects.filter(
        organisation=organisation,
        day__gte=filters.start,
        day__lte=filters.end,
        **filters.lookups(level="level"),
    )


def _by_agent(filters: kpis.Filters, group: str | None) -> bool:
    """Whether the rows per agent are needed; otherwise those of all agents together (far
    fewer: a day has a row per office, procedure and channel)."""
    return group == "agent" or bool(filters.agent_id)


def rows(
    organisation: Organisation, filters: kpis.Filters, group: str | None
) -> dict[Any, kpis.Figures]:
    """The figures per key of `group` over the rolled-up days: one aggregate over the
    roll-up's rows."""
    found = _in(organisation, filters).filter(agent__isnull=not _by_agent(filters, group))
    if group is None:
        found = found.annotate(key=F("organisation_id"))
    elif group == "month":
        found = found.annotate(key=TruncMonth("day"))
    else:
        found = found.annotate(key=F(COLUMN[group]))
    sums = [
        *COUNTS,
        *(f"{name}_sum" for name in SUMS),
        *(f"{name}_n" for name in SUMS),
        "score_sum",
        *(f"score_{n}" for n in range(1, 6)),
        "travel_km",
        "travel_minutes",
    ]
    result: dict[Any, kpis.Figures] = {}
    for values in found.values("key").order_by("key").annotate(**{f"t_{n}": Sum(n) for n in sums}):
        key = values["key"]
        if isinstance(key, dt.datetime):
            key = key.date()
        row = kpis.Figures(key=key, **{name: values[f"t_{name}"] for name in COUNTS})
        for name in SUMS:
            row.set_average(name, float(values[f"t_{name}_sum"]), values[f"t_{name}_n"])
        row.set_average("satisfaction", float(values["t_score_sum"]), row.answers)
        row.scores = {n: values[f"t_score_{n}"] for n in range(1, 6) if values[f"t_score_{n}"]}
        row.travel_km = float(values["t_travel_km"])
        row.travel_minutes = float(values["t_travel_minutes"])
        result[key] = row
    return result


def _daily(organisation: Organisation, key: tuple[Any, ...], row: kpis.Figures) -> DailyFigures:
    day, office, service, level, channel, agent = key
    if isinstance(day, dt.datetime):
        day = day.date()
    return DailyFigures(
        organisation=organisation,
        day=day,
        office_id=office,
        service_id=service,
        level=level,
        channel=channel,
        agent_id=agent,
        **{name: getattr(row, name) for name in COUNTS},
        **{f"{name}_sum": row.sums.get(name, (0.0, 0))[0] for name in SUMS},
        **{f"{name}_n": row.sums.get(name, (0.0, 0))[1] for name in SUMS},
        score_sum=round(row.sums.get("satisfaction", (0.0, 0))[0]),
        **{f"score_{n}": row.scores.get(n, 0) for n in range(1, 6)},
        travel_km=row.travel_km,
        travel_minutes=row.travel_minutes,
    )


def refresh(organisation: Organisation, start: dt.date, end: dt.date, *, now: dt.datetime) -> int:
    """Recompute the roll-up of the days from `start` to `end` (included; cut at yesterday)
    from the appointments, and read those days from it from now on. Returns the rows written.
    Runs under a lock on the organisation's state, so two workers take turns."""
    end = min(end, _local_today(organisation, now) - dt.timedelta(days=1))
    if end < start:
        return 0
    with transaction.atomic():
        state, _created = FiguresState.objects.get_or_create(organisation=organisation)
        state = FiguresState.objects.select_for_update().get(pk=state.pk)
        if state.rolled_up_until is not None and start > state.rolled_up_until:
            start = state.rolled_up_until  # no gap between what is rolled up and what is not
        elif state.rolled_up_until is None:
            first = (
                organisation.appointments.order_by("starts_at")
                .values_list("starts_at", flat=True)
                .first()
            )
            if first is not None:
                zone = ZoneInfo(organisation.time_zone)
                start = min(start, timezone.localtime(first, zone).date())
        computed = kpis.live_rows(organisation, kpis.Filters(start=start, end=end), kpis.CUBE)
        DailyFigures.objects.filter(
            organisation=organisation, day__gte=start, day__lte=end
        ).delete()
        together: dict[tuple[Any, ...], kpis.Figures] = {}
        for key, row in computed.items():
            coarse = (*key[:5], None)
            if coarse not in together:
                together[coarse] = kpis.Figures(key=coarse)
            together[coarse].add(row)
        DailyFigures.objects.bulk_create(
            [_daily(organisation, key, row) for key, row in [*computed.items(), *together.items()]],
            batch_size=1000,
        )
        until = end + dt.timedelta(days=1)
        if state.rolled_up_until is None or until > state.rolled_up_until:
            state.rolled_up_until = until
        state.refreshed_at = now
        state.save()
    return len(computed)


def refresh_due(*, now: dt.datetime) -> int:
    """For each organisation not refreshed in the last REFRESH_EVERY: refresh its last
    REFRESH_DAYS days (the first time, everything before them too). For the workers."""
    written = 0
    for organisation in Organisation.objects.filter(is_active=True):
        state = FiguresState.objects.filter(organisation=organisation).first()
        if state and state.refreshed_at and now - state.refreshed_at < REFRESH_EVERY:
            continue
        today = _local_today(organisation, now)
        written += refresh(organisation, today - dt.timedelta(days=REFRESH_DAYS), today, now=now)
    return written
