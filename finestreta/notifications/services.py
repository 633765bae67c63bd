"""Public API of the notifications app: queue a message in the caller's transaction; the
workers' dispatchers deliver it (`delivery`) — at least once, at most once per dedup key, always to
a terminal state (sent, failed or not sent)."""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from django.db import IntegrityError, transaction
from django.template import TemplateDoesNotExist, TemplateSyntaxError
from django.template.loader import render_to_string
from django.utils import timezone, translation

from finestreta.notifications import sms, templating
from finestreta.notifications.delivery import (  # noqa: F401 - the app's public face
    BATCH_SIZE,
    RETRY_DELAYS,
    STALE_CLAIM,
    deliver,
    deliver_due,
    requeue_stale,
)
from finestreta.notifications.models import Message, MessageTemplate
from finestreta.notifications.timing import (  # noqa: F401 - the app's public face
    DEFAULT_REMINDER_HOURS,
    MAX_REMINDER_HOURS,
    quiet_hours,
    reminder_hours,
    reminder_offsets,
    sending_time,
)
from finestreta.privacy.services import Action, record_event
from finestreta.tenants.models import Organisation

if TYPE_CHECKING:
    from finestreta.accounts.services import StaffContext

logger = logging.getLogger(__name__)


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
    """Write the message to the outbox; a dispatcher sends it once the caller's transaction has
    committed, not before `send_after` (and, for an SMS that is not `urgent`, not in the
    organisation's quiet hours: it waits for the morning). None when a message with this dedup
    key exists already (the event was handled before).

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
    return message


def suppress_queued(*, organisation_id: int, dedup_key: str) -> bool:
    """Withdraw a message not sent yet (its reason went away: the waiting citizen was let in).
    False when it had already left, or never existed."""
    return bool(
        Message.objects.filter(
            organisation_id=organisation_id,
            dedup_key=dedup_key[:200],
            status=Message.Status.QUEUED,
        ).update(status=Message.Status.SUPPRESSED)
    )


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
