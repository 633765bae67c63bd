"""Public API of the appointments app: holding, booking, moving and cancelling times, with no
double booking ever; the waiting list; verification codes; and the signed links that let a
citizen manage an appointment without an account.

Other apps and the views import from here only. The work is done in `common` (errors, who is
attended), `booking` (holds and bookings), `changes` (cancel, move, outcome, manage links),
`waiting_list` and `verification`. Every error a person can cause is a `BookingError` with a
stable `code` (for the API) and a plain message (for people).
"""

from __future__ import annotations

from finestreta.appointments.booking import (
    active_for_contact,
    book_appointment,
    check_contact_limits,
    confirm_booking,
    find_by_idempotency_key,
    get_hold,
    hold_slot,
    release_expired_holds,
    release_hold,
)
from finestreta.appointments.changes import (
    can_be_changed,
    cancel_appointment,
    get_appointment_by_token,
    manage_token,
    record_outcome,
    reschedule_appointment,
)
from finestreta.appointments.common import (
    CODE_ALPHABET,
    LINK_VALID_AFTER_END,
    MANAGE_SALT,
    MAX_HOLDS_PER_CLIENT,
    WAITING_SALT,
    Booking,
    BookingError,
    Contact,
    HoldExpired,
    InvalidLink,
    NotChangeable,
    SlotTaken,
    TooManyAppointments,
    TooManyBookingsToday,
    TooManyCodes,
    TooManyHolds,
    VerificationNeeded,
    WrongCode,
    client_key,
    new_code,
    next_free,
)
from finestreta.appointments.verification import (
    CODE_VALID,
    MAX_CODES_PER_HOLD,
    MAX_TRIES_PER_CODE,
    check_verification_code,
    latest_code,
    send_verification_code,
    where_to_send_code,
)
from finestreta.appointments.waiting_list import (
    accept_waiting_list_offer,
    get_waiting_entry_by_token,
    join_waiting_list,
    leave_waiting_list,
    offer_freed_time,
    waiting_token,
)

__all__ = [
    "Booking",
    "BookingError",
    "CODE_ALPHABET",
    "CODE_VALID",
    "Contact",
    "HoldExpired",
    "InvalidLink",
    "LINK_VALID_AFTER_END",
    "MANAGE_SALT",
    "MAX_CODES_PER_HOLD",
    "MAX_HOLDS_PER_CLIENT",
    "MAX_TRIES_PER_CODE",
    "NotChangeable",
    "SlotTaken",
    "TooManyAppointments",
    "TooManyBookingsToday",
    "TooManyCodes",
    "TooManyHolds",
    "VerificationNeeded",
    "WAITING_SALT",
    "WrongCode",
    "accept_waiting_list_offer",
    "active_for_contact",
    "book_appointment",
    "can_be_changed",
    "cancel_appointment",
    "check_contact_limits",
    "check_verification_code",
    "client_key",
    "confirm_booking",
    "find_by_idempotency_key",
    "get_appointment_by_token",
    "get_hold",
    "get_waiting_entry_by_token",
    "hold_slot",
    "join_waiting_list",
    "latest_code",
    "leave_waiting_list",
    "manage_token",
    "new_code",
    "next_free",
    "offer_freed_time",
    "record_outcome",
    "release_expired_holds",
    "release_hold",
    "reschedule_appointment",
    "send_verification_code",
    "waiting_token",
    "where_to_send_code",
]
