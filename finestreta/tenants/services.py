"""Public API of the tenants app: organisations, offices, opening hours and closed days.

Other apps import from here, not from `tenants.models`.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from dataclasses import dataclass, field
from functools import lru_cache

import holidays
from django.db.models import Q, QuerySet
from django.http import Http404
from django.utils import timezone
from django.utils.translation import get_language

from finestreta.tenants.models import ClosedDay, Office, OpeningHours, Organisation


def get_public_organisation(slug: str) -> Organisation:
    """The active organisation with this slug, or 404."""
    try:
        return Organisation.objects.get(slug=slug, is_active=True)
    except Organisation.DoesNotExist as exc:
        raise Http404("No such organisation") from exc


def list_public_organisations() -> QuerySet[Organisation]:
    return Organisation.objects.filter(is_active=True).order_by("name")


def list_public_offices(organisation: Organisation) -> QuerySet[Office]:
    return (
        organisation.offices.filter(is_active=True)
        .select_related("municipality")
        .prefetch_related("opening_hours")
        .order_by("kind", "name")
    )


def get_public_office(organisation: Organisation, slug: str) -> Office:
    try:
        return list_public_offices(organisation).get(slug=slug)
    except Office.DoesNotExist as exc:
        raise Http404("No such office") from exc


@dataclass(frozen=True)
class Closure:
    date: dt.date
    reason: str
    public_holiday: bool


# The `holidays` library names Spanish holidays in ca, es and en_US; Aranese readers get Catalan.
HOLIDAY_LANGUAGES = {"ca": "ca", "es": "es", "en": "en_US", "oc": "ca"}


def _holiday_language() -> str:
    return HOLIDAY_LANGUAGES.get(get_language() or "ca", "ca")


def office_today(office: Office) -> dt.date:
    """Today's date where the office is (not where the server is)."""
    return timezone.localdate(timezone=zoneinfo.ZoneInfo(office.zone_name))


@lru_cache(maxsize=256)
def _public_holidays(
    country: str, subdivision: str, year: int, language: str
) -> dict[dt.date, str]:
    try:
        calendar = holidays.country_holidays(
            country, subdiv=subdivision or None, years=year, language=language
        )
    except NotImplementedError:
        return {}
    return {day: str(name) for day, name in calendar.items()}


def list_closures(*, office: Office, start: dt.date, end: dt.date) -> list[Closure]:
    """Public holidays (from the `holidays` library) plus the organisation's and office's
    closures between start and end inclusive, sorted by date."""
    organisation = office.organisation
    found: dict[dt.date, Closure] = {}
    for year in range(start.year, end.year + 1):
        for day, name in _public_holidays(
            organisation.holiday_country,
            organisation.holiday_subdivision,
            year,
            _holiday_language(),
        ).items():
            if start <= day <= end:
                found[day] = Closure(day, name, True)
    local = ClosedDay.objects.filter(
        Q(office=office) | Q(office__isnull=True),
        organisation=organisation,
        date__range=(start, end),
    )
    for closed in local:
        found.setdefault(closed.date, Closure(closed.date, closed.reason, False))
    return [found[day] for day in sorted(found)]


@lru_cache(maxsize=256)
def _public_holiday_dates(country: str, subdivision: str, year: int) -> frozenset[dt.date]:
    # Dates only, whatever the reader's language: the `holidays` library is slow to build a year.
    return frozenset(_public_holidays(country, subdivision, year, "ca"))


@dataclass(frozen=True)
class ClosedDates:
    """When an organisation's offices are closed, as dates only (for availability)."""

    everywhere: frozenset[dt.date]
    by_office: dict[int, frozenset[dt.date]] = field(default_factory=dict)

    def at(self, office_id: int) -> frozenset[dt.date]:
        """The dates `office_id` is closed: public holidays, the organisation's and its own."""
        return self.by_office.get(office_id, self.everywhere)


def closed_dates(*, organisation: Organisation, start: dt.date, end: dt.date) -> ClosedDates:
    """The same dates as `list_closures` for every office of `organisation` at once, between
    start and end inclusive: one query, whatever the number of offices."""
    everywhere: set[dt.date] = set()
    for year in range(start.year, end.year + 1):
        everywhere.update(
            day
            for day in _public_holiday_dates(
                organisation.holiday_country, organisation.holiday_subdivision, year
            )
            if start <= day <= end
        )
    own: dict[int, set[dt.date]] = {}
    for office_id, date in (
        ClosedDay.objects.filter(organisation=organisation, date__range=(start, end))
        .order_by()
        .values_list("office_id", "date")
    ):
        if office_id is None:
            everywhere.add(date)
        else:
            own.setdefault(office_id, set()).add(date)
    shared = frozenset(everywhere)
    return ClosedDates(shared, {pk: shared | dates for pk, dates in own.items()})


def is_office_open_on(*, office: Office, day: dt.date) -> bool:
    if not list_opening_hours(office=office, weekday=day.weekday()):
        return False
    return not list_closures(office=office, start=day, end=day)


def list_opening_hours(*, office: Office, weekday: int) -> list[OpeningHours]:
    return [hours for hours in office.opening_hours.all() if hours.weekday == weekday]


@dataclass(frozen=True)
class DayHours:
    weekday: int
    label: str
    intervals: list[tuple[dt.time, dt.time]]


def describe_week(*, office: Office) -> list[DayHours]:
    """Opening hours Monday to Sunday, for display (closed days have no intervals)."""
    labels = dict(OpeningHours.Weekday.choices)
    rows = list(office.opening_hours.all())
    return [
        DayHours(
            weekday=day,
            label=str(labels[day]),
            intervals=[
                (h.opens, h.closes) for h in sorted(rows, key=lambda h: h.opens) if h.weekday == day
            ],
        )
        for day in range(7)
    ]
