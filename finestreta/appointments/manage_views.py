"""Managing an appointment from the signed link in every message (see it, add it to a
calendar, move it, cancel it), and the waiting list."""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_safe

from finestreta.appointments import services as booking
from finestreta.appointments import web
from finestreta.appointments.calendar import appointment_ics, google_calendar_url
from finestreta.appointments.forms import CancelForm, WaitingListForm
from finestreta.appointments.models import CancelledBy
from finestreta.appointments.picker import paginate, parse_day, parse_start
from finestreta.appointments.web import ANY_OFFICE
from finestreta.catalogue import services as catalogue
from finestreta.catalogue.models import Channel
from finestreta.scheduling.services import find_slots
from finestreta.video import services as video

# --- Managing an appointment from the link in a message -------------------------------------


@require_safe
def manage(request: HttpRequest, org: str, token: str) -> HttpResponse:
    appointment = web.appointment_from_link(org, token)
    just_booked = request.session.pop("just_booked", None) == appointment.pk
    manage_url = web.manage_url(request, appointment)
    return render(
        request,
        "appointments/manage.html",
        {
            "organisation": appointment.organisation,
            "appointment": appointment,
            "token": token,
            "just_booked": just_booked,
            "changeable": booking.can_be_changed(appointment, now=timezone.now()),
            "google_url": google_calendar_url(
                appointment, details=_("To see, change or cancel it: %(url)s") % {"url": manage_url}
            ),
            "join_url": video.join_path(appointment)
            if appointment.channel == Channel.VIDEO
            and appointment.status == appointment.Status.BOOKED
            else "",
        },
    )


@require_safe
def calendar_file(request: HttpRequest, org: str, token: str) -> HttpResponse:
    appointment = web.appointment_from_link(org, token)
    body = appointment_ics(
        appointment, manage_url=web.manage_url(request, appointment), now=timezone.now()
    )
    response = HttpResponse(body, content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="appointment-{appointment.code}.ics"'
    response["Cache-Control"] = "no-store"
    return response


@require_http_methods(["GET", "HEAD", "POST"])
def cancel(request: HttpRequest, org: str, token: str) -> HttpResponse:
    appointment = web.appointment_from_link(org, token)
    form = CancelForm(request.POST if request.method == "POST" else None)
    problem = ""
    if request.method == "POST" and form.is_valid():
        if web.limited(request, "change"):
            return web.too_many(request, appointment.organisation)
        try:
            booking.cancel_appointment(
                appointment=appointment,
                now=timezone.now(),
                by=CancelledBy.CITIZEN,
                reason=form.cleaned_data["reason"],
            )
        except booking.BookingError as error:
            problem = str(error.message)
        else:
            messages.success(request, _("Your appointment is cancelled."))
            return redirect("appointments:manage", org, token)
    return render(
        request,
        "appointments/cancel.html",
        {
            "organisation": appointment.organisation,
            "appointment": appointment,
            "token": token,
            "form": form,
            "problem": problem,
            "changeable": booking.can_be_changed(appointment, now=timezone.now()),
        },
    )


@require_http_methods(["GET", "HEAD", "POST"])
def move(request: HttpRequest, org: str, token: str) -> HttpResponse:
    appointment = web.appointment_from_link(org, token)
    organisation = appointment.organisation
    now = timezone.now()
    if not booking.can_be_changed(appointment, now=now):
        messages.error(request, _("This appointment can no longer be changed."))
        return redirect("appointments:manage", org, token)
    problem, alternatives = "", []
    if request.method == "POST":
        if web.limited(request, "change"):
            return web.too_many(request, organisation)
        start = parse_start(request.POST.get("start"))
        try:
            if start is None:
                raise booking.BookingError(_("Choose one of the times below."))
            booking.reschedule_appointment(appointment=appointment, start=start, now=now)
        except booking.SlotTaken as taken:
            problem, alternatives = str(taken.message), taken.alternatives
        except booking.BookingError as error:
            problem = str(error.message)
        else:
            messages.success(request, _("Your appointment has a new time."))
            return redirect("appointments:manage", org, token)
    slots = find_slots(
        service=appointment.service,
        channel=Channel(appointment.channel),
        now=now,
        office=appointment.office,
        ignoring=appointment.pk,
    )
    page = paginate(slots, zone=organisation.time_zone, start=parse_day(request.GET.get("from")))
    return render(
        request,
        "appointments/move.html",
        {
            "organisation": organisation,
            "appointment": appointment,
            "service": appointment.service,
            "token": token,
            "office_param": appointment.office.slug if appointment.office else ANY_OFFICE,
            "page": page,
            "problem": problem,
            "alternatives": alternatives,
        },
        status=409 if alternatives else 200,
    )


# --- Waiting list ---------------------------------------------------------------------------


@require_http_methods(["GET", "HEAD", "POST"])
def join_waiting_list(request: HttpRequest, org: str, service: str, channel: str) -> HttpResponse:
    organisation = web.public_organisation(org)
    found = catalogue.get_public_service(organisation, service)
    how = web.offered_channel(found, channel)
    office = web.chosen_office(organisation, found, how, request.GET.get("office"))
    today = timezone.localdate()
    form = WaitingListForm(
        request.POST if request.method == "POST" else None,
        initial={
            "language": get_language(),
            "earliest": today,
            "latest": today + dt.timedelta(days=min(14, found.max_days_ahead)),
        },
    )
    if request.method == "POST" and form.is_valid():
        if web.limited(request, "waiting"):
            return web.too_many(request, organisation)
        try:
            entry = booking.join_waiting_list(
                service=found,
                channel=how,
                office=office,
                earliest=form.cleaned_data["earliest"],
                latest=form.cleaned_data["latest"],
                contact=form.contact(),
                now=timezone.now(),
            )
        except booking.BookingError as error:
            form.add_error("latest", str(error.message))
        else:
            messages.success(request, _("You are on the waiting list."))
            return redirect("appointments:waiting", org, booking.waiting_token(entry))
    return render(
        request,
        "appointments/waiting_list_join.html",
        {
            "organisation": organisation,
            "service": found,
            "channel": how,
            "office": office,
            "form": form,
        },
    )


@require_http_methods(["GET", "HEAD", "POST"])
def waiting(request: HttpRequest, org: str, token: str) -> HttpResponse:
    organisation = web.public_organisation(org)
    try:
        entry = booking.get_waiting_entry_by_token(organisation=organisation, token=token)
    except booking.InvalidLink as error:
        raise Http404("Invalid link") from error
    if request.method == "POST":
        if web.limited(request, "change"):
            return web.too_many(request, organisation)
        if request.POST.get("action") == "leave":
            booking.leave_waiting_list(entry=entry)
            messages.success(request, _("You have left the waiting list."))
            return redirect("appointments:waiting", org, token)
        try:
            booked = booking.accept_waiting_list_offer(entry=entry, now=timezone.now())
        except booking.BookingError as error:
            messages.error(request, str(error.message))
            return redirect("appointments:waiting", org, token)
        request.session["just_booked"] = booked.pk
        return redirect(web.manage_url(request, booked))
    return render(
        request,
        "appointments/waiting.html",
        {"organisation": organisation, "entry": entry, "token": token},
    )
