"""A one-time code by e-mail or SMS before confirming, for services that ask for it."""

from __future__ import annotations

import datetime as dt
import secrets

from django.db import transaction
from django.utils.crypto import constant_time_compare, salted_hmac
from django.utils.translation import gettext_lazy as _

from finestreta.appointments import notify
from finestreta.appointments.common import (
    BookingError,
    Contact,
    TooManyCodes,
    VerificationNeeded,
    WrongCode,
)
from finestreta.appointments.models import (
    Appointment,
    VerificationCode,
)

# --- Verification code before confirming ---------------------------------------------------

CODE_VALID = dt.timedelta(minutes=15)
MAX_CODES_PER_HOLD = 3
MAX_TRIES_PER_CODE = 5


def _code_hash(appointment: Appointment, code: str) -> str:
    return salted_hmac("finestreta.verification", f"{appointment.pk}:{code}").hexdigest()


def where_to_send_code(contact: Contact) -> tuple[str, str]:
    """E-mail first (free and unlimited), else the mobile; the representative's when the
    person attended gave neither."""
    for channel, address in (
        ("email", contact.email),
        ("sms", contact.phone),
        ("email", contact.representative_email),
        ("sms", contact.representative_phone),
    ):
        if address:
            return channel, address
    raise BookingError(_("Give an e-mail or a mobile phone, so that we can send you the code."))


def send_verification_code(
    *, appointment: Appointment, contact: Contact, now: dt.datetime
) -> VerificationCode:
    """Send a new six-digit code for this held time (three at most)."""
    with transaction.atomic():
        current = Appointment.objects.select_for_update().get(pk=appointment.pk)
        sent = current.verification_codes.count()
        if sent >= MAX_CODES_PER_HOLD:
            raise TooManyCodes()
        channel, address = where_to_send_code(contact)
        code = f"{secrets.randbelow(10**6):06d}"
        current.language = contact.language
        record = VerificationCode.objects.create(
            appointment=current,
            channel=channel,
            recipient=address,
            code_hash=_code_hash(current, code),
            expires_at=now + CODE_VALID,
        )
        notify.send_verification_code(
            current, channel=channel, address=address, code=code, attempt=sent + 1
        )
    return record


def latest_code(*, appointment: Appointment) -> VerificationCode | None:
    return appointment.verification_codes.first()


def check_verification_code(*, appointment: Appointment, code: str, now: dt.datetime) -> None:
    """Mark the latest code verified if `code` is it; WrongCode otherwise (five tries)."""
    with transaction.atomic():
        record = (
            VerificationCode.objects.select_for_update()
            .filter(appointment=appointment)
            .order_by("-created_at", "-pk")
            .first()
        )
        if record is None or record.verified_at is not None:
            if record is not None:
                return
            raise WrongCode()
        record.attempts += 1
        record.save(update_fields=["attempts"])
        valid = (
            record.expires_at > now
            and record.attempts <= MAX_TRIES_PER_CODE
            and constant_time_compare(record.code_hash, _code_hash(appointment, code.strip()))
        )
        if valid:
            record.verified_at = now
            record.save(update_fields=["verified_at"])
    if not valid:
        raise WrongCode()


def send_code_if_needed(*, appointment: Appointment, contact: Contact, now: dt.datetime) -> None:
    """For services that ask for it: a code to the contact's address, unless the latest one
    already went there (going back to fix a typo elsewhere sends nothing new)."""
    if not appointment.service.requires_verification:
        return
    sent = latest_code(appointment=appointment)
    if sent is None or sent.recipient.casefold() != where_to_send_code(contact)[1].casefold():
        send_verification_code(appointment=appointment, contact=contact, now=now)


def verify_for_booking(
    *, appointment: Appointment, contact: Contact, code: str, now: dt.datetime
) -> None:
    """Before a held time of such a service is booked: the latest code sent for it must have
    gone to this contact's address and be `code` (once verified it stays so, for a retry after
    another refusal). Nothing to check for a service that asks for no code."""
    if not appointment.service.requires_verification:
        return
    sent = latest_code(appointment=appointment)
    if sent is None:
        raise VerificationNeeded(
            _("This service asks for a code: ask for it to be sent, then book with it.")
        )
    if sent.recipient.casefold() != where_to_send_code(contact)[1].casefold():
        raise VerificationNeeded(
            _("The code was sent to another e-mail or mobile. Ask for a code for this contact.")
        )
    if sent.verified_at is None and not code:
        raise VerificationNeeded()
    check_verification_code(appointment=appointment, code=code, now=now)


def masked_destination(code: VerificationCode) -> str:
    """Where a code went, partly hidden, to show the person: n•••@example.org, •••• 678."""
    if code.channel == "email":
        name, _at, domain = code.recipient.partition("@")
        return f"{name[:1]}•••@{domain}"
    return f"•••• {code.recipient[-3:]}"
