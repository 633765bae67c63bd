"""Calendar files (RFC 5545) for appointments, so a citizen can add one to any calendar."""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlencode

from django.utils.translation import gettext as _
from icalendar import Calendar, Event

from finestreta.appointments.models import Appointment
from finestreta.catalogue.models import Channel

PRODID = "-//Finestreta//Cita previa//CA"


def where(appointment: Appointment) -> str:
    """Where the appointment happens, in the reader's language."""
    if appointment.channel == Channel.IN_PERSON and appointment.office is not None:
        office = appointment.office
        return ", ".join(p for p in (office.name, office.address) if p)
    if appointment.channel == Channel.PHONE:
        return _("By telephone: we will call you")
    return _("By video call: open the link in this event")


def appointment_ics(
    appointment: Appointment, *, manage_url: str, join_url: str = "", now: dt.datetime
) -> bytes:
    """One event; a cancelled appointment gives a cancellation the calendar understands."""
    cancelled = appointment.status == Appointment.Status.CANCELLED
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("method", "CANCEL" if cancelled else "PUBLISH")
    event = Event()
    event.add("uid", f"{appointment.code}@finestreta")
    event.add("dtstamp", now.astimezone(dt.UTC))
    event.add("dtstart", appointment.starts_at.astimezone(dt.UTC))
    event.add("dtend", appointment.ends_at.astimezone(dt.UTC))
    event.add("sequence", appointment.times_rescheduled + (1 if cancelled else 0))
    event.add("status", "CANCELLED" if cancelled else "CONFIRMED")
    event.add("summary", f"{appointment.service.name} — {appointment.organisation.name}")
    event.add("location", join_url or where(appointment))
    lines = [
        _("Booking code: %(code)s") % {"code": appointment.code},
        _("To see, change or cancel it: %(url)s") % {"url": manage_url},
    ]
    if join_url:
        lines.insert(1, _("To join the video call: %(url)s") % {"url": join_url})
    event.add("description", "\n".join(lines))
    event.add("url", join_url or manage_url)
    calendar.add_component(event)
    return calendar.to_ical()


def google_calendar_url(appointment: Appointment, *, details: str) -> str:
    """A link that opens Google Calendar with the event filled in (nothing is sent until the
    citizen saves it there)."""
    fmt = "%Y%m%dT%H%M%SZ"
    dates = (
        f"{appointment.starts_at.astimezone(dt.UTC):{fmt}}/"
        f"{appointment.ends_at.astimezone(dt.UTC):{fmt}}"
    )
    query = urlencode(
        {
            "action": "TEMPLATE",
            "text": f"{appointment.service.name} — {appointment.organisation.name}",
            "dates": dates,
            "details": details,
            "location": where(appointment),
        }
    )
    return f"https://calendar.google.com/calendar/render?{query}"
