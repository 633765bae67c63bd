"""Delivery: the outbox's due messages leave in batches, each sent once (ADR 15, ADR 16).

Every task worker (`manage.py worker`) runs a dispatcher beside its task loop that claims up to
NOTIFICATIONS_BATCH_SIZE due messages with one conditional update, hands them to their gateways
(one SMTP connection and one HTTP session per organisation and channel, kept open across the
batch) and records each outcome as soon as the gateway answers. A worker killed mid-batch thus
leaves at most one message that was accepted but not recorded (resent with the same idempotency
key, so the relay or SMS gateway drops the copy); the rest of its claim was never handed over and
is sent once after the claim timeout.

There is no task per message: a message due later (a reminder, a retry, an SMS held for the
morning) just waits in the table until a dispatcher finds it due.
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets
from collections.abc import Iterable
from itertools import groupby

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q, QuerySet

from finestreta.notifications.gateways import (
    Gateway,
    Outgoing,
    PermanentFailure,
    TemporaryFailure,
    gateway_for,
)
from finestreta.notifications.models import Message
from finestreta.notifications.timing import sending_time

logger = logging.getLogger(__name__)

# Waits between attempts, doubling: a relay that is down for about four hours (255 minutes of
# waiting, nine attempts) loses nothing; then the message fails as a technical failure.
# (NOTIFICATIONS_RETRY_SCALE divides them, for the failure tests only.)
RETRY_DELAYS = [dt.timedelta(minutes=2**n) / settings.NOTIFICATIONS_RETRY_SCALE for n in range(8)]
# A claimed message whose worker died is sent again after this long (ten minutes by default).
STALE_CLAIM = dt.timedelta(seconds=settings.NOTIFICATIONS_CLAIM_TIMEOUT_SECONDS)
BATCH_SIZE = settings.NOTIFICATIONS_BATCH_SIZE


def _due(now: dt.datetime) -> QuerySet[Message]:
    return Message.objects.filter(status=Message.Status.QUEUED).filter(
        Q(send_after__isnull=True) | Q(send_after__lte=now)
    )


def _claim(candidates: QuerySet[Message], *, now: dt.datetime) -> list[Message]:
    """Move `candidates` from queued to sending under a fresh claim token, in one statement (a
    message another worker claimed first is not matched again), and return what was claimed."""
    token = secrets.token_hex(8)
    with transaction.atomic():  # on SQLite, IMMEDIATE: dispatchers take turns here
        if connection.features.has_select_for_update_skip_locked:
            # PostgreSQL: rows another dispatcher is claiming are skipped, not waited for. (The ids
            # are read first: as a subquery of the update, a LIMIT … SKIP LOCKED may be run again
            # by the planner and match more rows than the limit.)
            candidates = candidates.select_for_update(skip_locked=True)
        ids = list(candidates.values_list("pk", flat=True))
        Message.objects.filter(pk__in=ids, status=Message.Status.QUEUED).update(
            status=Message.Status.SENDING, claimed_at=now, claim=token
        )
    return list(
        Message.objects.filter(claim=token, status=Message.Status.SENDING)
        .select_related("organisation", "appointment")
        .order_by("organisation_id", "channel", "pk")
    )


def deliver_due(*, now: dt.datetime, limit: int = BATCH_SIZE) -> int:
    """Claim up to `limit` due messages (urgent ones first, then oldest first) and send them.
    Returns how many were claimed: `limit` means there may be more."""
    # A read first: an idle dispatcher polls without taking SQLite's write lock.
    due = _due(now)
    if not due.exists():
        return 0
    claimed = _claim(due.order_by("-urgent", "pk")[:limit], now=now)
    send_claimed(claimed, now=now)
    return len(claimed)


def deliver(*, message_id: int, now: dt.datetime) -> str:
    """Send one message now if it is due and nobody else is sending it; safe to run twice.
    Returns its status (still "queued" when it is not due yet: a dispatcher sends it then)."""
    claimed = _claim(_due(now).filter(pk=message_id), now=now)
    send_claimed(claimed, now=now)
    return Message.objects.values_list("status", flat=True).get(pk=message_id)


def send_claimed(messages: Iterable[Message], *, now: dt.datetime) -> None:
    """Hand claimed messages to their gateways, grouped by organisation and channel so that one
    connection serves the group. After a temporary failure (the relay is down), the rest of the
    group is not tried again in this batch: each is recorded as a failed attempt with the same
    error and retried later, as it would have been."""
    for (_organisation_id, channel), grouped in groupby(
        messages, key=lambda message: (message.organisation_id, message.channel)
    ):
        group = list(grouped)
        gateway: Gateway | None = None
        down: TemporaryFailure | None = None
        try:
            for message in group:
                if _outdated(message):
                    _record(message, status=Message.Status.SUPPRESSED)
                    continue
                if down is None and gateway is None:
                    try:
                        gateway = gateway_for(channel, message.organisation)
                    except PermanentFailure as error:
                        down = TemporaryFailure(str(error))
                if down is not None or gateway is None:
                    _record_failure(message, down or TemporaryFailure("no gateway"), now=now)
                    continue
                down = _send(gateway, message, now=now)
        finally:
            if gateway is not None:
                gateway.close()


def _outdated(message: Message) -> bool:
    """A message for an appointment as it was (a reminder) whose appointment has since been
    cancelled, moved or deleted; a survey for an appointment no longer marked attended (the
    office corrected it to "not come" before it went)."""
    if message.kind == "survey":
        return message.appointment is None or message.appointment.status != "attended"
    if message.appointment_starts_at is None:
        return False
    appointment = message.appointment
    return (
        appointment is None
        or appointment.status != "booked"
        or appointment.starts_at != message.appointment_starts_at
    )


def outgoing(message: Message) -> Outgoing:
    organisation = message.organisation
    return Outgoing(
        channel=message.channel,
        recipient=message.recipient,
        subject=message.subject,
        body=message.body,
        html=message.html,
        sender_name=organisation.name,
        reply_to=organisation.contact_email,
        # The same key for every attempt: receipts and relays find the message by it.
        idempotency_key=f"finestreta-{organisation.pk}-{message.pk}",
        attachment_name=message.attachment_name,
        attachment_type=message.attachment_type,
        attachment=bytes(message.attachment or b""),
    )


def _send(gateway: Gateway, message: Message, *, now: dt.datetime) -> TemporaryFailure | None:
    """Send one claimed message and record the outcome at once. Returns the temporary failure,
    if that is what happened."""
    try:
        provider_id = gateway.send(outgoing(message))
    except TemporaryFailure as error:
        _record_failure(message, error, now=now)
        return error
    except PermanentFailure as error:
        _record(
            message,
            status=Message.Status.FAILED,
            attempts=message.attempts + 1,
            last_error=str(error)[:500],
        )
        logger.warning("message %s failed for good: %s", message.pk, error)
        return None
    _record(
        message,
        status=Message.Status.DELIVERED,
        attempts=message.attempts + 1,
        provider_id=provider_id[:100],
        sent_at=now,
        last_error="",
    )
    return None


def _record_failure(message: Message, error: TemporaryFailure, *, now: dt.datetime) -> None:
    """A failed attempt: queued again after the next wait, or failed as a technical failure
    (keeping the last error for the staff's failures page) when the waits have run out."""
    attempts = message.attempts + 1
    if attempts > len(RETRY_DELAYS):
        _record(
            message, status=Message.Status.FAILED, attempts=attempts, last_error=str(error)[:500]
        )
        logger.warning("message %s failed for good: %s", message.pk, error)
        return
    retry_at = sending_time(
        organisation=message.organisation,
        channel=message.channel,
        urgent=message.urgent,
        send_after=now + RETRY_DELAYS[attempts - 1],
        now=now,
    )
    _record(
        message,
        status=Message.Status.QUEUED,
        attempts=attempts,
        last_error=str(error)[:500],
        send_after=retry_at,
    )


def _record(message: Message, **fields: object) -> None:
    """Write an outcome, only while this claim holds (a claim recovered after a timeout belongs
    to whoever holds it now)."""
    Message.objects.filter(pk=message.pk, claim=message.claim).update(claim="", **fields)
    for name, value in fields.items():
        setattr(message, name, value)


def requeue_stale(*, now: dt.datetime) -> int:
    """Messages claimed by a worker that died mid-batch go back in the queue (and are sent
    again with the same idempotency key, so the gateway can drop the one copy a kill can
    cause). The same conditions are in the update: a message claimed afresh in between (by a
    live worker) is left alone."""
    return Message.objects.filter(
        status=Message.Status.SENDING, claimed_at__lt=now - STALE_CLAIM
    ).update(status=Message.Status.QUEUED, claim="")
