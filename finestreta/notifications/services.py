"""Public API of the notifications app: queue a message in the caller's transaction, and deliver
it from a background task — at least once, at most once per dedup key, always to a terminal state
(sent, failed or not sent)."""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import IntegrityError, transaction
from django.template import TemplateDoesNotExist, TemplateSyntaxError
from django.template.loader import render_to_string
from django.utils import timezone, translation

from finestreta.notifications import sms, templating
from finestreta.notifications.gateways import (
    Outgoing,
    PermanentFailure,
    TemporaryFailure,
    gateway_for,
)
from finestreta.notifications.models import Message, MessageTemplate, MessagingSettings
from finestreta.privacy.services import Action, record_event
from finestreta.tenants.models import Organisation

if TYPE_CHECKING:
    from finestreta.accounts.services import StaffContext

logger = logging.getLogger(__name__)

# Waits between attempts, doubling: a relay that is down for about four hours (255 minutes of
# waiting, nine attempts) loses nothing; then the message fails as a technical failure.
# (NOTIFICATIONS_RETRY_SCALE divides them, for the failure tests only.)
RETRY_DELAYS = [dt.timedelta(minutes=2**n) / settings.NOTIFICATIONS_RETRY_SCALE for n in range(8)]
# Reminders: hours before the appointment, without a settings row; and the furthest allowed.
DEFAULT_REMINDER_HOURS = "24,1"
MAX_REMINDER_HOURS = 24 * 14
# A claimed message whose worker died is sent again after this long (ten minutes by default).
STALE_CLAIM = dt.timedelta(seconds=settings.NOTIFICATIONS_CLAIM_TIMEOUT_SECONDS)


@dataclass(frozen=True)
class Attachment:
    name: str
    content_type: str
    content: bytes


def render(
    *,
    kind: str,
    channel: str,
    language: str,
    organisation: Organisation,
    context: dict,
    use_own: bool = True,
) -> tuple[str, str, str]:
    """Subject, text and HTML of a message, in the recipient's language and the organisation's
    time zone: from the organisation's own template for (kind, channel, language) when it has
    one (and `use_own`), else from the platform's `notifications/<kind>.*` templates."""
    context = {**context, "organisation": organisation}
    own = (
        MessageTemplate.objects.filter(
            organisation=organisation, kind=kind, channel=channel, language=language
        ).first()
        if use_own
        else None
    )
    custom = None
    if own is not None:
        try:
            custom = templating.render_custom(
                subject=own.subject,
                body=own.body,
                kind=kind,
                channel=channel,
                language=language,
                organisation=organisation,
                context=context,
            )
        except (TemplateSyntaxError, TemplateDoesNotExist):
            # Checked when saved; should the sandbox change, the platform's text still goes.
            logger.exception("organisation template %s does not render", own.pk)
    with translation.override(language), timezone.override(ZoneInfo(organisation.time_zone)):
        if custom is not None:
            subject, text = custom
        elif channel == Message.Channel.SMS:
            text = render_to_string(f"notifications/{kind}.sms.txt", context).strip()
            subject, text = "", " ".join(text.split())
        else:
            subject = render_to_string(f"notifications/{kind}.subject.txt", context)
            text = render_to_string(f"notifications/{kind}.txt", context).strip() + "\n"
        if channel == Message.Channel.SMS:
            return "", text, ""
        html = render_to_string("notifications/email.html", {**context, "text": text})
    return " ".join(subject.split()), text, html


def quiet_hours(organisation: Organisation) -> tuple[dt.time, dt.time]:
    """The organisation's window without SMS (local time), or the platform's default."""
    found = MessagingSettings.objects.filter(organisation=organisation).first()
    if found is None:
        return sms.DEFAULT_QUIET_FROM, sms.DEFAULT_QUIET_UNTIL
    return found.quiet_from, found.quiet_until


def reminder_offsets(text: str) -> list[int]:
    """Hours before an appointment to remind, from the settings' text ("24,1"), largest first.
    Parts that are not a whole number of hours between 1 and MAX_REMINDER_HOURS are ignored."""
    hours = set()
    for part in text.split(","):
        part = part.strip()
        if part.isdigit() and 0 < int(part) <= MAX_REMINDER_HOURS:
            hours.add(int(part))
    return sorted(hours, reverse=True)


def reminder_hours(organisation: Organisation) -> list[int]:
    """The organisation's reminder offsets in hours (24 and 1 without a settings row)."""
    found = MessagingSettings.objects.filter(organisation=organisation).first()
    return reminder_offsets(found.reminder_hours if found else DEFAULT_REMINDER_HOURS)


def sending_time(
    *,
    organisation: Organisation,
    channel: str,
    urgent: bool,
    send_after: dt.datetime | None,
    now: dt.datetime,
) -> dt.datetime | None:
    """When a message may leave: `send_after` (None: at once), moved to the end of the
    organisation's quiet hours for an SMS that is not urgent. E-mail is never held."""
    if channel != Message.Channel.SMS or urgent:
        return send_after
    quiet_from, quiet_until = quiet_hours(organisation)
    moved = sms.end_of_quiet_hours(
        send_after or now,
        time_zone=organisation.time_zone,
        quiet_from=quiet_from,
        quiet_until=quiet_until,
    )
    return moved or send_after


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
    send_after: dt.datetime | None = None,
    urgent: bool = False,
    appointment_starts_at: dt.datetime | None = None,
    now: dt.datetime | None = None,
) -> Message | None:
    """Write the message to the outbox; it is sent after the caller's transaction commits, not
    before `send_after` (and, for an SMS that is not `urgent`, not in the organisation's quiet
    hours: it waits for the morning). None when a message with this dedup key exists already
    (the event was handled before).

    `appointment_starts_at` marks a message valid only for the appointment as it is now (a
    reminder): it is suppressed at send time if the appointment was cancelled or moved since,
    and written as not sent at once if quiet hours would hold it until the appointment starts."""
    now = now or timezone.now()
    subject, text, html = render(
        kind=kind, channel=channel, language=language, organisation=organisation, context=context
    )
    send_after = sending_time(
        organisation=organisation, channel=channel, urgent=urgent, send_after=send_after, now=now
    )
    too_late = bool(appointment_starts_at and send_after and send_after >= appointment_starts_at)
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
                send_after=send_after,
                urgent=urgent,
                appointment_starts_at=appointment_starts_at,
                status=Message.Status.SUPPRESSED if too_late else Message.Status.QUEUED,
            )
    except IntegrityError:
        return None
    if not too_late:
        transaction.on_commit(partial(_enqueue, message.pk, after=send_after))
    return message


def _enqueue(message_id: int, *, after: dt.datetime | None = None) -> None:
    from finestreta.notifications.tasks import deliver_message

    task = deliver_message.using(run_after=after) if after else deliver_message
    task.enqueue(message_id)


def _outdated(message: Message) -> bool:
    """A message for an appointment as it was (a reminder) whose appointment has since been
    cancelled, moved or deleted."""
    if message.appointment_starts_at is None:
        return False
    appointment = message.appointment
    return (
        appointment is None
        or appointment.status != "booked"
        or appointment.starts_at != message.appointment_starts_at
    )


def deliver(*, message_id: int, now: dt.datetime) -> str:
    """Send one message if nobody else is sending it; safe to run twice. Returns its status.

    A task that runs before the message's `send_after` (an early retry, a recovered task)
    enqueues it again for then and sends nothing; a reminder whose appointment was cancelled or
    moved is suppressed instead of sent."""
    early = (
        Message.objects.filter(pk=message_id, status=Message.Status.QUEUED, send_after__gt=now)
        .values_list("send_after", flat=True)
        .first()
    )
    if early is not None:
        transaction.on_commit(partial(_enqueue, message_id, after=early))
        return Message.Status.QUEUED
    claimed = Message.objects.filter(pk=message_id, status=Message.Status.QUEUED).update(
        status=Message.Status.SENDING, claimed_at=now
    )
    message = Message.objects.select_related("organisation", "appointment").get(pk=message_id)
    if not claimed:
        return message.status
    if _outdated(message):
        message.status = Message.Status.SUPPRESSED
        message.save(update_fields=["status"])
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
            # A technical failure: the last error stays for the staff's failures page.
            message.status = Message.Status.FAILED
        else:
            message.status = Message.Status.QUEUED
            retry_at = sending_time(
                organisation=organisation,
                channel=message.channel,
                urgent=message.urgent,
                send_after=now + RETRY_DELAYS[message.attempts - 1],
                now=now,
            )
            transaction.on_commit(partial(_enqueue, message.pk, after=retry_at))
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
    cutoff = now - STALE_CLAIM
    requeued = []
    for pk in Message.objects.filter(
        status=Message.Status.SENDING, claimed_at__lt=cutoff
    ).values_list("pk", flat=True):
        # The same conditions again in the update: a message claimed afresh in between (by a
        # live worker) is left alone.
        if Message.objects.filter(
            pk=pk, status=Message.Status.SENDING, claimed_at__lt=cutoff
        ).update(status=Message.Status.QUEUED):
            requeued.append(pk)
            transaction.on_commit(partial(_enqueue, pk))
    return len(requeued)


# --- Organisations' own templates ----------------------------------------------------------


@dataclass(frozen=True)
class Preview:
    subject: str
    text: str
    encoding: str = ""  # SMS only: GSM-7 or UCS-2
    segments: int = 0


def get_own_template(
    *, organisation: Organisation, kind: str, channel: str, language: str
) -> MessageTemplate | None:
    return MessageTemplate.objects.filter(
        organisation=organisation, kind=kind, channel=channel, language=language
    ).first()


def preview_template(
    *,
    organisation: Organisation,
    kind: str,
    channel: str,
    language: str,
    subject: str,
    body: str,
) -> Preview | None:
    """The message a template gives for the sample appointment (with, for SMS, its encoding
    and segment count); None when the text is not a valid template."""
    context = templating.sample_context(organisation=organisation, kind=kind, language=language)
    try:
        subject, text = templating.render_custom(
            subject=subject,
            body=body,
            kind=kind,
            channel=channel,
            language=language,
            organisation=organisation,
            context=context,
        )
    except (TemplateSyntaxError, TemplateDoesNotExist):
        return None
    if channel == Message.Channel.SMS:
        encoding, count = sms.segments(text)
        return Preview(subject="", text=text, encoding=encoding, segments=count)
    return Preview(subject=subject, text=text)


def save_template(
    *,
    staff: StaffContext,
    kind: str,
    channel: str,
    language: str,
    subject: str,
    body: str,
) -> MessageTemplate:
    """Create or replace the organisation's own template (already checked by the form), with
    an audit event. Messages queued from now on use it."""
    with transaction.atomic():
        template, _created = MessageTemplate.objects.update_or_create(
            organisation=staff.organisation,
            kind=kind,
            channel=channel,
            language=language,
            defaults={"subject": subject if channel == Message.Channel.EMAIL else "", "body": body},
        )
        record_event(
            action=Action.MESSAGE_TEMPLATE_SAVED,
            actor=staff.user,
            organisation=staff.organisation,
            target=template,
            details={"kind": kind, "channel": channel, "language": language},
        )
    return template


def reset_template(*, staff: StaffContext, kind: str, channel: str, language: str) -> bool:
    """Delete the organisation's own template: the platform's text applies again. False when
    there was none (nothing is recorded then)."""
    with transaction.atomic():
        deleted, _rows = MessageTemplate.objects.filter(
            organisation=staff.organisation, kind=kind, channel=channel, language=language
        ).delete()
        if deleted:
            record_event(
                action=Action.MESSAGE_TEMPLATE_RESET,
                actor=staff.user,
                organisation=staff.organisation,
                target=MessageTemplate,
                details={"kind": kind, "channel": channel, "language": language},
            )
    return bool(deleted)


def list_own_templates(*, organisation: Organisation) -> set[tuple[str, str, str]]:
    """(kind, channel, language) of the organisation's own templates."""
    return set(
        MessageTemplate.objects.filter(organisation=organisation).values_list(
            "kind", "channel", "language"
        )
    )


def list_outbox(*, limit: int = 100) -> list[Message]:
    """The latest messages, for the development outbox page."""
    return list(Message.objects.select_related("organisation")[:limit])
