"""Benchmark: availability of one service over 30 days (50 offices × 10 agents, 20,000 bookings).

Prints the engine's time (find_slots: database read + engine) as a ratio to the plain database
read of the same schedules and appointments, measured in the same process. Target (booking issue):
p50 ≤ 50 ms and ≤ 3× the plain read.

    .venv/bin/python bench/availability.py            # SQLite in a temporary file
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/finestreta_bench \\
        .venv/bin/python bench/availability.py
"""

from __future__ import annotations

import datetime as dt
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
TMP = tempfile.mkdtemp(prefix="finestreta-bench-")
os.environ.setdefault("SQLITE_PATH", str(Path(TMP) / "bench.sqlite3"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "finestreta.settings")
os.environ["FINESTRETA_TESTING"] = "1"

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402

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
    """The same rows find_slots needs, read without the engine."""
    from finestreta.accounts.models import Membership
    from finestreta.appointments.models import Appointment
    from finestreta.scheduling.models import Absence, WorkingPattern

    end = NOW + dt.timedelta(days=30)
    members = list(Membership.objects.filter(organisation=service.organisation, services=service))
    patterns = list(WorkingPattern.objects.filter(membership__in=members).select_related("office"))
    absences = list(Absence.objects.filter(membership__in=members, starts_at__lt=end))
    booked = list(
        Appointment.objects.filter(agent__in=members, occupied_from__lt=end, occupied_until__gt=NOW)
    )
    return len(members) + len(patterns) + len(absences) + len(booked)


def timed(fn, runs: int) -> list[float]:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        times.append((time.perf_counter() - started) * 1000)
    return times


def main() -> None:
    from finestreta.catalogue.models import Channel
    from finestreta.scheduling.services import find_slots

    call_command("migrate", verbosity=0)
    service, count = seed()
    print(
        f"{connection.vendor}: {OFFICES} offices × {AGENTS_PER_OFFICE} agents, {count} appointments"
    )
    slots = find_slots(service=service, channel=Channel.VIDEO, now=NOW, days=30)
    engine = timed(
        lambda: find_slots(service=service, channel=Channel.VIDEO, now=NOW, days=30), RUNS
    )
    plain = timed(lambda: plain_read(service), RUNS)
    p50_engine, p50_plain = statistics.median(engine), statistics.median(plain)
    print(f"slots offered: {len(slots)} (pooled over {OFFICES * AGENTS_PER_OFFICE} agents)")
    print(f"find_slots p50: {p50_engine:.1f} ms   plain read p50: {p50_plain:.1f} ms")
    print(
        f"ratio find_slots / plain read: {p50_engine / p50_plain:.2f}×"
        "  (target ≤ 3×; p50 target ≤ 50 ms)"
    )


if __name__ == "__main__":
    main()
