"""Delivery receipts from an organisation's SMS gateway: check that the gateway signed them,
read them, and record what they say on the message (docs/sms-gateway.md).

The rules are pure functions but `record_receipt`, which writes; the view only maps their
outcomes to HTTP answers.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import re
from dataclasses import dataclass

from finestreta.notifications.models import Message, MessagingSettings
from finestreta.tenants.models import Organisation

# A receipt signed longer ago (or further ahead, for a fast clock) than this is refused: a
# captured receipt cannot be replayed later.
MAX_SKEW = dt.timedelta(minutes=5)
STATUSES = frozenset({"delivered", "failed", "expired"})
# What a receipt says went wrong: one of these is a failure to show staff.
FAILED_STATUSES = frozenset({"failed", "expired"})
SIGNATURE_PREFIX = "sha256="
# The idempotency key `services.deliver` gives each message.
REFERENCE = re.compile(r"finestreta-(?P<org>[0-9]{1,18})-(?P<message>[0-9]{1,18})")


class InvalidReceipt(Exception):
    """The body is not a receipt (400)."""


@dataclass(frozen=True)
class Receipt:
    reference: str
    status: str
    reason: str


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """The hex HMAC-SHA256 of "<timestamp>.<raw body>" with the organisation's secret."""
    signed = timestamp.encode() + b"." + body
    return hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def is_signed(*, secret: str, timestamp: str, header: str, body: bytes, now: dt.datetime) -> bool:
    """True when the receipt carries a fresh timestamp and the signature of this secret."""
    if not secret or not header.startswith(SIGNATURE_PREFIX):
        return False
    if not (timestamp.isascii() and timestamp.isdigit()) or len(timestamp) > 12:
        return False
    if abs(now.timestamp() - int(timestamp)) > MAX_SKEW.total_seconds():
        return False
    expected = signature(secret, timestamp, body)
    return hmac.compare_digest(expected.encode(), header[len(SIGNATURE_PREFIX) :].encode())


def parse(body: bytes) -> Receipt:
    """The receipt in a JSON body, or InvalidReceipt."""
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError) as error:
        raise InvalidReceipt("not JSON") from error
    if not isinstance(data, dict):
        raise InvalidReceipt("not a JSON object")
    reference, status, reason = data.get("reference"), data.get("status"), data.get("reason", "")
    if not isinstance(reference, str) or not reference or len(reference) > 100:
        raise InvalidReceipt("reference: a string is needed")
    if status not in STATUSES:
        raise InvalidReceipt(f"status: one of {', '.join(sorted(STATUSES))} is needed")
    if reason is None:
        reason = ""
    if not isinstance(reason, str):
        raise InvalidReceipt("reason: a string is needed")
    return Receipt(reference=reference, status=status, reason=reason)


def receipt_secret(organisation: Organisation) -> str:
    """The secret the organisation's gateway signs receipts with; empty when it has none."""
    found = MessagingSettings.objects.filter(organisation=organisation).first()
    return found.sms_receipt_secret if found is not None else ""


def record_receipt(*, organisation: Organisation, receipt: Receipt, now: dt.datetime) -> bool:
    """Write what the receipt says on the organisation's SMS it refers to. False when the
    organisation sent no such message (another organisation's reference included).

    A single UPDATE: it cannot undo what a worker records about the same message at the same
    time (the worker writes other fields). A failure's reason replaces the last error, which
    staff read on the failures page."""
    match = REFERENCE.fullmatch(receipt.reference)
    if match is None or int(match["org"]) != organisation.pk:
        return False
    fields: dict[str, object] = {"receipt_status": receipt.status, "receipt_at": now}
    if receipt.status in FAILED_STATUSES:
        reason = " ".join(receipt.reason.split()) or receipt.status
        fields["last_error"] = f"Receipt: {reason}"[:500]
    updated = Message.objects.filter(
        organisation=organisation, pk=int(match["message"]), channel=Message.Channel.SMS
    ).update(**fields)
    return bool(updated)


def organisation_for_receipts(slug: str) -> Organisation | None:
    """The organisation a receipt is posted for, deactivated or not: its messages were sent
    before, and their receipts still count."""
    return Organisation.objects.filter(slug=slug).first()
