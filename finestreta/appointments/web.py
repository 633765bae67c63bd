"""Helpers shared by the citizen's pages: the organisation and its time zone, the choices in
the URL, the holds this browser made, rate limits and the manage link."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django_ratelimit.core import is_ratelimited

from finestreta.appointments import services as booking
from finestreta.appointments.models import Appointment
from finestreta.catalogue.models import Channel, Service
from finestreta.lib.net import client_ip
from finestreta.tenants import services as tenants
from finestreta.tenants.models import Office, Organisation

SESSION_HOLDS = "booking_holds"
ANY_OFFICE = "any"


def limited(request: HttpRequest, group: str) -> bool:
    """Too many attempts from this address (django-ratelimit, counted in the cache)."""
    return is_ratelimited(
        request,
        group=f"booking.{group}",
        key=lambda _group, req: client_ip(req) or "unknown",
        rate=settings.BOOKING_RATE_LIMIT,
        increment=True,
    )


def too_many(request: HttpRequest, organisation: Organisation) -> HttpResponse:
    return render(request, "appointments/too_many.html", {"organisation": organisation}, status=429)


def public_organisation(slug: str) -> Organisation:
    organisation = tenants.get_public_organisation(slug)
    timezone.activate(ZoneInfo(organisation.time_zone))
    return organisation


def offered_channel(service: Service, value: str) -> Channel:
    if value not in Channel.values or Channel(value) not in service.channels:
        raise Http404("Channel not offered")
    return Channel(value)


def chosen_office(
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


def flow_url(service: Service, channel: Channel, office: Office | None, step: str) -> str:
    url = reverse(
        f"appointments:{step}", args=[service.organisation.slug, service.slug, channel.value]
    )
    return f"{url}?office={office.slug if office else ANY_OFFICE}"


def held_by_browser(request: HttpRequest, organisation: Organisation, pk: int) -> Appointment:
    """A hold this browser made; anyone else's is not found."""
    if str(pk) not in request.session.get(SESSION_HOLDS, {}):
        raise Http404("Not this browser's hold")
    try:
        return booking.get_hold(organisation=organisation, pk=pk, now=timezone.now())
    except booking.HoldExpired as error:
        raise Http404("Hold gone") from error


def remember_hold(request: HttpRequest, pk: int, data: dict[str, Any] | None) -> None:
    holds = request.session.get(SESSION_HOLDS, {})
    holds[str(pk)] = data
    request.session[SESSION_HOLDS] = holds


def forget_hold(request: HttpRequest, pk: int) -> None:
    holds = request.session.get(SESSION_HOLDS, {})
    holds.pop(str(pk), None)
    request.session[SESSION_HOLDS] = holds


def manage_url(request: HttpRequest, appointment: Appointment) -> str:
    return request.build_absolute_uri(
        reverse(
            "appointments:manage",
            args=[appointment.organisation.slug, booking.manage_token(appointment)],
        )
    )


def appointment_from_link(org: str, token: str) -> Appointment:
    organisation = public_organisation(org)
    try:
        return booking.get_appointment_by_token(
            organisation=organisation, token=token, now=timezone.now()
        )
    except booking.InvalidLink as error:
        raise Http404("Invalid link") from error
