"""The signaling WebSocket of a video room (docs/signaling.md) and the staff's lobby of waiting
citizens. Thin: every decision is a `video.services` function; this file moves messages.

Channel-layer groups, per room: `video-ROOM-in` (admitted participants) and `video-ROOM-staff`
(staff in the room); per organisation: `video-lobby-ORG` (staff pages watching the waiting room).
A waiting citizen is in no group: what is meant for them goes to their own channel.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from typing import Any

from channels.consumer import get_handler_name
from channels.db import database_sync_to_async
from channels.exceptions import ChannelFull
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.utils import timezone

from finestreta.video import services
from finestreta.video.models import Presence, Role, Room

logger = logging.getLogger(__name__)

PROTOCOL = 1
HELLO_TIMEOUT = 10.0
MAX_MESSAGE = 64 * 1024
RATE = 50  # messages per second per connection (a token bucket of that size)


def room_group(room: Room) -> str:
    return f"video-{room.pk}-in"


def staff_group(room: Room) -> str:
    return f"video-{room.pk}-staff"


def lobby_group(organisation_id: int) -> str:
    return f"video-lobby-{organisation_id}"


class RoomConsumer(AsyncJsonWebsocketConsumer):
    room: Room | None
    presence: Presence | None

    async def connect(self) -> None:
        self.room = None
        self.presence = None
        self.peers: dict[str, str] = {}  # admitted peer id → channel name (a cache)
        self.groups_joined: list[str] = []
        # The last chat line this client has (None: not known, as for a citizen admitted just
        # now, who was sent no history): a later line's number shows what it missed.
        self.chat_seq: int | None = None
        self.tokens = float(RATE)
        self.refilled = time.monotonic()
        self.touched = time.monotonic()  # joining counts as being seen
        await self.accept()
        self.hello_timer = asyncio.create_task(self._expect_hello())

    async def _expect_hello(self) -> None:
        await asyncio.sleep(HELLO_TIMEOUT)
        if self.presence is None:
            await self._refuse("bad_message", 4400, "Say hello first.")

    async def disconnect(self, code: int) -> None:
        self.hello_timer.cancel()
        for group in self.groups_joined:
            await self.channel_layer.group_discard(group, self.channel_name)
        if self.presence is not None and self.room is not None:
            await self._left(for_good=False)

    # --- Receiving -------------------------------------------------------------------------

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if text_data is None or len(text_data) > MAX_MESSAGE:
            await self._error("too_long", "Messages are JSON text of at most 64 KiB.")
            return
        if not self._take_token():
            await self._error("rate_limited", "Too many messages; this one was dropped.")
            return
        try:
            content = json.loads(text_data)
        except ValueError:
            await self._error("bad_message", "Not JSON.")
            return
        if not isinstance(content, dict) or not isinstance(content.get("type"), str):
            await self._error("bad_message", "A message is an object with a type.")
            return
        await self.receive_json(content)

    def _take_token(self) -> bool:
        now = time.monotonic()
        self.tokens = min(float(RATE), self.tokens + (now - self.refilled) * RATE)
        self.refilled = now
        if self.tokens < 1:
            return False
        self.tokens -= 1
        return True

    async def receive_json(self, content: dict[str, Any], **kwargs: Any) -> None:
        kind = content["type"]
        if self.presence is None:
            if kind != "hello":
                await self._refuse("bad_message", 4400, "Say hello first.")
                return
            await self._hello(content)
            return
        handler = HANDLERS.get(kind)
        if handler is None:
            await self._error("unknown_type", f"Unknown message type {kind!r}.")
            return
        try:
            await handler(self, content)
        except services.NotAllowed as refusal:
            await self._error(refusal.code, refusal.message)

    async def _hello(self, content: dict[str, Any]) -> None:
        kwargs = self.scope["url_route"]["kwargs"]
        token = content.get("token")
        guest = content.get("guest")
        resume = content.get("resume")
        try:
            entered = await database_sync_to_async(services.enter)(
                org_slug=kwargs["org"],
                public_id=kwargs["room"],
                token=token if isinstance(token, str) and token else None,
                guest=guest if isinstance(guest, str) and guest else None,
                user=self.scope.get("user"),
                session=self.scope.get("session"),
                channel_name=self.channel_name,
                resume=resume if isinstance(resume, str) else None,
                now=timezone.now(),
            )
        except services.Refused as refusal:
            await self._refuse(refusal.code, refusal.close, refusal.message)
            return
        self.room = entered.joiner.room
        self.presence = entered.joined.presence
        if entered.joined.replaced_channel:
            replaced = entered.joined.replaced_channel
            await self.channel_layer.send(replaced, {"type": "video.replaced"})
        peer = self.presence.peer
        admitted = self.presence.state == Presence.State.ADMITTED
        if admitted:
            await self._enter_call()
        else:
            await self._tell_staff({"type": "waiting", **self._waiting_card()})
        if self.presence.role == Role.STAFF:
            await self._join_group(staff_group(self.room))
        if admitted:
            self.chat_seq = max((line["seq"] for line in entered.snapshot["chat"]), default=0)
        await self.send_json(
            {
                "type": "welcome",
                "v": PROTOCOL,
                "peer": peer,
                "role": self.presence.role,
                "name": self.presence.name,
                "state": self.presence.state,
                "ice_servers": services.ice_servers(peer),
                **entered.snapshot,
            }
        )

    async def _enter_call(self) -> None:
        """Tell the admitted participants who arrived, then join them."""
        room, presence = self._in()
        await self.channel_layer.group_send(
            room_group(room),
            {
                "type": "video.joined",
                "channel": self.channel_name,
                "message": {"type": "peer-joined", **services.describe(presence)},
            },
        )
        await self._join_group(room_group(room))

    async def _join_group(self, group: str) -> None:
        if group not in self.groups_joined:
            await self.channel_layer.group_add(group, self.channel_name)
            self.groups_joined.append(group)

    def _waiting_card(self) -> dict[str, Any]:
        room, presence = self._in()
        return {
            "peer": presence.peer,
            "name": presence.name,
            "since": presence.since.isoformat(),
            "room": room.public_id,
        }

    async def _tell_staff(self, message: dict[str, Any]) -> None:
        """To the staff in the room and to the staff pages watching the waiting room."""
        room = self._room()
        event = {"type": "video.relay", "message": message}
        await self.channel_layer.group_send(staff_group(room), event)
        await self.channel_layer.group_send(
            lobby_group(room.organisation_id),
            {"type": "video.lobby", "room_id": room.pk, "message": message},
        )

    async def _left(self, *, for_good: bool) -> None:
        room, presence = self._in()
        presence = await database_sync_to_async(services.leave)(
            peer=presence.peer,
            channel_name=self.channel_name,
            now=timezone.now(),
            for_good=for_good,
        )
        if presence is None:
            return  # replaced by a newer connection of the same participant
        if presence.state == Presence.State.ADMITTED:
            await self.channel_layer.group_send(
                room_group(room),
                {"type": "video.left", "peer": presence.peer},
            )
        else:
            await self._tell_staff({"type": "left", "peer": presence.peer})

    # --- Handlers of client messages ---------------------------------------------------------

    async def on_ping(self, content: dict[str, Any]) -> None:
        _room, presence = self._in()
        now = time.monotonic()
        if now - self.touched >= services.TOUCH_EVERY.total_seconds():
            self.touched = now
            await database_sync_to_async(services.touch)(peer=presence.peer, now=timezone.now())
        await self.send_json({"type": "pong"})

    async def on_signal(self, content: dict[str, Any]) -> None:
        room, presence = self._in()
        to = content.get("to")
        message: dict[str, Any] = {"type": "signal", "from": presence.peer}
        if "description" in content:
            description = content["description"]
            if (
                not isinstance(description, dict)
                or description.get("type") not in ("offer", "answer", "pranswer", "rollback")
                or not isinstance(description.get("sdp", ""), str)
            ):
                raise services.NotAllowed("bad_message", "A description has a type and an sdp.")
            message["description"] = {
                "type": description["type"],
                "sdp": description.get("sdp", ""),
            }
        elif "candidate" in content:
            candidate = content["candidate"]
            if candidate is not None and not isinstance(candidate, dict):
                raise services.NotAllowed("bad_message", "A candidate is an object or null.")
            message["candidate"] = candidate
        else:
            raise services.NotAllowed("bad_message", "A signal carries a description or candidate.")
        if presence.state != Presence.State.ADMITTED or not isinstance(to, str):
            raise services.NotAllowed("not_in_room", "Both sides must be in the call.")
        # A description (rare: offers, answers, ICE restarts) looks the channel up afresh: the
        # cached one is stale when the other side reconnected and its `peer-joined` was lost in
        # flight (Redis restarting). Candidates, many and right after it, use the cache.
        channel = None if "description" in content else self.peers.get(to)
        if channel is None:
            channel = await database_sync_to_async(self._admitted_channel)(to)
        if channel is None:
            raise services.NotAllowed("not_in_room", "Nobody in the call has that id.")
        try:
            await self.channel_layer.send(channel, {"type": "video.relay", "message": message})
        except ChannelFull:
            raise services.NotAllowed(
                "busy", "The other side is not keeping up; send again."
            ) from None

    def _admitted_channel(self, peer: str) -> str | None:
        found = (
            Presence.objects.filter(
                room=self.room, peer=peer, state=Presence.State.ADMITTED, **services.live()
            )
            .values_list("channel_name", flat=True)
            .first()
        )
        if found:
            self.peers[peer] = found
        return found

    async def on_chat(self, content: dict[str, Any]) -> None:
        room, presence = self._in()
        text, ref = content.get("text"), content.get("ref", "")
        if not isinstance(text, str) or not isinstance(ref, str):
            raise services.NotAllowed("bad_message", "A chat line has a text.")
        line = await database_sync_to_async(services.post_chat)(
            room=room, presence=presence, text=text, ref=ref, now=timezone.now()
        )
        await self.channel_layer.group_send(
            room_group(room), {"type": "video.relay", "message": services.chat_message(line)}
        )

    async def on_admit(self, content: dict[str, Any]) -> None:
        room, presence = self._in()
        peer = content.get("peer")
        if not isinstance(peer, str):
            raise services.NotAllowed("bad_message", "Admit whom?")
        citizen = await database_sync_to_async(services.admit)(
            room=room, staff_peer=presence, peer=peer, now=timezone.now()
        )
        await self.channel_layer.send(citizen.channel_name, {"type": "video.admitted"})
        await self._tell_staff({"type": "admitted", "peer": citizen.peer})

    async def on_notice(self, content: dict[str, Any]) -> None:
        room, presence = self._in()
        text = content.get("text")
        if not isinstance(text, str):
            raise services.NotAllowed("bad_message", "A notice has a text.")
        event = await database_sync_to_async(services.post_notice)(
            room=room, presence=presence, text=text, now=timezone.now()
        )
        channels = await database_sync_to_async(self._waiting_channels)()
        message = {"type": "notice", "text": event.details["text"], "at": event.at.isoformat()}
        for channel in channels:
            await self._send_quietly(channel, {"type": "video.relay", "message": message})

    def _waiting_channels(self) -> list[str]:
        return list(
            Presence.objects.filter(
                room=self.room, state=Presence.State.WAITING, **services.live()
            ).values_list("channel_name", flat=True)
        )

    async def on_callback(self, content: dict[str, Any]) -> None:
        room, presence = self._in()
        phone = content.get("phone", "")
        if not isinstance(phone, str):
            raise services.NotAllowed("bad_message", "A phone number is text.")
        number = await database_sync_to_async(services.request_callback)(
            room=room, presence=presence, phone=phone, now=timezone.now()
        )
        await self._tell_staff(
            {"type": "callback-requested", "peer": presence.peer, "phone": number}
        )
        await self.send_json({"type": "callback-noted", "phone": number})

    async def on_media(self, content: dict[str, Any]) -> None:
        room, presence = self._in()
        if presence.state != Presence.State.ADMITTED:
            raise services.NotAllowed("not_in_room", "Not in the call yet.")
        message: dict[str, Any] = {"type": "media", "peer": presence.peer}
        for key in ("audio", "video", "screen"):
            # A silent listener is said to send nothing, whatever its page claims.
            message[key] = bool(content.get(key)) and not presence.silent
        await self.channel_layer.group_send(
            room_group(room), {"type": "video.relay", "message": message}
        )

    async def on_end(self, content: dict[str, Any]) -> None:
        room, presence = self._in()
        channels = await database_sync_to_async(self._waiting_channels)()
        await database_sync_to_async(services.end_call)(
            room=room, presence=presence, now=timezone.now()
        )
        for channel in channels:
            await self._send_quietly(channel, {"type": "video.ended"})
        await self.channel_layer.group_send(room_group(room), {"type": "video.ended"})
        await self.channel_layer.group_send(staff_group(room), {"type": "video.ended"})
        await self._tell_staff({"type": "room-ended", "room": room.public_id})

    async def on_record(self, content: dict[str, Any]) -> None:
        """Staff start or stop the call's recording (finestreta.recordings, ADR 28)."""
        from finestreta.recordings import recorder
        from finestreta.recordings import services as recordings

        room, presence = self._in()
        on = content.get("on")
        if not isinstance(on, bool):
            raise services.NotAllowed("bad_message", "Say whether to record: on, true or false.")
        try:
            if on:
                recording = await database_sync_to_async(recordings.start_recording)(
                    room=room, presence=presence, now=timezone.now()
                )
                recorder.launch(recording.pk)
            else:
                await database_sync_to_async(recordings.stop)(
                    room=room, presence=presence, now=timezone.now()
                )
        except recordings.RecordingRefused as refusal:
            await self._error(refusal.code, refusal.message)

    async def on_leave(self, content: dict[str, Any]) -> None:
        await self._left(for_good=True)
        self.presence = None
        await self.close(code=1000)

    # --- Events from the channel layer --------------------------------------------------------

    async def video_relay(self, event: dict[str, Any]) -> None:
        message = event["message"]
        if message.get("type") == "chat":
            await self._chat_missed_before(message["seq"])
        await self.send_json(message)

    async def _chat_missed_before(self, seq: int) -> None:
        """Lines numbered between the last this client has and `seq` never reached it (lost
        in flight, say while Redis restarted): send them from the database first. One that
        is only late comes twice; clients keep one line per `seq` (docs/signaling.md)."""
        last, self.chat_seq = self.chat_seq, max(self.chat_seq or 0, seq)
        if last is None or seq <= last + 1:
            return
        room = self._room()
        missed = await database_sync_to_async(services.chat_lines_between)(
            room=room, after=last, before=seq
        )
        for line in missed:
            await self.send_json(line)

    async def video_joined(self, event: dict[str, Any]) -> None:
        if event["channel"] == self.channel_name:
            return
        message = event["message"]
        self.peers[message["peer"]] = event["channel"]
        await self.send_json(message)

    async def video_left(self, event: dict[str, Any]) -> None:
        if self.presence is not None and event["peer"] == self.presence.peer:
            return
        self.peers.pop(event["peer"], None)
        await self.send_json({"type": "peer-left", "peer": event["peer"]})

    async def video_admitted(self, event: dict[str, Any]) -> None:
        """This (waiting) citizen was admitted: into the call."""
        room, presence = self._in()
        presence.state = Presence.State.ADMITTED
        peers = await database_sync_to_async(services.admitted_peers)(room)
        await self._enter_call()
        for peer in peers:
            if peer.peer != presence.peer:
                self.peers[peer.peer] = peer.channel_name
        await self.send_json(
            {
                "type": "admitted",
                "peers": [services.describe(p) for p in peers if p.peer != presence.peer],
            }
        )

    async def video_replaced(self, event: dict[str, Any]) -> None:
        self.presence = None  # the newer connection carries on: record nothing
        await self.send_json(
            {"type": "error", "code": "replaced", "message": "Connected again elsewhere."}
        )
        await self.close(code=4409)

    async def video_ended(self, event: dict[str, Any]) -> None:
        self.presence = None
        await self.send_json({"type": "ended"})
        await self.close(code=4410)

    async def video_lobby(self, event: dict[str, Any]) -> None:
        """Lobby events reach staff in rooms through their own group instead."""

    async def _send_quietly(self, channel: str, event: dict[str, Any]) -> None:
        """To one other connection; one that is not keeping up misses it (and is told the state
        again when it reconnects), without closing this one."""
        try:
            await self.channel_layer.send(channel, event)
        except ChannelFull:
            logger.warning("dropped a %s for a channel that is full", event["type"])

    async def dispatch(self, message: dict[str, Any]) -> None:
        """As Channels' own, without closing old database connections before every message:
        every database access here goes through `database_sync_to_async`, which does that
        already (this halves the trips to the database thread per relayed signal)."""
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)

    # --- Replies ------------------------------------------------------------------------------

    def _room(self) -> Room:
        if self.room is None:
            raise services.NotAllowed("bad_message", "Say hello first.")
        return self.room

    def _in(self) -> tuple[Room, Presence]:
        if self.presence is None:
            raise services.NotAllowed("bad_message", "Say hello first.")
        return self._room(), self.presence

    async def _error(self, code: str, message: str) -> None:
        await self.send_json({"type": "error", "code": code, "message": message})

    async def _refuse(self, code: str, close: int, message: str) -> None:
        await self._error(code, message)
        await self.close(code=close)


HANDLERS = {
    "ping": RoomConsumer.on_ping,
    "signal": RoomConsumer.on_signal,
    "chat": RoomConsumer.on_chat,
    "admit": RoomConsumer.on_admit,
    "notice": RoomConsumer.on_notice,
    "callback": RoomConsumer.on_callback,
    "media": RoomConsumer.on_media,
    "end": RoomConsumer.on_end,
    "leave": RoomConsumer.on_leave,
    "record": RoomConsumer.on_record,
}


class LobbyConsumer(AsyncJsonWebsocketConsumer):
    """A staff page watching the waiting room: `waiting`, `left`, `admitted` and
    `callback-requested` of the rooms this staff member may serve, live."""

    async def connect(self) -> None:
        org = self.scope["url_route"]["kwargs"]["org"]
        try:
            self.staff = await database_sync_to_async(services.staff_for_session)(
                user=self.scope.get("user"),
                session=self.scope.get("session"),
                org_slug=org,
                now=timezone.now(),
            )
        except services.Refused as refusal:
            await self.accept()
            await self.send_json(
                {"type": "error", "code": refusal.code, "message": refusal.message}
            )
            await self.close(code=refusal.close)
            return
        self.allowed: dict[int, bool] = {}
        self.group = lobby_group(self.staff.organisation.pk)
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()
        waiting = await database_sync_to_async(services.list_waiting)(self.staff)
        await self.send_json(
            {
                "type": "welcome",
                "v": PROTOCOL,
                "waiting": [
                    {
                        "peer": p.peer,
                        "name": p.name,
                        "since": p.since.isoformat(),
                        "room": p.room.public_id,
                    }
                    for p in waiting
                ],
            }
        )

    async def disconnect(self, code: int) -> None:
        if hasattr(self, "group"):
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        if isinstance(content, dict) and content.get("type") == "ping":
            await self.send_json({"type": "pong"})

    async def video_lobby(self, event: dict[str, Any]) -> None:
        room_id = event["room_id"]
        if room_id not in self.allowed:
            self.allowed[room_id] = await database_sync_to_async(self._may_serve)(room_id)
        if self.allowed[room_id]:
            await self.send_json(event["message"])

    def _may_serve(self, room_id: int) -> bool:
        room = Room.objects.select_related("appointment").filter(pk=room_id).first()
        return room is not None and services.can_serve(self.staff, room.appointment)
