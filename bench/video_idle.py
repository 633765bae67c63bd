"""Benchmark: what idle video connections cost the server.

Targets (video issue): one server process holds at least 1,000 joined, idle signaling
connections (each pinging every 20 s, as clients do) with ≤ 100 KiB of resident memory each,
and little CPU while they idle.

On a throw-away test database (created and destroyed here) it starts the real ASGI server
(uvicorn alone, DEBUG off; the in-memory channel layer, as one process runs it, or Redis with
BENCH_LAYER=redis and TEST_REDIS_URL), and from this process (tests/webrtc.py, no WebRTC):

1. warm-up: WARM_ROOMS rooms with an agent and an admitted citizen stay connected, so that the
   code of every step is loaded before the first reading;
2. reads the server process's VmRSS (/proc/PID/status);
3. joins BENCH_CONNECTIONS more (default 1,000): in each of half as many rooms the agent joins,
   the citizen joins and waits, the agent admits (BENCH_JOINING rooms at a time, default 10);
4. reads VmRSS again once they are all in, and reports the growth per connection;
5. lets them idle for BENCH_IDLE seconds (default 40: two rounds of pings, spread evenly),
   reading the process's CPU time (/proc/PID/stat) before and after, and VmRSS at the end.

A benchmark of the server alone: no baseline ratio (the target is absolute).

    .venv/bin/python bench/video_idle.py
    BENCH_CONNECTIONS=2000 .venv/bin/python bench/video_idle.py
"""

from __future__ import annotations

import asyncio
import os
import resource
import time
from pathlib import Path
from typing import Any

import django_setup  # noqa: F401, I001 - first: sets up Django for what follows
from django.db import connection
from video_rooms import Room, seed, server_env, test_redis

from tests.processes import free_port
from tests.webrtc import Participant, asgi_server

CONNECTIONS = int(os.environ.get("BENCH_CONNECTIONS", "1000"))
IDLE = float(os.environ.get("BENCH_IDLE", "40"))
PING_EVERY = float(os.environ.get("BENCH_PING", "20"))  # seconds between pings
WARM_ROOMS = 10
JOINING = int(os.environ.get("BENCH_JOINING", "10"))  # rooms joining at a time
LAYER = os.environ.get("BENCH_LAYER", "memory")


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def join_rooms(base: str, rooms: list[Room]) -> list[Participant]:
    """Agent in, citizen in (waiting), agent admits: two connections a room."""
    # Not too many at once: the server drops a handshake the application has not accepted within
    # 5 s, and every join waits its turn for the one thread that runs database work.
    semaphore = asyncio.Semaphore(JOINING)

    async def one(room: Room) -> list[Participant]:
        async with semaphore:
            agent = Participant(
                base + room.path,
                cookie=room.cookie,
                webrtc=False,
                ping_every=PING_EVERY,
                reconnect=False,
            )
            citizen = Participant(
                base + room.path,
                token=room.token,
                webrtc=False,
                ping_every=PING_EVERY,
                reconnect=False,
            )
            await agent.join(timeout=30)
            await citizen.join(timeout=30)
            await agent.admit(citizen.peer or "")
            await citizen.expect("admitted", timeout=30)
            for participant in (agent, citizen):  # idle from now on: keep nothing they get
                participant.received.clear()
            return [agent, citizen]

    joined = await asyncio.gather(*(one(room) for room in rooms))
    return [participant for pair in joined for participant in pair]


async def measure(base: str, rooms: list[Room], pid: int) -> dict[str, Any]:
    figures: dict[str, Any] = {}
    warm = await join_rooms(base, rooms[:WARM_ROOMS])
    await asyncio.sleep(2)
    figures["rss_before"] = rss_kib(pid)
    started = time.perf_counter()
    idle = await join_rooms(base, rooms[WARM_ROOMS:])
    figures["join_seconds"] = time.perf_counter() - started
    await asyncio.sleep(5)
    figures["rss_joined"] = rss_kib(pid)
    pongs = sum(p.pongs for p in idle)
    cpu = cpu_seconds(pid)
    await asyncio.sleep(IDLE)
    figures["idle_cpu"] = (cpu_seconds(pid) - cpu) / IDLE
    figures["pongs_per_second"] = (sum(p.pongs for p in idle) - pongs) / IDLE
    figures["rss_idle"] = rss_kib(pid)
    figures["still_open"] = sum(p.online for p in idle)
    figures["connections"] = len(idle)
    figures["errors"] = sum(len(p.errors) for p in warm + idle)
    await asyncio.gather(*(p.close() for p in warm + idle))
    return figures


def main() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    needed = CONNECTIONS + 2 * WARM_ROOMS + 200
    if soft < needed:  # the server (a child) inherits it too
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, needed * 2), hard))
    database = connection.settings_dict["NAME"]
    connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False)
    try:
        rooms = seed(WARM_ROOMS + CONNECTIONS // 2)
        connection.close()
        port = free_port()
        log = Path(django_setup.TMP) / "server.log"
        with asgi_server(port, env=server_env(redis_url=test_redis(LAYER)), log=log) as server:
            figures = asyncio.run(measure(f"ws://127.0.0.1:{port}", rooms, server.pid))
        count = figures["connections"]
        growth = figures["rss_joined"] - figures["rss_before"]
        print(
            f"{connection.vendor}, channel layer: {LAYER}; {count} idle connections "
            f"({count // 2} rooms: agent + admitted citizen) on one server process, "
            f"joined in {figures['join_seconds']:.1f} s; {figures['still_open']} still open, "
            f"{figures['errors']} errors"
        )
        print(
            f"server RSS: {figures['rss_before'] / 1024:.0f} MiB before, "
            f"{figures['rss_joined'] / 1024:.0f} MiB joined, "
            f"{figures['rss_idle'] / 1024:.0f} MiB after {IDLE:g} s idle"
        )
        print(f"RSS growth per connection: {growth / count:.0f} KiB  (target ≤ 100 KiB)")
        print(
            f"CPU while idle: {figures['idle_cpu']:.1%} of a core, "
            f"{figures['pongs_per_second']:.0f} pings/s answered (one per connection per "
            f"{PING_EVERY:g} s)"
        )
    finally:
        connection.close()
        connection.creation.destroy_test_db(database, verbosity=0)


if __name__ == "__main__":
    main()
