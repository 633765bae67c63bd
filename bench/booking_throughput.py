"""Benchmark: booking throughput through the JSON API, against a trivial database-backed page.

Target (booking issue): booking throughput on PostgreSQL ≥ 0.3× the throughput of a trivial
database-backed page on the same server, with no double booking under contention.

Starts the real server (`manage.py serve`: uvicorn and a task worker, as `make run` does) on a
throw-away test database (created and destroyed here), then drives it from CLIENTS threads with
keep-alive HTTP connections to 127.0.0.1, for SECONDS seconds per phase:

1. the trivial page: `GET /api/v1/bench/offices/` — one organisation lookup and one indexed read
   of its offices (with their opening hours) rendered as JSON, through the same API stack;
2. booking in one step: `POST /api/v1/bench/bookings/` with {service, channel, start, contact}
   and an Idempotency-Key. Requests are spread over distinct free times; every HOT_EVERY-th one
   goes to the same "hot" time instead, which has room for AGENTS bookings only, so the rest of
   them must get 409 slot_taken.

Prints requests per second for both, the ratio, and the answers by status; then checks in the
database that no agent has two overlapping active appointments and that the hot time holds
exactly as many bookings as it has agents.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/finestreta_bench \\
        .venv/bin/python bench/booking_throughput.py
"""

from __future__ import annotations

import datetime as dt
import http.client
import itertools
import json
import os
import secrets
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator

import django_setup  # noqa: F401, I001 - first: sets up Django for what follows
from django.db import connection
from django.db.models import Exists, OuterRef

from tests.processes import child_env, free_port, running, wait_until

CLIENTS = int(os.environ.get("BENCH_CLIENTS", "8"))
SECONDS = float(os.environ.get("BENCH_SECONDS", "10"))
AGENTS, OFFICES, HOT_EVERY = 20, 10, 4
MAX_REQUESTS = 20_000  # per phase, whatever the speed: the run stays bounded
ORG = "bench"


def seed() -> None:  # type: ignore[no-untyped-def]
    from finestreta.accounts.models import Membership, User
    from finestreta.catalogue.models import Service
    from finestreta.scheduling.models import WorkingPattern
    from finestreta.tenants.models import Office, OpeningHours, Organisation

    org = Organisation.objects.create(slug=ORG, name="Bench", name_ca="Bench")
    offices = Office.objects.bulk_create(
        Office(
            organisation=org, slug=f"o{i}", name=f"O{i}", name_ca=f"O{i}", kind="citizen",
            address="x",
        )
        for i in range(OFFICES)
    )  # fmt: skip
    OpeningHours.objects.bulk_create(
        OpeningHours(office=office, weekday=day, opens=dt.time(9), closes=dt.time(14))
        for office in offices
        for day in range(5)
    )
    service = Service.objects.create(
        organisation=org, slug="s", name="S", name_ca="S", name_es="S", name_oc="S", name_en="S",
        attention_level="informative", duration_minutes=15, max_days_ahead=30,
        min_notice_hours=0, offers_video=True,
    )  # fmt: skip
    users = User.objects.bulk_create(User(username=f"bench-agent-{i}") for i in range(AGENTS))
    members = Membership.objects.bulk_create(Membership(user=u, organisation=org) for u in users)
    for member in members:
        member.services.add(service)
    # Every day from 07:00 to 21:00: plenty of distinct free times in the 30-day window.
    WorkingPattern.objects.bulk_create(
        WorkingPattern(
            membership=member, office=offices[i % OFFICES], weekday=day, starts=dt.time(7),
            ends=dt.time(21), valid_from=dt.date(2020, 1, 1),
        )
        for i, member in enumerate(members)
        for day in range(7)
    )  # fmt: skip


def free_starts() -> list[str]:
    from django.utils import timezone

    from finestreta.catalogue.models import Channel, Service
    from finestreta.scheduling.services import find_slots

    service = Service.objects.get(organisation__slug=ORG, slug="s")
    # An hour from now: no time may slip into the past during the run.
    later = timezone.now() + dt.timedelta(hours=1)
    slots = find_slots(service=service, channel=Channel.VIDEO, now=later)
    return [slot.start.isoformat() for slot in slots]


class Client:
    """One keep-alive connection; reconnects if the server closes it."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)

    def request(self, method: str, path: str, body: bytes | None = None, **headers: str) -> int:
        for attempt in range(2):
            try:
                self.connection.request(method, path, body=body, headers=headers)
                response = self.connection.getresponse()
                response.read()
                if response.getheader("Connection", "").lower() == "close":
                    self.connection.close()
                return response.status
            except (http.client.HTTPException, OSError):
                self.connection.close()
                if attempt:
                    raise
        raise AssertionError("unreachable")


def phase(
    port: int, work: Callable[[Client, int], int], seconds: float = SECONDS
) -> tuple[float, Counter[int]]:
    """Run `work` from CLIENTS threads for `seconds` (or MAX_REQUESTS): requests/s, statuses."""
    counter = itertools.count()
    statuses: Counter[int] = Counter()
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def loop() -> None:
        client = Client(port)
        mine: Counter[int] = Counter()
        while time.monotonic() < deadline:
            n = next(counter)
            if n >= MAX_REQUESTS:
                break
            mine[work(client, n)] += 1
        with lock:
            statuses.update(mine)

    threads = [threading.Thread(target=loop) for _ in range(CLIENTS)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(statuses.values()) / (time.monotonic() - started), statuses


def bookings(starts: list[str], hot: str) -> Callable[[Client, int], int]:
    distinct: Iterator[str] = iter(starts)
    lock = threading.Lock()

    def book(client: Client, n: int) -> int:
        if n % HOT_EVERY == 0:
            start = hot
        else:
            with lock:
                start = next(distinct)  # each free time once: no contention here
        body = {
            "service": "s",
            "channel": "video",
            "start": start,
            "contact": {"name": f"Persona {n}", "email": f"p{n}@example.org", "language": "ca"},
        }
        return client.request(
            "POST",
            f"/api/v1/{ORG}/bookings/",
            json.dumps(body).encode(),
            **{"Content-Type": "application/json", "Idempotency-Key": secrets.token_hex(16)},
        )

    return book


def check_no_double_booking(hot: str, created: int) -> None:
    from finestreta.appointments.models import Appointment

    active = Appointment.objects.filter(status__in=Appointment.ACTIVE)
    clash = active.filter(
        agent_id=OuterRef("agent_id"),
        occupied_from__lt=OuterRef("occupied_until"),
        occupied_until__gt=OuterRef("occupied_from"),
    ).exclude(pk=OuterRef("pk"))
    overlapping = active.filter(Exists(clash)).count()
    booked = Appointment.objects.filter(status=Appointment.Status.BOOKED)
    on_hot = booked.filter(starts_at=dt.datetime.fromisoformat(hot)).count()
    print(f"overlapping active appointments of one agent: {overlapping} (must be 0)")
    print(f"bookings at the hot time: {on_hot} (its capacity: {AGENTS})")
    print(f"appointments booked: {booked.count()} (201 answers: {created})")
    assert overlapping == 0, "double booking!"
    assert on_hot <= AGENTS
    assert booked.count() == created


def main() -> None:
    if connection.vendor != "postgresql":
        print("Note: the target is about PostgreSQL; this run uses", connection.vendor)
    database = connection.settings_dict["NAME"]
    connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False)
    try:
        seed()
        starts = free_starts()
        hot, distinct = starts[len(starts) // 2], starts[: len(starts) // 2]
        connection.close()  # the server's processes use the database from here on
        port = free_port()
        env = child_env(
            DEBUG="0",
            SECRET_KEY=secrets.token_urlsafe(48),
            ALLOWED_HOSTS="127.0.0.1",
            SECURE_SSL_REDIRECT="0",
            BEHIND_TLS_PROXY="0",
            SECURE_HSTS_SECONDS="0",
            API_READ_RATE="1000000/minute",
            API_WRITE_RATE="1000000/minute",
            LOG_LEVEL="ERROR",
        )
        with running(["serve", "--host", "127.0.0.1", "--port", str(port)], env=env) as server:
            assert server.stdout is not None
            log: list[str] = []
            drain = threading.Thread(target=lambda: log.extend(server.stdout), daemon=True)
            drain.start()  # a full pipe would stall the server

            def healthy() -> bool:
                try:
                    return Client(port).request("GET", f"/api/v1/{ORG}/offices/") == 200
                except OSError:
                    return False

            if not wait_until(healthy, timeout=60):
                raise SystemExit("the server did not start:\n" + "".join(log[-40:]))
            conn_age = env.get("DB_CONN_MAX_AGE", "0")
            print(
                f"{connection.vendor}, uvicorn (manage.py serve), DB_CONN_MAX_AGE={conn_age}, "
                f"{CLIENTS} clients, {SECONDS:.0f} s per phase, {AGENTS} agents"
            )
            # Warm up: imports, connections, caches.
            phase(port, lambda client, n: client.request("GET", f"/api/v1/{ORG}/offices/"), 2)
            page_rps, page = phase(
                port, lambda client, n: client.request("GET", f"/api/v1/{ORG}/offices/")
            )
            book_rps, booked = phase(port, bookings(distinct, hot))
        created = booked[201]
        elapsed_share = created / sum(booked.values()) if booked else 0
        print(f"trivial page (GET offices/): {page_rps:.0f} requests/s  {dict(page)}")
        print(
            f"bookings (POST bookings/): {book_rps:.0f} requests/s, "
            f"{book_rps * elapsed_share:.0f} bookings/s  {dict(booked)}"
        )
        print(f"ratio booking / trivial page: {book_rps / page_rps:.2f}×  (target ≥ 0.3×)")
        assert set(page) == {200}, page
        assert set(booked) <= {201, 409}, booked
        check_no_double_booking(hot, created)
    finally:
        connection.close()
        connection.creation.destroy_test_db(database, verbosity=0)


if __name__ == "__main__":
    main()
