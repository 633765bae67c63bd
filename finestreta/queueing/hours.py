"""When "attention now" is open for a service: while one of the offices that provide it is open
(all of the organisation's offices for a service attended from anywhere), minus public holidays
and closed days, in each office's own time zone."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from finestreta.catalogue.models import Service
from finestreta.tenants import services as tenants
from finestreta.tenants.models import Office

# How far ahead the next opening is looked for (a closed queue says when it opens again).
LOOK_AHEAD_DAYS = 14


@dataclass(frozen=True)
class QueueHours:
    open: bool
    closes_at: dt.datetime | None = None  # while open: when the queue closes
    opens_at: dt.datetime | None = None  # while closed: when it opens next (None: not soon)


def _offices(service: Service) -> list[Office]:
    offices = list(service.offices.filter(is_active=True).prefetch_related("opening_hours"))
    if not offices:
        offices = list(
            Office.objects.filter(organisation=service.organisation_id, is_active=True)
            .select_related("organisation")
            .prefetch_related("opening_hours")
        )
    return offices


def intervals(
    offices: list[Office], *, start: dt.date, days: int
) -> list[tuple[dt.datetime, dt.datetime]]:
    """The offices' opening intervals from `start` for `days` days, merged, as aware datetimes."""
    if not offices:
        return []
    organisation = offices[0].organisation
    end = start + dt.timedelta(days=days)
    closed = tenants.closed_dates(organisation=organisation, start=start, end=end)
    found: list[tuple[dt.datetime, dt.datetime]] = []
    for office in offices:
        zone = ZoneInfo(office.zone_name)
        for offset in range(days + 1):
            day = start + dt.timedelta(days=offset)
            if day in closed.at(office.pk):
                continue
            for hours in office.opening_hours.all():
                if hours.weekday == day.weekday():
                    found.append(
                        (
                            dt.datetime.combine(day, hours.opens, tzinfo=zone),
                            dt.datetime.combine(day, hours.closes, tzinfo=zone),
                        )
                    )
    merged: list[tuple[dt.datetime, dt.datetime]] = []
    for opens, closes in sorted(found):
        if merged and opens <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], closes))
        else:
            merged.append((opens, closes))
    return merged


def queue_hours(service: Service, *, now: dt.datetime) -> QueueHours:
    offices = _offices(service)
    if not offices:
        return QueueHours(open=False)
    # A day early: an office further west may still be in yesterday.
    start = now.astimezone(ZoneInfo(offices[0].zone_name)).date() - dt.timedelta(days=1)
    for opens, closes in intervals(offices, start=start, days=LOOK_AHEAD_DAYS):
        if opens <= now < closes:
            return QueueHours(open=True, closes_at=closes)
        if opens > now:
            return QueueHours(open=False, opens_at=opens)
    return QueueHours(open=False)
