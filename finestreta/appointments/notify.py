"""The messages an appointment's events send, and to whom: the person attended and, when
someone booked for them, that representative too. Called inside the services' transactions, so
a message exists if and only if its change was committed."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from finestreta.appointments.calendar import appointment_ics
from finestreta.appointments.models import Appointment, WaitingListEntry
from finestreta.catalogue.models import Channel
from finestreta.notifications.models import Message
from finestreta.notifications.services import Attachment, queue_message, reminder_hours


def absolute(path: str) -> str:
    return settings.SITE_URL.rstrip("/") + path


def manage_url(appointment: Appointment) -> str:
    from finestreta.appointments.services import manage_token

    return absolute(
        reverse(
            "appointments:manage",
            args=[appointment.organisation.slug, manage_token(appointment)],
        )
    )


def recipients(appointment: Appointment) -> list[tuple[str, str]]:
    """(channel, address) pairs, without repeats."""
    pairs = [
        (Message.Channel.EMAIL, appointment.email),
        (Message.Channel.SMS, appointment.phone),
        (Message.Channel.EMAIL, appointment.representative_email),
        (Message.Channel.SMS, appointment.representative_phone),
    ]
    seen: list[tuple[str, str]] = []
    for channel, address in pairs:
        if address and (channel, address.lower()) not in [(c, a.lower()) for c, a in seen]:
            seen.append((channel, address))
    return seen


def join_url(appointment: Appointment) -> str:
    """The citizen's link into the video call (its pre-call check), for video appointments."""
    from finestreta.appointments.services import join_token

    return absolute(
        reverse("video:precall", args=[appointment.organisation.slug, join_token(appointment)])
    )


def _context(appointment: Appointment) -> dict:
    return {
        "appointment": appointment,
        "manage_url": manage_url(appointment),
        "join_url": join_url(appointment) if appointment.channel == Channel.VIDEO else "",
        "book_url": absolute(reverse("appointments:service", args=[appointment.organisation.slug])),
    }


def notify_appointment(
    appointment: Appointment, *, kind: str, version: str = "", now: dt.datetime | None = None
) -> None:
    """Queue `kind` (booking_confirmed, booking_moved, booking_cancelled) for every recipient.
    `version` tells apart two events of the same kind (a second move). A booking or a move also
    queues the reminders for the appointment's (new) time."""
    now = now or timezone.now()
    context = _context(appointment)
    calendar = None
    if kind in ("booking_confirmed", "booking_moved", "booking_cancelled"):
        calendar = Attachment(
            name=f"appointment-{appointment.code}.ics",
            content_type="text/calendar",
            content=appointment_ics(
                appointment,
                manage_url=context["manage_url"],
                join_url=context["join_url"] if kind != "booking_cancelled" else "",
                now=now,
            ),
        )
    _queue_to_everyone(
        appointment,
        kind=kind,
        context=context,
        key=f"{kind}:{appointment.pk}:{version}",
        attachment=calendar,
        now=now,
    )
    if kind in ("booking_confirmed", "booking_moved"):
        queue_reminders(appointment, now=now)


def queue_reminders(appointment: Appointment, *, now: dt.datetime) -> None:
    """Queue a reminder to every recipient at each of the organisation's offsets before the
    start (24 and 1 hours unless it says otherwise) that is still to come. Each is tied to this
    start: after a cancellation or a move it is suppressed when its time comes, and the move
    queues fresh ones (the start is in the dedup key)."""
    if appointment.status != Appointment.Status.BOOKED:
        return
    context = _context(appointment)
    start = appointment.starts_at
    for hours in reminder_hours(appointment.organisation):
        send_at = start - dt.timedelta(hours=hours)
        if send_at <= now:
            continue
        _queue_to_everyone(
            appointment,
            kind="reminder",
            context=context,
            key=f"reminder:{appointment.pk}:{int(start.timestamp())}:{hours}",
            send_after=send_at,
            appointment_starts_at=start,
            now=now,
        )


def send_join_link(appointment: Appointment, *, now: dt.datetime, version: str) -> int:
    """Send the video call's link to every recipient now (staff press "send the link again",
    for a citizen who cannot find it). `version` tells one sending from the next. Returns how
    many messages were queued."""
    if appointment.channel != Channel.VIDEO or appointment.status != Appointment.Status.BOOKED:
        return 0
    return _queue_to_everyone(
        appointment,
        kind="video_join_link",
        context=_context(appointment),
        key=f"video_join_link:{appointment.pk}:{version}",
        urgent=True,  # asked for now, by someone waiting for it
        now=now,
    )


# How long after the attention the survey is sent: once the citizen has left the office or the
# call, not while the agent is still wrapping up.
SURVEY_DELAY = dt.timedelta(minutes=15)


def send_survey(appointment: Appointment, *, now: dt.datetime) -> int:
    """Queue the satisfaction survey's link to every recipient, once per appointment (marking
    it attended again sends nothing), unless the organisation does not ask. Returns how many
    messages were queued."""
    from finestreta.reports.services import survey_path

    if not appointment.organisation.sends_survey:
        return 0
    context = {"appointment": appointment, "survey_url": absolute(survey_path(appointment))}
    return _queue_to_everyone(
        appointment,
        kind="survey",
        context=context,
        key=f"survey:{appointment.pk}",
        send_after=now + SURVEY_DELAY,
        now=now,
    )


def _queue_to_everyone(
    appointment: Appointment,
    *,
    kind: str,
    context: dict,
    key: str,
    now: dt.datetime,
    attachment: Attachment | None = None,
    **options: Any,
) -> int:
    """Queue `kind` to every recipient of the appointment (the attachment by e-mail only),
    each with the dedup key `key:channel:address`. Returns how many were new."""
    queued = 0
    for channel, address in recipients(appointment):
        message = queue_message(
            organisation=appointment.organisation,
            kind=kind,
            channel=channel,
            recipient=address,
            language=appointment.language,
            context=context,
            dedup_key=f"{key}:{channel}:{address.lower()}",
            appointment_id=appointment.pk,
            attachment=attachment if channel == Message.Channel.EMAIL else None,
            now=now,
            **options,
        )
        queued += message is not None
    return queued


def notify_waiting_list_offer(entry: WaitingListEntry, appointment: Appointment) -> None:
    from finestreta.appointments.services import waiting_token

    context = {
        "appointment": appointment,
        "waiting_url": absolute(
            reverse("appointments:waiting", args=[entry.organisation.slug, waiting_token(entry)])
        ),
    }
    for channel, address in (
        (Message.Channel.EMAIL, entry.email),
        (Message.Channel.SMS, entry.phone),
    ):
        if address:
            queue_message(
                organisation=entry.organisation,
                kind="waiting_list_offer",
                channel=channel,
                recipient=address,
                language=entry.language,
                context=context,
                dedup_key=f"waiting_list_offer:{entry.pk}:{appointment.pk}:{channel}",
                appointment_id=appointment.pk,
            )


def send_verification_code(
    appointment: Appointment, *, channel: str, address: str, code: str, attempt: int
) -> None:
    queue_message(
        organisation=appointment.organisation,
        kind="verification_code",
        channel=channel,
        recipient=address,
        language=appointment.language,
        context={"code": code},
        dedup_key=f"verification_code:{appointment.pk}:{attempt}",
        appointment_id=appointment.pk,
        urgent=True,  # the person is waiting for it on the booking page, day or night
    )
