"""Fault tests (production issue; `make soak`): a server the platform depends on fails in the
middle of real work, and afterwards the invariants still hold.

1. Redis restarted during a call whose two sides sit on two web processes (every signal and
   chat line between them crosses Redis): the media keep flowing meanwhile (WebRTC is peer to
   peer, never through Redis); afterwards signaling works again (a renegotiation is answered)
   and chat passes both ways; no chat line acknowledged before or during the outage is lost
   (the acknowledgement is sent only once the line is stored in PostgreSQL, video.services
   `post_chat`), each is stored once, in order, and both sides end up with the whole history.
2. PostgreSQL stopped and started while a stream of bookings runs through two gunicorn
   processes (as production serves the API, DEBUG off, kept connections): during the outage
   the API answers 503 with `{"error": {"code": "unavailable"}}` and Retry-After, a page a plain
   503 page, never a 500 or a traceback; afterwards the processes recover by themselves, every
   booking acknowledged with 201 exists as booked with its confirmation queued once, no time
   is booked twice, a retry of a failed request with its Idempotency-Key never makes a second
   appointment, and the audit chain verifies.
3. A web process killed with SIGKILL while both sides of a call are on it: the clients reconnect
   to the other web process (as the proxy sends them once the first is gone, docs/deploy) and
   resume (`hello` with `resume`, docs/signaling.md): same participants, still admitted, media
   flowing throughout, signaling answered on the new process, and the chat history intact.

Each starts its own disposable engines (tests/production/engines.py) — never the machine's
shared PostgreSQL and Redis — and is bounded: well under a minute each. Marked `soak`: `make soak`
runs them on PostgreSQL; the usual test passes leave them out.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import http.client
import itertools
import json
import secrets
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone

from finestreta.accounts.models import Membership
from finestreta.appointments.services import join_token
from finestreta.video import services as video
from finestreta.video.models import ChatLine
from finestreta.video.tests.test_real_peers import (
    FAST,
    chat_passes,
    closing,
    connected,
    cookie,
    into_the_call,
    media_flows,
)
from tests.factories import AppointmentFactory
from tests.personas import Personas
from tests.processes import ROOT, child_env, free_port, stop, wait_until
from tests.production.engines import Postgres, disposable_postgres, disposable_redis
from tests.webrtc import Participant, asgi_server, start_asgi_server, until

pytestmark = [pytest.mark.soak, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def on_postgresql() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("`make soak` runs it on PostgreSQL: several writing processes need it")


def web_env(**extra: str) -> dict[str, str]:
    return child_env(DEBUG="1", LOG_LEVEL="WARNING", **extra)


@dataclass
class Call:
    path: str
    token: str
    agent: str  # the agent's session cookie
    room_id: int


@pytest.fixture
def call(personas: Personas) -> Call:
    appointment = AppointmentFactory(
        agent=Membership.objects.get(user=personas.agent_a),
        service=personas.service_a,
        starts_at=timezone.now() - dt.timedelta(minutes=5),
    )
    room = video.get_room(appointment)
    return Call(
        path=f"/ws/{personas.org_a.slug}/video/{room.public_id}/",
        token=join_token(appointment),
        agent=cookie(personas.agent_a),
        room_id=room.pk,
    )


def stored_chat(room_id: int) -> list[tuple[int, str, str]]:
    connection.close()  # the scenario ran in another thread's event loop: a fresh connection
    return list(
        ChatLine.objects.filter(room_id=room_id).order_by("seq").values_list("seq", "text", "ref")
    )


async def renegotiation_answered(citizen: Participant, agent: Participant) -> None:
    """Signaling works: an offer from one side gets the other's answer through the server."""
    link = citizen.links[agent.peer or ""]
    answers = link.answers
    await citizen.offer(agent.peer or "")
    await until(lambda: link.answers > answers, timeout=15, what="renegotiation answer")


# --- 1. Redis ----------------------------------------------------------------------------------


def test_a_call_keeps_its_media_and_loses_no_chat_line_when_redis_restarts(
    call: Call, tmp_path: Path
) -> None:
    started = time.monotonic()
    ports = [free_port(), free_port()]
    with ExitStack() as stack:
        redis = stack.enter_context(disposable_redis(tmp_path))
        env = web_env(REDIS_URL=redis.url)
        for n, port in enumerate(ports):
            stack.enter_context(asgi_server(port, env=env, log=tmp_path / f"web-{n}.log"))
        # The two sides on two processes: everything between them crosses Redis.
        citizen = Participant(
            f"ws://127.0.0.1:{ports[0]}{call.path}", token=call.token, backoff=FAST, label="c"
        )
        agent = Participant(
            f"ws://127.0.0.1:{ports[1]}{call.path}", cookie=call.agent, backoff=FAST, label="a"
        )
        acknowledged: list[dict[str, Any]] = []

        async def scenario() -> None:
            async with closing(citizen, agent):
                await into_the_call(citizen, agent)
                await media_flows(citizen, agent)
                acknowledged.append(await chat_passes(citizen, agent, "Em sent bé?"))
                acknowledged.append(await chat_passes(agent, citizen, "Sí, perfectament."))
                peers = (citizen.peer, agent.peer)

                await asyncio.to_thread(redis.kill)
                # Peer to peer: the media do not notice.
                await media_flows(citizen, agent)
                assert connected(citizen, agent)
                # A line written meanwhile: stored, acknowledged once it can be.
                during = await citizen.say("S'ha tallat alguna cosa?")
                await asyncio.sleep(1.5)
                await asyncio.to_thread(redis.start)  # the same port, empty

                acknowledged.append(await citizen.acknowledged(during, timeout=20))
                await until(lambda: citizen.online and agent.online, timeout=15, what="online")
                assert (citizen.peer, agent.peer) == peers  # resumed, not new participants
                # Across the processes again, both ways, and a renegotiation.
                acknowledged.append(await chat_passes(agent, citizen, "Ja torna a anar."))
                acknowledged.append(await chat_passes(citizen, agent, "Gràcies!"))
                await renegotiation_answered(citizen, agent)
                await media_flows(citizen, agent)
                assert connected(citizen, agent)
                # Both sides hold the whole history (the line of the outage included), as a
                # page opened again would (its `welcome` carries the stored lines).
                seqs = [line["seq"] for line in acknowledged]
                for side in (citizen, agent):
                    with contextlib.suppress(TimeoutError):
                        await until(lambda side=side: set(seqs) <= set(side.chat), timeout=10)
                    assert set(seqs) <= set(side.chat), (side, sorted(side.chat), seqs)

        asyncio.run(asyncio.wait_for(scenario(), 50))

    stored = stored_chat(call.room_id)
    # Every acknowledged line stored exactly once, numbered 1, 2, 3 … with no gap.
    assert [seq for seq, _text, _ref in stored] == list(range(1, len(stored) + 1))
    assert sorted((a["seq"], a["text"], a["ref"]) for a in acknowledged) == stored
    assert time.monotonic() - started < 60


# --- 2. PostgreSQL -----------------------------------------------------------------------------

PROXY = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.9", "Host": "127.0.0.1"}
CLIENTS = 4  # booking threads, half through each web process


@dataclass
class Attempt:
    n: int
    key: str
    start: str
    status: int
    body: dict[str, Any]
    retry_after: str | None
    at: float


def request(
    port: int, method: str, path: str, body: dict[str, Any] | None = None, **headers: str
) -> tuple[int, http.client.HTTPMessage, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request(
            method,
            path,
            body=json.dumps(body) if body is not None else None,
            headers={**PROXY, "Content-Type": "application/json", **headers},
        )
        answer = conn.getresponse()
        return answer.status, answer.headers, answer.read()
    finally:
        conn.close()


def in_child(env: dict[str, str], command: str) -> dict[str, Any]:
    """tests/production/faultdb.py against the disposable database."""
    done = subprocess.run(  # noqa: S603 - a fixed argv of our own
        [sys.executable, "-m", "tests.production.faultdb", command],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@dataclass
class Database:
    server: Postgres
    env: dict[str, str]  # a child process's environment, on the disposable database
    org: str
    service: str
    migrate_seconds: float


@pytest.fixture(scope="module")
def booking_database() -> Iterator[Database]:
    """A PostgreSQL cluster of the module's own, migrated and seeded once (migrating takes
    most of the test's time: about 15 s here)."""
    # Not under pytest's folders: those are private to root, and the cluster belongs to the
    # postgres user when the tests run as root.
    with (
        tempfile.TemporaryDirectory(prefix="finestreta-pg-") as folder,
        disposable_postgres(Path(folder)) as server,
    ):
        server.create_database("finestreta")
        env = child_env(FINESTRETA_TESTING="1", LOG_LEVEL="WARNING")
        env["DATABASE_URL"] = server.url("finestreta")
        env.pop("SQLITE_PATH", None)
        began = time.monotonic()
        subprocess.run(  # noqa: S603
            [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"],
            cwd=ROOT,
            env=env,
            check=True,
            timeout=120,
        )
        migrate_seconds = time.monotonic() - began
        print(f"migrate into the disposable database: {migrate_seconds:.1f} s")
        seeded = in_child(env, "seed")
        yield Database(server, env, seeded["org"], seeded["service"], migrate_seconds)


@contextmanager
def gunicorn(port: int, env: dict[str, str], log: Path) -> Iterator[subprocess.Popen]:
    """As production serves plain HTTP (docs/deploy/systemd/finestreta-http@.service), smaller."""
    with log.open("ab") as out:
        process = subprocess.Popen(  # noqa: S603 - a fixed argv of our own server
            [sys.executable, "-m", "gunicorn", "finestreta.wsgi:application"]
            + ["--bind", f"127.0.0.1:{port}", "--workers", "1", "--worker-class", "gthread"]
            + ["--threads", "4", "--timeout", "60"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:

        def answers() -> bool:
            try:
                return request(port, "GET", "/healthz")[0] == 200
            except OSError:
                return False

        if not wait_until(answers, timeout=60):
            raise RuntimeError(f"gunicorn did not start:\n{log.read_text()[-3000:]}")
        yield process
    finally:
        stop(process)


def test_bookings_during_a_postgresql_restart_get_a_clear_503_and_none_acknowledged_is_lost(
    booking_database: Database, tmp_path: Path
) -> None:
    started = time.monotonic()
    db = booking_database
    env = {
        **db.env,
        "DEBUG": "0",
        "FINESTRETA_TESTING": "0",
        "SECRET_KEY": secrets.token_urlsafe(64),
        "ALLOWED_HOSTS": "127.0.0.1",
        "STATIC_ROOT": str(tmp_path / "static"),
        "DB_CONN_MAX_AGE": "60",  # kept connections, as production's WSGI processes
        "REDIS_URL": "",
        "API_WRITE_RATE": "100000/min",
    }
    ports = [free_port(), free_port()]
    bookings = f"/api/v1/{db.org}/bookings/"
    with ExitStack() as stack:
        for n, port in enumerate(ports):
            stack.enter_context(gunicorn(port, env, tmp_path / f"http-{n}.log"))
        status, _headers, body = request(
            ports[0],
            "GET",
            f"/api/v1/{db.org}/services/{db.service}/availability/?channel=video&days=14",
        )
        assert status == 200, body[:500]
        later = timezone.now() + dt.timedelta(hours=2)
        starts = [
            slot["start"]
            for slot in json.loads(body)["slots"]
            if dt.datetime.fromisoformat(slot["start"]) > later
        ]
        assert len(starts) > 300

        attempts: list[Attempt] = []
        lock = threading.Lock()
        counter = itertools.count()
        done = threading.Event()

        def book(n: int, key: str, start: str) -> Attempt:
            status, headers, raw = request(
                ports[n % 2],
                "POST",
                bookings,
                {
                    "service": db.service,
                    "channel": "video",
                    "start": start,
                    "contact": {"name": f"Persona {n}", "email": f"persona{n}@example.org"},
                },
                **{"Idempotency-Key": key},
            )
            try:
                answer = json.loads(raw)
            except ValueError:
                answer = {"raw": raw[:300].decode(errors="replace")}
            return Attempt(n, key, start, status, answer, headers["Retry-After"], time.monotonic())

        def client() -> None:
            while not done.is_set():
                n = next(counter)
                # Two requests for each time, one after the other: one wins, one is refused.
                attempt = book(n, f"fault-{n}", starts[(n // 2) % len(starts)])
                with lock:
                    attempts.append(attempt)
                if attempt.status == 503:
                    time.sleep(0.2)  # a client waits a little (Retry-After says 5 s)

        threads = [threading.Thread(target=client) for _ in range(CLIENTS)]
        for thread in threads:
            thread.start()
        try:
            time.sleep(3)
            stopped_at = time.monotonic()
            db.server.stop("fast")  # sessions cut, open transactions rolled back
            time.sleep(1)
            page = request(ports[1], "GET", f"/{db.org}/", Accept="text/html")
            time.sleep(2)
            db.server.start()
            restarted_at = time.monotonic()
            # The processes recover by themselves: bookings succeed again.
            assert wait_until(
                lambda: any(a.status == 201 and a.at > restarted_at for a in list(attempts)),
                timeout=20,
            ), Counter(a.status for a in attempts)
            time.sleep(2)
        finally:
            done.set()
            for thread in threads:
                thread.join(timeout=60)

        statuses = Counter(a.status for a in attempts)
        print(f"{len(attempts)} bookings: {dict(statuses)}")
        assert set(statuses) <= {201, 409, 503}, [a for a in attempts if a.status >= 500][:3]
        assert statuses[201] > 10 and statuses[409] > 10 and statuses[503] > 0
        unavailable = [a for a in attempts if a.status == 503]
        for attempt in unavailable:
            assert attempt.body["error"]["code"] == "unavailable", attempt
            assert attempt.body["error"]["message"]
            assert attempt.retry_after == "5"
        # Only while PostgreSQL was away (give or take the time a request takes).
        assert all(stopped_at - 1 < a.at < restarted_at + 5 for a in unavailable)
        status, headers, html = page
        assert status == 503 and headers["Content-Type"].startswith("text/html"), html[:500]
        assert headers["Retry-After"] == "5"
        assert b"<h1>" in html and b"Traceback" not in html and b"OperationalError" not in html

        # A client retries what failed with the same Idempotency-Key: never a second
        # appointment, and never a "success" that is not a booking.
        retries = [book(a.n, a.key, a.start) for a in unavailable]
        assert {r.status for r in retries} <= {200, 201, 409}, [
            r for r in retries if r.status >= 500
        ]
        answered = [a for a in attempts + retries if a.status in (200, 201)]
        assert all(a.body["status"] == "booked" for a in answered), [
            a for a in answered if a.body["status"] != "booked"
        ]

    state = in_child(db.env, "inspect")
    found = {a["code"]: a for a in state["appointments"]}
    acknowledged = [a for a in attempts if a.status == 201]
    assert len({a.body["code"] for a in acknowledged}) == len(acknowledged)
    for attempt in acknowledged:  # every 201 is there, booked, at its time, confirmed once
        stored = found[attempt.body["code"]]
        assert stored["status"] == "booked", stored
        assert stored["key"] == attempt.key
        assert dt.datetime.fromisoformat(stored["start"]) == dt.datetime.fromisoformat(
            attempt.start
        )
        assert stored["confirmations"] == 1, stored
    booked = [a for a in state["appointments"] if a["status"] == "booked"]
    assert len({a["start"] for a in booked}) == len(booked)  # one agent: one booking a time
    assert state["overlaps"] == 0
    assert all(a["confirmations"] == 1 for a in booked)
    keys = [a["key"] for a in state["appointments"] if a["key"]]
    assert len(keys) == len(set(keys))
    # A hold that the outage cut off before its booking stays held only until it lapses.
    assert all(a["hold_expires_at"] for a in state["appointments"] if a["status"] == "held")
    assert state["audit_ok"], state
    print(
        f"{len(booked)} booked, {len(unavailable)} answered 503; migrate took "
        f"{db.migrate_seconds:.1f} s; test {time.monotonic() - started:.1f} s"
    )
    assert time.monotonic() - started < 60


# --- 3. A web process killed -------------------------------------------------------------------


def test_a_call_moves_to_another_web_process_when_its_process_is_killed(
    call: Call, tmp_path: Path
) -> None:
    started = time.monotonic()
    ports = [free_port(), free_port()]
    with ExitStack() as stack:
        redis = stack.enter_context(disposable_redis(tmp_path))
        env = web_env(REDIS_URL=redis.url)
        first = start_asgi_server(ports[0], env=env, log=tmp_path / "web-a.log")
        stack.callback(stop, first)
        stack.enter_context(asgi_server(ports[1], env=env, log=tmp_path / "web-b.log"))
        # Both sides on process A, as the proxy's room affinity puts them (docs/deploy).
        citizen = Participant(
            f"ws://127.0.0.1:{ports[0]}{call.path}", token=call.token, backoff=FAST, label="c"
        )
        agent = Participant(
            f"ws://127.0.0.1:{ports[0]}{call.path}", cookie=call.agent, backoff=FAST, label="a"
        )
        acknowledged: list[dict[str, Any]] = []

        async def scenario() -> None:
            async with closing(citizen, agent):
                await into_the_call(citizen, agent)
                await media_flows(citizen, agent)
                acknowledged.append(await chat_passes(citizen, agent, "Bon dia"))
                acknowledged.append(await chat_passes(agent, citizen, "Bon dia, digui'm"))
                peers = (citizen.peer, agent.peer)
                history = dict(citizen.chat)

                # The browser reconnects to the same address; with A gone the proxy sends the
                # room to another process. This client is told that address instead.
                for side in (citizen, agent):
                    side.url = f"ws://127.0.0.1:{ports[1]}{call.path}"
                first.kill()  # SIGKILL: no close frames, no disconnect handlers
                await asyncio.to_thread(first.wait)
                await until(lambda: not citizen.online and not agent.online, timeout=5)
                await media_flows(citizen, agent)  # peer to peer, with no signaling at all
                during = await citizen.say("Se m'ha penjat la pàgina?")

                await until(
                    lambda: citizen.welcomes >= 2 and agent.welcomes >= 2,
                    timeout=15,
                    what="both resumed on process B",
                )
                assert (citizen.peer, agent.peer) == peers  # resumed, not new participants
                assert citizen.state == agent.state == "admitted"
                # B's welcome carried the history from the database.
                resumed = {line["seq"]: line["text"] for line in citizen.welcome["chat"]}
                assert {seq: line["text"] for seq, line in history.items()}.items() <= (
                    resumed.items()
                )
                acknowledged.append(await citizen.acknowledged(during, timeout=10))
                acknowledged.append(await chat_passes(agent, citizen, "No, tot bé."))
                await renegotiation_answered(citizen, agent)
                # An ICE restart through B as well (aiortc: a fresh connection, tests/webrtc.py).
                link = citizen.links[agent.peer or ""]
                answers = link.answers
                await citizen.offer(agent.peer or "", ice_restart=True)
                await until(lambda: link.answers > answers, timeout=15, what="ICE restart")
                await until(lambda: connected(citizen, agent), timeout=15, what="reconnected")
                await media_flows(citizen, agent)

        asyncio.run(asyncio.wait_for(scenario(), 50))
        assert first.returncode == -9

    stored = stored_chat(call.room_id)
    assert [seq for seq, _text, _ref in stored] == list(range(1, len(stored) + 1))
    assert sorted((a["seq"], a["text"], a["ref"]) for a in acknowledged) == stored
    assert time.monotonic() - started < 60
