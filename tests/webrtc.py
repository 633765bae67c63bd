"""A client of the video signaling protocol (docs/signaling.md) that is a real WebRTC peer, for
the tests and the benchmarks.

`Participant` connects to a running server with `websockets`, says `hello` (a citizen's join
token, or a staff member's session cookie), keeps its `peer` id, pings, follows the waiting room
and admission, keeps the numbered chat (resending what was not acknowledged), and drives one
aiortc `RTCPeerConnection` per remote participant: it sends synthetic audio and video and counts
the frames it receives. When its socket drops it reconnects with backoff and `resume`, and
restarts ICE where a connection is no longer `connected`. `asgi_server` runs the ASGI server
(uvicorn) alone, as a process that a test may kill.

Loopback only — the one patch
-----------------------------
aioice never offers a loopback host candidate, so two aiortc peers on a machine without a routed
network find no candidate pair. `use_loopback()` replaces `aioice.ice.get_host_addresses` (the
only function aioice asks for the local addresses) with one that answers 127.0.0.1: every
connection made in this process then offers exactly one host candidate, on loopback, and no
packet leaves the machine. The patch is process-wide and idempotent; `Participant` applies it
when it is made; nothing in the application uses aioice. STUN and TURN are off
(`iceServers=[]`) unless a test passes its own.

What aiortc cannot do, and what stands in for it
------------------------------------------------
- Trickle: `setLocalDescription` returns once every candidate is gathered, so this client sends
  one complete SDP and no `candidate` message — unless made with `trickle=True`, which imitates a
  browser: the description without candidates, then each candidate, then `null`. It accepts
  trickled candidates from the other side (a browser's `candidate:` lines, parsed with
  `aiortc.sdp.candidate_from_sdp`, and the end of candidates, `null` or an empty string).
- ICE restart: aiortc has no `iceRestart` offer option and cannot restart the ICE agent of a
  connection. A restart here replaces the connection with a fresh one (new ICE credentials and
  a new DTLS handshake) that offers; the other side sees an offer with a new `ice-ufrag` (which
  is what a browser's ICE restart offer looks like) and replaces its connection to answer.
- Rollback: on glare the polite side (whose peer id sorts second, docs/signaling.md) cannot roll
  its offer back, so it replaces its connection to answer.
"""

from __future__ import annotations

import array
import asyncio
import contextlib
import http.client
import itertools
import json
import logging
import math
import random
import re
import signal
import subprocess
import time
from collections import Counter, deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aioice.ice
import av
import websockets
from aiortc import (
    MediaStreamTrack,
    RTCConfiguration,
    RTCIceCandidate,
    RTCIceServer,
    RTCPeerConnection,
    RTCSessionDescription,
)
from aiortc.mediastreams import AudioStreamTrack, MediaStreamError, VideoStreamTrack
from aiortc.sdp import candidate_from_sdp
from websockets.asyncio.client import ClientConnection

from finestreta.lib import webserver
from tests import processes

logger = logging.getLogger(__name__)
ROOT = Path(__file__).resolve().parent.parent
# Close codes after which reconnecting is pointless (docs/signaling.md), and ours for "leave".
FINAL_CLOSE = {1000, 4400, 4401, 4403, 4404, 4409, 4410}


def use_loopback() -> None:
    """Make aioice offer 127.0.0.1 as the only host address (see the module docstring)."""
    aioice.ice.get_host_addresses = _loopback_addresses


def _loopback_addresses(use_ipv4: bool, use_ipv6: bool) -> list[str]:
    return ["127.0.0.1"]


def use_relay_only() -> None:
    """Make aioice offer no host address at all: only what a TURN server relays."""
    aioice.ice.get_host_addresses = _no_addresses


def _no_addresses(use_ipv4: bool, use_ipv6: bool) -> list[str]:
    return []


class Refused(Exception):
    """The server answered `hello` with an error and closed the socket."""

    def __init__(self, code: str, close: int | None, message: str = "") -> None:
        super().__init__(f"{code} (close {close}): {message}")
        self.code = code
        self.close = close


# --- Media ---------------------------------------------------------------------------------


class Tone(AudioStreamTrack):
    """A steady 440 Hz tone instead of aiortc's silence: someone speaking, for the page's
    speaking indicator."""

    async def recv(self) -> av.AudioFrame:
        frame = await super().recv()  # paced silence: 20 ms at 8 kHz, mono, 16-bit
        start = frame.pts
        wave = array.array(
            "h",
            (
                int(12000 * math.sin(2 * math.pi * 440 * (start + i) / 8000))
                for i in range(frame.samples)
            ),
        )
        frame.planes[0].update(wave.tobytes())
        return frame


class SmallVideo(VideoStreamTrack):
    """aiortc's synthetic video, smaller (aiortc's own is 640×480, and VP8 at that size keeps
    a core of a small machine busy per peer). A grey frame with a bar that moves, 30 fps."""

    def __init__(self, width: int = 320, height: int = 240) -> None:
        super().__init__()
        self.width, self.height = width, height
        self.count = 0

    async def recv(self) -> av.VideoFrame:
        pts, time_base = await self.next_timestamp()
        frame = av.VideoFrame(width=self.width, height=self.height, format="yuv420p")
        luma, *chroma = frame.planes
        row = bytearray(b"\x80" * (luma.buffer_size // self.height))
        bar = (self.count * 4) % (self.width - 8)  # the bar stays within the row
        row[bar : bar + 8] = b"\xff" * 8
        luma.update(bytes(row) * self.height)
        for plane in chroma:
            plane.update(b"\x80" * plane.buffer_size)
        frame.pts, frame.time_base = pts, time_base
        self.count += 1
        return frame


@dataclass
class Link:
    """The WebRTC connection with one remote participant, and what arrived through it."""

    peer: str
    offerer: bool  # this side made the first offer (and so restarts ICE, docs/signaling.md)
    pc: RTCPeerConnection
    received: Counter[str] = field(default_factory=Counter)  # frames by kind: audio, video
    video_tracks: dict[str, tuple[int, int, int]] = field(default_factory=dict)  # id → n, w, h
    remote_ufrag: str | None = None
    offers: int = 0  # offers sent on this link
    answers: int = 0  # answers received to them
    answered: int = 0  # offers received and answered
    replaced: int = 0  # connections replaced (ICE restarts)
    times: dict[str, float] = field(default_factory=dict)  # time.perf_counter() of milestones
    tasks: list[asyncio.Task[None]] = field(default_factory=list)

    @property
    def connected(self) -> bool:
        return self.pc.connectionState == "connected"


def candidate_from_json(data: dict[str, Any]) -> RTCIceCandidate | None:
    """A browser's RTCIceCandidateInit as aiortc's RTCIceCandidate (None: end of candidates)."""
    line = (data.get("candidate") or "").strip()
    if not line:
        return None
    candidate = candidate_from_sdp(line.removeprefix("a=").removeprefix("candidate:"))
    candidate.sdpMid = data.get("sdpMid")
    candidate.sdpMLineIndex = data.get("sdpMLineIndex")
    return candidate


def _without_candidates(sdp: str) -> tuple[str, list[dict[str, Any]]]:
    """An SDP without its candidate lines, and the first media section's candidates as a
    browser trickles them (with BUNDLE, the candidates of the first section serve them all)."""
    lines, candidates = [], []
    section, mid = -1, None
    for line in sdp.splitlines():
        if line.startswith("m="):
            section += 1
        elif line.startswith("a=mid:") and section == 0:
            mid = line.removeprefix("a=mid:")
        if line.startswith("a=candidate:"):
            if section == 0:
                candidates.append(line.removeprefix("a="))
            continue
        if line == "a=end-of-candidates":
            continue
        lines.append(line)
    found = [{"candidate": c, "sdpMid": mid, "sdpMLineIndex": 0} for c in candidates]
    return "\r\n".join(lines) + "\r\n", found


def _ufrag(sdp: str) -> str | None:
    found = re.search(r"^a=ice-ufrag:(\S+)", sdp, re.MULTILINE)
    return found.group(1) if found else None


# --- The participant -----------------------------------------------------------------------


class Participant:
    """One client of a room: `await join()`, then talk; `await close()` at the end.

    Everything received is kept in `received` (in order) unless `on_message` consumes it;
    `expect()` waits for a message. `links` holds the WebRTC connection to each remote peer.
    """

    def __init__(
        self,
        url: str,
        *,
        token: str | None = None,
        cookie: str | None = None,
        origin: str = "http://127.0.0.1",
        webrtc: bool = True,
        trickle: bool = False,
        ice_servers: list[RTCIceServer] | None = None,
        ping_every: float = 20.0,
        backoff: tuple[float, float] = (0.5, 10.0),
        reconnect: bool = True,
        on_message: Callable[[dict[str, Any]], bool] | None = None,
        label: str = "",
        relay_only: bool = False,
        tone: bool = False,
    ) -> None:
        self.url, self.token, self.cookie, self.origin = url, token, cookie, origin
        # Relay only: no host candidates, and the ICE servers `welcome` offers (the server's
        # TURN with its short-lived credentials) instead of `ice_servers`.
        self.relay_only = relay_only
        self.tone = tone  # send a tone rather than silence
        self.webrtc = webrtc
        self.trickle = trickle  # send candidates one by one, as a browser does
        self.ice_servers = list(ice_servers or [])
        self.ping_every = ping_every
        self.backoff = backoff  # first delay and cap, doubling in between (docs/signaling.md)
        self.reconnect = reconnect
        self.on_message = on_message
        self.label = label
        self.peer: str | None = None
        self.role = self.state = ""
        self.welcome: dict[str, Any] = {}
        self.welcomes = 0  # 1 after joining, +1 for every resumed connection
        self.links: dict[str, Link] = {}
        self.chat: dict[int, dict[str, Any]] = {}  # seq → line
        self.acks: dict[str, dict[str, Any]] = {}  # ref → the stored line
        self.unacked: dict[str, str] = {}  # ref → text, sent but not acknowledged yet
        self.pongs = 0
        self.received: deque[dict[str, Any]] = deque(maxlen=10_000)
        self.seen = 0  # messages appended to `received` so far
        self.errors: list[dict[str, Any]] = []  # the server's `error` messages
        self.failures: list[Exception] = []  # what this client failed to handle
        self.close_code: int | None = None
        self.times: dict[str, float] = {}
        self.ws: ClientConnection | None = None
        self._refs = itertools.count(1)
        self._news = asyncio.Event()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._reader: asyncio.Task[None] | None = None
        self._closing = False
        if webrtc:
            use_relay_only() if relay_only else use_loopback()

    def __repr__(self) -> str:
        return f"<Participant {self.label or self.role} {self.peer} {self.state}>"

    # --- Connecting -----------------------------------------------------------------------

    async def join(self, *, timeout: float = 10) -> dict[str, Any]:
        """Connect and say hello; the `welcome` (Refused if the server says no)."""
        self.times["hello"] = time.perf_counter()
        await self._open(resume=None, timeout=timeout)
        self._spawn(self._ping())
        return self.welcome

    async def _open(self, *, resume: str | None, timeout: float) -> None:
        headers = {"Cookie": self.cookie} if self.cookie else None
        ws = await websockets.connect(
            self.url,
            origin=self.origin,  # type: ignore[arg-type]
            additional_headers=headers,
            compression=None,  # the server does not accept permessage-deflate (lib.webserver)
            proxy=None,
            ping_interval=None,  # the protocol's own ping keeps the connection alive
            open_timeout=timeout,
            max_size=2**20,
        )
        self.times.setdefault("open", time.perf_counter())
        hello: dict[str, Any] = {"type": "hello", "v": 1}
        if self.token:
            hello["token"] = self.token
        if resume:
            hello["resume"] = resume
        await ws.send(json.dumps(hello))
        try:
            first = json.loads(await asyncio.wait_for(ws.recv(), timeout))
        except BaseException:
            await ws.close()
            raise
        if first.get("type") != "welcome":
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(ws.wait_closed(), timeout)
            raise Refused(first.get("code", "?"), ws.close_code, first.get("message", ""))
        self.ws = ws
        self.close_code = None
        self._reader = asyncio.create_task(self._read(ws))
        await self._welcomed(first)

    async def _welcomed(self, welcome: dict[str, Any]) -> None:
        self.times.setdefault("welcome", time.perf_counter())
        self.welcome = welcome
        self.welcomes += 1
        self.peer, self.role, self.state = welcome["peer"], welcome["role"], welcome["state"]
        if self.relay_only:
            self.ice_servers = [
                RTCIceServer(s["urls"], s.get("username"), s.get("credential"))
                for s in welcome["ice_servers"]
            ]
        self._record(welcome)
        for line in welcome.get("chat", []):
            self._chat_line(line)
        for ref, text in list(self.unacked.items()):  # never acknowledged: send again
            await self._send_quietly({"type": "chat", "text": text, "ref": ref})
        if self.state == "admitted":
            await self._meet(welcome["peers"])

    async def _meet(self, peers: list[dict[str, Any]]) -> None:
        """Arriving in the call: offer to everyone there we have no working connection with;
        after a reconnection, restart ICE where this side made the original offer."""
        if not self.webrtc:
            return
        for other in peers:
            link = self.links.get(other["peer"])
            if link is None:
                await self.offer(other["peer"])
            elif not link.connected and link.offerer:
                await self.offer(other["peer"], ice_restart=True)

    async def _reconnect(self) -> None:
        delay, cap = self.backoff
        while not self._closing:
            await asyncio.sleep(delay * random.uniform(0.8, 1.2))
            try:
                await self._open(resume=self.peer, timeout=5)
                return
            except Refused as refusal:
                self.close_code = refusal.close
                self.errors.append({"type": "error", "code": refusal.code})
                self._pulse()
                return
            except (OSError, TimeoutError, websockets.WebSocketException):
                delay = min(delay * 2, cap)

    @property
    def online(self) -> bool:
        return self.ws is not None and self.ws.state is websockets.State.OPEN

    async def drop(self) -> None:
        """Lose the socket the hard way (no close handshake, no leave), as a network does;
        the client then reconnects by itself when `reconnect` is on."""
        if self.ws is not None and self.ws.transport is not None:
            self.ws.transport.abort()

    async def leave(self) -> None:
        await self._send_quietly({"type": "leave"})
        await self.close()

    async def close(self) -> None:
        """Close the socket and every connection; stop every task of this participant."""
        self._closing = True
        if self.ws is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.ws.close(), 2)
        for task in [*self._tasks, *([self._reader] if self._reader else [])]:
            task.cancel()
        for link in self.links.values():
            await self._close_link(link)

    # --- Receiving ------------------------------------------------------------------------

    async def _read(self, ws: ClientConnection) -> None:
        try:
            async for raw in ws:
                message = json.loads(raw)
                if self.on_message is not None and self.on_message(message):
                    continue
                try:
                    await self._dispatch(message)
                except Exception as exc:  # noqa: BLE001 - kept for the test to see; read on
                    logger.exception("%r could not handle %s", self, message.get("type"))
                    self.failures.append(exc)
                finally:
                    self._record(message)
        except websockets.ConnectionClosed:
            pass
        finally:
            if ws is self.ws:
                self.close_code = ws.close_code
                self._pulse()
                if (
                    self.reconnect
                    and not self._closing
                    and (self.close_code or 1006) not in FINAL_CLOSE
                ):
                    self._spawn(self._reconnect())

    def _record(self, message: dict[str, Any]) -> None:
        self.received.append(message)
        self.seen += 1
        self._pulse()

    def _pulse(self) -> None:
        self._news.set()
        self._news = asyncio.Event()

    async def _dispatch(self, message: dict[str, Any]) -> None:
        kind = message.get("type")
        if kind == "signal":
            if self.webrtc:
                await self._on_signal(message)
        elif kind == "admitted" and "peers" in message:  # staff get "admitted" with "peer"
            self.times.setdefault("admitted", time.perf_counter())
            self.state = "admitted"
            await self._meet(message["peers"])
        elif kind == "chat":
            self._chat_line(message)
        elif kind == "pong":
            self.pongs += 1
        elif kind == "ping":
            await self._send_quietly({"type": "pong"})
        elif kind == "error":
            self.errors.append(message)
        elif kind == "ended":
            self._closing = True
        # peer-joined: those already there wait for the newcomer's offer (docs/signaling.md).
        # peer-left: the connection is kept; media may still flow while the other's signaling
        # is away, and it comes back with `resume`.

    def _chat_line(self, line: dict[str, Any]) -> None:
        self.chat[line["seq"]] = line
        if line.get("peer") == self.peer and line.get("ref"):
            self.unacked.pop(line["ref"], None)
            self.acks[line["ref"]] = line

    async def expect(
        self,
        kind: str,
        where: Callable[[dict[str, Any]], bool] | None = None,
        *,
        since: int = 0,
        timeout: float = 10,
    ) -> dict[str, Any]:
        """The first message of `kind` (matching `where`) among those received after the
        `since`-th one (see `mark()`), waiting for it if needed."""
        deadline = time.monotonic() + timeout
        while True:
            start = max(since - (self.seen - len(self.received)), 0)
            for message in itertools.islice(self.received, start, None):
                if message.get("type") == kind and (where is None or where(message)):
                    return message
            news = self._news
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"{self!r}: no {kind!r} within {timeout} s")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(news.wait(), left)

    def mark(self) -> int:
        """A position for `expect(since=…)`: only what arrives from now on."""
        return self.seen

    # --- Sending --------------------------------------------------------------------------

    async def send(self, message: dict[str, Any]) -> None:
        if self.ws is None:
            raise ConnectionError("not connected")
        await self.ws.send(json.dumps(message))

    async def _send_quietly(self, message: dict[str, Any]) -> bool:
        try:
            await self.send(message)
        except (ConnectionError, websockets.ConnectionClosed):
            return False  # the server queues nothing for a dropped socket (docs/signaling.md)
        return True

    async def admit(self, peer: str) -> None:
        await self.send({"type": "admit", "peer": peer})

    async def say(self, text: str, *, ref: str | None = None) -> str:
        """Send a chat line; it stays in `unacked` (and is sent again after a reconnection)
        until the server's copy comes back. Returns its `ref`."""
        ref = ref or f"{self.label or 'c'}-{next(self._refs)}"
        self.unacked[ref] = text
        await self._send_quietly({"type": "chat", "text": text, "ref": ref})
        return ref

    async def acknowledged(self, ref: str, *, timeout: float = 10) -> dict[str, Any]:
        await until(lambda: ref in self.acks, timeout=timeout, what=f"ack of {ref}")
        return self.acks[ref]

    async def _ping(self) -> None:
        await asyncio.sleep(self.ping_every * random.random())  # spread many clients' pings
        while not self._closing:
            await self._send_quietly({"type": "ping"})
            await asyncio.sleep(self.ping_every)

    def _spawn(self, coroutine: Any) -> None:
        task = asyncio.create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # --- WebRTC ---------------------------------------------------------------------------

    def _new_pc(self, peer: str) -> RTCPeerConnection:
        pc = RTCPeerConnection(RTCConfiguration(iceServers=self.ice_servers))
        pc.addTrack(Tone() if self.tone else AudioStreamTrack())
        pc.addTrack(SmallVideo())

        def on_track(track: MediaStreamTrack) -> None:
            target = self.links.get(peer)
            if target is not None:
                target.tasks.append(asyncio.create_task(_count_frames(target, track)))

        def on_state() -> None:
            target = self.links.get(peer)
            if target is None or target.pc is not pc:
                return
            if pc.connectionState == "connected":
                target.times.setdefault("connected", time.perf_counter())
                target.times["last_connected"] = time.perf_counter()
            elif pc.connectionState == "failed" and target.offerer and not self._closing:
                self._spawn(self.offer(peer, ice_restart=True))
            self._pulse()

        pc.on("track", on_track)
        pc.on("connectionstatechange", on_state)
        return pc

    def _link(self, peer: str, *, offerer: bool) -> Link:
        link = self.links.get(peer)
        if link is None:
            link = Link(peer=peer, offerer=offerer, pc=self._new_pc(peer))
            self.links[peer] = link
        return link

    async def _replace_pc(self, link: Link) -> None:
        """aiortc's stand-in for an ICE restart: a fresh connection (module docstring)."""
        old = link.pc
        link.pc = self._new_pc(link.peer)
        link.remote_ufrag = None
        link.replaced += 1
        await old.close()

    async def offer(self, peer: str, *, ice_restart: bool = False) -> None:
        """Send an offer to `peer`: the first one, a renegotiation, or an ICE restart."""
        link = self.links.get(peer)
        if link is None:
            link = self._link(peer, offerer=True)
        elif ice_restart:
            await self._replace_pc(link)
        pc = link.pc
        await pc.setLocalDescription(await pc.createOffer())
        link.offers += 1
        link.times.setdefault("offer", time.perf_counter())
        await self._describe(peer, "offer", pc.localDescription.sdp)

    async def _describe(self, peer: str, kind: str, sdp: str) -> None:
        """Send a description: complete (aiortc's way), or, with `trickle`, as a browser does:
        the description without candidates, then each candidate, then `null`."""
        if not self.trickle:
            await self._send_quietly(
                {"type": "signal", "to": peer, "description": {"type": kind, "sdp": sdp}}
            )
            return
        bare, candidates = _without_candidates(sdp)
        await self._send_quietly(
            {"type": "signal", "to": peer, "description": {"type": kind, "sdp": bare}}
        )
        for candidate in [*candidates, None]:
            await self._send_quietly({"type": "signal", "to": peer, "candidate": candidate})

    async def _on_signal(self, message: dict[str, Any]) -> None:
        sender = message["from"]
        if "description" in message:
            await self._on_description(sender, message["description"])
            return
        link = self.links.get(sender)
        if link is None or link.pc.remoteDescription is None:
            return  # no connection to add it to (a browser sends its offer first)
        data = message.get("candidate")
        await link.pc.addIceCandidate(candidate_from_json(data) if data else None)

    async def _on_description(self, sender: str, description: dict[str, Any]) -> None:
        sdp = description.get("sdp", "")
        if description["type"] == "offer":
            link = self.links.get(sender)
            if link is None:
                link = self._link(sender, offerer=False)
            else:
                glare = link.pc.signalingState == "have-local-offer"
                if glare and self.peer is not None and self.peer < sender:
                    return  # impolite: our own offer stands
                restart = link.remote_ufrag is not None and _ufrag(sdp) != link.remote_ufrag
                # aiortc closes a connection by itself when the other side closed its DTLS
                # (as the other side's ICE restart does here): answer from a fresh one.
                closed = link.pc.signalingState == "closed"
                if glare or restart or closed:
                    await self._replace_pc(link)
            pc = link.pc
            await pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="offer"))
            link.remote_ufrag = _ufrag(sdp)
            await pc.setLocalDescription(await pc.createAnswer())
            link.answered += 1
            await self._describe(sender, "answer", pc.localDescription.sdp)
        elif description["type"] == "answer":
            link = self.links.get(sender)
            if link is None or link.pc.signalingState != "have-local-offer":
                return  # an answer to an offer given up on glare
            await link.pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="answer"))
            link.remote_ufrag = _ufrag(sdp)
            link.answers += 1
            link.times.setdefault("answer", time.perf_counter())

    async def _close_link(self, link: Link) -> None:
        for task in link.tasks:
            task.cancel()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(link.pc.close(), 5)


async def _count_frames(link: Link, track: MediaStreamTrack) -> None:
    while True:
        try:
            frame = await track.recv()
        except MediaStreamError:
            return
        link.received[track.kind] += 1
        if isinstance(frame, av.VideoFrame):  # frames so far and the size of the last one
            count = link.video_tracks.get(track.id, (0, 0, 0))[0] + 1
            link.video_tracks[track.id] = (count, frame.width, frame.height)
        link.times.setdefault(f"first_{track.kind}", time.perf_counter())


async def until(predicate: Callable[[], bool], *, timeout: float = 10, what: str = "") -> None:
    """Wait until `predicate()` holds, polling (frame counts, connection states)."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(f"not within {timeout} s: {what or predicate}")
        await asyncio.sleep(0.02)


# --- The ASGI server alone -------------------------------------------------------------------


@contextmanager
def asgi_server(
    port: int, *, env: dict[str, str], log: Path, loopback: bool = False
) -> Iterator[subprocess.Popen]:
    """The ASGI server alone (no task worker, unlike `manage.py serve`) on 127.0.0.1:`port`, its output
    in `log`: one process id to measure or to kill. Waits until it answers /healthz; on exit
    interrupts it (like Ctrl-C) and waits. `loopback`: the server's own WebRTC peers (the
    recorder) offer only 127.0.0.1, as this process's do (tests/loopback_asgi.py)."""
    process = start_asgi_server(port, env=env, log=log, loopback=loopback)
    try:
        yield process
    finally:
        stop(process)


def start_asgi_server(
    port: int, *, env: dict[str, str], log: Path, loopback: bool = False
) -> subprocess.Popen:
    argv = webserver.command("127.0.0.1", port)
    if loopback:
        argv = [argv[0], "-m", "tests.loopback_asgi", *argv[3:]]
    with log.open("ab") as out:
        process = subprocess.Popen(  # noqa: S603 - a fixed argv of our own program
            argv,
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    deadline = time.monotonic() + 60
    while not _answers(port):
        if process.poll() is not None or time.monotonic() > deadline:
            stop(process)
            tail = log.read_text(errors="replace")[-3000:]
            raise RuntimeError(f"the ASGI server on port {port} did not start:\n{tail}")
        time.sleep(0.1)
    return process


def stop(process: subprocess.Popen) -> None:
    """Like Ctrl-C, then wait (killed if it does not stop)."""
    processes.stop(process, sig=signal.SIGINT)


def _answers(port: int) -> bool:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
    try:
        connection.request("GET", "/healthz", headers={"Host": "127.0.0.1"})
        return connection.getresponse().status == 200
    except OSError:
        return False
    finally:
        connection.close()


__all__ = [
    "Link",
    "Participant",
    "Refused",
    "SmallVideo",
    "asgi_server",
    "candidate_from_json",
    "start_asgi_server",
    "stop",
    "until",
    "use_loopback",
]
