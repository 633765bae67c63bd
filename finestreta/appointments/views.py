"""The citizen's booking flow, without an account and without JavaScript: service → channel →
office → time → details → review → confirmation; and the manage pages reached from the signed
link in every message (see, add to calendar, move, cancel), and the waiting list."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_safe
from django_ratelimit.core import is_ratelimited

from finestreta.appointments import services as booking
from finestreta.appointments.calendar import appointment_ics, google_calendar_url
from finestreta.appointments.forms import CancelForm, ContactForm, WaitingListForm
from finestreta.appointments.models import Appointment, CancelledBy
from finestreta.appointments.picker import paginate, parse_day, parse_start
from finestreta.catalogue import services as catalogue
from finestreta.catalogue.models import Channel, Service
from finestreta.lib.net import client_ip
from finestreta.scheduling.services import NotOffered, find_slots
from finestreta.tenants import services as tenants
from finestreta.tenants.models import Office, Organisation

SESSION_HOLDS = "booking_holds"
ANY_OFFICE = "any"


# --- Small helpers shared by the views ------------------------------------------------------


def _limited(request: HttpRequest, group: str) -> bool:
    """Too many attempts from this address (django-ratelimit, counted in the cache)."""
    return is_ratelimited(
        request,
        group=f"booking.{group}",
        key=lambda _group, req: client_ip(req) or "unknown",
        rate=settings.BOOKING_RATE_LIMIT,
        increment=True,
    )


def _too_many(request: HttpRequest, organisation: Organisation) -> HttpResponse:
    return render(request, "appointments/too_many.html", {"organisation": organisation}, status=429)


def _organisation(slug: str) -> Organisation:
    organisation = tenants.get_public_organisation(slug)
    timezone.activate(ZoneInfo(organisation.time_zone))
    return organisation


def _channel(service: Service, value: str) -> Channel:
    if value not in Channel.values or Channel(value) not in service.channels:
        raise Http404("Channel not offered")
    return Channel(value)


def _office(
    organisation: Organisation, service: Service, channel: Channel, slug: str | None
) -> Office | None:
    """The office chosen (None for "any office"); in person always needs one."""
    if not slug or slug == ANY_OFFICE:
        if channel == Channel.IN_PERSON:
            raise Http404("In person needs an office")
        return None
    office = tenants.get_public_office(organisation, slug)
    if not service.offices.filter(pk=office.pk).exists():
        raise Http404("Service not offered at this office")
    return office


def _flow_url(service: Service, channel: Channel, office: Office | None, step: str) -> str:
    url = reverse(
        f"appointments:{step}", args=[service.organisation.slug, service.slug, channel.value]
    )
    return f"{url}?office={office.slug if office else ANY_OFFICE}"


def _held(request: HttpRequest, organisation: Organisation, pk: int) -> Appointment:
    """A hold this browser made; anyone else's is not found."""
    if str(pk) not in request.session.get(SESSION_HOLDS, {}):
        raise Http404("Not this browser's hold")
    try:
        return booking.get_hold(organisation=organisation, pk=pk, now=timezone.now())
    except booking.HoldExpired as error:
        raise Http404("Hold gone") from error


def _remember_hold(request: HttpRequest, pk: int, data: dict[str, Any] | None) -> None:
    holds = request.session.get(SESSION_HOLDS, {})
    holds[str(pk)] = data
    request.session[SESSION_HOLDS] = holds


def _forget_hold(request: HttpRequest, pk: int) -> None:
    holds = request.session.get(SESSION_HOLDS, {})
    holds.pop(str(pk), None)
    request.session[SESSION_HOLDS] = holds


def _manage_url(request: HttpRequest, appointment: Appointment) -> str:
    return request.build_absolute_uri(
        reverse(
            "appointments:manage",
            args=[appointment.organisation.slug, booking.manage_token(appointment)],
        )
    )


def _appointment(org: str, token: str) -> Appointment:
    organisation = _organisation(org)
    try:
        return booking.get_appointment_by_token(
            organisation=organisation, token=token, now=timezone.now()
        )
    except booking.InvalidLink as error:
        raise Http404("Invalid link") from error


# --- Booking: choosing ----------------------------------------------------------------------


@require_safe
def choose_service(request: HttpRequest, org: str) -> HttpResponse:
    organisation = _organisation(org)
    return render(
        request,
        "appointments/choose_service.html",
        {"organisation": organisation, "levels": catalogue.group_services_by_level(organisation)},
    )


@require_safe
def choose_channel(request: HttpRequest, org: str, service: str) -> HttpResponse:
    organisation = _organisation(org)
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
    organisation = _organisation(org)
    found = catalogue.get_public_service(organisation, service)
    how = _channel(found, channel)
    offices = list(found.offices.filter(is_active=True).order_by("name"))
    if how == Channel.IN_PERSON and len(offices) == 1:
        return redirect(_flow_url(found, how, offices[0], "time"))
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
    organisation = _organisation(org)
    found = catalogue.get_public_service(organisation, service)
    how = _channel(found, channel)
    office = _office(organisation, found, how, request.GET.get("office"))
    now = timezone.now()
    problem: str = ""
    alternatives: list[Any] = []
    if request.method == "POST":
        if _limited(request, "hold"):
            return _too_many(request, organisation)
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
                _remember_hold(request, held.pk, None)
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
            "waiting_list_url": _flow_url(found, how, office, "waiting-list"),
        },
        status=409 if alternatives else 200,
    )


# --- Booking: details, review, confirmation -------------------------------------------------


@require_http_methods(["GET", "HEAD", "POST"])
def details(request: HttpRequest, org: str, hold: int) -> HttpResponse:
    organisation = _organisation(org)
    held = _held(request, organisation, hold)
    if held.status == Appointment.Status.BOOKED:
        return redirect(_manage_url(request, held))
    saved = request.session[SESSION_HOLDS].get(str(held.pk))
    form = ContactForm(
        request.POST if request.method == "POST" else None,
        initial=saved or {"language": get_language(), "on_behalf": "no"},
    )
    if request.method == "POST" and form.is_valid():
        try:
            _send_code_if_needed(held, form, saved)
        except booking.BookingError as error:
            form.add_error(None, str(error.message))
        else:
            _remember_hold(request, held.pk, form.to_session())
            return redirect("appointments:review", org, held.pk)
    return render(
        request,
        "appointments/details.html",
        {"organisation": organisation, "appointment": held, "form": form},
    )


def _send_code_if_needed(held: Appointment, form: ContactForm, saved: dict | None) -> None:
    """For services that ask for it: a code to the address just given (again only if the
    address changed: going back to fix a typo elsewhere sends nothing)."""
    if not held.service.requires_verification:
        return
    contact = form.contact()
    sent = booking.latest_code(appointment=held)
    if sent is None or sent.recipient != booking.where_to_send_code(contact)[1]:
        booking.send_verification_code(appointment=held, contact=contact, now=timezone.now())


@require_http_methods(["GET", "HEAD", "POST"])
def review(request: HttpRequest, org: str, hold: int) -> HttpResponse:
    organisation = _organisation(org)
    held = _held(request, organisation, hold)
    if held.status == Appointment.Status.BOOKED:
        return redirect(_manage_url(request, held))
    saved = request.session[SESSION_HOLDS].get(str(held.pk))
    form = ContactForm(saved) if saved else None
    if form is None or not form.is_valid():
        return redirect("appointments:details", org, held.pk)
    problem = ""
    if request.method == "POST":
        if _limited(request, "confirm"):
            return _too_many(request, organisation)
        try:
            booked = _confirm(request, held, form)
        except booking.BookingError as error:
            problem = str(error.message)
        else:
            _forget_hold(request, held.pk)
            request.session["just_booked"] = booked.pk
            return redirect(_manage_url(request, booked))
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
        booking.check_verification_code(
            appointment=held, code=request.POST.get("code", ""), now=now
        )
    return booking.confirm_booking(appointment=held, contact=form.contact(), now=now)


def _code_sent_to(held: Appointment) -> str:
    """Where the code went, partly hidden: n•••@example.org, •••• 678."""
    sent = booking.latest_code(appointment=held) if held.service.requires_verification else None
    if sent is None:
        return ""
    if sent.channel == "email":
        name, _at, domain = sent.recipient.partition("@")
        return f"{name[:1]}•••@{domain}"
    return f"•••• {sent.recipient[-3:]}"


@require_http_methods(["POST"])
def release(request: HttpRequest, org: str, hold: int) -> HttpResponse:
    """The citizen chooses another time: free this one at once."""
    organisation = _organisation(org)
    held = _held(request, organisation, hold)
    service, channel, office = held.service, Channel(held.channel), held.office
    if held.status == Appointment.Status.HELD:
        booking.release_hold(appointment=held)
    _forget_hold(request, hold)
    return redirect(_flow_url(service, channel, office, "time"))


# --- Managing an appointment from the link in a message -------------------------------------


@require_safe
def manage(request: HttpRequest, org: str, token: str) -> HttpResponse:
    appointment = _appointment(org, token)
    just_booked = request.session.pop("just_booked", None) == appointment.pk
    manage_url = _manage_url(request, appointment)
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
        },
    )


@require_safe
def calendar_file(request: HttpRequest, org: str, token: str) -> HttpResponse:
    appointment = _appointment(org, token)
    body = appointment_ics(
        appointment, manage_url=_manage_url(request, appointment), now=timezone.now()
    )
    response = HttpResponse(body, content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="appointment-{appointment.code}.ics"'
    response["Cache-Control"] = "no-store"
    return response


@require_http_methods(["GET", "HEAD", "POST"])
def cancel(request: HttpRequest, org: str, token: str) -> HttpResponse:
    appointment = _appointment(org, token)
    form = CancelForm(request.POST if request.method == "POST" else None)
    problem = ""
    if request.method == "POST" and form.is_valid():
        if _limited(request, "change"):
            return _too_many(request, appointment.organisation)
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
    appointment = _appointment(org, token)
    organisation = appointment.organisation
    now = timezone.now()
    if not booking.can_be_changed(appointment, now=now):
        messages.error(request, _("This appointment can no longer be changed."))
        return redirect("appointments:manage", org, token)
    problem, alternatives = "", []
    if request.method == "POST":
        if _limited(request, "change"):
            return _too_many(request, organisation)
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
    organisation = _organisation(org)
    found = catalogue.get_public_service(organisation, service)
    how = _channel(found, channel)
    office = _office(organisation, found, how, request.GET.get("office"))
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
        if _limited(request, "waiting"):
            return _too_many(request, organisation)
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
    organisation = _organisation(org)
    try:
        entry = booking.get_waiting_entry_by_token(organisation=organisation, token=token)
    except booking.InvalidLink as error:
        raise Http404("Invalid link") from error
    if request.method == "POST":
        if _limited(request, "change"):
            return _too_many(request, organisation)
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
        return redirect(_manage_url(request, booked))
    return render(
        request,
        "appointments/waiting.html",
        {"organisation": organisation, "entry": entry, "token": token},
    )
