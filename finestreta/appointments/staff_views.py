"""Staff pages of appointments: the agenda, one appointment and what staff do with it (mark it
attended or not come, cancel it, move it), and booking for a citizen on the telephone.

Who reaches what is decided in `appointments.agenda` (see its docstring): any active member of
the organisation (agent and up) may use these pages, within their reach. Changes are POST only.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from finestreta.accounts.services import StaffContext, get_membership_for_staff
from finestreta.appointments import agenda
from finestreta.appointments import services as booking
from finestreta.appointments.models import Appointment, CancelledBy
from finestreta.appointments.staff_forms import (
    AgendaForm,
    BookingChoiceForm,
    CancelForm,
    OutcomeForm,
    SlotForm,
    StaffContactForm,
    WeekForm,
)
from finestreta.catalogue.models import Channel
from finestreta.notifications.status import list_for_appointment
from finestreta.recordings.services import recordings_for
from finestreta.scheduling.availability import Slot

# Alternatives offered when a time was taken may fall on any later day: show them all.
ALTERNATIVE_DAYS = 366


def _base(staff: StaffContext, **extra: Any) -> dict[str, Any]:
    return {"staff": staff, "organisation": staff.organisation, **extra}


def _to_detail(staff: StaffContext, appointment: Appointment) -> HttpResponse:
    return redirect("staff-appointments:detail", org=staff.organisation.slug, code=appointment.code)


# --- The agenda ----------------------------------------------------------------------------


@require_safe
@login_required
def agenda_page(request: HttpRequest, org: str) -> HttpResponse:
    staff = get_membership_for_staff(request, org)
    form = AgendaForm(request.GET, staff=staff)
    if not form.is_valid():  # the page says what to fix
        return render(
            request, "appointments/staff/agenda.html", _base(staff, form=form), status=400
        )
    first, days, whose = form.first_day(), form.days(), form.chosen_agenda()
    context = _base(
        staff,
        form=form,
        whose=whose,
        view=form.chosen_view(),
        first=first,
        last=first + dt.timedelta(days=days - 1),
        previous=first - dt.timedelta(days=days),
        next=first + dt.timedelta(days=days),
        today=agenda.today(staff),
        days=agenda.list_agenda(staff, whose=whose, first=first, days=days),
    )
    return render(request, "appointments/staff/agenda.html", context)


# --- One appointment -----------------------------------------------------------------------


def _detail(
    request: HttpRequest,
    staff: StaffContext,
    appointment: Appointment,
    *,
    cancel_form: CancelForm | None = None,
    status: int = 200,
) -> HttpResponse:
    agenda.record_appointment_viewed(staff, appointment)
    facts = agenda.detail_facts(appointment, now=timezone.now())
    context = _base(
        staff,
        appointment=appointment,
        cancel_form=cancel_form or CancelForm(),
        delivery=list_for_appointment(appointment.pk),
        recordings=recordings_for(staff, appointment),
        video_url=reverse("staff-video:open", args=[staff.organisation.slug, appointment.code])
        if appointment.channel == Channel.VIDEO and appointment.status == appointment.Status.BOOKED
        else "",
        **facts,
    )
    return render(request, "appointments/staff/detail.html", context, status=status)


@require_safe
@login_required
def appointment_detail(request: HttpRequest, org: str, code: str) -> HttpResponse:
    staff = get_membership_for_staff(request, org)
    return _detail(request, staff, agenda.get_appointment_for_staff(staff, code))


@login_required  # outermost: an anonymous visitor is sent to log in, whatever the method
@require_POST
def mark_outcome(request: HttpRequest, org: str, code: str) -> HttpResponse:
    staff = get_membership_for_staff(request, org)
    appointment = agenda.get_appointment_for_staff(staff, code)
    form = OutcomeForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose whether the person came."))
        return _to_detail(staff, appointment)
    attended = form.cleaned_data["outcome"] == "attended"
    try:
        booking.record_outcome(
            appointment=appointment, attended=attended, now=timezone.now(), staff=staff.membership
        )
    except booking.BookingError as error:
        messages.error(request, str(error.message))
    else:
        messages.success(
            request, _("Marked as attended.") if attended else _("Marked as not come.")
        )
    return _to_detail(staff, appointment)


@login_required
@require_POST
def cancel(request: HttpRequest, org: str, code: str) -> HttpResponse:
    staff = get_membership_for_staff(request, org)
    appointment = agenda.get_appointment_for_staff(staff, code)
    form = CancelForm(request.POST)
    if not form.is_valid():
        return _detail(request, staff, appointment, cancel_form=form, status=400)
    try:
        booking.cancel_appointment(
            appointment=appointment,
            now=timezone.now(),
            by=CancelledBy.OFFICE,
            reason=form.cleaned_data["reason"],
            staff=staff.membership,
        )
    except booking.BookingError as error:
        messages.error(request, str(error.message))
    else:
        messages.success(request, _("The appointment is cancelled."))
    return _to_detail(staff, appointment)


def _move_page(
    request: HttpRequest,
    staff: StaffContext,
    appointment: Appointment,
    *,
    now: dt.datetime,
    first: dt.date | None = None,
    alternatives: list[Slot] | None = None,
    status: int = 200,
) -> HttpResponse:
    zone = staff.organisation.time_zone
    slots = agenda.free_slots(
        service=appointment.service,
        channel=Channel(appointment.channel),
        office=appointment.office,
        now=now,
        moving=appointment,
    )
    others = [s for s in alternatives or [] if s.start != appointment.starts_at]
    context = _base(
        staff,
        appointment=appointment,
        page=agenda.slot_page(slots, zone_name=zone, first=first),
        alternatives=agenda.slot_page(others, zone_name=zone, first=None, days=ALTERNATIVE_DAYS),
    )
    return render(request, "appointments/staff/move.html", context, status=status)


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def move(request: HttpRequest, org: str, code: str) -> HttpResponse:
    staff = get_membership_for_staff(request, org)
    appointment = agenda.get_appointment_for_staff(staff, code)
    now = timezone.now()
    if not booking.can_be_changed(appointment, now=now):
        messages.error(request, str(booking.NotChangeable.message))
        return _to_detail(staff, appointment)
    if request.method != "POST":
        first = WeekForm(request.GET).first_day()
        return _move_page(request, staff, appointment, now=now, first=first)
    form = SlotForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose a time from the list."))
        return _move_page(request, staff, appointment, now=now, status=400)
    try:
        booking.reschedule_appointment(
            appointment=appointment,
            start=form.cleaned_data["start"],
            now=now,
            staff=staff.membership,
        )
    except booking.SlotTaken as taken:
        messages.error(request, str(taken.message))
        return _move_page(
            request, staff, appointment, now=now, alternatives=taken.alternatives, status=409
        )
    except booking.BookingError as error:
        messages.error(request, str(error.message))
        return _to_detail(staff, appointment)
    messages.success(request, _("The appointment is moved. Tell the person the new time."))
    return _to_detail(staff, appointment)


# --- Booking for a citizen on the telephone ------------------------------------------------


def _new_page(
    request: HttpRequest,
    staff: StaffContext,
    choice: BookingChoiceForm,
    *,
    contact: StaffContactForm | None = None,
    alternatives: list[Slot] | None = None,
    status: int = 200,
) -> HttpResponse:
    """Step 1 (service, how, where) until it is valid; then step 2 (a free time); once a time is
    chosen, step 3 (who is attended)."""
    context = _base(staff, choice=choice)
    zone = staff.organisation.time_zone
    if choice.is_bound and choice.is_valid():
        data = choice.cleaned_data
        if data["start"] is not None:
            context["contact"] = contact or StaffContactForm()
            if alternatives is not None:
                context["alternatives"] = agenda.slot_page(
                    alternatives, zone_name=zone, first=None, days=ALTERNATIVE_DAYS
                )
        else:
            slots = agenda.free_slots(
                service=data["service"],
                channel=Channel(data["channel"]),
                office=data["office"],
                now=timezone.now(),
            )
            context["page"] = agenda.slot_page(slots, zone_name=zone, first=data["week"])
    return render(request, "appointments/staff/new.html", context, status=status)


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def new_appointment(request: HttpRequest, org: str) -> HttpResponse:
    staff = get_membership_for_staff(request, org)
    if request.method == "POST":
        return _book(request, staff)
    choice = BookingChoiceForm(request.GET or None, staff=staff)
    status = 400 if choice.is_bound and not choice.is_valid() else 200
    return _new_page(request, staff, choice, status=status)


def _book(request: HttpRequest, staff: StaffContext) -> HttpResponse:
    choice = BookingChoiceForm(request.POST, staff=staff)
    contact = StaffContactForm(request.POST)
    if not choice.is_valid() or choice.cleaned_data["start"] is None:
        messages.error(request, _("Choose the service and a time again."))
        return _new_page(request, staff, choice, status=400)
    if not contact.is_valid():
        return _new_page(request, staff, choice, contact=contact, status=400)
    data = choice.cleaned_data
    try:
        made = booking.book_appointment(
            service=data["service"],
            channel=Channel(data["channel"]),
            start=data["start"],
            now=timezone.now(),
            contact=contact.contact(),
            office=data["office"],
            idempotency_key=contact.idempotency_key(),
            booked_by=staff.membership,
        )
    except booking.SlotTaken as taken:
        messages.error(request, str(taken.message))
        return _new_page(
            request, staff, choice, contact=contact, alternatives=taken.alternatives, status=409
        )
    except booking.BookingError as error:
        messages.error(request, str(error.message))
        return _new_page(request, staff, choice, contact=contact, status=409)
    code = made.appointment.code
    messages.success(
        request, _("Booked. Give the person the booking code: %(code)s.") % {"code": code}
    )
    return _to_detail(staff, made.appointment)
