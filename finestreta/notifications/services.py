"""Public API of the notifications app: queue a message in the caller's transaction, and deliver
it from a background task — at least once, at most once per dedup key, always to a terminal state
(sent, failed or not sent)."""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from functools import partial
from zoneinfo import ZoneInfo

from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.utils import timezone, translation

from finestreta.notifications.gateways import (
    Outgoing,
    PermanentFailure,
    TemporaryFailure,
    gateway_for,
)
from finestreta.notifications.models import Message
from finestreta.tenants.models import Organisation

logger = logging.getLogger(__name__)

# Waits between attempts: a relay that is down for a few hours loses nothing.
RETRY_DELAYS = [dt.timedelta(minutes=m) for m in (1, 5, 15, 60, 180, 360)]
# A claimed message whose worker died is sent again after this long.
STALE_CLAIM = dt.timedelta(minutes=10)


@dataclass(frozen=True)
class Attachment:
    name: str
    content_type: str
    content: bytes


def render(
    *, kind: str, channel: str, language: str, organisation: Organisation, context: dict
) -> tuple[str, str, str]:
    """Subject, text and HTML of a message from `notifications/<kind>.*` templates, in the
    recipient's language and the organisation's time zone."""
    context = {**context, "organisation": organisation}
    with translation.override(language), timezone.override(ZoneInfo(organisation.time_zone)):
        if channel == Message.Channel.SMS:
            text = render_to_string(f"notifications/{kind}.sms.txt", context).strip()
            return "", " ".join(text.split()), ""
        subject = render_to_string(f"notifications/{kind}.subject.txt", context)
        text = render_to_string(f"notifications/{kind}.txt", context).strip() + "\n"
        html = render_to_string("notifications/email.html", {**context, "text": text})
    return " ".join(subject.split()), text, html


def queue_message(
    *,
    organisation: Organisation,
    kind: str,
    channel: str,
    recipient: str,
    language: str,
    context: dict,
    dedup_key: str,
    appointment_id: int | None = None,
    attachment: Attachment | None = None,
) -> Message | None:
    """Write the message to the outbox; it is sent after the caller's transaction commits.
    None when a message with this dedup key exists already (the event was handled before)."""
    subject, text, html = render(
        kind=kind, channel=channel, language=language, organisation=organisation, context=context
    )
    try:
        with transaction.atomic():
            message = Message.objects.create(
                organisation=organisation,
                kind=kind,
                channel=channel,
                recipient=recipient,
                language=language,
                subject=subject,
                body=text,
                html=html,
                dedup_key=dedup_key[:200],
                appointment_id=appointment_id,
                attachment_name=attachment.name if attachment else "",
                attachment_type=attachment.content_type if attachment else "",
                attachment=attachment.content if attachment else b"",
            )
    except IntegrityError:
        return None
    transaction.on_commit(lambda: _enqueue(message.pk))
    return message


def _enqueue(message_id: int, *, after: dt.datetime | None = None) -> None:
    from finestreta.notifications.tasks import deliver_message

    task = deliver_message.using(run_after=after) if after else deliver_message
    task.enqueue(message_id)


def deliver(*, message_id: int, now: dt.datetime) -> str:
    """Send one message if nobody else is sending it; safe to run twice. Returns its status."""
    claimed = Message.objects.filter(pk=message_id, status=Message.Status.QUEUED).update(
        status=Message.Status.SENDING, claimed_at=now
    )
    message = Message.objects.select_related("organisation").get(pk=message_id)
    if not claimed:
        return message.status
    organisation = message.organisation
    outgoing = Outgoing(
        channel=message.channel,
        recipient=message.recipient,
        subject=message.subject,
        body=message.body,
        html=message.html,
        sender_name=organisation.name,
        reply_to=organisation.contact_email,
        idempotency_key=f"finestreta-{organisation.pk}-{message.pk}",
        attachment_name=message.attachment_name,
        attachment_type=message.attachment_type,
        attachment=bytes(message.attachment or b""),
    )
    message.attempts += 1
    try:
        message.provider_id = gateway_for(message.channel, organisation).send(outgoing)[:100]
    except TemporaryFailure as error:
        message.last_error = str(error)[:500]
        if message.attempts > len(RETRY_DELAYS):
            message.status = Message.Status.FAILED
        else:
            message.status = Message.Status.QUEUED
            retry_at = now + RETRY_DELAYS[message.attempts - 1]
            transaction.on_commit(lambda: _enqueue(message.pk, after=retry_at))
    except PermanentFailure as error:
        message.last_error = str(error)[:500]
        message.status = Message.Status.FAILED
    else:
        message.status = Message.Status.DELIVERED
        message.sent_at = now
        message.last_error = ""
    message.save(update_fields=["status", "attempts", "last_error", "provider_id", "sent_at"])
    if message.status == Message.Status.FAILED:
        logger.warning("message %s failed for good: %s", message.pk, message.last_error)
    return message.status


def requeue_stale(*, now: dt.datetime) -> int:
    """Messages claimed by a worker that died mid-send go back in the queue (and are sent
    again with the same idempotency key, so the gateway can drop the copy)."""
    stale = list(
        Message.objects.filter(
            status=Message.Status.SENDING, claimed_at__lt=now - STALE_CLAIM
        ).values_list("pk", flat=True)
    )
    Message.objects.filter(pk__in=stale, status=Message.Status.SENDING).update(
        status=Message.Status.QUEUED
    )
    for pk in stale:
        transaction.on_commit(partial(_enqueue, pk))
    return len(stale)


def list_outbox(*, limit: int = 100) -> list[Message]:
    """The latest messages, for the development outbox page."""
    return list(Message.objects.select_related("organisation")[:limit])
