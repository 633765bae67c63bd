"""Load tests (production issue): the production shape on this machine, four scenarios, one table.

Brings up what production runs, all on 127.0.0.1: PostgreSQL (a database of its own, made and
dropped here: --database, default finestreta_load, on the server of LOAD_DATABASE_URL), Redis
(LOAD_REDIS_URL, default database 13, and a channel prefix of this run's own, so that nothing
else sharing the Redis is disturbed), two uvicorn web processes as production starts them
(finestreta.lib.webserver, DEBUG off, DB_CONN_MAX_AGE=0) and one task worker (`manage.py worker`,
DB_CONN_MAX_AGE=60), plus an aiosmtpd server in a process of its own. Then, from one asyncio
driver in this process, each scenario bounded in count (--size) and every wait in time:

1. booking storm: WAVES waves of CITIZENS citizens at once, each wave on SLOTS fresh popular
   times of one agent (room for one booking each), half the citizens through each web process,
   `POST /api/v1/ORG/bookings/` (one connection each, all sent together). Exactly one 201 per
   time, the rest 409 `slot_taken`; errors: a 5xx, no answer, any other status or code, a time
   with other than one winner, and in the database two active appointments of the agent that
   overlap. Baseline: the same crowd's `GET /healthz` on the same processes, interleaved.
2. signaling: CALLS rooms × 2 peers (the citizen on the first web process, the agent on the
   second: every message crosses Redis), joined and admitted; then ROUNDS rounds per call, GAP
   seconds apart (renegotiations): the citizen offers (a synthetic 2.6 kB SDP; the server only
   checks it is a string), the agent answers on receipt, then each trickles CANDIDATES
   candidates and `null` (docs/signaling.md). Figures: offer → answer round trips, and the
   one-way relay of every signal; errors: the server's `error` messages, sockets closed, signals
   lost. Baseline: `ping` → `pong` round trips on the same sockets, just before.
3. idle sockets: IDLE WebSockets (agent + admitted citizen rooms, half on each web process) held
   for IDLE_SECONDS, each pinging every PING_EVERY s (spread): ping round trips, the web
   processes' resident memory per socket; errors: a socket dropped, a ping unanswered, a
   traceback in the servers' logs. Baseline: the same pings with only 10 sockets open.
4. reminder burst: REMINDERS e-mail reminders (bench/notifications.py's rows) fall due at one
   instant; the worker sends them to the SMTP server. Due → accepted per message; errors: a
   reminder not accepted, or accepted more than once (by Message-ID), or a row not delivered.
   Baseline: the same messages sent straight to the same server from one loop (one SMTP
   session), from its start to each accepted.

Ratios are this run's figure over its baseline's (the machine is noisy: never compare figures of
different runs). Exits 1 if any error was counted. Sizes: `--size full` (the issue's figures,
about 6 minutes on 2 cores), `quick` (about 2 minutes), `tiny` (the smoke test's).

    .venv/bin/python bench/load.py --size quick
    .venv/bin/python bench/load.py --json figures.json
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import multiprocessing
import os
import random
import re
import resource
import secrets
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import load_parts  # first: the database server, then Django set up (bench/django_setup.py)
import redis
import video_rooms
from django.db import connection
from django_setup import TMP
from load_parts import SIZES, Probe, Series, Size, connect, request, rss_kib, server_errors

from finestreta.lib.models import WorkerHeartbeat
from tests.processes import child_env, free_port, running, wait_until
from tests.webrtc import Participant, asgi_server

REDIS_URL = os.environ.get("LOAD_REDIS_URL", "redis://127.0.0.1:6379/13")
PREFIX = f"load{os.getpid()}."
ORG = "load"  # the booking storm's organisation (video rooms: tests.personas', org-a)
JOINING = 16  # rooms joining at a time (the server drops a handshake not accepted in 5 s)
JOIN_FAILURES: Counter[str] = Counter()  # joins that failed, by exception: errors of the scenario


# --- Seeding -------------------------------------------------------------------------------------


def seed_booking(count: int) -> list[str]:
    """One agent who works every day from 07:00 to 21:00, one video service; `count` free times
    three days ahead or more (their reminders are not due during the run), an hour apart."""
    from django.utils import timezone

    from finestreta.accounts.models import Membership, User
    from finestreta.catalogue.models import Channel, Service
    from finestreta.scheduling.models import WorkingPattern
    from finestreta.scheduling.services import find_slots
    from finestreta.tenants.models import Office, Organisation

    org = Organisation.objects.create(slug=ORG, name="Load", name_ca="Load")
    office = Office.objects.create(
        organisation=org, slug="o", name="O", name_ca="O", kind="citizen", address="x"
    )
    service = Service.objects.create(
        organisation=org, slug="s", name="S", name_ca="S", name_es="S", name_oc="S", name_en="S",
        attention_level="informative", duration_minutes=15, max_days_ahead=30,
        min_notice_hours=0, offers_video=True,
    )  # fmt: skip
    member = Membership.objects.create(
        user=User.objects.create(username="load-agent"), organisation=org
    )
    member.services.add(service)
    WorkingPattern.objects.bulk_create(
        WorkingPattern(
            membership=member, office=office, weekday=day, starts=dt.time(7), ends=dt.time(21),
            valid_from=dt.date(2020, 1, 1),
        )
        for day in range(7)
    )  # fmt: skip
    later = timezone.now() + dt.timedelta(days=3)
    slots = find_slots(service=service, channel=Channel.VIDEO, now=later)
    picked: list[dt.datetime] = []
    for slot in slots:  # an hour apart: no two popular times overlap
        if not picked or slot.start - picked[-1] >= dt.timedelta(hours=1):
            picked.append(slot.start)
    assert len(picked) >= count, len(picked)
    return [start.isoformat() for start in picked[:count]]


def double_bookings() -> int:
    """Active appointments of one agent that overlap another of theirs (must be 0)."""
    from django.db.models import Exists, OuterRef

    from finestreta.appointments.models import Appointment

    active = Appointment.objects.filter(status__in=Appointment.ACTIVE)
    clash = active.filter(
        agent_id=OuterRef("agent_id"),
        occupied_from__lt=OuterRef("occupied_until"),
        occupied_until__gt=OuterRef("occupied_from"),
    ).exclude(pk=OuterRef("pk"))
    return active.filter(Exists(clash)).count()


def booked_at(starts: list[str]) -> Counter[str]:
    from finestreta.appointments.models import Appointment

    found = Appointment.objects.filter(
        organisation__slug=ORG,
        status=Appointment.Status.BOOKED,
        starts_at__in=[dt.datetime.fromisoformat(s) for s in starts],
    ).values_list("starts_at", flat=True)
    return Counter(start.isoformat() for start in found)


# --- 1. The booking storm ------------------------------------------------------------------------


async def crowd(
    ports: list[int], count: int, make: Any
) -> tuple[float, list[tuple[int, int, bytes, float]]]:
    """`count` citizens, each on its own connection (alternating web processes), send their
    request at once: the wall time and (n, status, body, latency ms) for each."""
    connected = 0
    go = asyncio.Event()

    async def one(n: int) -> tuple[int, int, bytes, float]:
        nonlocal connected
        try:
            stream = await connect(ports[n % 2])
        except OSError:
            connected += 1
            return n, 0, b"", 0.0
        connected += 1
        await go.wait()
        started = time.perf_counter()
        status, body = await request(stream, *make(n))
        return n, status, body, (time.perf_counter() - started) * 1000

    tasks = [asyncio.create_task(one(n)) for n in range(count)]
    while connected < count:
        await asyncio.sleep(0.01)
    started = time.perf_counter()
    go.set()
    answers = await asyncio.gather(*tasks)
    return time.perf_counter() - started, answers


async def booking_storm(ports: list[int], starts: list[str], size: Size) -> Series:
    storm = Series("booking storm (POST bookings/)")
    base = storm.baseline = Series("GET /healthz, same crowd")
    winners: Counter[str] = Counter()
    for wave in range(size.waves):
        popular = starts[wave * size.slots : (wave + 1) * size.slots]

        def health(n: int) -> tuple[str, str]:
            return "GET", "/healthz"

        def book(n: int, popular: list[str] = popular, wave: int = wave) -> tuple[Any, ...]:
            body = {
                "service": "s",
                "channel": "video",
                "start": popular[n % len(popular)],
                "contact": {"name": f"Persona {wave}-{n}", "email": f"p{wave}-{n}@example.org"},
            }
            key = {"Idempotency-Key": secrets.token_hex(16)}
            return "POST", f"/api/v1/{ORG}/bookings/", body, key

        order = [(base, health), (storm, book)]
        for series, make in order if wave % 2 == 0 else reversed(order):
            seconds, answers = await crowd(ports, size.citizens, make)
            series.seconds += seconds
            series.operations += len(answers)
            for n, status, body, latency in answers:
                if status:
                    series.latencies.append(latency)
                if series is base:
                    if status != 200:
                        series.errors[f"status {status}"] += 1
                    continue
                if status == 201:
                    winners[popular[n % len(popular)]] += 1
                elif status == 409:
                    code = json.loads(body or b"{}").get("error", {}).get("code")
                    if code != "slot_taken":
                        storm.errors[f"409 {code}"] += 1
                else:
                    storm.errors["no answer" if status == 0 else f"status {status}"] += 1
    storm.winners = winners  # type: ignore[attr-defined]
    return storm


def check_storm(storm: Series, starts: list[str], size: Size) -> None:
    """Exactly one 201 per popular time, one booking per time in the database, no agent booked
    twice at once."""
    winners: Counter[str] = storm.winners  # type: ignore[attr-defined]
    used = starts[: size.waves * size.slots]
    in_db = booked_at(used)
    overlapping = double_bookings()
    connection.close()
    for start in used:
        if winners[start] != 1:
            storm.errors["time without exactly one 201"] += 1
        if in_db[start] != 1:
            storm.errors["time without exactly one booking in the database"] += 1
    if overlapping:
        storm.errors["double booking"] += overlapping
    storm.checks = {
        "popular_times": len(used),
        "answers_201_per_time": sorted({winners[s] for s in used}),
        "booked_per_time": sorted({in_db[s] for s in used}),
        "double_bookings": overlapping,
    }
    storm.notes.append(
        f"{len(used)} popular times, {sum(winners.values())} booked (one each: "
        f"{all(winners[s] == 1 for s in used)}), double bookings {overlapping}"
    )


# --- 2. Signaling --------------------------------------------------------------------------------


def fake_sdp(tag: str, kind: str) -> str:
    """An SDP the size of a browser's audio + video offer (≈2.6 kB), with `tag` to time it."""
    media = "".join(
        f"m={m} 9 UDP/TLS/RTP/SAVPF 96 97 98 99 100 101 102\r\nc=IN IP4 0.0.0.0\r\n"
        f"a=rtcp:9 IN IP4 0.0.0.0\r\na=ice-ufrag:{secrets.token_hex(2)}\r\n"
        f"a=ice-pwd:{secrets.token_hex(12)}\r\na=fingerprint:sha-256 {'AB:' * 31}AB\r\n"
        f"a=setup:{'actpass' if kind == 'offer' else 'active'}\r\na=mid:{i}\r\n"
        + "".join(
            f"a=rtpmap:{96 + c} VP8/90000\r\na=rtcp-fb:{96 + c} nack pli\r\n" for c in range(7)
        )
        for i, m in enumerate(("audio", "video"))
    )
    return f"v=0\r\no=- {tag} 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0 1\r\n{media}"


async def join_pairs(
    rooms: list[tuple[tuple[str, str], video_rooms.Room]], make_probe: Any
) -> list[tuple[Participant, Participant]]:
    """For each (bases, room): the agent (on bases[1]) in, the citizen (on bases[0]) in and
    waiting, the agent admits. JOINING rooms at a time."""
    semaphore = asyncio.Semaphore(JOINING)

    async def one(
        bases: tuple[str, str], room: video_rooms.Room
    ) -> tuple[Participant, Participant] | None:
        async with semaphore:
            options: dict[str, Any] = {"webrtc": False, "reconnect": False, "ping_every": 1e6}
            agent = Participant(bases[1] + room.path, cookie=room.cookie, **options)
            citizen = Participant(bases[0] + room.path, token=room.token, **options)
            agent.on_message, citizen.on_message = make_probe(), make_probe()
            try:
                await agent.join(timeout=30)
                await citizen.join(timeout=30)
                await agent.admit(citizen.peer or "")
                await citizen.expect("admitted", timeout=30)
            except Exception as exc:  # noqa: BLE001 - counted as an error of the scenario
                JOIN_FAILURES[f"join failed: {type(exc).__name__}"] += 1
                await asyncio.gather(agent.close(), citizen.close())
                return None
            agent.received.clear()
            citizen.received.clear()
            return citizen, agent

    joined = await asyncio.gather(*(one(bases, room) for bases, room in rooms))
    return [pair for pair in joined if pair is not None]


def problems(people: list[Participant]) -> Counter[str]:
    found: Counter[str] = Counter(JOIN_FAILURES)
    JOIN_FAILURES.clear()
    for person in people:
        for error in person.errors:
            found[f"server error {error.get('code')}"] += 1
        if not person.online:
            found[f"socket closed ({person.close_code})"] += 1
        found["client failures"] += len(person.failures)
    return +found


async def pings(people: list[Participant], probes: dict[int, Probe], count: int) -> None:
    """Each socket pings `count` times, one at a time, all sockets at once."""

    async def one(person: Participant) -> None:
        probe = probes[id(person)]
        for _ in range(count):
            answered = probe.pongs + 1
            probe.ping_sent()
            await person.send({"type": "ping"})
            deadline = time.monotonic() + 10
            while probe.pongs < answered and time.monotonic() < deadline:
                await asyncio.sleep(0.005)

    await asyncio.gather(*(one(p) for p in people))


async def signaling(
    bases: tuple[str, str], rooms: list[video_rooms.Room], size: Size
) -> tuple[Series, Series]:
    rtt = Series("signaling: offer → answer round trip")
    relay = Series("signaling: one-way relay, every signal")
    ping = rtt.baseline = Series("ping → pong on the same sockets")
    probes: dict[int, Probe] = {}

    def make_probe() -> Probe:
        return Probe({"ping": ping})

    pairs = await join_pairs([(bases, room) for room in rooms], make_probe)
    people = [p for pair in pairs for p in pair]
    for person in people:
        probes[id(person)] = person.on_message  # type: ignore[assignment]
    try:
        started = time.perf_counter()
        await pings(people, probes, 3)
        ping.seconds, ping.operations = time.perf_counter() - started, len(ping.latencies)
        ping.errors.update({"ping unanswered": 3 * len(people) - len(ping.latencies)})
        ping.errors = +ping.errors

        offered: dict[str, float] = {}
        expected = len(pairs) * size.rounds * (2 + 2 * (size.candidates + 1))
        received = 0
        sent_at: dict[str, float] = {}
        replies: set[asyncio.Task[None]] = set()  # kept until done

        def spawn(coroutine: Any) -> None:
            task = asyncio.create_task(coroutine)
            replies.add(task)
            task.add_done_callback(replies.discard)

        def receiver(me: Participant) -> Any:
            def on_signal(message: dict[str, Any], now: float) -> None:
                nonlocal received
                received += 1
                if "description" in message:
                    tag = message["description"]["sdp"].split()[2]  # o=- TAG …
                    relay.latencies.append((now - sent_at.pop(tag)) * 1000)
                    if message["description"]["type"] == "offer":
                        answer_tag = "a" + tag[1:]
                        spawn(reply(me, message["from"], answer_tag))
                    else:
                        rtt.latencies.append((now - offered.pop("o" + tag[1:])) * 1000)
                        spawn(trickle(me, message["from"]))
                elif message.get("candidate") and "t" in message["candidate"]:
                    relay.latencies.append((now - message["candidate"]["t"]) * 1000)

            return on_signal

        async def reply(me: Participant, to: str, tag: str) -> None:
            sent_at[tag] = time.perf_counter()
            await me.send(
                {
                    "type": "signal",
                    "to": to,
                    "description": {"type": "answer", "sdp": fake_sdp(tag, "answer")},
                }
            )
            await trickle(me, to)

        async def trickle(me: Participant, to: str) -> None:
            for i in range(size.candidates):
                candidate = {
                    "candidate": f"candidate:{i} 1 udp 2130706431 127.0.0.1 {50000 + i} typ host",
                    "sdpMid": "0",
                    "sdpMLineIndex": 0,
                    "t": time.perf_counter(),
                }
                await me.send({"type": "signal", "to": to, "candidate": candidate})
            await me.send({"type": "signal", "to": to, "candidate": None})

        for citizen, agent in pairs:
            probes[id(citizen)].on_signal = receiver(citizen)
            probes[id(agent)].on_signal = receiver(agent)

        async def call(room: int, citizen: Participant, agent: Participant) -> None:
            await asyncio.sleep(random.random() * size.gap)
            for n in range(size.rounds):
                tag = f"o{room}x{n}"
                sent_at[tag] = offered[tag] = time.perf_counter()
                sdp = fake_sdp(tag, "offer")
                await citizen.send(
                    {
                        "type": "signal",
                        "to": agent.peer,
                        "description": {"type": "offer", "sdp": sdp},
                    }
                )
                await asyncio.sleep(size.gap)

        started = time.perf_counter()
        await asyncio.gather(*(call(r, c, a) for r, (c, a) in enumerate(pairs)))
        deadline = time.monotonic() + 20
        while received < expected and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        relay.seconds = rtt.seconds = time.perf_counter() - started
        relay.operations, rtt.operations = received, len(rtt.latencies)
        if received < expected:
            relay.errors["signals lost"] = expected - received
        if len(rtt.latencies) < len(pairs) * size.rounds:
            rtt.errors["offers unanswered"] = len(pairs) * size.rounds - len(rtt.latencies)
        rtt.errors.update(problems(people))
        rtt.notes.append(
            f"{len(pairs)} calls × 2 peers on two web processes, {size.rounds} rounds "
            f"{size.gap:g} s apart, {expected} signals expected, {received} relayed "
            f"({relay.throughput:.0f}/s; paced by the rounds, not the server's limit)"
        )
        relay.errors = +relay.errors
        return rtt, relay
    finally:
        await asyncio.gather(*(p.close() for p in people))


# --- 3. Idle sockets -----------------------------------------------------------------------------


async def idle_sockets(
    ports: list[int], rooms: list[video_rooms.Room], pids: list[int], logs: list[Path], size: Size
) -> Series:
    idle = Series(f"{size.idle} idle sockets: ping → pong")
    few = idle.baseline = Series("the same pings, 10 sockets open")
    few_series, idle_series = {"ping": few}, {"ping": idle}
    bases = [f"ws://127.0.0.1:{port}" for port in ports]

    async def pairs_on(rooms: list[video_rooms.Room], series: dict[str, Series]) -> list[Any]:
        # Both peers of a room on one process (room affinity), rooms alternating processes.
        pairs = [((bases[n % 2], bases[n % 2]), room) for n, room in enumerate(rooms)]
        return [p for pair in await join_pairs(pairs, lambda: Probe(series)) for p in pair]

    async def ping_for(people: list[Participant], seconds: float, every: float) -> int:
        async def one(person: Participant) -> int:
            probe: Probe = person.on_message  # type: ignore[assignment]
            sent = 0
            await asyncio.sleep(random.random() * every)
            end = time.monotonic() + seconds - every
            while time.monotonic() < end:
                probe.ping_sent()
                with contextlib.suppress(Exception):
                    await person.send({"type": "ping"})
                    sent += 1
                await asyncio.sleep(every)
            return sent

        sent = sum(await asyncio.gather(*(one(p) for p in people)))
        await asyncio.sleep(2)  # the last answers
        return sent

    warm = await pairs_on(rooms[:5], few_series)
    people: list[Participant] = []
    try:
        await asyncio.sleep(2)
        started = time.perf_counter()
        few.operations = await ping_for(warm, max(size.idle_seconds / 2, 3), 0.5)
        few.seconds = time.perf_counter() - started
        few.errors.update({"ping unanswered": few.operations - len(few.latencies)})
        few.errors = +few.errors
        before = sum(rss_kib(pid) for pid in pids)
        started = time.perf_counter()
        people = await pairs_on(rooms[5 : 5 + size.idle // 2], idle_series)
        join_seconds = time.perf_counter() - started
        await asyncio.sleep(5)
        after_join = sum(rss_kib(pid) for pid in pids)
        started = time.perf_counter()
        idle.operations = await ping_for(people, size.idle_seconds, size.ping_every)
        idle.seconds = time.perf_counter() - started
        after_idle = sum(rss_kib(pid) for pid in pids)
        idle.errors.update({"ping unanswered": idle.operations - len(idle.latencies)})
        idle.errors.update(problems(people + warm))
        if tracebacks := server_errors(logs):
            idle.errors["tracebacks in the servers' logs"] = tracebacks
        idle.errors = +idle.errors
        count = len(people)
        idle.notes.append(
            f"{count} sockets joined in {join_seconds:.1f} s ({count / join_seconds:.0f}/s), "
            f"{sum(p.online for p in people)} still open at the end; web processes' RSS "
            f"{before / 1024:.0f} MiB → {after_join / 1024:.0f} MiB joined → "
            f"{after_idle / 1024:.0f} MiB after {size.idle_seconds:g} s idle: "
            f"{(after_join - before) / count:.0f} KiB per socket"
        )
        return idle
    finally:
        await asyncio.gather(*(p.close() for p in warm + people))


# --- 4. The reminder burst -----------------------------------------------------------------------


def reminder_burst(sink: Any, smtp_port: int, size: Size, worker_alive: Any) -> Series:
    import notifications as pipeline_bench
    from django.conf import settings

    from finestreta.notifications.gateways import Outgoing, SmtpEmail
    from finestreta.notifications.models import Message
    from finestreta.tenants.models import Organisation

    burst = Series("reminder burst: due → accepted by SMTP")
    direct = burst.baseline = Series("direct SMTP sends from one loop")
    pipeline_bench.MESSAGES, pipeline_bench.SMS_EVERY = size.reminders, 0  # e-mail only
    pks = pipeline_bench.seed("http://127.0.0.1:9/unused", dt.datetime(2100, 1, 1, tzinfo=dt.UTC))
    org = Organisation.objects.get(slug="bench")  # bench/notifications.py's organisation
    ours = {f"finestreta-{org.pk}-{pk}" for pk in pks}

    def accepted(prefix: str, wanted: set[str]) -> dict[str, tuple[float, int]]:
        sink.send("read")
        return {
            key: value
            for key, value in sink.recv().items()
            if key.strip("<>").split("@")[0] in wanted and key.startswith(prefix)
        }

    sink.send("reset")
    sink.recv()
    due = time.time()
    Message.objects.filter(pk__in=pks).update(send_after=dt.datetime.fromtimestamp(due, tz=dt.UTC))
    connection.close()
    deadline = time.monotonic() + max(60.0, size.reminders / 10)
    while time.monotonic() < deadline and len(accepted("<finestreta-", ours)) < len(ours):
        time.sleep(0.25)
    time.sleep(2)  # time for a copy to show, were one sent
    got = accepted("<finestreta-", ours)
    burst.operations = len(got)
    burst.latencies = [(first - due) * 1000 for first, _copies in got.values()]
    burst.seconds = max(burst.latencies) / 1000 if burst.latencies else 0
    if missing := len(ours) - len(got):
        burst.errors["reminders not accepted"] = missing
    if copies := sum(n - 1 for _first, n in got.values()):
        burst.errors["copies accepted"] = copies
    undelivered = Message.objects.filter(pk__in=pks).exclude(status=Message.Status.DELIVERED)
    if left := undelivered.count():
        burst.errors["rows not delivered"] = left
    burst.checks = {
        "reminders": len(ours),
        "accepted": len(got),
        "copies": copies,
        "undelivered": left,
    }
    if not worker_alive():
        burst.errors["the worker stopped"] += 1

    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", smtp_port, 10
    email = SmtpEmail()
    outgoing = [
        Outgoing(
            channel="email", recipient=m.recipient, subject=m.subject, body=m.body, html=m.html,
            sender_name=org.name, reply_to="", idempotency_key=f"direct-{m.pk}",
        )
        for m in Message.objects.filter(pk__in=pks).order_by("pk")
    ]  # fmt: skip
    connection.close()
    started = time.time()
    for message in outgoing:
        email.send(message)
    email.close()
    got = accepted("<direct-", {f"direct-{pk}" for pk in pks})
    direct.operations = len(got)
    direct.latencies = [(first - started) * 1000 for first, _copies in got.values()]
    direct.seconds = max(direct.latencies) / 1000 if direct.latencies else 0
    if missing := len(pks) - len(got):
        direct.errors["not accepted"] = missing
    burst.notes.append(
        f"{len(pks)} reminders, {len(got)} distinct Message-IDs accepted once each: "
        f"{not burst.errors}; one worker (NOTIFICATIONS_POLL_SECONDS as configured)"
    )
    return burst


# --- The run -------------------------------------------------------------------------------------


def ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}×" if b and a == a and b == b else "—"  # noqa: PLR0124 - NaN check


def table(rows: list[Series]) -> str:
    head = (
        f"{'scenario':<44} {'ops':>6} {'/s':>8} {'p50 ms':>9} {'p95 ms':>9} {'p99 ms':>9} "
        f"{'errors':>6}  ratio to baseline (throughput, p50, p99)"
    )
    lines = [head, "-" * len(head)]

    def line(series: Series, label: str, extra: str = "") -> str:
        return (
            f"{label:<44} {series.operations:>6} {series.throughput:>8.1f} {series.p(0.5):>9.2f} "
            f"{series.p(0.95):>9.2f} {series.p(0.99):>9.2f} {sum(series.errors.values()):>6}  "
            f"{extra}"
        )

    for series in rows:
        base = series.baseline
        extra = ""
        if base is not None:
            extra = ", ".join(
                ratio(a, b)
                for a, b in (
                    (series.throughput, base.throughput),
                    (series.p(0.5), base.p(0.5)),
                    (series.p(0.99), base.p(0.99)),
                )
            )
        lines.append(line(series, series.name, extra))
        if base is not None:
            lines.append(line(base, "  baseline: " + base.name))
    return "\n".join(lines)


def web_env(smtp_port: int, conn_max_age: str) -> dict[str, str]:
    """Production-like (DEBUG off), the shared Redis under this run's prefix, loopback SMTP."""
    return child_env(
        DEBUG="0",
        SECRET_KEY=video_rooms.SECRET,  # the seeded sessions are signed with it
        ALLOWED_HOSTS="127.0.0.1",
        SECURE_SSL_REDIRECT="0",
        BEHIND_TLS_PROXY="0",
        SECURE_HSTS_SECONDS="0",
        LOG_LEVEL="ERROR",
        DB_CONN_MAX_AGE=conn_max_age,
        REDIS_URL=REDIS_URL,
        CHANNEL_PREFIX=PREFIX,
        # One address for every citizen here: the per-address throttles would refuse the storm.
        API_READ_RATE="1000000/minute",
        API_WRITE_RATE="1000000/minute",
        NOTIFICATIONS_EMAIL="smtp",
        EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
        EMAIL_HOST="127.0.0.1",
        EMAIL_PORT=str(smtp_port),
        EMAIL_TIMEOUT="10",
    )


def drop_database(name: str, server_db: str) -> None:
    """Drop the run's database even if a process that was killed left a session on it."""
    from django.conf import settings

    connection.close()
    connection.settings_dict["NAME"] = settings.DATABASES["default"]["NAME"] = server_db
    with connection._nodb_cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')  # noqa: S608 - checked


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", choices=sorted(SIZES), default="full")
    parser.add_argument("--quick", action="store_const", const="quick", dest="size")
    parser.add_argument("--database", default="finestreta_load")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args()
    if not re.fullmatch(r"[a-z][a-z0-9_]{0,62}", args.database):
        raise SystemExit("--database: a plain PostgreSQL name, e.g. finestreta_load")
    size = SIZES[args.size]
    begun = time.monotonic()

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    needed = 2 * size.idle + 1000  # the clients here, and the servers (children) inherit it
    if soft < needed:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, needed), hard))
    store = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        store.ping()
    except redis.exceptions.ConnectionError as exc:
        raise SystemExit(f"Redis is needed at {REDIS_URL}: {exc}") from exc

    smtp_port = free_port()
    context = multiprocessing.get_context("fork")
    sink, theirs = context.Pipe()
    receiver = context.Process(target=load_parts.smtp_sink, args=(smtp_port, theirs), daemon=True)
    receiver.start()
    assert sink.poll(30) and sink.recv() == "ready"

    connection.settings_dict["TEST"]["NAME"] = args.database
    server_db = connection.settings_dict["NAME"]
    connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False)
    durations: dict[str, float] = {}
    rows: list[Series] = []
    try:
        started = time.monotonic()
        starts = seed_booking(size.waves * size.slots)
        rooms = video_rooms.seed(size.calls + 5 + size.idle // 2)
        connection.close()
        durations["seeding"] = time.monotonic() - started
        ports = [free_port(), free_port()]
        logs = [Path(TMP) / f"web-{n}.log" for n in range(2)]
        with contextlib.ExitStack() as stack:
            started = time.monotonic()
            webs = [
                stack.enter_context(asgi_server(port, env=web_env(smtp_port, "0"), log=log))
                for port, log in zip(ports, logs, strict=True)
            ]
            worker = stack.enter_context(
                running(
                    ["worker", "--no-reload", "--no-startup-delay", "--worker-id", "load-0"],
                    env=web_env(smtp_port, "60"),
                )
            )
            worker_log: list[str] = []
            assert worker.stdout is not None
            # A full pipe would stall the worker.
            threading.Thread(target=lambda: worker_log.extend(worker.stdout), daemon=True).start()
            if not wait_until(lambda: WorkerHeartbeat.objects.exists(), timeout=60):
                raise SystemExit("the worker did not start:\n" + "".join(worker_log[-40:]))
            connection.close()
            durations["start-up"] = time.monotonic() - started
            pids = [web.pid for web in webs]
            bases = (f"ws://127.0.0.1:{ports[0]}", f"ws://127.0.0.1:{ports[1]}")
            print(
                f"size {args.size}: PostgreSQL database {args.database}, Redis {REDIS_URL} "
                f"(prefix {PREFIX}), 2 uvicorn web processes, 1 worker, {os.cpu_count()} cores "
                f"shared with this driver; seeded in {durations['seeding']:.0f} s",
                flush=True,
            )

            started = time.monotonic()
            storm = asyncio.run(booking_storm(ports, starts, size))
            check_storm(storm, starts, size)
            rows.append(storm)
            durations["booking storm"] = time.monotonic() - started
            print(f"booking storm done in {durations['booking storm']:.0f} s", flush=True)

            started = time.monotonic()
            rtt, relay = asyncio.run(signaling(bases, rooms[: size.calls], size))
            rows += [rtt, relay]
            durations["signaling"] = time.monotonic() - started
            print(f"signaling done in {durations['signaling']:.0f} s", flush=True)

            started = time.monotonic()
            rows.append(asyncio.run(idle_sockets(ports, rooms[size.calls :], pids, logs, size)))
            durations["idle sockets"] = time.monotonic() - started
            print(f"idle sockets done in {durations['idle sockets']:.0f} s", flush=True)

            started = time.monotonic()
            rows.append(reminder_burst(sink, smtp_port, size, lambda: worker.poll() is None))
            durations["reminder burst"] = time.monotonic() - started
            print(f"reminder burst done in {durations['reminder burst']:.0f} s", flush=True)
    finally:
        drop_database(args.database, server_db)
        sink.send("stop")
        receiver.join(10)
        for key in store.scan_iter(match=f"{PREFIX}*"):
            store.delete(key)
    durations["total"] = time.monotonic() - begun

    print()
    print(table(rows))
    for series in rows:
        for note in series.notes:
            print(f"- {series.name}: {note}")
    print("errors: " + "; ".join(f"{s.name}: {dict(s.errors) or 0}" for s in rows))
    print(
        "durations: " + ", ".join(f"{name} {seconds:.0f} s" for name, seconds in durations.items())
    )
    failed = any(s.errors or (s.baseline and s.baseline.errors) for s in rows)
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "size": args.size,
                    "scenarios": [s.as_dict() for s in rows],
                    "durations": durations,
                    "ok": not failed,
                },
                indent=2,
            )
        )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
