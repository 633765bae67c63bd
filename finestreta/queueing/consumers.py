"""The live socket of the agent's desk and the supervisor's view (`ws/ORG/desk/`): it says
`changed` when the organisation's queue or desks change, and the page fetches its fragment
again. Thin: who may listen is the staff session's check; what changed is `events` (pushed after
each commit) and `desk.fingerprint` (checked every DESK_CHECK_SECONDS, for changes made where
this process's channel layer does not reach)."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.conf import settings
from django.utils import timezone

from finestreta.queueing import desk, events
from finestreta.video import services as video


class DeskConsumer(AsyncJsonWebsocketConsumer):
    async def connect(self) -> None:
        org = self.scope["url_route"]["kwargs"]["org"]
        try:
            self.staff = await database_sync_to_async(video.staff_for_session)(
                user=self.scope.get("user"),
                session=self.scope.get("session"),
                org_slug=org,
                now=timezone.now(),
            )
        except video.Refused as refusal:
            await self.accept()
            await self.send_json(
                {"type": "error", "code": refusal.code, "message": refusal.message}
            )
            await self.close(code=refusal.close)
            return
        # Their organisation's queue, and the hosts' whose citizens they help with (ADR 25).
        self.hosts = await database_sync_to_async(desk.hosts_of)(self.staff.membership)
        self.groups_joined = [events.group(self.staff.organisation.pk)] + [
            events.group(host) for host in self.hosts
        ]
        for name in self.groups_joined:
            await self.channel_layer.group_add(name, self.channel_name)
        await self.accept()
        self.seen = await self._fingerprint()
        await self.send_json({"type": "welcome"})
        self.checker = asyncio.create_task(self._check())

    async def disconnect(self, code: int) -> None:
        if hasattr(self, "checker"):
            self.checker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.checker
        for name in getattr(self, "groups_joined", []):
            await self.channel_layer.group_discard(name, self.channel_name)

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        if isinstance(content, dict) and content.get("type") == "ping":
            await self.send_json({"type": "pong"})

    async def queue_changed(self, event: dict[str, Any]) -> None:
        self.seen = await self._fingerprint()
        await self.send_json({"type": "changed"})

    async def _check(self) -> None:
        while True:
            await asyncio.sleep(settings.QUEUE_DESK_CHECK_SECONDS)
            now = await self._fingerprint()
            if now != self.seen:
                self.seen = now
                await self.send_json({"type": "changed"})

    @database_sync_to_async
    def _fingerprint(self) -> tuple[object, ...]:
        return desk.fingerprint(
            organisation_id=self.staff.organisation.pk,
            membership_id=self.staff.membership.pk,
            hosts=self.hosts,
        )
