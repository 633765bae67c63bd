"""Benchmark: one routing decision of the virtual queue with 500 agents and 5,000 citizens waiting.

A decision is `queueing.services.offer_next` for an agent who has just become available: read
their desk and skills, read the first rows of the waiting list they may serve (skill rules in
SQL), let the pure rules choose (ADR 21) and record the offer — three prepared statements, the
last a conditional update (ADR 30) — and tell the desks over the channel layer. The baseline
is the plain database read of the waiting list (the organisation's 5,000 waiting rows,
`values_list`), as a page listing the queue would do. Both are measured interleaved in this
process, each decision on a different agent (skills vary: 10 services, 1–4 each; languages; a
few sign-language agents); after each decision the offer is undone (not timed) so the queue
stays at 5,000. Target (desk
and queue issue): p99 ≤ 5 ms, reported as a ratio to the plain read. Runs in a throw-away test
database (created and destroyed here).

As in the web server: the decisions run in the worker thread of an event loop (a sync view
under ASGI), so the desks are told over the channel layer on that loop; and on one database
connection kept open (DB_CONN_MAX_AGE), after WARMUP decisions that are not timed, in which the
connection prepares each shape of the decision's statements once (ADR 30; on PostgreSQL a
connection's first decisions of each shape take a millisecond or two more).

    .venv/bin/python bench/queue_routing.py            # SQLite in a temporary file
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/finestreta_bench \\
        .venv/bin/python bench/queue_routing.py
"""

from __future__ import annotations

import asyncio
import datetime as dt
import gc
import random
import statistics

import django_setup  # noqa: F401, I001 - first: sets up Django for what follows
from asgiref.sync import sync_to_async
from django.db import connection
from figures import percentile, timed

AGENTS, WAITING, SERVICES, RUNS, WARMUP = 500, 5_000, 10, 1_000, 100
NOW = dt.datetime(2026, 12, 1, 10, 0, tzinfo=dt.UTC)


def seed():  # type: ignore[no-untyped-def]
    from finestreta.accounts.models import Membership, User
    from finestreta.catalogue.models import Service
    from finestreta.queueing.models import DeskStatus, QueueEntry
    from finestreta.tenants.models import Organisation

    rng = random.Random(1)
    org = Organisation.objects.create(slug="bench", name="Bench", name_ca="Bench")
    services = [
        Service.objects.create(
            organisation=org, slug=f"s{i}", name=f"S{i}", name_ca=f"S{i}", offers_video=True
        )
        for i in range(SERVICES)
    ]
    users = User.objects.bulk_create(User(username=f"agent{i}") for i in range(AGENTS))
    members = Membership.objects.bulk_create(
        Membership(
            user=user,
            organisation=org,
            languages=["ca", "es"] + (["en"] if rng.random() < 0.3 else []),
            sign_language=rng.random() < 0.05,
        )
        for user in users
    )
    links = Membership.services.through
    links.objects.bulk_create(
        links(membership_id=member.pk, service_id=service.pk)
        for member in members
        for service in rng.sample(services, rng.randint(1, 4))
    )
    DeskStatus.objects.bulk_create(
        DeskStatus(membership=member, state="available", since=NOW) for member in members
    )
    QueueEntry.objects.bulk_create(
        QueueEntry(
            organisation=org,
            service=rng.choice(services),
            channel="video",
            name=f"Citizen {n}",
            language=rng.choice(["", "", "", "ca", "es", "en"]),
            sign_language=rng.random() < 0.02,
            priority=1 if rng.random() < 0.1 else 0,
            joined_at=NOW - dt.timedelta(seconds=rng.randint(1, 7200)),
        )
        for n in range(WAITING)
    )
    return org, members


def main() -> None:
    from finestreta.queueing.models import QueueEntry
    from finestreta.queueing.services import offer_next

    database = connection.settings_dict["NAME"]
    connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False)
    try:
        org, members = seed()
        if connection.vendor == "postgresql":  # statistics, as autovacuum keeps them in service
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE")
        # As the web server after start-up (finestreta.lib.webserver.settle): what is there
        # now, the seed included, kept out of the garbage collector's passes.
        gc.collect()
        gc.freeze()
        print(f"{connection.vendor}: {AGENTS} agents available, {WAITING} citizens waiting")

        def plain_read() -> None:
            list(
                QueueEntry.objects.filter(organisation=org, state="waiting").values_list(
                    "pk", "service_id", "language", "sign_language", "priority", "joined_at"
                )
            )

        decisions: list[float] = []
        plain: list[float] = []
        empty = 0
        rng = random.Random(2)
        offered: list[QueueEntry | None] = []
        for run in range(WARMUP + RUNS):
            member = rng.choice(members)
            decision = timed(lambda m=member: offered.append(offer_next(membership=m, now=NOW)))
            baseline = timed(plain_read)
            if run >= WARMUP:
                decisions.append(decision)
                plain.append(baseline)
            entry = offered.pop()
            if entry is None:
                empty += 1 if run >= WARMUP else 0
            else:  # undo, so that the queue stays the same size (not timed)
                QueueEntry.objects.filter(pk=entry.pk).update(
                    state="waiting", offered_to=None, offered_at=None, offer_expires_at=None
                )
        d50, d99 = statistics.median(decisions), percentile(decisions, 0.99)
        p50, p99 = statistics.median(plain), percentile(plain, 0.99)
        print(
            f"decisions: {RUNS} after {WARMUP} not timed "
            f"({empty} found nobody the agent could serve)"
        )
        print(f"routing decision: p50 {d50:.2f} ms, p99 {d99:.2f} ms")
        print(f"plain read of the waiting list: p50 {p50:.2f} ms, p99 {p99:.2f} ms")
        print(
            f"ratio decision / plain read: p50 {d50 / p50:.2f}×, p99 {d99 / p99:.2f}×  "
            "(target: p99 ≤ 5 ms)"
        )
    finally:
        connection.close()
        connection.creation.destroy_test_db(database, verbosity=0)


if __name__ == "__main__":
    asyncio.run(sync_to_async(main, thread_sensitive=True)())
