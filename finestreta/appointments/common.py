"""Shared parts of the appointments services: the errors a person can cause (each with a
stable `code` for the API and a plain message), who is attended, and small helpers."""

from __future__ import annotations

import base64
import datetime as dt
import secrets
from dataclasses import dataclass, field

from django.utils.crypto import salted_hmac
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from finestreta.appointments.models import (
    NEEDS,
    Appointment,
)
from finestreta.scheduling.availability import Slot

# Unambiguous characters for codes read aloud or typed from an SMS.
CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
# One address may keep this many times held at once: enough for a family booking together,
# too few to hoard a morning's slots.
MAX_HOLDS_PER_CLIENT = 3
# A manage link works until this long after the appointment.
LINK_VALID_AFTER_END = dt.timedelta(days=30)
MANAGE_SALT = "finestreta.appointments.manage"
JOIN_SALT = "finestreta.video.join"
WAITING_SALT = "finestreta.appointments.waiting"


class BookingError(Exception):
    """A refusal a person can understand and act on."""

    code = "booking_error"
    message: str | Promise = _("This could not be done.")

    def __init__(self, message: str | Promise | None = None) -> None:
        super().__init__(str(message or self.message))
        if message is not None:
            self.message = message


class SlotTaken(BookingError):
    """The time was just taken; `alternatives` are the next free times."""

    code = "slot_taken"
    message = _("This time was just taken by someone else. Please choose another one.")

    def __init__(self, alternatives: list[Slot]) -> None:
        super().__init__()
        self.alternatives = alternatives


class HoldExpired(BookingError):
    code = "hold_expired"
    message = _(
        "We could not keep this time any longer because the form took too long. "
        "Please choose a time again."
    )


class TooManyHolds(BookingError):
    code = "too_many_holds"
    message = _(
        "You are already choosing several times at once. Finish or cancel one of them first."
    )


class TooManyAppointments(BookingError):
    code = "too_many_appointments"
    message = _(
        "This person already has as many upcoming appointments as allowed. "
        "Cancel one of them, or call us, to book another."
    )


class TooManyBookingsToday(BookingError):
    code = "too_many_bookings"
    message = _("This person has booked many times today. Try again tomorrow, or call us to book.")


class NotChangeable(BookingError):
    code = "not_changeable"
    message = _("This appointment can no longer be changed.")


class VerificationNeeded(BookingError):
    code = "verification_required"
    message = _("Write the code we sent you to confirm the appointment.")


class WrongCode(BookingError):
    code = "wrong_code"
    message = _("This code is not right or has expired. Check it, or ask for a new one.")


class TooManyCodes(BookingError):
    code = "too_many_codes"
    message = _("We have sent you several codes already. Check your e-mail or messages.")


class InvalidLink(BookingError):
    code = "invalid_link"
    message = _("This link is not valid or has expired. Check the latest message we sent you.")


@dataclass(frozen=True)
class Contact:
    """Who is attended, as the citizen (or whoever books for them) gave it."""

    name: str
    email: str = ""
    phone: str = ""  # E.164, already validated
    language: str = "ca"
    municipality_id: int | None = None
    id_document: str = ""
    needs: frozenset[str] = field(default_factory=frozenset)
    notes: str = ""
    representative_name: str = ""
    representative_email: str = ""
    representative_phone: str = ""
    representative_relation: str = ""

    def __post_init__(self) -> None:
        unknown = set(self.needs) - set(NEEDS)
        if unknown:
            raise ValueError(f"unknown needs: {sorted(unknown)}")


@dataclass(frozen=True)
class Booking:
    appointment: Appointment
    created: bool  # False when an earlier request with the same idempotency key made it


def new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(8))


def link_signature(salt: str, *parts: object) -> str:
    """A short keyed signature (HMAC with the secret key, 80 bits in base32) for the links
    sent to citizens: short enough for an SMS, impossible to guess or forge."""
    digest = salted_hmac(salt, ":".join(map(str, parts))).digest()
    return base64.b32encode(digest).decode()[:16].lower()


def split_token(token: str) -> tuple[str, str]:
    """(what it names, its signature), or InvalidLink for anything malformed."""
    name, dash, signature = token.rpartition("-")
    if not dash or not name or len(signature) != 16:
        raise InvalidLink()
    return name, signature


def client_key(address: str) -> str:
    """A keyed hash of a network address: enough to count holds, useless to anyone else."""
    return salted_hmac("finestreta.holds", address).hexdigest()[:32] if address else ""


def next_free(slots: list[Slot], *, after: dt.datetime, count: int = 3) -> list[Slot]:
    later = [s for s in slots if s.start >= after]
    return (later or slots)[:count]
