"""Benchmark: the signaling relay through Channels and Redis, against a plain WebSocket relay.

Targets (video issue): with 100 rooms × 2 peers each sending 10 signal messages per second to
the other, the latency of a message from sender to the other peer p50 ≤ 1.5 ms and p99 ≤ 10 ms;
no message lost or reordered within a room.

On a throw-away test database (created and destroyed here) it starts the real ASGI server as
production runs it (uvicorn alone, DEBUG off; finestreta.lib.webserver) with the configured Redis
channel layer (ADR 20; TEST_REDIS_URL, a database reserved for tests: it is emptied first),
BENCH_SERVERS processes of it:
- 1 (the default): both peers of a room on one process, as the proxy's room affinity arranges
  in production (docs/deploy): the layer hands each signal over inside the process;
- 2: the citizens join the first and the agents the second, so that every message crosses from
  one process to the other through Redis (the case without affinity, or during a failover).
In each room the agent joins, the citizen joins and waits, the agent admits; each peer sends one
message to the other (a warm-up, not measured: the server looks the other peer up once); then,
for BENCH_SECONDS (default 10), each peer sends BENCH_RATE (default 10) `signal` messages per
second to the other — a `candidate` object carrying the room, the direction, a sequence number,
the send time and BENCH_PAD bytes of padding (default 200; ≈400 bytes a message) — at evenly
spread instants. The receiving peer (the same process: one clock) records the latency and checks
the numbers arrive in order, none missing. A socket the server closes is reported (with its
close code), not reopened.

The baseline: the same clients and the same traffic through a plain relay written with the
`websockets` library (one process: read the JSON, look up the target in the room, add `from`,
write it out), measured in the same run. Both servers run alone in their processes; the clients
(tests/webrtc.py, no WebRTC) share one event loop in this process.

Other settings, to find where the time goes: BENCH_LAYER=pubsub runs the server with
channels_redis's plain pub/sub layer, BENCH_LAYER=core with its core (list-based) layer — both
through a settings module written to the temporary folder —, BENCH_LAYER=memory with the
in-memory layer (no Redis, one process); BENCH_REDIS_OPTIONS sets the servers' Redis connection
options through the URL's query string.

    .venv/bin/python bench/video_relay.py
    BENCH_SERVERS=2 .venv/bin/python bench/video_relay.py
    BENCH_LAYER=core BENCH_ROOMS=30 .venv/bin/python bench/video_relay.py
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import multiprocessing
import os
import random
import statistics
import time
from collections import Counter
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import django_setup  # noqa: F401, I001 - first: sets up Django for what follows
import video_rooms
import websockets
from django.db import connection
from figures import percentile
from video_rooms import Room, seed

from tests.processes import free_port
from tests.webrtc import Participant, asgi_server

ROOMS = int(os.environ.get("BENCH_ROOMS", "100"))
RATE = float(os.environ.get("BENCH_RATE", "10"))  # messages per second per peer
SECONDS = float(os.environ.get("BENCH_SECONDS", "10"))
PAD = int(os.environ.get("BENCH_PAD", "200"))
SERVERS = int(os.environ.get("BENCH_SERVERS", "1"))
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
# Options for the servers' Redis connections, as the URL's query string (redis-py reads
# `socket_timeout`, `max_connections`… from it), e.g. "socket_timeout=10&max_connections=1000";
# empty: as settings.py configures them (redis-py 8's defaults: a 5 s read timeout, 100
# connections a process, and an exhausted pool raises).
OPTIONS = os.environ.get("BENCH_REDIS_OPTIONS", "")
# "configured": the channel layer settings.py configures; "pubsub" and "core": channels_redis's
# own layers, for comparison; "memory": no Redis (one process only).
LAYER = os.environ.get("BENCH_LAYER", "configured")
OTHER_LAYERS = {
    "pubsub": "channels_redis.pubsub.RedisPubSubChannelLayer",
    "core": "channels_redis.core.RedisChannelLayer",
}


def relay_server_env() -> dict[str, str]:
    extra = {}
    if LAYER in OTHER_LAYERS:
        # The same settings with another layer. A module in the temporary folder, found by
        # PYTHONPATH.
        module = Path(django_setup.TMP) / "bench_layer_settings.py"
        module.write_text(
            "from finestreta.settings import *  # noqa: F403\n"
            "CHANNEL_LAYERS = {'default': {\n"
            f"    'BACKEND': '{OTHER_LAYERS[LAYER]}',\n"
            "    'CONFIG': {'hosts': [REDIS_URL], 'prefix': CHANNEL_PREFIX},  # noqa: F405\n"
            "}}\n"
        )
        extra = {"DJANGO_SETTINGS_MODULE": module.stem, "PYTHONPATH": str(module.parent)}
    redis_url = f"{REDIS_URL}?{OPTIONS}" if OPTIONS else REDIS_URL
    return video_rooms.server_env(redis_url="" if LAYER == "memory" else redis_url, **extra)


# --- The plain relay (the baseline, its own process) --------------------------------------------


def plain_relay(port: int, ready: Connection) -> None:
    """A relay with nothing but the relaying: rooms by path, peers by the token of `hello`."""
    from websockets.asyncio.server import ServerConnection, serve

    rooms: dict[str, dict[str, ServerConnection]] = {}

    async def handler(ws: ServerConnection) -> None:
        members = rooms.setdefault(ws.request.path if ws.request else "/", {})
        peer = "p_" + json.loads(await ws.recv())["token"]
        members[peer] = ws
        welcome = {"type": "welcome", "v": 1, "peer": peer, "role": "citizen", "name": ""}
        await ws.send(json.dumps({**welcome, "state": "admitted", "peers": [], "chat": []}))
        try:
            async for raw in ws:
                message = json.loads(raw)
                if message.get("type") == "signal":
                    target = members.get(message.get("to"))
                    if target is not None:
                        message["from"] = peer
                        await target.send(json.dumps(message))
                elif message.get("type") == "ping":
                    await ws.send(json.dumps({"type": "pong"}))
        finally:
            members.pop(peer, None)

    async def main() -> None:
        logging.getLogger("websockets").setLevel(logging.WARNING)  # no line per connection
        async with serve(handler, "127.0.0.1", port, compression=None, ping_interval=None):
            ready.send("ready")
            await asyncio.Future()

    asyncio.run(main())


# --- The traffic ---------------------------------------------------------------------------------


@dataclass
class Tally:
    latencies: list[float] = field(default_factory=list)  # milliseconds
    sent: Counter[tuple[int, int]] = field(default_factory=Counter)  # (room, direction) → n
    received: Counter[tuple[int, int]] = field(default_factory=Counter)
    expected: Counter[tuple[int, int]] = field(default_factory=Counter)  # next number due
    reordered: int = 0  # arrived after a later one
    gaps: int = 0  # a later one arrived first (lost, or overtaken)
    errors: Counter[str] = field(default_factory=Counter)  # the server's `error` messages, by code
    warmed: int = 0  # warm-up messages received
    unsent: int = 0  # messages not sent because the server had closed the socket
    closed: Counter[int] = field(default_factory=Counter)  # close codes of sockets it closed
    cpu: list[float] = field(default_factory=list)  # each server's share of a core
    logged: dict[str, int] = field(default_factory=dict)  # the servers' exceptions, counted

    def receive(self, message: dict[str, Any]) -> bool:
        if message.get("type") != "signal":
            return False
        now = time.perf_counter()
        data = message["candidate"]
        if data.get("warm"):
            self.warmed += 1
            return True
        key, number = (data["room"], data["dir"]), data["n"]
        self.latencies.append((now - data["t"]) * 1000)
        self.received[key] += 1
        if number < self.expected[key]:
            self.reordered += 1
        elif number > self.expected[key]:
            self.gaps += 1
        self.expected[key] = max(self.expected[key], number + 1)
        return True


async def traffic(pairs: list[tuple[Participant, Participant]], cpu_of: list[int]) -> Tally:
    tally = Tally()
    for a, b in pairs:
        a.on_message = b.on_message = tally.receive
    count = int(SECONDS * RATE)
    loop = asyncio.get_running_loop()
    padding = "x" * PAD

    async def send(room: int, direction: int, sender: Participant, to: str) -> None:
        first = start + random.random() / RATE
        for number in range(count):
            await asyncio.sleep(max(0.0, first + number / RATE - loop.time()))
            candidate = {
                "candidate": "candidate:1 1 udp 2130706431 127.0.0.1 50000 typ host",
                "sdpMid": "0",
                "sdpMLineIndex": 0,
                "room": room,
                "dir": direction,
                "n": number,
                "pad": padding,
                "t": time.perf_counter(),
            }
            try:
                await sender.send({"type": "signal", "to": to, "candidate": candidate})
            except websockets.ConnectionClosed:
                tally.unsent += count - number  # the server closed it: see `closed`
                return
            tally.sent[room, direction] += 1

    # Warm-up, not measured: each peer's first message, spread over two seconds as calls start
    # at different times (the server looks the other peer up in the database once).
    async def warm(sender: Participant, to: str) -> None:
        await asyncio.sleep(random.random() * 2)
        with contextlib.suppress(websockets.ConnectionClosed):
            await sender.send({"type": "signal", "to": to, "candidate": {"warm": True}})

    await asyncio.gather(*(warm(s, r.peer or "") for a, b in pairs for s, r in ((a, b), (b, a))))
    deadline = loop.time() + 30
    while tally.warmed < 2 * len(pairs) and loop.time() < deadline:
        await asyncio.sleep(0.05)
    if tally.warmed < 2 * len(pairs):
        print(f"!! only {tally.warmed} of {2 * len(pairs)} warm-up messages arrived")
    start = loop.time() + 0.5

    cpu_before = [cpu_seconds(pid) for pid in cpu_of]
    await asyncio.gather(
        *(
            send(room, direction, sender, receiver.peer or "")
            for room, (a, b) in enumerate(pairs)
            for direction, (sender, receiver) in enumerate(((a, b), (b, a)))
        )
    )
    await asyncio.sleep(2)  # the last ones in flight
    cpu_used = [cpu_seconds(pid) - before for pid, before in zip(cpu_of, cpu_before, strict=True)]
    tally.cpu = [used / (SECONDS + 2) for used in cpu_used]
    return tally


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def gather_limited(coroutines: list[Any], limit: int = 20) -> list[Any]:
    semaphore = asyncio.Semaphore(limit)

    async def one(coroutine: Any) -> Any:
        async with semaphore:
            return await coroutine

    return await asyncio.gather(*(one(c) for c in coroutines))


async def through_channels(bases: list[str], rooms: list[Room], pids: list[int]) -> Tally:
    agents = [
        Participant(bases[-1] + r.path, cookie=r.cookie, webrtc=False, reconnect=False)
        for r in rooms
    ]
    citizens = [
        Participant(bases[0] + r.path, token=r.token, webrtc=False, reconnect=False) for r in rooms
    ]
    try:
        await gather_limited([a.join() for a in agents])
        await gather_limited([c.join() for c in citizens])
        for agent, citizen in zip(agents, citizens, strict=True):
            await agent.admit(citizen.peer or "")
        await gather_limited([c.expect("admitted") for c in citizens])
        tally = await traffic(list(zip(citizens, agents, strict=True)), pids)
        tally.errors = Counter(e.get("code", "?") for p in agents + citizens for e in p.errors)
        tally.closed = Counter(p.close_code for p in agents + citizens if not p.online)
        return tally
    finally:
        await asyncio.gather(*(p.close() for p in agents + citizens))


async def through_plain_relay(base: str, pid: int) -> Tally:
    pairs = [
        (
            Participant(f"{base}/room-{n}/", token=f"{n}-c", webrtc=False),
            Participant(f"{base}/room-{n}/", token=f"{n}-a", webrtc=False),
        )
        for n in range(ROOMS)
    ]
    everyone = [p for pair in pairs for p in pair]
    try:
        await gather_limited([p.join() for p in everyone])
        return await traffic(pairs, [pid])
    finally:
        await asyncio.gather(*(p.close() for p in everyone))


def server_errors(logs: list[Path]) -> dict[str, int]:
    """The servers' "Exception inside application" lines, counted."""
    found: Counter[str] = Counter()
    for log in logs:
        for line in log.read_text(errors="replace").splitlines():
            if line.startswith("Exception inside application"):
                found[line.split(":", 1)[1].strip() or "(no message)"] += 1
    return dict(found)


def report(name: str, tally: Tally) -> tuple[float, float]:
    sent, received = sum(tally.sent.values()), sum(tally.received.values())
    p50, p99 = statistics.median(tally.latencies), percentile(tally.latencies, 0.99)
    cpu = " + ".join(f"{share:.0%}" for share in tally.cpu)
    if tally.closed:
        print(
            f"!! {name}: the server closed {sum(tally.closed.values())} sockets during the run "
            f"(close codes {dict(tally.closed)}); {tally.unsent} messages could not be sent; "
            f"what it logged: {tally.logged}"
        )
    print(
        f"{name}: {sent} sent, {received} received, lost {sent - received}, "
        f"reordered {tally.reordered}, gaps {tally.gaps}, errors {dict(tally.errors) or 0}; "
        f"latency p50 {p50:.2f} ms, p99 {p99:.2f} ms, max {max(tally.latencies):.1f} ms; "
        f"server CPU {cpu} of a core"
    )
    return p50, p99


def main() -> None:
    import redis

    if LAYER == "memory" and SERVERS > 1:
        raise SystemExit("The in-memory channel layer cannot join two processes.")

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).flushdb()  # tests' only
    except redis.exceptions.ConnectionError as exc:
        raise SystemExit(f"Redis is needed at {REDIS_URL}: {exc}") from exc
    database = connection.settings_dict["NAME"]
    connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False)
    try:
        rooms = seed(ROOMS)
        connection.close()
        print(
            f"{connection.vendor}; {ROOMS} rooms × 2 peers × {RATE:g} messages/s for "
            f"{SECONDS:g} s (≈{PAD + 200} bytes a message); {SERVERS} server process(es); "
            f"channel layer: {LAYER}; "
            f"Redis connection options: {OPTIONS or 'as configured'}"
        )
        env = relay_server_env()
        ports = [free_port() for _ in range(SERVERS)]
        logs = [Path(django_setup.TMP) / f"server-{port}.log" for port in ports]
        with contextlib.ExitStack() as servers:
            processes = [
                servers.enter_context(asgi_server(port, env=env, log=log))
                for port, log in zip(ports, logs, strict=True)
            ]
            bases = [f"ws://127.0.0.1:{port}" for port in ports]
            pids = [process.pid for process in processes]
            try:
                channels = asyncio.run(through_channels(bases, rooms, pids))
            except (websockets.ConnectionClosed, ConnectionError) as exc:
                raise SystemExit(
                    f"!! the server closed a socket before the traffic began ({exc}); "
                    f"what it logged: {server_errors(logs)}"
                ) from None
            channels.logged = server_errors(logs)

        port = free_port()
        context = multiprocessing.get_context("fork")
        ours, theirs = context.Pipe()
        relay = context.Process(target=plain_relay, args=(port, theirs), daemon=True)
        relay.start()
        try:
            assert ours.poll(30) and ours.recv() == "ready"
            assert relay.pid is not None
            plain = asyncio.run(through_plain_relay(f"ws://127.0.0.1:{port}", relay.pid))
        finally:
            relay.terminate()
            relay.join(10)

        p50, p99 = report("Channels + Redis (uvicorn)", channels)
        base50, base99 = report("plain websockets relay     ", plain)
        print(
            f"ratio Channels / plain: p50 {p50 / base50:.1f}×, p99 {p99 / base99:.1f}×  "
            "(targets: p50 ≤ 1.5 ms, p99 ≤ 10 ms, nothing lost or reordered)"
        )
    finally:
        connection.close()
        connection.creation.destroy_test_db(database, verbosity=0)


if __name__ == "__main__":
    main()
