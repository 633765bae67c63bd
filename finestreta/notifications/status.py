"""What staff are shown about the messages sent: an organisation's failures, and the messages
of one appointment. Read-only; the outbox and its delivery are in `services`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Q, QuerySet
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from finestreta.accounts.services import StaffContext
from finestreta.notifications.models import Message
from finestreta.notifications.receipts import FAILED_STATUSES
from finestreta.notifications.templating import KINDS

# Kinds of message in plain words (a kind without a label is shown as it is).
KIND_LABELS: dict[str, Promise] = dict(KINDS)
RECEIPT_LABELS: dict[str, Promise] = {
    "delivered": _("Delivered to the phone"),
    "failed": _("Not delivered"),
    "expired": _("Not delivered in time"),
}
# Never loaded for a status list: the text, HTML and attachment of each message.
HEAVY_FIELDS = ("body", "html", "attachment")


@dataclass(frozen=True)
class MessageStatus:
    """One message as staff see it: no text, and the recipient masked."""

    pk: int
    kind: str
    channel: str
    recipient: str
    status: str
    failed: bool
    attempts: int
    last_error: str
    receipt: str
    receipt_at: datetime | None
    created_at: datetime
    sent_at: datetime | None
    appointment_id: int | None


def mask_recipient(value: str) -> str:
    """Enough of an address or number to tell two apart, not to write to it:
    "n•••@example.org", "+34•••••••78"."""
    if "@" in value:
        local, _at, domain = value.rpartition("@")
        return f"{local[:1]}•••@{domain}"
    if len(value) <= 5:
        return "•" * len(value)
    return value[:3] + "•" * (len(value) - 5) + value[-2:]


def describe(message: Message) -> MessageStatus:
    failed = message.status == Message.Status.FAILED or message.receipt_status in FAILED_STATUSES
    return MessageStatus(
        pk=message.pk,
        kind=str(KIND_LABELS.get(message.kind, message.kind)),
        channel=message.get_channel_display(),
        recipient=mask_recipient(message.recipient),
        status=message.get_status_display(),
        failed=failed,
        attempts=message.attempts,
        last_error=message.last_error,
        receipt=str(RECEIPT_LABELS.get(message.receipt_status, message.receipt_status)),
        receipt_at=message.receipt_at,
        created_at=message.created_at,
        sent_at=message.sent_at,
        appointment_id=message.appointment_id,
    )


def list_failures(staff: StaffContext) -> QuerySet[Message]:
    """The organisation's messages that did not arrive — failed for good, or sent but reported
    undelivered by the SMS gateway — newest first. Recipients are personal data: each call is
    written to the audit log."""
    from finestreta.privacy.models import AuditEvent
    from finestreta.privacy.services import record_event

    record_event(
        action=AuditEvent.Action.PERSONAL_DATA_VIEWED,
        actor=staff.user,
        organisation=staff.organisation,
        target=Message,
        details={"list": "message failures"},
    )
    return (
        Message.objects.filter(organisation=staff.organisation)
        .filter(Q(status=Message.Status.FAILED) | Q(receipt_status__in=FAILED_STATUSES))
        .defer(*HEAVY_FIELDS)
        .order_by("-created_at", "-pk")
    )


def list_for_appointment(appointment_id: int) -> list[MessageStatus]:
    """The messages about one appointment, oldest first. The caller has checked that the staff
    member may see the appointment (and so its messages)."""
    found = (
        Message.objects.filter(appointment_id=appointment_id)
        .defer(*HEAVY_FIELDS)
        .order_by("created_at", "pk")
    )
    return [describe(message) for message in found]
