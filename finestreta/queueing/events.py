"""Live updates of the desk and the supervisor's view: after a change to an organisation's queue
or desks commits, its staff pages are told "something changed" over the channel layer and fetch
their fresh fragment (the server renders it: the rules stay in one place). The desk's socket
also checks a fingerprint of what it shows every few seconds, so a change made in a process whose
channel layer does not reach this one (the embedded default's worker) still shows within
seconds."""

from __future__ import annotations

import logging

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

logger = logging.getLogger(__name__)


def group(organisation_id: int) -> str:
    return f"queue.{organisation_id}"


def changed(organisation_id: int) -> None:
    """Tell the organisation's desks, once the current transaction commits."""
    transaction.on_commit(lambda: _send(organisation_id))


def _send(organisation_id: int) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        async_to_sync(layer.group_send)(group(organisation_id), {"type": "queue.changed"})
    except Exception:  # a live update lost is caught up by the desk's own check
        logger.warning("queue update for organisation %s not sent", organisation_id, exc_info=True)
