"""No double booking, ever: the database refuses it, and parallel bookings get one winner."""

from __future__ import annotations

import datetime as dt
import threading
from concurrent.futures import ThreadPoolExecutor
from zoneinfo import ZoneInfo

import pytest
from django.db import IntegrityError, connection, transaction

from finestreta.accounts.models import Membership
from finestreta.appointments.models import Appointment
from finestreta.appointments.services import SlotTaken, book_appointment
from finestreta.catalogue.models import Channel
from finestreta.scheduling.models import WorkingPattern
from finestreta.scheduling.services import find_slots
from tests.factories import ServiceFactory
from tests.personas import Personas

MADRID = ZoneInfo("Europe/Madrid")
NOW = dt.datetime(2026, 11, 30, 7, 0, tzinfo=dt.UTC)  # Monday 08:00 in Madrid
TEN = dt.datetime(2026, 12, 1, 10, 0, tzinfo=MADRID)  # Tuesday 10:00


@pytest.fixture
def setup(personas: Personas):  # type: ignore[no-untyped-def]
    service = ServiceFactory(
        organisation=personas.org_a, duration_minutes=30, buffer_after_minutes=10, max_days_ahead=14
    )
    agent = Membership.objects.get(user=personas.agent_a)
    agent.services.add(service)
    for weekday in range(5):
        WorkingPattern.objects.create(
            membership=agent,
            office=personas.office_a,
            weekday=weekday,
            starts=dt.time(9),
            ends=dt.time(12),
            valid_from=dt.date(2026, 1, 1),
        )
    return service, agent


def appointment(
    agent: Membership, service, start: dt.datetime, minutes: int = 30, **kw
) -> Appointment:  # type: ignore[no-untyped-def]
    end = start + dt.timedelta(minutes=minutes)
    return Appointment.objects.create(
        organisation=service.organisation,
        service=service,
        channel=Channel.VIDEO,
        agent=agent,
        starts_at=start,
        ends_at=end,
        occupied_from=start,
        occupied_until=end,
        status=kw.pop("status", Appointment.Status.BOOKED),
        code=kw.pop("code", f"C{start:%d%H%M}{minutes}"),
        **kw,
    )


def test_the_database_refuses_an_overlapping_appointment_of_the_same_agent(personas, setup) -> None:  # type: ignore[no-untyped-def]
    service, agent = setup
    appointment(agent, service, TEN)
    with pytest.raises(IntegrityError), transaction.atomic():
        appointment(agent, service, TEN + dt.timedelta(minutes=15), code="OVERLAP1")
    # Touching is not overlapping; another agent, or a cancelled appointment, does not block.
    appointment(agent, service, TEN + dt.timedelta(minutes=30), code="NEXT0001")
    other = Membership.objects.get(user=personas.supervisor_a)
    appointment(other, service, TEN, code="OTHER001")
    appointment(agent, service, TEN, code="CANCEL01", status=Appointment.Status.CANCELLED)
    with pytest.raises(IntegrityError), transaction.atomic():
        Appointment.objects.filter(code="CANCEL01").update(status=Appointment.Status.BOOKED)


def test_a_booking_takes_the_time_and_its_buffer_out_of_the_offer(setup) -> None:  # type: ignore[no-untyped-def]
    service, agent = setup
    booking = book_appointment(service=service, channel=Channel.VIDEO, start=TEN, now=NOW)
    assert booking.created and booking.appointment.agent == agent
    assert booking.appointment.occupied_until == TEN + dt.timedelta(minutes=40)
    starts = {s.start for s in find_slots(service=service, channel=Channel.VIDEO, now=NOW)}
    assert TEN not in starts
    assert len(booking.appointment.code) == 8


def test_the_same_idempotency_key_returns_the_same_appointment(setup) -> None:  # type: ignore[no-untyped-def]
    service, _agent = setup
    first = book_appointment(
        service=service, channel=Channel.VIDEO, start=TEN, now=NOW, idempotency_key="k-1"
    )
    again = book_appointment(
        service=service, channel=Channel.VIDEO, start=TEN, now=NOW, idempotency_key="k-1"
    )
    assert not again.created and again.appointment.pk == first.appointment.pk
    assert Appointment.objects.count() == 1


def test_a_taken_time_gets_a_clear_answer_with_the_next_free_times(setup) -> None:  # type: ignore[no-untyped-def]
    service, _agent = setup
    book_appointment(service=service, channel=Channel.VIDEO, start=TEN, now=NOW)
    with pytest.raises(SlotTaken) as taken:
        book_appointment(service=service, channel=Channel.VIDEO, start=TEN, now=NOW)
    assert taken.value.alternatives
    assert all(s.start > TEN for s in taken.value.alternatives)


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("many_connections")
@pytest.mark.parametrize("round_", range(3))
def test_fifty_parallel_bookings_of_one_time_have_exactly_one_winner(setup, round_: int) -> None:  # type: ignore[no-untyped-def]
    service, _agent = setup
    start = TEN + dt.timedelta(minutes=30 * round_)  # a different time on the grid each round
    barrier = threading.Barrier(50)

    def attempt(i: int) -> str:
        try:
            barrier.wait(timeout=30)
            book_appointment(service=service, channel=Channel.VIDEO, start=start, now=NOW)
            return "booked"
        except SlotTaken as taken:
            return "taken" if taken.alternatives else "taken-without-alternatives"
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=50) as pool:
        outcomes = list(pool.map(attempt, range(50)))
    assert outcomes.count("booked") == 1, outcomes
    assert outcomes.count("taken") == 49, outcomes
    assert Appointment.objects.filter(starts_at=start).count() == 1


@pytest.mark.django_db(transaction=True)
def test_parallel_retries_with_one_idempotency_key_all_get_the_same_appointment(setup) -> None:  # type: ignore[no-untyped-def]
    service, _agent = setup
    barrier = threading.Barrier(10)

    def attempt(i: int) -> int:
        try:
            barrier.wait(timeout=30)
            return book_appointment(
                service=service, channel=Channel.VIDEO, start=TEN, now=NOW, idempotency_key="same"
            ).appointment.pk
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=10) as pool:
        outcomes = list(pool.map(attempt, range(10)))
    assert len(set(outcomes)) == 1, outcomes
    assert Appointment.objects.get().status == Appointment.Status.BOOKED


@pytest.mark.django_db(transaction=True)
def test_the_sqlite_guard_survives_every_migration() -> None:
    """On SQLite a migration that rebuilds the table drops its triggers: they must be there."""
    if connection.vendor != "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1 FROM pg_constraint WHERE conname = 'appointment_no_overlap'")
            assert cursor.fetchone() is not None
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")
        names = {row[0] for row in cursor.fetchall()}
    assert {"appointment_no_overlap_insert", "appointment_no_overlap_update"} <= names
