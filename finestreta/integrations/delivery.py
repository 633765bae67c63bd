"""Delivery of webhooks by the task workers (ADR 32), as the notifications outbox is delivered:
each worker's dispatcher claims due deliveries with one conditional update, POSTs each one,
records the attempt and the outcome at once. At least once: a worker killed mid-delivery leaves
its claim "sending", and any worker's sweep puts it back in the queue after the claim timeout;
the receiver sees the same event id again and drops the copy.

Retries: after a failed attempt the delivery waits 1, 2, 4 … minutes (doubling, at most six
hours, each ±20 % so that many deliveries do not come back at one instant), about a day in
all, then fails. 2xx is delivered; 410 Gone stops at once; another 4xx (but 408, 425, 429) is
retried MAX_CLIENT_ERROR_ATTEMPTS times in all; 3xx (redirects are not followed), 5xx,
timeouts and refused connections are retried to the end of the schedule.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import logging
import random
import secrets
import time
from collections.abc import Iterable
from typing import Any

import requests
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import QuerySet

from finestreta.integrations import safety
from finestreta.integrations.models import Attempt, Delivery

logger = logging.getLogger(__name__)

RETRIES = 12
MAX_WAIT = dt.timedelta(hours=6)
JITTER = 0.2
MAX_CLIENT_ERROR_ATTEMPTS = 3
RETRIED_CLIENT_ERRORS = frozenset({408, 425, 429})
EXCERPT_BYTES = 500
USER_AGENT = "Finestreta-Webhooks/1"


def retry_waits() -> list[dt.timedelta]:
    """The wait after each failed attempt, before jitter: 1, 2, 4 … 256 minutes, then six
    hours three times (26.5 hours in all), divided by WEBHOOKS_RETRY_SCALE (tests only)."""
    scale = settings.WEBHOOKS_RETRY_SCALE
    return [min(dt.timedelta(minutes=2**n), MAX_WAIT) / scale for n in range(RETRIES)]


def next_wait(attempts: int, *, rng: random.Random | None = None) -> dt.timedelta:
    """The wait after the `attempts`-th failed attempt, with its jitter."""
    factor = (rng or random).uniform(1 - JITTER, 1 + JITTER)  # noqa: S311 - not a secret
    return retry_waits()[attempts - 1] * factor


def body_of(payload: dict[str, Any]) -> bytes:
    """The bytes sent: the same for every attempt and replay of an event."""
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode()


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """`v1=` and the hex HMAC-SHA256 of "<timestamp>.<body>" with the subscription's secret."""
    message = str(timestamp).encode() + b"." + body
    return "v1=" + hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def _stale_claim() -> dt.timedelta:
    return dt.timedelta(seconds=settings.WEBHOOKS_CLAIM_TIMEOUT_SECONDS)


def _due(now: dt.datetime) -> QuerySet[Delivery]:
    return Delivery.objects.filter(status=Delivery.Status.QUEUED, due_at__lte=now)


def _claim(candidates: QuerySet[Delivery], *, now: dt.datetime) -> list[Delivery]:
    """Move `candidates` from queued to sending under a fresh claim token in one conditional
    update (what another worker claimed first is not matched again), and return them."""
    token = secrets.token_hex(8)
    with transaction.atomic():
        if connection.features.has_select_for_update_skip_locked:
            candidates = candidates.select_for_update(skip_locked=True)
        ids = list(candidates.values_list("pk", flat=True))
        Delivery.objects.filter(pk__in=ids, status=Delivery.Status.QUEUED).update(
            status=Delivery.Status.SENDING, claimed_at=now, claim=token
        )
    return list(
        Delivery.objects.filter(claim=token, status=Delivery.Status.SENDING)
        .select_related("event", "subscription")
        .order_by("due_at", "pk")
    )


def deliver_due(*, now: dt.datetime, limit: int | None = None) -> int:
    """Claim up to `limit` due deliveries (oldest due first) and send them. Returns how many
    were claimed: `limit` means there may be more."""
    due = _due(now)
    if not due.exists():  # an idle dispatcher polls without taking SQLite's write lock
        return 0
    claimed = _claim(due.order_by("due_at", "pk")[: limit or settings.WEBHOOKS_BATCH_SIZE], now=now)
    send_claimed(claimed, now=now)
    return len(claimed)


def deliver(*, delivery_id: int, now: dt.datetime) -> str:
    """Send one delivery now if it is due and nobody else is sending it; safe to run twice.
    Returns its status."""
    send_claimed(_claim(_due(now).filter(pk=delivery_id), now=now), now=now)
    return Delivery.objects.values_list("status", flat=True).get(pk=delivery_id)


def send_claimed(deliveries: Iterable[Delivery], *, now: dt.datetime) -> None:
    started = time.monotonic()
    session = safety.guarded_session()
    try:
        for delivery in deliveries:
            # The batch's clock moves on as the batch does (`now` stays the tests' clock).
            moment = now + dt.timedelta(seconds=time.monotonic() - started)
            # Still ours? A batch slower than the claim timeout may have been recovered by a
            # sweep meanwhile: then another worker sends it. Else the claim is fresh again.
            if not Delivery.objects.filter(
                pk=delivery.pk, claim=delivery.claim, status=Delivery.Status.SENDING
            ).update(claimed_at=moment):
                continue
            _send(session, delivery, now=moment)
    finally:
        session.close()


def _send(session: requests.Session, delivery: Delivery, *, now: dt.datetime) -> None:
    subscription, event = delivery.subscription, delivery.event
    if not subscription.is_active:
        _record(delivery, status=Delivery.Status.FAILED, last_error="Subscription switched off.")
        return
    try:
        safety.check_url(subscription.url)  # again: the settings may have changed since
    except ValidationError as error:
        _attempt(delivery, now=now, duration=0.0, error=" ".join(error.messages), final=True)
        return
    body = body_of(event.payload)
    timestamp = int(now.timestamp())
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "Finestreta-Event-Id": str(event.uid),
        "Finestreta-Event-Type": event.type,
        "Finestreta-Timestamp": str(timestamp),
        "Finestreta-Signature": signature(subscription.secret, timestamp, body),
    }
    timeout = settings.WEBHOOKS_TIMEOUT_SECONDS
    clock = time.monotonic()
    try:
        # No redirects: a POST must not turn into a GET, nor go somewhere else unchecked.
        response = session.post(
            subscription.url,
            data=body,
            headers=headers,
            timeout=(timeout, timeout),
            allow_redirects=False,
            stream=True,
        )
        try:
            excerpt = response.raw.read(EXCERPT_BYTES, decode_content=True) or b""
        except (requests.RequestException, OSError, ValueError):
            excerpt = b""
        finally:
            response.close()
    except requests.RequestException as error:
        duration = time.monotonic() - clock
        if safety.refused(error):
            message = "Refused: the address is not on the internet."
            _attempt(delivery, now=now, duration=duration, error=message, final=True)
        else:
            message = f"No answer: {type(error).__name__}"
            _attempt(delivery, now=now, duration=duration, error=message)
        return
    _attempt(
        delivery,
        now=now,
        duration=time.monotonic() - clock,
        status_code=response.status_code,
        excerpt=excerpt.decode("utf-8", errors="replace"),
    )


def _attempt(
    delivery: Delivery,
    *,
    now: dt.datetime,
    duration: float,
    status_code: int | None = None,
    error: str = "",
    excerpt: str = "",
    final: bool = False,
) -> None:
    """Record one attempt and what follows from it: delivered, queued again after its wait,
    or failed for good (`final`, a 410, a 4xx too often, or the end of the schedule)."""
    Attempt.objects.create(
        delivery=delivery,
        started_at=now,
        duration_ms=round(duration * 1000),
        status_code=status_code,
        error=error[:300],
        response_excerpt=excerpt[:EXCERPT_BYTES],
    )
    attempts = delivery.attempts + 1
    outcome: dict[str, Any] = {"attempts": attempts, "last_status_code": status_code}
    if status_code is not None and 200 <= status_code < 300:
        _record(
            delivery, status=Delivery.Status.DELIVERED, delivered_at=now, last_error="", **outcome
        )
        return
    if status_code is not None:
        error = f"HTTP {status_code}"
    if status_code == 410:
        final, error = True, "HTTP 410 Gone: the receiver wants no more of it."
    elif status_code is not None and 400 <= status_code < 500:
        final = final or (
            status_code not in RETRIED_CLIENT_ERRORS and attempts >= MAX_CLIENT_ERROR_ATTEMPTS
        )
    if final or attempts > RETRIES:
        _record(delivery, status=Delivery.Status.FAILED, last_error=error[:300], **outcome)
        logger.warning("webhook delivery %s failed for good: %s", delivery.pk, error)
        return
    _record(
        delivery,
        status=Delivery.Status.QUEUED,
        due_at=now + next_wait(attempts),
        last_error=error[:300],
        **outcome,
    )


def _record(delivery: Delivery, **fields: Any) -> None:
    """Write an outcome, only while this claim holds (a claim recovered after a timeout belongs
    to whoever holds it now)."""
    Delivery.objects.filter(pk=delivery.pk, claim=delivery.claim).update(claim="", **fields)
    for name, value in fields.items():
        setattr(delivery, name, value)


def requeue_stale(*, now: dt.datetime) -> int:
    """Deliveries claimed by a worker that died go back in the queue, due at once (the receiver
    may have had the event already: it drops the copy by its id)."""
    return Delivery.objects.filter(
        status=Delivery.Status.SENDING, claimed_at__lt=now - _stale_claim()
    ).update(status=Delivery.Status.QUEUED, claim="")
