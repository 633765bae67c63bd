"""Recovery after a dead worker, run by every task worker beside its dispatcher (ADR 15, 16).

A worker killed mid-batch leaves its claimed messages "sending": nothing would ever send them.
Every NOTIFICATIONS_SWEEP_SECONDS each worker puts messages claimed longer than the claim timeout
ago back in the queue; a dispatcher then sends them with the same idempotency key, so the relay
or SMS gateway drops the one copy that the dead worker may have handed over without recording it.
Safe to run from several workers at once and to run twice: a message is only ever sent by the
dispatcher whose conditional claim moved it from "queued" to "sending".

Nothing else can be lost: a queued message has no task of its own to lose — it stays in the table
until a dispatcher finds it due.
"""

from __future__ import annotations

import datetime as dt
import logging

from finestreta.notifications import services

logger = logging.getLogger(__name__)


def sweep(*, now: dt.datetime) -> int:
    stale_claims = services.requeue_stale(now=now)
    if stale_claims:
        logger.warning("recovered %s messages claimed by a worker that stopped", stale_claims)
    return stale_claims
