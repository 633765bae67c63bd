"""Benchmark: from joining a video call to ICE connected, through the whole stack, against two
peers that pass their descriptions by a function call.

Target (video issue): on loopback, aiortc to aiortc, p50 from the citizen's join to its
connection being `connected` (ICE and DTLS) ≤ 100 ms through the whole stack, where two aiortc
peers with in-process signaling take ≈30 ms.

On a throw-away test database (created and destroyed here) it starts the real ASGI server
(uvicorn alone, DEBUG off; the in-memory channel layer, or Redis with BENCH_LAYER=redis and
TEST_REDIS_URL) and, BENCH_RUNS times (default 20, after 2 warm-up runs), in a fresh room each:

1. the stack: the agent is in the room (not timed); the clock starts when the citizen opens
   its WebSocket; it says hello with its join token and waits; the agent, told `waiting`,
   admits; the citizen, told `admitted`, offers (one complete SDP: aiortc gathers first); the
   agent answers; the clock stops when the citizen's RTCPeerConnection is `connected`.
2. the baseline: two RTCPeerConnections in this process; the clock starts before either is
   made and stops when the offerer's is `connected`; offer and answer pass by function call.

Both sides of both cases run here on one event loop, with the same synthetic tracks
(tests/webrtc.py: audio, and 320×240 video), on 127.0.0.1 only; the two cases are interleaved.
Prints p50/p90 of each, the ratio and the difference, and where the time goes in the stack.

    .venv/bin/python bench/video_join.py
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/finestreta_bench \\
        .venv/bin/python bench/video_join.py
    BENCH_LAYER=redis .venv/bin/python bench/video_join.py
"""

from __future__ import annotations

import asyncio
import logging
import os
import statistics
import time
from pathlib import Path

import django_setup  # noqa: F401, I001 - first: sets up Django for what follows
from django.db import connection
from figures import percentile
from video_rooms import Room, seed, server_env, test_redis

from tests.processes import free_port
from tests.webrtc import Participant, SmallVideo, asgi_server, until, use_loopback

RUNS = int(os.environ.get("BENCH_RUNS", "20"))
WARM_UP = 2
LAYER = os.environ.get("BENCH_LAYER", "memory")


async def through_the_stack(base: str, room: Room) -> dict[str, float]:
    """One join; the milestones in milliseconds from the citizen's first byte."""
    agent = Participant(base + room.path, cookie=room.cookie, label="agent")
    citizen = Participant(base + room.path, token=room.token, label="citizen")
    try:
        await agent.join()

        async def admit() -> None:
            waiting = await agent.expect("waiting")
            await agent.admit(waiting["peer"])

        admitting = asyncio.create_task(admit())
        started = time.perf_counter()
        await citizen.join()
        await until(lambda: any(link.connected for link in citizen.links.values()), timeout=10)
        await admitting
        link = citizen.links[agent.peer or ""]
        await until(lambda: all(link.connected for link in agent.links.values()), timeout=10)
        marks = {
            "socket open": citizen.times["open"],
            "welcome": citizen.times["welcome"],
            "admitted": citizen.times["admitted"],
            "offer sent": link.times["offer"],
            "answer": link.times["answer"],
            "connected": link.times["connected"],
        }
        return {name: (at - started) * 1000 for name, at in marks.items()}
    finally:
        await asyncio.gather(citizen.close(), agent.close())


async def in_process() -> float:
    """Two peers, descriptions passed by function call: milliseconds to `connected`."""
    from aiortc import RTCConfiguration, RTCPeerConnection
    from aiortc.mediastreams import AudioStreamTrack

    started = time.perf_counter()
    offerer = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    answerer = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    for pc in (offerer, answerer):
        pc.addTrack(AudioStreamTrack())
        pc.addTrack(SmallVideo())
    connected = asyncio.Event()

    @offerer.on("connectionstatechange")
    def on_state() -> None:
        if offerer.connectionState == "connected":
            connected.set()

    try:
        await offerer.setLocalDescription(await offerer.createOffer())
        await answerer.setRemoteDescription(offerer.localDescription)
        await answerer.setLocalDescription(await answerer.createAnswer())
        await offerer.setRemoteDescription(answerer.localDescription)
        await asyncio.wait_for(connected.wait(), 10)
        elapsed = (time.perf_counter() - started) * 1000
        await until(lambda: answerer.connectionState == "connected", timeout=10)
        return elapsed
    finally:
        await asyncio.gather(offerer.close(), answerer.close())


async def measure(base: str, rooms: list[Room]) -> tuple[list[dict[str, float]], list[float]]:
    use_loopback()
    stack: list[dict[str, float]] = []
    direct: list[float] = []
    for n, room in enumerate(rooms):
        joined = await through_the_stack(base, room)
        alone = await in_process()
        if n >= WARM_UP:
            stack.append(joined)
            direct.append(alone)
    return stack, direct


def main() -> None:
    for noisy in ("aioice", "aiortc"):  # the project's logging shows their INFO lines
        logging.getLogger(noisy).setLevel(logging.WARNING)
    database = connection.settings_dict["NAME"]
    connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False)
    try:
        rooms = seed(RUNS + WARM_UP)
        connection.close()
        port = free_port()
        log = Path(django_setup.TMP) / "server.log"
        with asgi_server(port, env=server_env(redis_url=test_redis(LAYER)), log=log):
            stack, direct = asyncio.run(measure(f"ws://127.0.0.1:{port}", rooms))
        total = [run["connected"] for run in stack]
        p50, p50_direct = statistics.median(total), statistics.median(direct)
        print(
            f"{connection.vendor}, channel layer: {LAYER}; {RUNS} runs (+{WARM_UP} warm-up), "
            "aiortc ↔ aiortc on 127.0.0.1"
        )
        print(
            f"through the stack: join → connected p50 {p50:.1f} ms, "
            f"p90 {percentile(total, 0.9):.1f} ms  (target: p50 ≤ 100 ms)"
        )
        print(
            f"in-process signaling: → connected p50 {p50_direct:.1f} ms, "
            f"p90 {percentile(direct, 0.9):.1f} ms  (≈30 ms expected)"
        )
        print(f"ratio {p50 / p50_direct:.2f}×, the stack adds {p50 - p50_direct:.1f} ms (p50)")
        steps = ", ".join(
            f"{name} {statistics.median(run[name] for run in stack):.1f}" for name in stack[0]
        )
        print(f"stack milestones from the citizen's first byte, p50 in ms: {steps}")
    finally:
        connection.close()
        connection.creation.destroy_test_db(database, verbosity=0)


if __name__ == "__main__":
    main()
