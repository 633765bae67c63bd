"""When a message may leave: the organisation's quiet hours for SMS and its reminder offsets."""

from __future__ import annotations

import datetime as dt

from finestreta.notifications import sms
from finestreta.notifications.models import Message, MessagingSettings
from finestreta.tenants.models import Organisation

# Reminders: hours before the appointment, without a settings row; and the furthest allowed.
DEFAULT_REMINDER_HOURS = "24,1"
MAX_REMINDER_HOURS = 24 * 14


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
