"""One shape for every error the API returns, and the one exception handler that makes it.

    {"error": {"code": "slot_taken", "message": "...", "fields": {...}, "alternatives": [...]}}

`code` is stable and meant for programs; `message` is for people, in the request's language
(Accept-Language). `fields` comes with validation errors (400), `alternatives` (the next free
times) with `slot_taken`.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiResponse
from rest_framework import exceptions, serializers, status
from rest_framework.response import Response

from finestreta.appointments.services import BookingError, SlotTaken
from finestreta.scheduling.availability import Slot
from finestreta.scheduling.services import NotOffered

# How each refusal of the booking services is answered. too_many_appointments is a conflict
# with what the person already has (409: cancel one first), too_many_holds and too_many_codes
# are abuse control (429, like the rate limits). verification_required is a conflict with the
# hold's state (no verified code yet: ask for one, then send it); wrong_code is bad input (400).
BOOKING_STATUS = {
    "slot_taken": status.HTTP_409_CONFLICT,
    "hold_expired": status.HTTP_409_CONFLICT,
    "not_changeable": status.HTTP_409_CONFLICT,
    "too_many_appointments": status.HTTP_409_CONFLICT,
    "verification_required": status.HTTP_409_CONFLICT,
    "wrong_code": status.HTTP_400_BAD_REQUEST,
    "too_many_holds": status.HTTP_429_TOO_MANY_REQUESTS,
    "too_many_codes": status.HTTP_429_TOO_MANY_REQUESTS,
    "too_many_bookings": status.HTTP_429_TOO_MANY_REQUESTS,
    "invalid_link": status.HTTP_404_NOT_FOUND,
}
# The API calls a bad manage or hold token what it is.
RENAMED = {"invalid_link": "invalid_token"}


class ApiError(exceptions.APIException):
    """An error with our own code and message."""

    def __init__(
        self, *, status_code: int, code: str, message: str | Promise, fields: Any = None
    ) -> None:
        super().__init__(detail=str(message), code=code)
        self.status_code = status_code
        self.error_code = code
        self.message = message
        self.fields = fields


def not_found(message: str | Promise) -> ApiError:
    return ApiError(status_code=404, code="not_found", message=message)


def invalid_token() -> ApiError:
    return ApiError(
        status_code=404,
        code="invalid_token",
        message=_("This token is not valid here, or has expired."),
    )


def field_error(field: str, message: str | Promise, *, code: str = "invalid") -> ApiError:
    return ApiError(
        status_code=400,
        code=code,
        message=_("Some of the data sent is not valid; see fields."),
        fields={field: [str(message)]},
    )


def slot_json(slot: Slot) -> dict[str, str]:
    return {"start": slot.start.isoformat(), "end": slot.end.isoformat()}


def _body(code: str, message: str | Promise, **extra: Any) -> dict[str, Any]:
    error: dict[str, Any] = {"code": code, "message": str(message)}
    error.update({key: value for key, value in extra.items() if value is not None})
    return {"error": error}


def _plain(detail: Any) -> Any:
    """DRF's error details as plain JSON: lists of messages, nested by field."""
    if isinstance(detail, dict):
        return {str(key): _plain(value) for key, value in detail.items()}
    if isinstance(detail, list):
        return [_plain(value) for value in detail]
    return str(detail)


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's EXCEPTION_HANDLER: every refusal in the one shape above."""
    if isinstance(exc, SlotTaken):
        return Response(
            _body(exc.code, exc.message, alternatives=[slot_json(s) for s in exc.alternatives]),
            status=status.HTTP_409_CONFLICT,
        )
    if isinstance(exc, BookingError):
        code = RENAMED.get(exc.code, exc.code)
        return Response(
            _body(code, exc.message),
            status=BOOKING_STATUS.get(exc.code, status.HTTP_400_BAD_REQUEST),
        )
    if isinstance(exc, NotOffered):
        return Response(
            _body(
                "not_offered",
                _("This service is not offered through this channel or at this office."),
            ),
            status=status.HTTP_400_BAD_REQUEST,
        )
    if isinstance(exc, ApiError):
        return Response(
            _body(exc.error_code, exc.message, fields=exc.fields), status=exc.status_code
        )
    if isinstance(exc, Http404):
        exc = exceptions.NotFound(_("There is nothing at this address."))
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    if not isinstance(exc, exceptions.APIException):
        return None  # a bug: let Django log it and answer 500
    headers = {}
    if isinstance(exc, exceptions.Throttled):
        wait = getattr(exc, "wait", None)
        if wait is not None:
            headers["Retry-After"] = str(int(wait) + 1)
        body = _body(
            "throttled",
            _("Too many requests from this address. Wait a little and try again."),
        )
    elif isinstance(exc, exceptions.ValidationError):
        body = _body(
            "invalid",
            _("Some of the data sent is not valid; see fields."),
            fields=_plain(exc.detail)
            if isinstance(exc.detail, dict)
            else {"non_field_errors": _plain(exc.detail)},
        )
    else:
        codes = exc.get_codes()
        code = codes if isinstance(codes, str) else exc.default_code
        body = _body(str(code), _plain(exc.detail))
    return Response(body, status=exc.status_code, headers=headers)


# --- For the schema (developer documentation: English, not translated) ------------------------


class SlotSerializer(serializers.Serializer):
    start = serializers.DateTimeField(help_text=("Start, with its offset (ISO 8601)."))
    end = serializers.DateTimeField()


class ErrorDetailSerializer(serializers.Serializer):
    code = serializers.CharField(
        help_text=(
            "Stable, for programs: invalid, parse_error, not_found, invalid_token, not_offered, "
            "slot_taken, hold_expired, not_changeable, too_many_appointments, too_many_holds, "
            "verification_required, verification_not_required, wrong_code, too_many_codes, "
            "throttled, booking_error, method_not_allowed, unsupported_media_type."
        )
    )
    message = serializers.CharField(help_text=("For people, in the request's language."))
    # Declared fields leave the class at run time; mypy sees Serializer.fields.
    fields = serializers.DictField(  # type: ignore[assignment]
        required=False,
        child=serializers.JSONField(),
        help_text=("Validation errors by field (lists of messages; nested for objects)."),
    )
    alternatives = SlotSerializer(
        many=True, required=False, help_text=("With slot_taken: the next free times.")
    )


class ErrorSerializer(serializers.Serializer):
    error = ErrorDetailSerializer()


ERROR_DESCRIPTIONS = {
    400: ("Invalid input (code invalid, parse_error, not_offered, wrong_code or booking_error)."),
    404: ("Unknown organisation, service, office or token."),
    405: ("Method not allowed."),
    409: (
        "Conflict: slot_taken, hold_expired, not_changeable, too_many_appointments, "
        "verification_required or verification_not_required."
    ),
    415: ("The body must be JSON (Content-Type: application/json)."),
    429: (
        "Too many requests: throttled (see Retry-After), too_many_holds, too_many_codes or "
        "too_many_bookings "
        "(no Retry-After: finish or release a hold; use a code already sent)."
    ),
}


def error_responses(*codes: int) -> dict[int, OpenApiResponse]:
    """The documented error responses of an operation (404, 405 and 429 always)."""
    wanted = sorted({404, 405, 429, *codes})
    return {
        code: OpenApiResponse(ErrorSerializer, description=ERROR_DESCRIPTIONS[code])
        for code in wanted
    }
