"""Benchmark: the organisation's dashboard over one million appointments, on PostgreSQL.

The seed is one organisation with 600 agents, 10 procedures and 5 offices, and 1,000,000
appointments over the last 18 months. About 78 % of them are attended, 8 % not come and 14 %
cancelled; half are by video, a third by telephone and the rest in person. The attended video
calls have their rooms and the citizen's arrival in the lobby; one video attention in fifty is
a walk-in from the queue; a third of the attended have a survey answer; most citizens have a
municipality. The seed is written with INSERT … SELECT over generate_series, not the ORM.

What is timed, interleaved in this process:
- the dashboard: the staff page `GET /<org>/staff/reports/` through Django's test client, as
  a signed-in supervisor. That is middleware, session, form, every query of `kpis.report` and
  the template with its three SVG charts and tables;
- the baseline: the underlying aggregate query alone (`kpis.aggregate_query`, evaluated) for
  the same filters.
Two views are measured: the page as it opens (the last 90 days, by month, about 160,000
appointments) and a whole year by office (about 650,000). Each is run RUNS times after WARMUP
runs that are not timed.

Target (reports issue): the dashboard's p50 ≤ 500 ms, reported against the aggregate alone.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/finestreta_bench \\
        .venv/bin/python bench/dashboard.py

With BENCH_KEEPDB=1 the seeded database is kept (test_finestreta_bench) and reused by the next
run with BENCH_KEEPDB=1, which skips the seed; drop it by hand afterwards.
"""

from __future__ import annotations

import datetime as dt
import os
import statistics
import sys
import time

import django_setup  # noqa: F401, I001 - first: sets up Django for what follows
import time_machine
from django.db import connection, models
from django.test import Client
from figures import timed

APPOINTMENTS, AGENTS, SERVICES, OFFICES = 1_000_000, 600, 10, 5
RUNS, WARMUP = 15, 2
NOW = dt.datetime(2026, 12, 1, 12, 0, tzinfo=dt.UTC)
DAYS = 556  # 1,000,000 / 600 agents / 3 a day


def _default_sql(field: models.Field) -> str:  # type: ignore[type-arg]
    """What a column gets when the seed does not say: NULL where allowed, else the field's
    empty value (the database has no defaults of its own: Django fills them)."""
    if field.null:
        return "NULL"
    if isinstance(field, models.BooleanField):
        return "false"
    if isinstance(field, (models.IntegerField, models.FloatField, models.DecimalField)):
        return "0"
    if isinstance(field, models.JSONField):
        return "'{}'::jsonb"
    if isinstance(field, (models.DateTimeField,)):
        return "now()"
    return "''"


def insert_select(model: type[models.Model], source: str, values: dict[str, str]) -> int:
    """INSERT INTO the model's table, one row per row of `source` (SQL after FROM): each
    column from `values` (SQL expressions by field name) or its default."""
    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    expressions = ", ".join(values.get(f.name, _default_sql(f)) for f in fields)
    unknown = set(values) - {f.name for f in fields}
    assert not unknown, unknown
    sql = f"INSERT INTO {model._meta.db_table} ({columns}) SELECT {expressions} FROM {source}"  # noqa: S608 - the benchmark's own SQL
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return cursor.rowcount


def seed():  # type: ignore[no-untyped-def]
    from finestreta.accounts.models import Membership, Role, User
    from finestreta.appointments.models import Appointment
    from finestreta.catalogue.models import OutcomeCode, Service
    from finestreta.queueing.models import QueueEntry
    from finestreta.reports.models import SurveyAnswer
    from finestreta.tenants.models import Municipality, Office, Organisation
    from finestreta.video.models import Room, RoomEvent

    org = Organisation.objects.create(slug="bench", name="Bench", name_ca="Bench")
    towns = list(Municipality.objects.order_by("pk").values_list("pk", flat=True)[:300])
    offices = [
        Office.objects.create(
            organisation=org, slug=f"o{i}", name=f"Office {i}", municipality_id=towns[i * 50]
        )
        for i in range(OFFICES)
    ]
    services = [
        Service.objects.create(
            organisation=org,
            slug=f"s{i}",
            name=f"Procedure {i}",
            name_ca=f"Tràmit {i}",
            offers_video=True,
            offers_phone=True,
            offers_in_person=True,
            attention_level=["informative", "assisted", "attended"][i % 3],
        )
        for i in range(SERVICES)
    ]
    for service in services:
        service.offices.set(offices)
    outcomes = [
        OutcomeCode.objects.create(organisation=org, code=f"c{i}", label=f"C{i}", resolves=i < 2)
        for i in range(4)
    ]
    users = User.objects.bulk_create(User(username=f"agent{i}") for i in range(AGENTS))
    members = Membership.objects.bulk_create(
        Membership(user=user, organisation=org, role=Role.AGENT) for user in users
    )
    supervisor = User.objects.create(username="supervisor")
    Membership.objects.create(user=supervisor, organisation=org, role=Role.SUPERVISOR)

    def array(values: list[int]) -> str:
        return "ARRAY[" + ",".join(str(v) for v in values) + "]"

    start = NOW - dt.timedelta(days=DAYS)
    agent, slot = f"(i % {AGENTS})", f"(i / {AGENTS})"
    starts = (
        f"(timestamptz '{start.isoformat()}' + ({slot} / 3) * interval '1 day'"
        f" + (9 + 2 * ({slot} % 3)) * interval '1 hour')"
    )
    roll = "((i::bigint * 7919) % 100)"
    status = (
        f"(CASE WHEN {roll} < 78 THEN 'attended' WHEN {roll} < 86 THEN 'no_show' "
        "ELSE 'cancelled' END)"
    )
    channel = (
        "(CASE WHEN i % 10 < 5 THEN 'video' WHEN i % 10 < 8 THEN 'phone' ELSE 'in_person' END)"
    )
    t0 = time.perf_counter()
    made = insert_select(
        Appointment,
        f"generate_series(0, {APPOINTMENTS - 1}) AS g(i)",
        {
            "organisation": str(org.pk),
            "service": f"({array([s.pk for s in services])})[1 + (i / 7) % {SERVICES}]",
            "channel": channel,
            "office": (
                f"CASE WHEN i % 10 >= 8 THEN ({array([o.pk for o in offices])})"
                f"[1 + (i / 3) % {OFFICES}] END"
            ),
            "agent": f"({array([m.pk for m in members])})[1 + {agent}]",
            "starts_at": starts,
            "ends_at": f"{starts} + interval '30 minutes'",
            "occupied_from": starts,
            "occupied_until": f"{starts} + interval '30 minutes'",
            "status": status,
            "code": "'B' || lpad(i::text, 10, '0')",
            "name": "'Citizen ' || i",
            "email": "'c' || i || '@example.org'",
            "language": "'ca'",
            "municipality": (
                f"CASE WHEN i % 10 <> 3 THEN ({array(towns)})[1 + (i * 31) % {len(towns)}] END"
            ),
            "booked_at": f"{starts} - interval '5 days'",
            "cancelled_at": f"CASE WHEN {roll} >= 86 THEN {starts} - interval '1 day' END",
            "cancelled_by": (
                f"CASE WHEN {roll} >= 96 THEN 'office' WHEN {roll} >= 86 THEN 'citizen' ELSE '' END"
            ),
            "walk_in": "(i % 10 < 5 AND i % 100 < 2)",
            "outcome": (
                f"CASE WHEN {roll} < 78 AND i % 5 > 0 THEN "
                f"({array([o.pk for o in outcomes])})[1 + (i / 11) % 4] END"
            ),
        },
    )
    print(f"seeded {made:,} appointments in {time.perf_counter() - t0:.0f} s", flush=True)
    attended_video = (
        "appointments_appointment a WHERE a.status = 'attended' AND a.channel = 'video'"
    )
    rooms = insert_select(
        Room,
        attended_video,
        {
            "organisation": str(org.pk),
            "appointment": "a.id",
            "public_id": "'r' || a.id",
            "state": "'ended'",
            "citizen_admitted_at": "a.starts_at + (20 + a.id % 400) * interval '1 second'",
            "ended_at": "a.starts_at + (400 + a.id % 1200) * interval '1 second'",
        },
    )
    insert_select(
        RoomEvent,
        "video_room r JOIN appointments_appointment a ON a.id = r.appointment_id",
        {
            "room": "r.id",
            "kind": "'joined'",
            "role": "'citizen'",
            "at": "a.starts_at - interval '2 minutes'",
        },
    )
    insert_select(
        QueueEntry,
        attended_video + " AND a.walk_in",
        {
            "organisation": str(org.pk),
            "service": "a.service_id",
            "channel": "'video'",
            "state": "'served'",
            "name": "a.name",
            "joined_at": "a.starts_at - (60 + a.id % 600) * interval '1 second'",
            "served_by": "a.agent_id",
            "served_at": "a.starts_at",
            "ended_at": "a.ends_at",
            "appointment": "a.id",
            "locale": "'ca'",
        },
    )
    answers = insert_select(
        SurveyAnswer,
        "appointments_appointment a WHERE a.status = 'attended' AND a.id % 3 = 0",
        {
            "organisation": str(org.pk),
            "appointment": "a.id",
            "score": "(ARRAY[1,2,3,3,4,4,4,5,5,5])[1 + a.id % 10]",
            "language": "'ca'",
            "answered_at": "a.ends_at + interval '1 hour'",
        },
    )
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    print(
        f"with {rooms:,} video rooms and {answers:,} survey answers; "
        f"{time.perf_counter() - t0:.0f} s in all",
        flush=True,
    )
    return org, supervisor


def main() -> None:
    from finestreta.reports import kpis

    if connection.vendor != "postgresql":
        sys.exit("This benchmark is about PostgreSQL: set DATABASE_URL (see the docstring).")
    from finestreta.accounts.models import User
    from finestreta.tenants.models import Organisation

    database = connection.settings_dict["NAME"]
    keep = os.environ.get("BENCH_KEEPDB") == "1"  # seed once, measure many times (development)
    connection.creation.create_test_db(verbosity=0, autoclobber=not keep, keepdb=keep)
    try:
        found = Organisation.objects.filter(slug="bench").first() if keep else None
        if found is None:
            org, supervisor = seed()
        else:
            org, supervisor = found, User.objects.get(username="supervisor")
        from django.conf import settings

        settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
        client = Client()
        client.force_login(supervisor)
        today = NOW.date()
        views = [
            (
                "as it opens: the last 90 days by month",
                "",
                kpis.Filters(start=today - dt.timedelta(days=89), end=today),
                "month",
            ),
            (
                "a whole year by office",
                f"?start={today - dt.timedelta(days=364)}&end={today}&group=office",
                kpis.Filters(start=today - dt.timedelta(days=364), end=today),
                "office",
            ),
        ]
        from finestreta.reports import rollup
        from finestreta.reports.models import FiguresState

        if not FiguresState.objects.filter(organisation=org).exists():
            started = time.perf_counter()
            rolled = rollup.refresh(
                org, NOW.date() - dt.timedelta(days=DAYS + 1), NOW.date(), now=NOW
            )
            print(
                f"daily roll-up of every day before today: {rolled:,} rows in "
                f"{time.perf_counter() - started:.0f} s (once; then the workers' 35 days every "
                "10 minutes)"
            )
        started = time.perf_counter()
        rollup.refresh(org, NOW.date() - dt.timedelta(days=35), NOW.date(), now=NOW)
        print(f"a workers' refresh of the last 35 days: {time.perf_counter() - started:.1f} s")
        path = f"/{org.slug}/staff/reports/"
        zone = kpis.ZoneInfo(org.time_zone)
        with time_machine.travel(NOW, tick=True):
            for name, query, filters, group in views:
                rows = kpis.appointments_in(org, filters).count()
                pages: list[float] = []
                aggregates: list[float] = []
                rollups: list[float] = []

                def page(query: str = query) -> None:
                    response = client.get(path + query)
                    assert response.status_code == 200, response.status_code

                def aggregate(filters: kpis.Filters = filters, group: str = group) -> None:
                    """The aggregate over the appointments alone (what the page would run
                    without the roll-up)."""
                    list(kpis.aggregate_query(kpis.appointments_in(org, filters), group, zone))

                def rolled_only(filters: kpis.Filters = filters, group: str = group) -> None:
                    rolled, _live = rollup.split(org, filters)
                    if rolled is not None:
                        rollup.rows(org, rolled, group)

                for run in range(WARMUP + RUNS):
                    p, a, r = timed(page), timed(aggregate), timed(rolled_only)
                    if run >= WARMUP:
                        pages.append(p)
                        aggregates.append(a)
                        rollups.append(r)
                p50, a50 = statistics.median(pages), statistics.median(aggregates)
                r50 = statistics.median(rollups)
                print(f"\n{name} ({rows:,} appointments), {RUNS} runs after {WARMUP}:")
                print(f"  dashboard page:        p50 {p50:7.1f} ms, max {max(pages):7.1f} ms")
                print(f"  aggregate query alone: p50 {a50:7.1f} ms, max {max(aggregates):7.1f} ms")
                print(f"  roll-up query alone:   p50 {r50:7.1f} ms, max {max(rollups):7.1f} ms")
                print(
                    f"  ratio page / aggregate over the appointments: p50 {p50 / a50:.2f}×  "
                    "(target: page p50 ≤ 500 ms)"
                )
                print(f"  ratio page / the roll-up's aggregate: p50 {p50 / r50:.2f}×")
    finally:
        connection.close()
        if not keep:
            connection.creation.destroy_test_db(database, verbosity=0)


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    main()
