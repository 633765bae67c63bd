"""The citizen's booking flow, without an account and without JavaScript: service → channel →
office → time → details → review → confirmation."""

from __future__ import annotations

from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_safe

from finestreta.appointments import services as booking
from finestreta.appointments import web
from finestreta.appointments.forms import ContactForm
from finestreta.appointments.models import Appointment
from finestreta.appointments.picker import paginate, parse_day, parse_start
from finestreta.appointments.web import ANY_OFFICE, SESSION_HOLDS
from finestreta.catalogue import services as catalogue
from finestreta.catalogue.models import Channel
from finestreta.lib.net import client_ip
from finestreta.scheduling.services import NotOffered, find_slots

# --- Booking: choosing ----------------------------------------------------------------------


@require_safe
def choose_service(request: HttpRequest, org: str) -> HttpResponse:
    organisation = web.public_organisation(org)
    return render(
        request,
        "appointments/choose_service.html",
        {"organisation": organisation, "levels": catalogue.group_services_by_level(organisation)},
    )


@require_safe
def choose_channel(request: HttpRequest, org: str, service: str) -> HttpResponse:
    organisation = web.public_organisation(org)
    found = catalogue.get_public_service(organisation, service)
    channels = found.channels
    if len(channels) == 1:
        return redirect("appointments:office", org, found.slug, channels[0].value)
    return render(
        request,
        "appointments/choose_channel.html",
        {"organisation": organisation, "service": found, "channels": channels},
    )


@require_safe
def choose_office(request: HttpRequest, org: str, service: str, channel: str) -> HttpResponse:
    organisation = web.public_organisation(org)
    found = catalogue.get_public_service(organisation, service)
    how = web.offered_channel(found, channel)
    offices = list(found.offices.filter(is_active=True).order_by("name"))
    if how == Channel.IN_PERSON and len(offices) == 1:
        return redirect(web.flow_url(found, how, offices[0], "time"))
    return render(
        request,
        "appointments/choose_office.html",
        {
            "organisation": organisation,
            "service": found,
            "channel": how,
            "offices": offices,
            "any_office": how != Channel.IN_PERSON,
            "time_url": reverse("appointments:time", args=[org, found.slug, how.value]),
        },
    )


@require_http_methods(["GET", "HEAD", "POST"])
def choose_time(request: HttpRequest, org: str, service: str, channel: str) -> HttpResponse:
    organisation = web.public_organisation(org)
    found = catalogue.get_public_service(organisation, service)
    how = web.offered_channel(found, channel)
    office = web.chosen_office(organisation, found, how, request.GET.get("office"))
    now = timezone.now()
    problem: str = ""
    alternatives: list[Any] = []
    if request.method == "POST":
        if web.limited(request, "hold"):
            return web.too_many(request, organisation)
        start = parse_start(request.POST.get("start"))
        if start is None:
            problem = _("Choose one of the times below.")
        else:
            try:
                held = booking.hold_slot(
                    service=found,
                    channel=how,
                    start=start,
                    now=now,
                    office=office,
                    client=booking.client_key(client_ip(request) or ""),
                )
            except booking.SlotTaken as taken:
                problem, alternatives = str(taken.message), taken.alternatives
            except booking.BookingError as error:
                problem = str(error.message)
            else:
                web.remember_hold(request, held.pk, None)
                return redirect("appointments:details", org, held.pk)
    try:
        slots = find_slots(service=found, channel=how, now=now, office=office)
    except NotOffered as error:
        raise Http404("Not offered") from error
    page = paginate(slots, zone=organisation.time_zone, start=parse_day(request.GET.get("from")))
    return render(
        request,
        "appointments/choose_time.html",
        {
            "organisation": organisation,
            "service": found,
            "channel": how,
            "office": office,
            "page": page,
            "problem": problem,
            "alternatives": alternatives,
            "office_param": office.slug if office else ANY_OFFICE,
            "waiting_list_url": web.flow_url(found, how, office, "waiting-list"),
        },
        status=409 if alternatives else 200,
    )


# --- Booking: details, review, confirmation -------------------------------------------------


@require_http_methods(["GET", "HEAD", "POST"])
def details(request: HttpRequest, org: str, hold: int) -> HttpResponse:
    organisation = web.public_organisation(org)
    held = web.held_by_browser(request, organisation, hold)
    if held.status == Appointment.Status.BOOKED:
        return redirect(web.manage_url(request, held))
    saved = request.session[SESSION_HOLDS].get(str(held.pk))
    form = ContactForm(
        request.POST if request.method == "POST" else None,
        initial=saved or {"language": get_language(), "on_behalf": "no"},
    )
    if request.method == "POST" and form.is_valid():
        try:
            booking.send_code_if_needed(
                appointment=held, contact=form.contact(), now=timezone.now()
            )
        except booking.BookingError as error:
            form.add_error(None, str(error.message))
        else:
            web.remember_hold(request, held.pk, form.to_session())
            return redirect("appointments:review", org, held.pk)
    return render(
        request,
        "appointments/details.html",
        {"organisation": organisation, "appointment": held, "form": form},
    )


@require_http_methods(["GET", "HEAD", "POST"])
def review(request: HttpRequest, org: str, hold: int) -> HttpResponse:
    organisation = web.public_organisation(org)
    held = web.held_by_browser(request, organisation, hold)
    if held.status == Appointment.Status.BOOKED:
        return redirect(web.manage_url(request, held))
    saved = request.session[SESSION_HOLDS].get(str(held.pk))
    form = ContactForm(saved) if saved else None
    if form is None or not form.is_valid():
        return redirect("appointments:details", org, held.pk)
    problem = ""
    if request.method == "POST":
        if web.limited(request, "confirm"):
            return web.too_many(request, organisation)
        try:
            booked = _confirm(request, held, form)
        except booking.BookingError as error:
            problem = str(error.message)
        else:
            web.forget_hold(request, held.pk)
            request.session["just_booked"] = booked.pk
            return redirect(web.manage_url(request, booked))
    return render(
        request,
        "appointments/review.html",
        {
            "organisation": organisation,
            "appointment": held,
            "contact": form.contact(),
            "municipality": saved.get("municipality", ""),
            "needs": form.need_labels(),
            "problem": problem,
            "code_sent_to": _code_sent_to(held),
        },
        status=200 if not problem else 409,
    )


def _confirm(request: HttpRequest, held: Appointment, form: ContactForm) -> Appointment:
    now = timezone.now()
    if held.service.requires_verification:
        if request.POST.get("action") == "resend":
            booking.send_verification_code(appointment=held, contact=form.contact(), now=now)
            raise booking.BookingError(_("We have sent you a new code."))
        booking.verify_for_booking(
            appointment=held, contact=form.contact(), code=request.POST.get("code", ""), now=now
        )
    return booking.confirm_booking(appointment=held, contact=form.contact(), now=now)


def _code_sent_to(held: Appointment) -> str:
    sent = booking.latest_code(appointment=held) if held.service.requires_verification else None
    return booking.masked_destination(sent) if sent else ""


@require_http_methods(["POST"])
def release(request: HttpRequest, org: str, hold: int) -> HttpResponse:
    """The citizen chooses another time: free this one at once."""
    organisation = web.public_organisation(org)
    held = web.held_by_browser(request, organisation, hold)
    service, channel, office = held.service, Channel(held.channel), held.office
    if held.status == Appointment.Status.HELD:
        booking.release_hold(appointment=held)
    web.forget_hold(request, hold)
    return redirect(web.flow_url(service, channel, office, "time"))
