"""The recorder: a receive-only participant of a call, run by the server (ADR 28).

It takes a place in the room as a presence of role `recorder` and speaks the signaling protocol
on the channel layer directly, as the room's consumers do (docs/signaling.md): it joins the
room's group, is announced with `peer-joined`, offers a receive-only connection (one audio and
one video m-line) to every participant already there, and answers the offers of those who arrive
or come back. Each participant's sound and picture go through a `storage.TrackWriter` each, in a
thread of its own. It stops when asked (`recorder.stop` on its channel: the staff's button, or a
consent withdrawn), when the call ends, or when its server stops (the sweeper then closes the
recording after a minute of silence; the chunks written are kept).

It runs in the process of the connection that asked for it, in that process's event loop: with
the in-memory channel layer (one process) that is the only process; with Redis any process
works. Its limits (ADR 28): one video and one audio track per participant (a screen shared in
the call is not recorded), transcoding in this process (VP8 at up to 640 px wide, 15 pictures a
second), and no ICE restart (a participant's new connection after a failure is a new part).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from aiortc import (
    RTCConfiguration,
    RTCIceCandidate,
    RTCIceServer,
    RTCPeerConnection,
    RTCSessionDescription,
)
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from aiortc.sdp import candidate_from_sdp
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from django.db import connection
from django.utils import timezone

from finestreta.recordings import services, storage
from finestreta.recordings.models import Recording
from finestreta.video.models import Presence
from finestreta.video.services import describe, ice_servers

logger = logging.getLogger(__name__)

RUNNING: dict[int, asyncio.Task[None]] = {}  # recording id → its recorder, in this process


def launch(recording_id: int) -> asyncio.Task[None]:
    """Start the recorder of a recording (just made by `services.start_recording`)."""
    task = asyncio.get_running_loop().create_task(Recorder(recording_id).run())
    RUNNING[recording_id] = task
    task.add_done_callback(lambda _task: RUNNING.pop(recording_id, None))
    return task


def _session_of(sdp: str) -> str | None:
    found = re.search(r"^o=\S+ (\S+) ", sdp or "", re.MULTILINE)
    return found.group(1) if found else None


def _candidate(data: Any) -> RTCIceCandidate | None:
    if not isinstance(data, dict):
        return None
    line = str(data.get("candidate") or "").strip()
    if not line:
        return None
    candidate = candidate_from_sdp(line.removeprefix("a=").removeprefix("candidate:"))
    candidate.sdpMid = data.get("sdpMid")
    candidate.sdpMLineIndex = data.get("sdpMLineIndex")
    return candidate


class Connection:
    """The recorder's peer connection to one participant, and the writers of its tracks."""

    def __init__(self, recorder: Recorder, presence: Presence, part: int) -> None:
        self.recorder = recorder
        self.peer = presence.peer
        self.role, self.name = presence.role, presence.name
        self.part = part
        self.session: str | None = None
        self.pumps: list[asyncio.Task[None]] = []
        servers = [
            RTCIceServer(
                urls=server["urls"],
                username=server.get("username"),
                credential=server.get("credential"),
            )
            for server in ice_servers(recorder.peer)
        ]
        self.pc = RTCPeerConnection(RTCConfiguration(iceServers=servers))
        self.pc.on("track", self.on_track)

    def on_track(self, track: MediaStreamTrack) -> None:
        if any(t.get_name() == f"pump-{track.kind}" for t in self.pumps):
            return  # a second video (a shared screen) is not recorded
        task = asyncio.get_running_loop().create_task(self.pump(track), name=f"pump-{track.kind}")
        self.pumps.append(task)

    async def pump(self, track: MediaStreamTrack) -> None:
        recorder = self.recorder
        writer = storage.TrackWriter(
            recorder.recording,
            peer=self.peer,
            role=self.role,
            name=self.name,
            kind=track.kind,
            clock=recorder.clock,
            part=self.part,
        )
        loop = asyncio.get_running_loop()
        pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="recorder")
        try:
            while True:
                try:
                    frame = await track.recv()
                except MediaStreamError:
                    break
                await loop.run_in_executor(pool, writer.write, frame, time.monotonic())
        except asyncio.CancelledError:
            pass
        except Exception:
            logger.exception("recorder: a track of %s could not be written", self.peer)
        finally:
            try:
                await asyncio.shield(loop.run_in_executor(pool, writer.close))
            except Exception:
                logger.exception("recorder: a track of %s could not be closed", self.peer)
            await loop.run_in_executor(pool, connection.close)
            pool.shutdown(wait=False)

    async def offer(self) -> dict[str, str]:
        self.pc.addTransceiver("audio", direction="recvonly")
        self.pc.addTransceiver("video", direction="recvonly")
        await self.pc.setLocalDescription(await self.pc.createOffer())
        return self._local()

    async def answer(self, description: dict[str, str]) -> dict[str, str]:
        await self.pc.setRemoteDescription(RTCSessionDescription(**description))
        self.session = _session_of(description["sdp"])
        for transceiver in self.pc.getTransceivers():
            transceiver.direction = "recvonly"
        await self.pc.setLocalDescription(await self.pc.createAnswer())
        return self._local()

    def _local(self) -> dict[str, str]:
        local = self.pc.localDescription
        return {"type": local.type, "sdp": local.sdp}

    async def close(self) -> None:
        await self.pc.close()  # ends the tracks: each pump closes its file
        if self.pumps:
            await asyncio.gather(*self.pumps, return_exceptions=True)


class Recorder:
    def __init__(self, recording_id: int) -> None:
        self.recording_id = recording_id
        self.layer = get_channel_layer()
        self.connections: dict[str, Connection] = {}
        self.channels: dict[str, str] = {}  # peer id → channel name
        self.parts: dict[str, int] = {}  # peer id → connections made so far
        self.clock = time.monotonic()
        self.peer = ""
        self.group = ""
        self.reason = Recording.Reason.INTERRUPTED

    async def run(self) -> None:
        from finestreta.video.consumers import room_group

        channel = await self.layer.new_channel("recorder.")
        try:
            self.recording, presence, others = await database_sync_to_async(
                services.recorder_joined
            )(recording_id=self.recording_id, channel_name=channel, now=timezone.now())
        except services.RecordingRefused:
            return
        self.clock = time.monotonic()
        self.peer = presence.peer
        self.group = room_group(self.recording.room)
        try:
            await self.layer.group_add(self.group, channel)
            await self.layer.group_send(
                self.group,
                {
                    "type": "video.joined",
                    "channel": channel,
                    "message": {"type": "peer-joined", **describe(presence)},
                },
            )
            await self._announce()
            for other in others:
                self.channels[other.peer] = other.channel_name
                await self._offer(other)
            await self._listen(channel)
        except Exception:
            logger.exception("recorder %s stopped by an error", self.recording_id)
        finally:
            await self._stop(channel)

    async def _listen(self, channel: str) -> None:
        beat_every = services.HEARTBEAT.total_seconds()
        next_beat = time.monotonic() + beat_every
        while True:
            try:
                event = await asyncio.wait_for(
                    self.layer.receive(channel), timeout=max(0.1, next_beat - time.monotonic())
                )
            except TimeoutError:
                event = None
            if time.monotonic() >= next_beat:
                next_beat = time.monotonic() + beat_every
                alive = await database_sync_to_async(services.beat)(
                    recording_id=self.recording_id, peer=self.peer, now=timezone.now()
                )
                if not alive:
                    return
            if event is None:
                continue
            kind = event.get("type")
            if kind == "recorder.stop":
                self.reason = event.get("reason") or Recording.Reason.STAFF
                return
            if kind == "video.ended":
                self.reason = Recording.Reason.ENDED
                return
            if kind == "video.relay" and event["message"].get("type") == "signal":
                await self._signal(event["message"])
            elif kind == "video.joined":
                await self._joined(event)
            elif kind == "video.left":
                await self._drop(event["peer"])

    async def _announce(self, on: bool = True) -> None:
        recording = self.recording if on else None
        await self.layer.group_send(
            self.group, {"type": "video.relay", "message": services.message(recording)}
        )

    async def _send(self, peer: str, message: dict[str, Any]) -> None:
        channel = self.channels.get(peer)
        if channel:
            with contextlib.suppress(Exception):
                await self.layer.send(
                    channel,
                    {
                        "type": "video.relay",
                        "message": {"type": "signal", "from": self.peer, **message},
                    },
                )

    def _connection(self, presence: Presence) -> Connection:
        part = self.parts.get(presence.peer, 0)
        self.parts[presence.peer] = part + 1
        found = Connection(self, presence, part)
        self.connections[presence.peer] = found
        return found

    async def _offer(self, presence: Presence) -> None:
        await self._drop(presence.peer)
        description = await self._connection(presence).offer()
        await self._send(presence.peer, {"description": description})

    async def _joined(self, event: dict[str, Any]) -> None:
        """Someone arrived: a newcomer offers (the protocol's rule); someone back after a drop
        whose connection to the recorder is gone gets a new offer from it."""
        peer = event["message"]["peer"]
        if peer == self.peer:
            return
        self.channels[peer] = event["channel"]
        known = self.connections.get(peer)
        if known is not None and known.pc.connectionState in ("failed", "closed"):
            presence = await database_sync_to_async(services.may_record_peer)(
                self.recording_id, peer
            )
            if presence is not None:
                await self._offer(presence)

    async def _signal(self, message: dict[str, Any]) -> None:
        peer = message.get("from")
        if not isinstance(peer, str):
            return
        known = self.connections.get(peer)
        description = message.get("description")
        if isinstance(description, dict):
            if description.get("type") == "answer" and known is not None:
                with contextlib.suppress(Exception):
                    await known.pc.setRemoteDescription(RTCSessionDescription(**description))
                return
            if description.get("type") != "offer":
                return
            presence = await database_sync_to_async(services.may_record_peer)(
                self.recording_id, peer
            )
            if presence is None:
                return  # not recorded (no consent, a silent listener): no connection
            if known is not None and known.session == _session_of(description["sdp"]):
                try:  # a renegotiation of the same connection (a screen shared)
                    answer = await known.answer(description)
                    await self._send(peer, {"description": answer})
                    return
                except Exception:
                    logger.info("recorder: renegotiation with %s failed; reconnecting", peer)
            await self._drop(peer)
            answer = await self._connection(presence).answer(description)
            await self._send(peer, {"description": answer})
            return
        if "candidate" in message and known is not None:
            candidate = _candidate(message["candidate"])
            if candidate is not None:
                with contextlib.suppress(Exception):
                    await known.pc.addIceCandidate(candidate)

    async def _drop(self, peer: str) -> None:
        known = self.connections.pop(peer, None)
        if known is not None:
            await known.close()

    async def _stop(self, channel: str) -> None:
        for peer in list(self.connections):
            await self._drop(peer)
        recording = await database_sync_to_async(services.finish)(
            recording_id=self.recording_id, reason=self.reason, now=timezone.now()
        )
        if self.group:
            with contextlib.suppress(Exception):
                await self.layer.group_send(self.group, {"type": "video.left", "peer": self.peer})
                await self._announce(on=False)
                await self.layer.group_discard(self.group, channel)
        if recording is None:
            logger.info("recorder %s: its recording was closed already", self.recording_id)
