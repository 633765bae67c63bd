"""The WebSocket side of observability (ADR 38): around every connection, its ids for the logs
(`organisation`, and `call_id` on a video room's socket) and the gauge of connections open."""

from __future__ import annotations

import logging
import time
from typing import Any

from finestreta.lib import logs, metrics

logger = logging.getLogger("finestreta.websockets")

Scope = dict[str, Any]


class ObservedWebSockets:
    """ASGI middleware for the "websocket" protocol."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        path = scope.get("path", "")
        kind = metrics.websocket_kind(path)
        parts = [part for part in path.split("/") if part]
        ids = {"request_id": logs.new_id()}
        if len(parts) >= 2:
            ids["organisation"] = parts[1]
        if kind == "video" and len(parts) >= 4:
            ids["call_id"] = parts[3]
        tokens = logs.bind(**ids)
        accepted_at: float | None = None

        async def observed_send(message: dict[str, Any]) -> None:
            nonlocal accepted_at
            if message.get("type") == "websocket.accept" and accepted_at is None:
                accepted_at = time.monotonic()
                metrics.WEBSOCKETS.labels(kind).inc()
                metrics.WEBSOCKETS_OPENED.labels(kind).inc()
                logger.info("websocket %s opened", kind, extra={"kind": kind})
            await send(message)

        try:
            await self.app(scope, receive, observed_send)
        finally:
            if accepted_at is not None:
                metrics.WEBSOCKETS.labels(kind).dec()
                seconds = round(time.monotonic() - accepted_at, 1)
                logger.info(
                    "websocket %s closed after %s s",
                    kind,
                    seconds,
                    extra={"kind": kind, "duration_s": seconds},
                )
            logs.unbind(tokens)
