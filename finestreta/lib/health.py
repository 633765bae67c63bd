"""Liveness and readiness checks (used by /healthz, /readyz and the operations docs)."""

from __future__ import annotations

import uuid
from datetime import timedelta

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import connection
from django.utils import timezone

from finestreta.lib.channel_layer import LocalFirstPubSubChannelLayer
from finestreta.lib.models import WorkerHeartbeat


def check_database() -> str | None:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:  # noqa: BLE001 - any failure means "not ready"
        return f"database unreachable: {exc.__class__.__name__}"
    return None


async def _round_trip() -> bool:
    layer = get_channel_layer()
    if layer is None:
        return False
    if isinstance(layer, LocalFirstPubSubChannelLayer):
        # Its messages to this process never reach Redis, and a channel made here would stay
        # subscribed: ask its Redis directly.
        return await layer.ping()
    channel = await layer.new_channel("readyz.")
    token = uuid.uuid4().hex
    await layer.send(channel, {"type": "readyz.ping", "token": token})
    message = await layer.receive(channel)
    return bool(message.get("token") == token)


def check_channel_layer() -> str | None:
    try:
        ok = async_to_sync(_round_trip)()
    except Exception as exc:  # noqa: BLE001
        return f"channel layer unreachable: {exc.__class__.__name__}"
    return None if ok else "channel layer did not echo"


def check_worker() -> str | None:
    cutoff = timezone.now() - timedelta(seconds=settings.WORKER_STALE_SECONDS)
    try:
        alive = WorkerHeartbeat.objects.filter(last_seen__gte=cutoff).exists()
    except Exception as exc:  # noqa: BLE001
        return f"worker state unreadable: {exc.__class__.__name__}"
    return None if alive else "no task worker has reported in the last minute"


def readiness() -> dict[str, str]:
    """Return each component's state: "ok" or the reason it is not ready."""
    checks = {
        "database": check_database,
        "channel_layer": check_channel_layer,
        "worker": check_worker,
    }
    return {name: (check() or "ok") for name, check in checks.items()}
