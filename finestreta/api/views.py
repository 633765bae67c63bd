"""The integrators' REST API (/api/v1/<org>/…): thin views over the booking services.

Every rule lives in the services (`appointments.services`, `scheduling.services`); these views
validate, resolve what the client names within the URL's organisation, call a service and
answer. Errors are turned into one JSON shape by `errors.exception_handler`.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any
from zoneinfo import ZoneInfo

from django.db import IntegrityError
from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.renderers import (
    OpenApiJsonRenderer,
    OpenApiJsonRenderer2,
    OpenApiYamlRenderer,
    OpenApiYamlRenderer2,
)
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework import status
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from finestreta.appointments import services as booking
from finestreta.appointments.models import Appointment, CancelledBy
from finestreta.catalogue.models import Channel, Service
from finestreta.catalogue.services import list_public_services
from finestreta.lib.net import client_ip
from finestreta.scheduling.services import find_slots
from finestreta.tenants.models import Organisation
from finestreta.tenants.services import list_public_offices, list_public_organisations

from . import serializers as s
from .errors import ApiError, error_responses, field_error, invalid_token, not_found
from .tokens import UnknownHold, hold_token, read_hold_token

IDEMPOTENCY_KEY = re.compile(r"^[\x21-\x7e]{1,100}$")
# Signed tokens: base64url and colons.
TOKEN_PATTERN = r"^[A-Za-z0-9_:\-]+$"  # noqa: S105 - a pattern, not a password  # nosec B105

ORG = OpenApiParameter(
    "org",
    OpenApiTypes.STR,
    OpenApiParameter.PATH,
    pattern=r"^[-a-zA-Z0-9_]+$",
    description="The organisation's slug.",
)
TOKEN = OpenApiParameter(
    "token",
    OpenApiTypes.STR,
    OpenApiParameter.PATH,
    pattern=TOKEN_PATTERN,
    description="A manage token from the booking's answer.",
)
HOLD = OpenApiParameter(
    "token",
    OpenApiTypes.STR,
    OpenApiParameter.PATH,
    pattern=TOKEN_PATTERN,
    description="A hold token from POST holds/.",
)
IDEMPOTENCY = OpenApiParameter(
    "Idempotency-Key",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    required=False,
    pattern=IDEMPOTENCY_KEY.pattern,
    description="Up to 100 visible ASCII characters. A retry with the same key returns the "
    "appointment the first request made (200) instead of booking again.",
)


# Every endpoint lives under an active organisation; times are shown in its zone. (A comment,
# not a docstring: the schema would show it as every operation's description.)
class OrganisationView(APIView):
    organisation: Organisation

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)  # throttles first
        found = list_public_organisations().filter(slug=kwargs.get("org", "")).first()
        if found is None:
            raise not_found(_("There is no such organisation."))
        self.organisation = found
        timezone.activate(ZoneInfo(found.time_zone))

    def finalize_response(
        self, request: Request, response: Any, *args: Any, **kwargs: Any
    ) -> Response:
        timezone.deactivate()
        return super().finalize_response(request, response, *args, **kwargs)

    def context(self) -> dict[str, Any]:
        return {"organisation": self.organisation}

    def service(self, slug: str) -> Service:
        found = list_public_services(self.organisation).filter(slug=slug).first()
        if found is None:
            raise not_found(_("There is no such service."))
        return found

    def hold_pk(self, token: str) -> int:
        try:
            return read_hold_token(token, organisation=self.organisation)
        except UnknownHold as error:
            raise invalid_token() from error

    def appointment(self, token: str) -> Appointment:
        return booking.get_appointment_by_token(
            organisation=self.organisation, token=token, now=timezone.now()
        )


# --- Building the answers ------------------------------------------------------------------


def service_json(service: Service) -> dict[str, Any]:
    return {
        "slug": service.slug,
        "name": service.name,
        "description": service.description,
        "attention_level": {
            "code": service.attention_level,
            "label": str(service.get_attention_level_display()),
            "explanation": service.attention_level_explanation,
        },
        "channels": [{"code": c.value, "label": str(c.label)} for c in service.channels],
        "duration_minutes": service.duration_minutes,
        "min_notice_hours": service.min_notice_hours,
        "max_days_ahead": service.max_days_ahead,
        "requires_verification": service.requires_verification,
        "documents": service.documents,
        "offices": [{"slug": o.slug, "name": o.name} for o in service.offices.all() if o.is_active],
    }


def appointment_json(appointment: Appointment) -> dict[str, Any]:
    office = appointment.office
    return {
        "code": appointment.code,
        "status": appointment.status,
        "service": {"slug": appointment.service.slug, "name": appointment.service.name},
        "channel": appointment.channel,
        "office": {"slug": office.slug, "name": office.name} if office else None,
        "start": appointment.starts_at,
        "end": appointment.ends_at,
        "time_zone": office.zone_name if office else appointment.organisation.time_zone,
        "changeable": booking.can_be_changed(appointment, now=timezone.now()),
        "cancelled_at": appointment.cancelled_at,
        "contact": {
            "name": appointment.name,
            "email": appointment.email,
            "phone": appointment.phone,
            "language": appointment.language,
            "needs": [name for name, flag in s.NEEDS.items() if getattr(appointment, flag, False)],
        },
        "manage_token": booking.manage_token(appointment),
    }


def appointment_response(appointment: Appointment, *, created: bool = False) -> Response:
    return Response(
        s.AppointmentSerializer(appointment_json(appointment)).data,
        status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
    )


def idempotency_key(request: Request) -> str | None:
    key = request.headers.get("Idempotency-Key")
    if key is None:
        return None
    if not IDEMPOTENCY_KEY.match(key):
        raise field_error(
            "Idempotency-Key",
            _("Use 1 to 100 visible ASCII characters, for example a UUID."),
        )
    return key


# --- Catalogue -----------------------------------------------------------------------------


class ServiceListView(OrganisationView):
    @extend_schema(
        summary="List the organisation's services",
        tags=["catalogue"],
        parameters=[ORG],
        responses={200: s.ServiceSerializer(many=True), **error_responses()},
    )
    def get(self, request: Request, org: str) -> Response:
        services = list_public_services(self.organisation)
        return Response(s.ServiceSerializer([service_json(x) for x in services], many=True).data)


class ServiceDetailView(OrganisationView):
    @extend_schema(
        summary="One service",
        tags=["catalogue"],
        parameters=[ORG],
        responses={200: s.ServiceSerializer, **error_responses()},
    )
    def get(self, request: Request, org: str, service: str) -> Response:
        return Response(s.ServiceSerializer(service_json(self.service(service))).data)


class OfficeListView(OrganisationView):
    @extend_schema(
        summary="List the organisation's offices",
        tags=["catalogue"],
        parameters=[ORG],
        responses={200: s.OfficeSerializer(many=True), **error_responses()},
    )
    def get(self, request: Request, org: str) -> Response:
        offices = [
            {
                "slug": o.slug,
                "name": o.name,
                "kind": {"code": o.kind, "label": str(o.get_kind_display())},
                "address": o.address,
                "postcode": o.postcode,
                "municipality": o.municipality.name if o.municipality else None,
                "phone": o.phone,
                "email": o.email,
                "time_zone": o.zone_name,
                "opening_hours": [
                    {
                        "weekday": h.weekday,
                        "opens": f"{h.opens:%H:%M}",
                        "closes": f"{h.closes:%H:%M}",
                    }
                    for h in sorted(o.opening_hours.all(), key=lambda h: (h.weekday, h.opens))
                ],
            }
            for o in list_public_offices(self.organisation)
        ]
        return Response(s.OfficeSerializer(offices, many=True).data)


class AvailabilityView(OrganisationView):
    @extend_schema(
        summary="Free times of a service",
        description="In person needs an office; by video or phone, leave the office out to "
        "pool every office's staff. Times are in the organisation's zone, with their offset.",
        tags=["booking"],
        parameters=[ORG, s.AvailabilityQuerySerializer],
        responses={200: s.AvailabilitySerializer, **error_responses(400)},
    )
    def get(self, request: Request, org: str, service: str) -> Response:
        found = self.service(service)
        query = s.AvailabilityQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        channel = Channel(query.validated_data["channel"])
        office = s.resolve_office(found, channel, query.validated_data.get("office"))
        slots = find_slots(
            service=found,
            channel=channel,
            now=timezone.now(),
            office=office,
            days=query.validated_data.get("days"),
        )
        answer = {
            "service": found.slug,
            "channel": channel.value,
            "office": office.slug if office else None,
            "time_zone": office.zone_name if office else self.organisation.time_zone,
            "slots": [{"start": slot.start, "end": slot.end} for slot in slots],
        }
        return Response(s.AvailabilitySerializer(answer).data)


# --- Holding, booking ----------------------------------------------------------------------


class HoldListView(OrganisationView):
    @extend_schema(
        summary="Hold a time while the citizen fills in their details",
        description="A few holds at most per client address at once (too_many_holds).",
        tags=["booking"],
        parameters=[ORG],
        request=s.HoldRequestSerializer,
        responses={201: s.HoldSerializer, **error_responses(400, 409, 415)},
    )
    def post(self, request: Request, org: str) -> Response:
        data = s.HoldRequestSerializer(data=request.data, context=self.context())
        data.is_valid(raise_exception=True)
        where = data.validated_data
        held = booking.hold_slot(
            service=where["service"],
            channel=where["channel"],
            office=where["office"],
            start=where["start"],
            now=timezone.now(),
            client=booking.client_key(client_ip(request) or ""),
        )
        answer = {
            "hold": hold_token(held),
            "expires_at": held.hold_expires_at,
            "service": where["service"].slug,
            "channel": held.channel,
            "office": held.office.slug if held.office else None,
            "start": held.starts_at,
            "end": held.ends_at,
        }
        return Response(s.HoldSerializer(answer).data, status=status.HTTP_201_CREATED)


class HoldDetailView(OrganisationView):
    @extend_schema(
        summary="Release a held time",
        tags=["booking"],
        parameters=[ORG, HOLD],
        responses={204: None, **error_responses()},
    )
    def delete(self, request: Request, org: str, token: str) -> Response:
        pk = self.hold_pk(token)
        try:
            held = booking.get_hold(organisation=self.organisation, pk=pk, now=timezone.now())
        except booking.HoldExpired:
            return Response(status=status.HTTP_204_NO_CONTENT)  # already gone: nothing to do
        booking.release_hold(appointment=held)
        return Response(status=status.HTTP_204_NO_CONTENT)


class VerificationCodeView(OrganisationView):
    @extend_schema(
        summary="Send a verification code for a held time",
        description="For services with `requires_verification`: a six-digit code goes to the "
        "contact's e-mail (or else mobile; the representative's when the person gave neither). "
        "Book with the same contact and the code; it lasts 15 minutes and 5 tries. Each call "
        "sends a new code (the latest is the one that counts), three at most per hold "
        "(too_many_codes). A service without verification answers verification_not_required.",
        tags=["booking"],
        parameters=[ORG, HOLD],
        request=s.VerificationCodeRequestSerializer,
        responses={202: s.VerificationCodeSerializer, **error_responses(400, 409, 415)},
    )
    def post(self, request: Request, org: str, token: str) -> Response:
        pk = self.hold_pk(token)
        data = s.VerificationCodeRequestSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        now = timezone.now()
        held = booking.get_hold(organisation=self.organisation, pk=pk, now=now)
        if held.status != Appointment.Status.HELD:
            raise booking.HoldExpired(_("This time is booked already: it needs no code."))
        if not held.service.requires_verification:
            raise ApiError(
                status_code=status.HTTP_409_CONFLICT,
                code="verification_not_required",
                message=_("This service needs no code: book the held time directly."),
            )
        contact = s.ContactSerializer.to_contact(data.validated_data["contact"])
        sent = booking.send_verification_code(appointment=held, contact=contact, now=now)
        answer = {
            "sent_to": booking.masked_destination(sent),
            "channel": sent.channel,
            "expires_at": sent.expires_at,
        }
        return Response(s.VerificationCodeSerializer(answer).data, status=status.HTTP_202_ACCEPTED)


class BookingListView(OrganisationView):
    @extend_schema(
        summary="Book an appointment",
        description="Send either `hold` (from POST holds/) or `service`, `channel`, `office` "
        "and `start`, with the contact. 201 with the appointment and its manage token; a retry "
        "with the same Idempotency-Key answers 200 with the same appointment. A service with "
        "`requires_verification` is booked only from a hold, with the `code` sent by POST "
        "holds/{token}/verification-code/ to the same contact: without it (or in one step) "
        "409 verification_required, with a wrong one 400 wrong_code.",
        tags=["booking"],
        parameters=[ORG, IDEMPOTENCY],
        request=s.BookingRequestSerializer,
        responses={
            201: s.AppointmentSerializer,
            200: s.AppointmentSerializer,
            **error_responses(400, 409, 415),
        },
    )
    def post(self, request: Request, org: str) -> Response:
        key = idempotency_key(request)
        earlier = (
            booking.find_by_idempotency_key(organisation=self.organisation, key=key)
            if key
            else None
        )
        # Still held: its request was cut off before booking it; this retry books it below.
        if earlier is not None and earlier.status != Appointment.Status.HELD:
            return appointment_response(earlier)
        data = s.BookingRequestSerializer(data=request.data, context=self.context())
        data.is_valid(raise_exception=True)
        now = timezone.now()
        where = data.validated_data
        contact = s.ContactSerializer.to_contact(where["contact"])
        try:
            if where.get("hold"):
                appointment, created = self._book_hold(
                    where["hold"], contact, where.get("code", ""), key, now
                )
            else:
                made = booking.book_appointment(
                    service=where["service"],
                    channel=where["channel"],
                    office=where["office"],
                    start=where["start"],
                    now=now,
                    contact=contact,
                    idempotency_key=key,
                )
                appointment, created = made.appointment, made.created
        except IntegrityError:
            # The same key won a race a moment ago: answer with what it booked.
            if not key:
                raise
            earlier = booking.find_by_idempotency_key(organisation=self.organisation, key=key)
            if earlier is None:
                raise
            return appointment_response(earlier)
        return appointment_response(appointment, created=created)

    def _book_hold(
        self,
        token: str,
        contact: booking.Contact,
        code: str,
        key: str | None,
        now: dt.datetime,
    ) -> tuple[Appointment, bool]:
        held = booking.get_hold(organisation=self.organisation, pk=self.hold_pk(token), now=now)
        was_booked = held.status == Appointment.Status.BOOKED
        if not was_booked:
            booking.verify_for_booking(appointment=held, contact=contact, code=code, now=now)
        appointment = booking.confirm_booking(
            appointment=held, contact=contact, now=now, idempotency_key=key
        )
        return appointment, not was_booked


# --- Managing an appointment ---------------------------------------------------------------


class AppointmentView(OrganisationView):
    @extend_schema(
        summary="Read an appointment",
        tags=["appointments"],
        parameters=[ORG, TOKEN],
        responses={200: s.AppointmentSerializer, **error_responses()},
    )
    def get(self, request: Request, org: str, token: str) -> Response:
        return appointment_response(self.appointment(token))

    @extend_schema(
        summary="Cancel an appointment",
        description="Cancelling twice is harmless. The freed time goes to the waiting list.",
        tags=["appointments"],
        parameters=[ORG, TOKEN],
        request=s.CancelRequestSerializer,
        responses={200: s.AppointmentSerializer, **error_responses(400, 409, 415)},
    )
    def delete(self, request: Request, org: str, token: str) -> Response:
        appointment = self.appointment(token)
        data = s.CancelRequestSerializer(data=request.data or {})
        data.is_valid(raise_exception=True)
        cancelled = booking.cancel_appointment(
            appointment=appointment,
            now=timezone.now(),
            by=CancelledBy.CITIZEN,
            reason=data.validated_data.get("reason", ""),
        )
        return appointment_response(cancelled)


class RescheduleView(OrganisationView):
    @extend_schema(
        summary="Move an appointment to another time",
        description="Same service, channel and office; the code and manage token stay.",
        tags=["appointments"],
        parameters=[ORG, TOKEN],
        request=s.RescheduleRequestSerializer,
        responses={200: s.AppointmentSerializer, **error_responses(400, 409, 415)},
    )
    def post(self, request: Request, org: str, token: str) -> Response:
        appointment = self.appointment(token)
        data = s.RescheduleRequestSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        now = timezone.now()
        if not booking.can_be_changed(appointment, now=now):
            raise booking.NotChangeable()
        moved = booking.reschedule_appointment(
            appointment=appointment, start=data.validated_data["start"], now=now
        )
        return appointment_response(moved)


class WaitingListView(OrganisationView):
    @extend_schema(
        summary="Wait for a time to free up",
        description="The first time freed between the two days is held for the first person "
        "waiting, and they are told.",
        tags=["booking"],
        parameters=[ORG],
        request=s.WaitingListRequestSerializer,
        responses={201: s.WaitingListEntrySerializer, **error_responses(400, 415)},
    )
    def post(self, request: Request, org: str) -> Response:
        data = s.WaitingListRequestSerializer(data=request.data, context=self.context())
        data.is_valid(raise_exception=True)
        where = data.validated_data
        entry = booking.join_waiting_list(
            service=where["service"],
            channel=where["channel"],
            office=where["office"],
            earliest=where["earliest"],
            latest=where["latest"],
            contact=s.WaitingContactSerializer.to_contact(where["contact"]),
            now=timezone.now(),
        )
        answer = {
            "service": entry.service.slug,
            "channel": entry.channel,
            "office": entry.office.slug if entry.office else None,
            "earliest": entry.earliest,
            "latest": entry.latest,
            "status": entry.status,
        }
        return Response(s.WaitingListEntrySerializer(answer).data, status=status.HTTP_201_CREATED)


# --- Outside the versioned API -------------------------------------------------------------


@csrf_exempt  # no cookies are used here: a POST to a wrong address is a 404 like a GET
def unknown_path(request: HttpRequest) -> JsonResponse:
    """Any other address under /api/: a JSON 404, never an HTML page."""
    return JsonResponse(
        {"error": {"code": "not_found", "message": str(_("There is nothing at this address."))}},
        status=404,
    )


class SchemaView(SpectacularAPIView):
    """The OpenAPI 3 schema: JSON by default, YAML with ?format=yaml or Accept."""

    renderer_classes = [
        OpenApiJsonRenderer,
        OpenApiJsonRenderer2,
        OpenApiYamlRenderer,
        OpenApiYamlRenderer2,
    ]
    content_negotiation_class = DefaultContentNegotiation


class DocsView(SpectacularSwaggerSplitView):
    """Swagger UI from drf-spectacular-sidecar (served here, no CDN), its start-up script a
    separate file: the Content-Security-Policy allows no inline script or style."""

    template_name = "api/docs.html"
    url_name = "api:schema"
