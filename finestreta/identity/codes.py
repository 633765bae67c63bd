"""One-time codes sent to the citizen's contact during an attention, for one purpose each
(identification, express consent, signature): at most a few per quarter of an hour, five wrong
tries lock the purpose for fifteen minutes, and only a keyed hash of a code is kept."""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass

from django.db import transaction
from django.utils.crypto import constant_time_compare, salted_hmac
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from finestreta.accounts.models import User
from finestreta.appointments.models import Appointment
from finestreta.identity.models import CodePurpose, OneTimeCode
from finestreta.notifications.models import Message
from finestreta.notifications.services import queue_message
from finestreta.privacy.models import AuditEvent
from finestreta.privacy.services import record_event

CODE_VALID = dt.timedelta(minutes=15)
MAX_FAILURES = 5
LOCK_FOR = dt.timedelta(minutes=15)
MAX_CODES = 3
CODES_WINDOW = dt.timedelta(minutes=15)
# The message that carries a code says what it is for (never "sign" when it identifies).
MESSAGE_KIND = {
    CodePurpose.IDENTIFY: "identity_code",
    CodePurpose.SIGN: "signature_code",
    CodePurpose.CONSENT: "consent_code",
}


class CodeRefused(Exception):
    """Nothing was sent or verified; `message` says why, in the reader's language."""

    code = "refused"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class WrongCode(CodeRefused):
    code = "wrong"


class CodeExpired(CodeRefused):
    code = "expired"


class CodeLocked(CodeRefused):
    code = "locked"


@dataclass(frozen=True)
class Destination:
    channel: str  # Message.Channel
    address: str

    @property
    def masked(self) -> str:
        return mask(self.channel, self.address)


def mask(channel: str, address: str) -> str:
    """Where a code goes, partly hidden: n•••@example.org, •••• 678."""
    if channel == Message.Channel.EMAIL:
        name, _at, domain = address.partition("@")
        return f"{name[:1]}•••@{domain}"
    return f"•••• {address[-3:]}"


def destinations(appointment: Appointment) -> list[Destination]:
    """Where a code can go: the mobile and e-mail given at booking (the representative's when
    the person attended gave neither)."""
    own = [
        Destination(Message.Channel.SMS, appointment.phone),
        Destination(Message.Channel.EMAIL, appointment.email),
    ]
    found = [d for d in own if d.address]
    if found:
        return found
    return [
        d
        for d in (
            Destination(Message.Channel.SMS, appointment.representative_phone),
            Destination(Message.Channel.EMAIL, appointment.representative_email),
        )
        if d.address
    ]


def _hash(appointment: Appointment, purpose: str, code: str) -> str:
    return salted_hmac("finestreta.identity.code", f"{appointment.pk}:{purpose}:{code}").hexdigest()


def locked_until(appointment: Appointment, purpose: str, now: dt.datetime) -> dt.datetime | None:
    """The end of a lockout in force for this purpose, if any: fifteen minutes after the
    fifth wrong try of a code."""
    last = (
        OneTimeCode.objects.filter(
            appointment=appointment, purpose=purpose, failures__gte=MAX_FAILURES
        )
        .order_by("-last_failure_at")
        .values_list("last_failure_at", flat=True)
        .first()
    )
    if last is None:
        return None
    until = last + LOCK_FOR
    return until if until > now else None


def _lock_message(until: dt.datetime, now: dt.datetime) -> str:
    minutes = max(1, round((until - now).total_seconds() / 60))
    return ngettext(
        "Too many wrong codes. For security, try again in %(minutes)d minute.",
        "Too many wrong codes. For security, try again in %(minutes)d minutes.",
        minutes,
    ) % {"minutes": minutes}


def send_code(
    *,
    appointment: Appointment,
    purpose: CodePurpose,
    destination: Destination,
    now: dt.datetime,
    sent_by: User | None = None,
) -> OneTimeCode:
    """Send a new code for `purpose` to one of the appointment's `destinations`."""
    if destination not in destinations(appointment):
        raise CodeRefused(_("A code goes only to the e-mail or mobile given for the appointment."))
    with transaction.atomic():
        Appointment.objects.select_for_update().filter(pk=appointment.pk).first()
        until = locked_until(appointment, purpose, now)
        if until is not None:
            raise CodeLocked(_lock_message(until, now))
        recent = OneTimeCode.objects.filter(
            appointment=appointment, purpose=purpose, created_at__gt=now - CODES_WINDOW
        ).count()
        if recent >= MAX_CODES:
            raise CodeRefused(
                _("Three codes have been sent in the last quarter of an hour. Wait a while.")
            )
        code = f"{secrets.randbelow(10**6):06d}"
        record = OneTimeCode.objects.create(
            organisation=appointment.organisation,
            appointment=appointment,
            purpose=purpose,
            channel=destination.channel,
            recipient=destination.address,
            code_hash=_hash(appointment, purpose, code),
            expires_at=now + CODE_VALID,
            sent_by=sent_by,
            created_at=now,
        )
        queue_message(
            organisation=appointment.organisation,
            kind=MESSAGE_KIND[CodePurpose(purpose)],
            channel=destination.channel,
            recipient=destination.address,
            language=appointment.language,
            context={"code": code, "appointment": appointment},
            dedup_key=f"{purpose}_code:{record.pk}:{destination.channel}",
            appointment_id=appointment.pk,
            urgent=True,  # the person is in the call, waiting for it
        )
        record_event(
            action=AuditEvent.Action.IDENTITY_CODE_SENT,
            actor=sent_by,
            organisation=appointment.organisation,
            target=appointment,
            details={"purpose": purpose, "channel": destination.channel, "to": destination.masked},
        )
    return record


def latest_code(appointment: Appointment, purpose: str) -> OneTimeCode | None:
    return (
        OneTimeCode.objects.filter(appointment=appointment, purpose=purpose)
        .order_by("-created_at", "-pk")
        .first()
    )


def check_code(
    *, appointment: Appointment, purpose: CodePurpose, code: str, now: dt.datetime
) -> OneTimeCode:
    """The latest code for `purpose`, marked verified, if `code` is it. Otherwise WrongCode,
    CodeExpired or CodeLocked (the fifth wrong try locks the purpose for fifteen minutes)."""
    typed = "".join(code.split())
    with transaction.atomic():
        until = locked_until(appointment, purpose, now)
        if until is not None:
            raise CodeLocked(_lock_message(until, now))
        record = (
            OneTimeCode.objects.select_for_update()
            .filter(appointment=appointment, purpose=purpose)
            .order_by("-created_at", "-pk")
            .first()
        )
        if record is None or record.verified_at is not None:
            raise CodeRefused(_("Send a code first."))
        if record.expires_at <= now:
            raise CodeExpired(_("The code has expired. Send a new one."))
        record.attempts += 1
        if constant_time_compare(record.code_hash, _hash(appointment, purpose, typed)):
            record.verified_at = now
            record.save(update_fields=["attempts", "verified_at"])
            return record
        record.failures += 1
        record.last_failure_at = now
        record.save(update_fields=["attempts", "failures", "last_failure_at"])
        left = MAX_FAILURES - record.failures
        if left <= 0:
            record_event(
                action=AuditEvent.Action.IDENTITY_CODE_LOCKED,
                organisation=appointment.organisation,
                target=appointment,
                details={"purpose": purpose, "failures": record.failures},
            )
    # Outside the transaction: the count of failures stays written.
    if left <= 0:
        raise CodeLocked(_lock_message(now + LOCK_FOR, now))
    raise WrongCode(
        ngettext(
            "That is not the code. %(left)d try left.",
            "That is not the code. %(left)d tries left.",
            left,
        )
        % {"left": left}
    )
