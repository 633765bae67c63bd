"""Signed hold tokens: the API's handle on a time held for a client.

A token carries the organisation and the held appointment, signed with its own salt (a manage
token or any other signed value cannot pass for one). It is checked against the organisation of
the URL, so a hold of one organisation is unknown under another's.
"""

from __future__ import annotations

from django.core import signing

from finestreta.appointments.models import Appointment
from finestreta.tenants.models import Organisation

HOLD_SALT = "finestreta.api.hold"
# Holds last an hour at most (Organisation.booking_hold_minutes); the token a little longer,
# so that a late booking gets "hold expired" rather than "unknown token".
HOLD_TOKEN_MAX_AGE = 24 * 3600


class UnknownHold(Exception):
    """Not a hold token of this organisation (tampered, expired or another tenant's)."""


def hold_token(appointment: Appointment) -> str:
    return signing.dumps([appointment.organisation_id, appointment.pk], salt=HOLD_SALT)


def read_hold_token(token: str, *, organisation: Organisation) -> int:
    """The pk of the held appointment, or UnknownHold."""
    try:
        value = signing.loads(token, salt=HOLD_SALT, max_age=HOLD_TOKEN_MAX_AGE)
    except (signing.BadSignature, ValueError, TypeError, UnicodeError) as error:
        raise UnknownHold() from error
    if not (
        isinstance(value, list)
        and len(value) == 2
        and all(isinstance(part, int) and not isinstance(part, bool) for part in value)
    ):
        raise UnknownHold()
    organisation_id, pk = value
    if organisation_id != organisation.pk:
        raise UnknownHold()
    return int(pk)
