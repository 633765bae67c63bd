"""Benchmark: availability of one service over 30 days (50 offices × 10 agents, 20,000 bookings).

Prints the engine's time (find_slots: database read + engine) as a ratio to the plain database
read of the same schedules and appointments (`values_list` of the same rows, the plainest way),
measured in the same process, interleaved so that both see the same load. Target (booking
issue): p50 ≤ 50 ms and ≤ 3× the plain read. Runs in a throw-away test database (created and
destroyed here), never in the one DATABASE_URL names.

    .venv/bin/python bench/availability.py            # SQLite in a temporary file
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/finestreta_bench \\
        .venv/bin/python bench/availability.py
"""

from __future__ import annotations

import datetime as dt
import statistics

import django_setup  # noqa: F401, I001 - first: sets up Django for what follows
from django.db import connection
from figures import timed

OFFICES, AGENTS_PER_OFFICE, APPOINTMENTS, RUNS = 50, 10, 20_000, 15
NOW = dt.datetime(2026, 11, 30, 7, 0, tzinfo=dt.UTC)


def seed():  # type: ignore[no-untyped-def]
    from finestreta.accounts.models import Membership, User
    from finestreta.appointments.models import Appointment
    from finestreta.catalogue.models import Channel, Service
    from finestreta.scheduling.models import WorkingPattern
    from finestreta.tenants.models import Office, Organisation

    org = Organisation.objects.create(slug="bench", name="Bench", name_ca="Bench")
    offices = Office.objects.bulk_create(
        Office(
            organisation=org,
            slug=f"o{i}",
            name=f"O{i}",
            name_ca=f"O{i}",
            kind="citizen",
            address="x",
        )
        for i in range(OFFICES)
    )
    service = Service.objects.create(
        organisation=org,
        slug="s",
        name="S",
        name_ca="S",
        name_es="S",
        name_oc="S",
        name_en="S",
        attention_level="informative",
        duration_minutes=15,
        max_days_ahead=30,
        min_notice_hours=0,
    )
    users = User.objects.bulk_create(
        User(username=f"u{i}") for i in range(OFFICES * AGENTS_PER_OFFICE)
    )
    members = Membership.objects.bulk_create(Membership(user=u, organisation=org) for u in users)
    Membership.services.through.objects.bulk_create(
        Membership.services.through(membership_id=m.pk, service_id=service.pk) for m in members
    )
    WorkingPattern.objects.bulk_create(
        WorkingPattern(
            membership=m,
            office=offices[i // AGENTS_PER_OFFICE],
            weekday=day,
            starts=dt.time(9),
            ends=dt.time(14),
            valid_from=dt.date(2026, 1, 1),
        )
        for i, m in enumerate(members)
        for day in range(5)
    )
    appointments = []
    per_agent = APPOINTMENTS // len(members)
    for i, m in enumerate(members):
        for k in range(per_agent):
            day = NOW.date() + dt.timedelta(days=1 + k % 28)
            start = dt.datetime.combine(day, dt.time(8 + k % 5, 15 * (k // 28 % 4)), tzinfo=dt.UTC)
            appointments.append(
                Appointment(
                    organisation=org,
                    service=service,
                    channel=Channel.VIDEO,
                    agent=m,
                    starts_at=start,
                    ends_at=start + dt.timedelta(minutes=15),
                    occupied_from=start,
                    occupied_until=start + dt.timedelta(minutes=15),
                    status="booked",
                    code=f"B{i:04d}{k:03d}",
                )
            )
    Appointment.objects.bulk_create(appointments, batch_size=2000, ignore_conflicts=True)
    return service, Appointment.objects.count()


def plain_read(service) -> int:  # type: ignore[no-untyped-def]
    """The rows find_slots needs, read the plainest way: `values_list` with the same filters."""
    from finestreta.appointments.models import Appointment
    from finestreta.scheduling.models import Absence, WorkingPattern
    from finestreta.tenants.models import ClosedDay

    start, end = NOW, NOW + dt.timedelta(days=30, minutes=service.duration_minutes)
    skilled = {
        "membership__organisation": service.organisation,
        "membership__is_active": True,
        "membership__services": service,
    }
    patterns = list(
        WorkingPattern.objects.filter(video=True, **skilled).values_list(
            "membership_id", "office_id", "weekday", "starts", "ends", "valid_from", "valid_until"
        )
    )
    absences = list(
        Absence.objects.filter(starts_at__lt=end, ends_at__gt=start, **skilled).values_list(
            "membership_id", "starts_at", "ends_at"
        )
    )
    closed = list(
        ClosedDay.objects.filter(
            organisation=service.organisation, date__range=(start.date(), end.date())
        ).values_list("office_id", "date")
    )
    booked = list(
        Appointment.objects.filter(
            agent__organisation=service.organisation,
            agent__services=service,
            status__in=Appointment.ACTIVE,
            occupied_from__lt=end,
            occupied_until__gt=start,
        ).values_list("agent_id", "occupied_from", "occupied_until")
    )
    return len(patterns) + len(absences) + len(closed) + len(booked)


def main() -> None:
    from finestreta.catalogue.models import Channel
    from finestreta.scheduling.availability import first_available
    from finestreta.scheduling.services import build_resources, find_slots, slot_query

    database = connection.settings_dict["NAME"]
    connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False)
    try:
        service, count = seed()
        print(
            f"{connection.vendor}: {OFFICES} offices × {AGENTS_PER_OFFICE} agents, "
            f"{count} appointments"
        )

        def month():  # type: ignore[no-untyped-def]
            return find_slots(service=service, channel=Channel.VIDEO, now=NOW, days=30)

        def week():  # type: ignore[no-untyped-def]
            return find_slots(service=service, channel=Channel.VIDEO, now=NOW, days=7)

        def first():  # type: ignore[no-untyped-def]
            query = slot_query(service=service, now=NOW, days=30)
            resources = build_resources(
                service=service, channel=Channel.VIDEO, office=None, query=query, now=NOW
            )
            return first_available(resources, query)

        slots = month()
        plain_read(service)
        times: dict[str, list[float]] = {"month": [], "plain": [], "week": [], "first": []}
        for _ in range(RUNS):  # interleaved: a burst of load elsewhere hits all of them alike
            times["month"].append(timed(month))
            times["plain"].append(timed(lambda: plain_read(service)))
            times["week"].append(timed(week))
            times["first"].append(timed(first))
        p50 = {name: statistics.median(values) for name, values in times.items()}
        print(f"slots offered: {len(slots)} (pooled over {OFFICES * AGENTS_PER_OFFICE} agents)")
        print(
            f"find_slots 30 days p50: {p50['month']:.1f} ms   "
            f"plain read p50: {p50['plain']:.1f} ms   "
            f"ratio: {p50['month'] / p50['plain']:.2f}×  (targets: ≤ 50 ms, ≤ 3×)"
        )
        print(
            f"find_slots 7 days p50: {p50['week']:.1f} ms   "
            f"first available (30 days) p50: {p50['first']:.1f} ms"
        )
    finally:
        connection.creation.destroy_test_db(database, verbosity=0)


if __name__ == "__main__":
    main()
