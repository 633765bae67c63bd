"""The pieces of bench/load.py that are not scenarios: the sizes, a minimal asyncio HTTP/1.1
client (no new dependency), the SMTP sink in a process of its own, the probes that time pings
and signals on a `tests.webrtc.Participant`, and the figures of one measured series."""

from __future__ import annotations

import asyncio
import json
import os
import threading
import time
from collections import Counter, deque
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from figures import percentile

# Before Django is set up (bench/django_setup.py, imported below): the PostgreSQL server the
# bench makes its own database on (created and dropped: load.py's --database). Loopback only.
SERVER_URL = os.environ.get("LOAD_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres")
if urlparse(SERVER_URL).hostname not in ("127.0.0.1", "localhost"):
    raise SystemExit(f"load tests run against this machine only, not {SERVER_URL}")
os.environ["DATABASE_URL"] = SERVER_URL
import django_setup  # noqa: E402, F401 - Django set up on that server, for bench/load.py

# --- Sizes: every scenario bounded in count (and each wait in time) -----------------------------


@dataclass(frozen=True)
class Size:
    citizens: int  # concurrent citizens in one wave of the booking storm
    waves: int  # waves of the storm, each on fresh popular slots
    slots: int  # popular slots per wave
    calls: int  # rooms of two peers doing the signaling exchange at once
    rounds: int  # offer/answer rounds per call (renegotiations), spaced by `gap` seconds
    gap: float
    candidates: int  # trickled ICE candidates per side and round (then `null`)
    idle: int  # idle WebSockets held open (agent + admitted citizen per room)
    idle_seconds: float  # how long they idle, pinging
    ping_every: float  # seconds between one socket's pings (the protocol says 20)
    reminders: int  # reminders falling due at one instant


SIZES = {
    # The production issue's figures; about 6 minutes on 2 cores.
    "full": Size(200, 5, 5, 200, 5, 0.5, 4, 2000, 40, 20, 2000),
    # A couple of minutes.
    "quick": Size(50, 2, 5, 40, 3, 0.5, 4, 200, 10, 5, 200),
    # The smoke test: correctness only.
    "tiny": Size(12, 1, 3, 4, 2, 0.3, 2, 20, 3, 1, 20),
}


# --- Figures ------------------------------------------------------------------------------------


@dataclass
class Series:
    """One measured series: what was done, how long it took, its latencies (ms), its errors."""

    name: str
    operations: int = 0
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)  # what went wrong, by kind
    baseline: Series | None = None
    notes: list[str] = field(default_factory=list)
    checks: dict[str, Any] = field(default_factory=dict)  # the invariants' counts, for tests

    @property
    def throughput(self) -> float:
        return self.operations / self.seconds if self.seconds else 0.0

    def p(self, share: float) -> float:
        return percentile(self.latencies, share) if self.latencies else float("nan")

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "operations": self.operations,
            "seconds": round(self.seconds, 3),
            "throughput": round(self.throughput, 2),
            "p50": round(self.p(0.5), 3),
            "p95": round(self.p(0.95), 3),
            "p99": round(self.p(0.99), 3),
            "errors": dict(self.errors),
            "baseline": self.baseline.as_dict() if self.baseline else None,
            "notes": self.notes,
            "checks": self.checks,
        }


# --- HTTP: one request per connection, as a crowd of separate citizens makes them ---------------


async def connect(port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    return await asyncio.open_connection("127.0.0.1", port)


async def request(
    stream: tuple[asyncio.StreamReader, asyncio.StreamWriter],
    method: str,
    path: str,
    body: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
    timeout: float = 60,
) -> tuple[int, bytes]:
    """Send one request on an open connection (then closed); (status, body). Status 0: no answer."""
    reader, writer = stream
    data = json.dumps(body).encode() if body is not None else b""
    head = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", "Connection: close"]
    head += [f"{name}: {value}" for name, value in (headers or {}).items()]
    if body is not None:
        head += ["Content-Type: application/json", f"Content-Length: {len(data)}"]
    try:
        writer.write(("\r\n".join(head) + "\r\n\r\n").encode() + data)
        raw = await asyncio.wait_for(reader.read(-1), timeout)  # to the end: Connection: close
    except (OSError, TimeoutError):
        return 0, b""
    finally:
        writer.close()
    top, _, payload = raw.partition(b"\r\n\r\n")
    lines = top.decode("latin-1").split("\r\n")
    try:
        status = int(lines[0].split()[1])
    except (IndexError, ValueError):
        return 0, b""
    if any(line.lower() == "transfer-encoding: chunked" for line in lines[1:]):
        payload = dechunk(payload)
    return status, payload


def dechunk(payload: bytes) -> bytes:
    out, rest = b"", payload
    while rest:
        size_line, _, rest = rest.partition(b"\r\n")
        size = int(size_line.split(b";")[0] or b"0", 16)
        if size == 0:
            break
        out, rest = out + rest[:size], rest[size + 2 :]
    return out


# --- The SMTP sink (its own process, so that its clock is not slowed by the clients) -------------


def smtp_sink(port: int, commands: Connection) -> None:
    """An aiosmtpd server recording, per Message-ID, how many copies came and when the first did
    (time.time()). Commands: "read" → ({id: (first, copies)}); "reset"; "stop"."""
    import logging
    from email.parser import BytesHeaderParser

    from aiosmtpd.controller import Controller

    logging.getLogger("mail.log").setLevel(logging.WARNING)  # aiosmtpd logs every command
    seen: dict[str, list[float]] = {}
    lock = threading.Lock()

    class Relay:
        async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def] # noqa: N802
            now = time.time()
            key = str(BytesHeaderParser().parsebytes(envelope.content)["Message-ID"])
            with lock:
                entry = seen.setdefault(key, [now, 0])
                entry[1] += 1
            return "250 OK"

    asyncio.set_event_loop(asyncio.new_event_loop())
    controller = Controller(Relay(), hostname="127.0.0.1", port=port)
    controller.start()
    commands.send("ready")
    while (command := commands.recv()) != "stop":
        with lock:
            if command == "read":
                commands.send({key: (first, copies) for key, (first, copies) in seen.items()})
            elif command == "reset":
                seen.clear()
                commands.send("ok")
    controller.stop()


# --- Probes on a Participant ---------------------------------------------------------------------


class Probe:
    """Times what one Participant sends and gets: its pings (answered in order, one socket) and
    the signals addressed to it. Installed as the Participant's `on_message`."""

    def __init__(self, series: dict[str, Series]) -> None:
        self.series = series  # "ping" and "relay" / "round trip" series to append to
        self.pings: deque[float] = deque()
        self.pongs = 0
        self.signals: Counter[str] = Counter()  # received, by kind
        self.on_signal: Any = None  # called with (message, now) for each signal

    def __call__(self, message: dict[str, Any]) -> bool:
        now = time.perf_counter()
        kind = message.get("type")
        if kind == "pong" and self.pings:
            self.series["ping"].latencies.append((now - self.pings.popleft()) * 1000)
            self.pongs += 1
            return True
        if kind == "signal" and self.on_signal is not None:
            self.on_signal(message, now)
            return True
        return False

    def ping_sent(self) -> None:
        self.pings.append(time.perf_counter())


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def server_errors(logs: list[Path]) -> int:
    """Tracebacks in the servers' logs ("Exception inside application", "Traceback")."""
    count = 0
    for log in logs:
        if log.exists():
            for line in log.read_text(errors="replace").splitlines():
                if line.startswith(("Exception inside application", "Traceback")):
                    count += 1
    return count
