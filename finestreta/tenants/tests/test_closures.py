"""Closed days: Catalan public holidays plus the organisation's and the office's own closures."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import translation

from finestreta.tenants.models import Office, OpeningHours
from finestreta.tenants.services import (
    Closure,
    describe_week,
    is_office_open_on,
    list_closures,
    list_opening_hours,
)
from tests.factories import ClosedDayFactory, OfficeFactory, OrganisationFactory

pytestmark = pytest.mark.django_db

TUESDAY = dt.date(2026, 9, 15)
SUNDAY = dt.date(2026, 9, 13)
DIADA = dt.date(2026, 9, 11)
SANT_JOAN = dt.date(2026, 6, 24)
SANT_ESTEVE = dt.date(2026, 12, 26)


@pytest.fixture
def office() -> Office:
    return OfficeFactory(organisation=OrganisationFactory(slug="consell"))


def closures_in(office: Office, year: int = 2026) -> dict[dt.date, Closure]:
    found = list_closures(office=office, start=dt.date(year, 1, 1), end=dt.date(year, 12, 31))
    return {closure.date: closure for closure in found}


def test_it_lists_the_catalan_public_holidays(office: Office) -> None:
    closures = closures_in(office)
    assert "Diada" in closures[DIADA].reason
    assert closures[SANT_ESTEVE].reason == "Sant Esteve"
    assert closures[SANT_JOAN].reason == "Sant Joan"
    assert all(closures[day].public_holiday for day in (DIADA, SANT_ESTEVE, SANT_JOAN))


def test_it_leaves_out_catalan_holidays_for_an_organisation_outside_catalonia() -> None:
    madrid = OfficeFactory(
        organisation=OrganisationFactory(slug="madrid", holiday_subdivision="MD")
    )
    closures = closures_in(madrid)
    assert DIADA not in closures
    assert dt.date(2026, 12, 25) in closures


def test_an_unknown_holiday_country_gives_no_public_holidays_instead_of_an_error() -> None:
    nowhere = OfficeFactory(
        organisation=OrganisationFactory(
            slug="enlloc", holiday_country="XX", holiday_subdivision=""
        )
    )
    assert closures_in(nowhere) == {}


def test_it_includes_organisation_wide_and_own_office_closures(office: Office) -> None:
    org = office.organisation
    ClosedDayFactory(organisation=org, office=None, date=dt.date(2026, 3, 2), reason="Festa major")
    ClosedDayFactory(organisation=org, office=office, date=dt.date(2026, 3, 3), reason="Obres")
    closures = closures_in(office)
    assert closures[dt.date(2026, 3, 2)] == Closure(dt.date(2026, 3, 2), "Festa major", False)
    assert closures[dt.date(2026, 3, 3)] == Closure(dt.date(2026, 3, 3), "Obres", False)


def test_it_leaves_out_another_offices_closures(office: Office) -> None:
    org = office.organisation
    neighbour = OfficeFactory(organisation=org)
    ClosedDayFactory(organisation=org, office=neighbour, date=dt.date(2026, 3, 4), reason="Obres")
    assert dt.date(2026, 3, 4) not in closures_in(office)
    assert dt.date(2026, 3, 4) in closures_in(neighbour)


def test_it_leaves_out_another_organisations_closures(office: Office) -> None:
    ClosedDayFactory(organisation=OrganisationFactory(), office=None, date=dt.date(2026, 3, 5))
    assert dt.date(2026, 3, 5) not in closures_in(office)


def test_results_are_sorted_and_each_day_appears_once(office: Office) -> None:
    org = office.organisation
    ClosedDayFactory(organisation=org, office=office, date=DIADA, reason="Also local")
    ClosedDayFactory(organisation=org, office=None, date=dt.date(2026, 3, 2), reason="Org")
    ClosedDayFactory(organisation=org, office=office, date=dt.date(2026, 3, 2), reason="Office")
    found = list_closures(office=office, start=dt.date(2026, 1, 1), end=dt.date(2026, 12, 31))
    days = [closure.date for closure in found]
    assert days == sorted(set(days))
    # The public holiday's name wins over a local closure on the same day.
    assert closures_in(office)[DIADA].public_holiday


def test_the_range_is_inclusive_at_both_ends(office: Office) -> None:
    found = list_closures(office=office, start=DIADA, end=DIADA)
    assert [closure.date for closure in found] == [DIADA]
    assert list_closures(office=office, start=TUESDAY, end=TUESDAY) == []


def test_a_range_across_new_year_includes_holidays_of_both_years(office: Office) -> None:
    found = list_closures(office=office, start=dt.date(2026, 12, 20), end=dt.date(2027, 1, 10))
    days = [closure.date for closure in found]
    assert dt.date(2026, 12, 25) in days
    assert dt.date(2027, 1, 1) in days
    assert dt.date(2027, 1, 6) in days


def test_the_office_is_open_on_a_normal_tuesday(office: Office) -> None:
    assert is_office_open_on(office=office, day=TUESDAY)


def test_the_office_is_closed_on_sunday(office: Office) -> None:
    assert not is_office_open_on(office=office, day=SUNDAY)


def test_the_office_is_closed_on_a_public_holiday(office: Office) -> None:
    assert DIADA.weekday() == OpeningHours.Weekday.FRIDAY
    assert not is_office_open_on(office=office, day=DIADA)


def test_the_office_is_closed_on_its_own_closed_day(office: Office) -> None:
    ClosedDayFactory(organisation=office.organisation, office=office, date=TUESDAY)
    assert not is_office_open_on(office=office, day=TUESDAY)


def test_the_office_is_closed_on_an_organisation_wide_closed_day(office: Office) -> None:
    ClosedDayFactory(organisation=office.organisation, office=None, date=TUESDAY)
    assert not is_office_open_on(office=office, day=TUESDAY)


def test_another_offices_closed_day_does_not_close_this_one(office: Office) -> None:
    other = OfficeFactory(organisation=office.organisation)
    ClosedDayFactory(organisation=office.organisation, office=other, date=TUESDAY)
    assert is_office_open_on(office=office, day=TUESDAY)


def test_an_office_without_opening_hours_is_never_open() -> None:
    office = OfficeFactory(weekday_hours=False)
    assert not is_office_open_on(office=office, day=TUESDAY)


def test_describe_week_gives_seven_days_with_their_intervals(office: Office) -> None:
    OpeningHours.objects.create(office=office, weekday=1, opens=dt.time(16), closes=dt.time(18))
    with translation.override("en"):
        week = describe_week(office=office)
    assert [day.weekday for day in week] == list(range(7))
    assert [day.label for day in week] == [
        "Monday",
        "Tuesday",
        "Wednesday",
        "Thursday",
        "Friday",
        "Saturday",
        "Sunday",
    ]
    assert week[0].intervals == [(dt.time(9), dt.time(14))]
    assert week[1].intervals == [(dt.time(9), dt.time(14)), (dt.time(16), dt.time(18))]
    assert week[5].intervals == []
    assert week[6].intervals == []


def test_describe_week_labels_the_days_in_the_active_language(office: Office) -> None:
    with translation.override("ca"):
        assert describe_week(office=office)[0].label == "Dilluns"


def test_describe_week_sorts_intervals_by_opening_time(office: Office) -> None:
    OpeningHours.objects.create(office=office, weekday=5, opens=dt.time(17), closes=dt.time(19))
    OpeningHours.objects.create(office=office, weekday=5, opens=dt.time(8), closes=dt.time(10))
    assert describe_week(office=office)[5].intervals == [
        (dt.time(8), dt.time(10)),
        (dt.time(17), dt.time(19)),
    ]


def test_list_opening_hours_gives_only_that_weekday(office: Office) -> None:
    assert [h.weekday for h in list_opening_hours(office=office, weekday=2)] == [2]
    assert list_opening_hours(office=office, weekday=6) == []
