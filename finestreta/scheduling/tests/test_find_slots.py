"""find_slots: schedules from the database through the pure engine."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from finestreta.accounts.models import Membership
from finestreta.catalogue.models import Channel
from finestreta.scheduling.models import Absence, WorkingPattern
from finestreta.scheduling.services import NotOffered, find_slots
from tests.factories import ClosedDayFactory, MembershipFactory, OfficeFactory, ServiceFactory
from tests.personas import Personas

MADRID = ZoneInfo("Europe/Madrid")
NOW = dt.datetime(2026, 11, 30, 7, 0, tzinfo=dt.UTC)  # Monday 08:00 in Madrid


def works(membership: Membership, office, weekdays=range(5), starts=9, ends=11, **channels) -> None:  # type: ignore[no-untyped-def]
    for weekday in weekdays:
        WorkingPattern.objects.create(
            membership=membership,
            office=office,
            weekday=weekday,
            starts=dt.time(starts),
            ends=dt.time(ends),
            valid_from=dt.date(2026, 1, 1),
            **channels,
        )


@pytest.fixture
def service(personas: Personas):  # type: ignore[no-untyped-def]
    svc = ServiceFactory(
        organisation=personas.org_a,
        duration_minutes=30,
        offers_video=True,
        offers_in_person=True,
        min_notice_hours=2,
        max_days_ahead=14,
        offices=[personas.office_a],
    )
    for user in (personas.agent_a,):
        Membership.objects.get(user=user).services.add(svc)
    return svc


def test_an_agent_with_the_skill_and_a_schedule_gives_slots_in_the_window(
    personas: Personas, service
) -> None:
    works(Membership.objects.get(user=personas.agent_a), personas.office_a)
    slots = find_slots(service=service, channel=Channel.VIDEO, now=NOW)
    assert slots, "no slots"
    assert slots[0].start.astimezone(MADRID) == dt.datetime(2026, 11, 30, 10, 0, tzinfo=MADRID)
    assert all(s.start >= NOW + dt.timedelta(hours=2) for s in slots)
    assert all(s.start <= NOW + dt.timedelta(days=14) for s in slots)


def test_agents_without_the_skill_or_inactive_add_nothing(personas: Personas, service) -> None:
    unskilled = Membership.objects.get(user=personas.supervisor_a)
    works(unskilled, personas.office_a)
    inactive = MembershipFactory(organisation=personas.org_a, is_active=False)
    inactive.services.add(service)
    works(inactive, personas.office_a)
    assert find_slots(service=service, channel=Channel.VIDEO, now=NOW) == []


def test_any_office_pools_skilled_agents_of_every_office_for_video(
    personas: Personas, service
) -> None:
    remote = OfficeFactory(organisation=personas.org_a, back_office=True, slug="backoffice")
    agent_a = Membership.objects.get(user=personas.agent_a)
    works(agent_a, personas.office_a, starts=12, ends=13)
    colleague = MembershipFactory(organisation=personas.org_a)
    colleague.services.add(service)
    works(colleague, remote, starts=10, ends=11)
    slots = find_slots(service=service, channel=Channel.VIDEO, now=NOW)
    first = slots[0]
    # The earliest time is the remote colleague's, whatever office the citizen is near.
    assert first.start.astimezone(MADRID) == dt.datetime(2026, 11, 30, 10, 0, tzinfo=MADRID)
    assert first.resource_ids == (str(colleague.pk),)
    only_girona = find_slots(
        service=service, channel=Channel.VIDEO, now=NOW, office=personas.office_a
    )
    assert {s.resource_ids for s in only_girona} == {(str(agent_a.pk),)}


def test_in_person_stays_at_one_office_that_offers_the_service(personas: Personas, service) -> None:
    agent = Membership.objects.get(user=personas.agent_a)
    works(agent, personas.office_a, in_person=True)
    other = OfficeFactory(organisation=personas.org_a, slug="other")
    works(agent, other, weekdays=[5], in_person=True)
    with pytest.raises(NotOffered):
        find_slots(service=service, channel=Channel.IN_PERSON, now=NOW)
    with pytest.raises(NotOffered):
        find_slots(service=service, channel=Channel.IN_PERSON, now=NOW, office=other)
    slots = find_slots(
        service=service, channel=Channel.IN_PERSON, now=NOW, office=personas.office_a
    )
    assert slots and all(s.start.astimezone(MADRID).weekday() < 5 for s in slots)


def test_a_channel_the_service_does_not_offer_is_refused(personas: Personas, service) -> None:
    with pytest.raises(NotOffered):
        find_slots(service=service, channel=Channel.PHONE, now=NOW)


def test_holidays_office_closures_and_absences_remove_time(personas: Personas, service) -> None:
    agent = Membership.objects.get(user=personas.agent_a)
    works(agent, personas.office_a)
    ClosedDayFactory(
        organisation=personas.org_a, office=personas.office_a, date=dt.date(2026, 12, 2)
    )
    Absence.objects.create(
        membership=agent,
        starts_at=dt.datetime(2026, 12, 3, 9, tzinfo=MADRID),
        ends_at=dt.datetime(2026, 12, 3, 10, tzinfo=MADRID),
    )
    days = {}
    for slot in find_slots(service=service, channel=Channel.VIDEO, now=NOW):
        local = slot.start.astimezone(MADRID)
        days.setdefault(local.date(), []).append(local.strftime("%H:%M"))
    assert dt.date(2026, 12, 2) not in days  # the office's own closure
    assert dt.date(2026, 12, 8) not in days  # Immaculate Conception, a public holiday
    assert days[dt.date(2026, 12, 3)] == ["10:00", "10:30"]
    assert days[dt.date(2026, 12, 4)] == ["09:00", "09:30", "10:00", "10:30"]


def test_a_pattern_outside_its_validity_dates_gives_nothing(personas: Personas, service) -> None:
    agent = Membership.objects.get(user=personas.agent_a)
    WorkingPattern.objects.create(
        membership=agent,
        office=personas.office_a,
        weekday=1,
        starts=dt.time(9),
        ends=dt.time(11),
        valid_from=dt.date(2026, 1, 1),
        valid_until=dt.date(2026, 11, 30),
    )
    assert find_slots(service=service, channel=Channel.VIDEO, now=NOW) == []


def test_the_query_count_does_not_grow_with_staff(
    personas: Personas, service, django_assert_max_num_queries
) -> None:
    for _ in range(8):
        member = MembershipFactory(organisation=personas.org_a)
        member.services.add(service)
        works(member, personas.office_a)
    with django_assert_max_num_queries(8):
        find_slots(service=service, channel=Channel.VIDEO, now=NOW)
