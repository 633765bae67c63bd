"""What the API reads and writes. Input serializers validate and resolve (slugs to rows of the
URL's organisation, contact details to a `Contact`); output serializers describe the JSON that
`views` builds, so the schema and the responses cannot drift apart (Schemathesis checks it)."""

from __future__ import annotations

import re
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from finestreta.appointments.contact import normalise_id_document, normalise_phone
from finestreta.appointments.services import Contact
from finestreta.catalogue.models import Channel, Service
from finestreta.catalogue.services import list_public_services
from finestreta.tenants.models import Municipality, Office, Organisation
from finestreta.tenants.services import list_public_offices

from .errors import SlotSerializer

# The accessibility needs, as the API names them, and the appointment's flags.
NEEDS = {
    "sign_language": "needs_sign_language",
    "captions": "needs_captions",
    "extra_time": "needs_extra_time",
    "easy_read": "needs_easy_read",
}
LANGUAGE_CODES = [code for code, _name in settings.LANGUAGES]
INE_CODE = re.compile(r"^\d{5,6}$")


class AwareDateTimeField(serializers.DateTimeField):
    """A date and time with its offset: "10:00" alone would be a guess about the zone."""

    def enforce_timezone(self, value: Any) -> Any:
        if timezone.is_naive(value):
            raise serializers.ValidationError(
                _("Give the time with its offset, for example 2026-12-01T10:00:00+01:00.")
            )
        return super().enforce_timezone(value)


def _django_errors(error: DjangoValidationError) -> serializers.ValidationError:
    return serializers.ValidationError([str(message) for message in error.messages])


# --- Resolving what the client names -------------------------------------------------------


def resolve_service(organisation: Organisation, slug: str) -> Service:
    service = list_public_services(organisation).filter(slug=slug).first()
    if service is None:
        raise serializers.ValidationError({"service": [str(_("There is no such service."))]})
    return service


def resolve_office(service: Service, channel: Channel, office_slug: str | None) -> Office | None:
    """The office of a booking: required in person; optional (any office) by video or phone;
    always one that provides the service."""
    if channel not in service.channels:
        raise serializers.ValidationError(
            {"channel": [str(_("This service is not offered through this channel."))]}
        )
    if not office_slug:
        if channel == Channel.IN_PERSON:
            raise serializers.ValidationError(
                {"office": [str(_("Choose an office for an appointment in person."))]}
            )
        return None
    office = (
        list_public_offices(service.organisation).filter(slug=office_slug, services=service).first()
    )
    if office is None:
        raise serializers.ValidationError(
            {"office": [str(_("This service is not offered at this office."))]}
        )
    return office


class WhereSerializer(serializers.Serializer):
    """Service, channel and office of a time, resolved against the URL's organisation."""

    service = serializers.SlugField(max_length=80, help_text="The service's slug.")
    channel = serializers.ChoiceField(choices=Channel.choices)
    office = serializers.SlugField(
        max_length=60,
        required=False,
        allow_null=True,
        help_text="The office's slug: required in person; by video or phone, leave it out "
        "for any office.",
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        organisation = self.context["organisation"]
        service = resolve_service(organisation, attrs["service"])
        channel = Channel(attrs["channel"])
        attrs.update(
            service=service,
            channel=channel,
            office=resolve_office(service, channel, attrs.get("office")),
        )
        return attrs


class AvailabilityQuerySerializer(serializers.Serializer):
    channel = serializers.ChoiceField(choices=Channel.choices)
    office = serializers.SlugField(
        max_length=60,
        required=False,
        help_text="Required in person; by video or phone, leave it out for any office.",
    )
    days = serializers.IntegerField(
        min_value=1,
        max_value=365,
        required=False,
        help_text="How many days ahead to search (at most the service's booking window).",
    )


# --- Contact -------------------------------------------------------------------------------


class PhoneField(serializers.CharField):
    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", 30)
        kwargs.setdefault("required", False)
        kwargs.setdefault("allow_blank", True)
        kwargs.setdefault("help_text", "A mobile number; without +code it is read as Spanish.")
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> str:
        text = super().to_internal_value(data)
        try:
            return normalise_phone(text)
        except DjangoValidationError as error:
            raise _django_errors(error) from error


class RepresentativeSerializer(serializers.Serializer):
    """Whoever books on behalf of the person attended."""

    name = serializers.CharField(max_length=200)
    email = serializers.EmailField(required=False, allow_blank=True, max_length=254)
    phone = PhoneField()
    relation = serializers.CharField(
        max_length=100,
        required=False,
        allow_blank=True,
        help_text="Relationship to the person, for example: daughter, social worker.",
    )
    declaration = serializers.BooleanField(
        help_text="Must be true: the representative declares that they represent the person, "
        "and that the person agrees to the booking."
    )

    def validate_declaration(self, value: bool) -> bool:
        if not value:
            raise serializers.ValidationError(
                _("To book for someone else, declare that you represent them.")
            )
        return value


class ContactSerializer(serializers.Serializer):
    """Who is attended. An e-mail or a mobile (theirs or their representative's) is needed."""

    name = serializers.CharField(max_length=200)
    email = serializers.EmailField(required=False, allow_blank=True, max_length=254)
    phone = PhoneField()
    language = serializers.ChoiceField(
        choices=LANGUAGE_CODES,
        required=False,
        help_text="Language of the appointment and the messages (default: the request's).",
    )
    municipality = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=6,
        help_text="INE code of the municipality where the person lives, e.g. 08019.",
    )
    id_document = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=30,
        help_text="DNI, NIE or passport number; DNI and NIE letters are checked.",
    )
    needs = serializers.ListField(
        child=serializers.ChoiceField(choices=list(NEEDS)),
        required=False,
        max_length=len(NEEDS),
    )
    notes = serializers.CharField(required=False, allow_blank=True, max_length=1000)
    representative = RepresentativeSerializer(required=False, allow_null=True)

    def validate_id_document(self, value: str) -> str:
        try:
            return normalise_id_document(value)
        except DjangoValidationError as error:
            raise _django_errors(error) from error

    def validate_municipality(self, value: str) -> Municipality | None:
        code = value.strip()
        if not code:
            return None
        found = Municipality.objects.filter(ine_code=code).first() if INE_CODE.match(code) else None
        if found is None:
            raise serializers.ValidationError(_("There is no municipality with this INE code."))
        return found

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        representative = attrs.get("representative") or {}
        reachable = [
            attrs.get("email"),
            attrs.get("phone"),
            representative.get("email"),
            representative.get("phone"),
        ]
        if not any(reachable):
            raise serializers.ValidationError(
                {
                    "email": [
                        str(
                            _(
                                "Give an e-mail or a mobile phone, so that we can send "
                                "the confirmation."
                            )
                        )
                    ]
                }
            )
        return attrs

    @staticmethod
    def to_contact(data: dict[str, Any]) -> Contact:
        """The validated data as the services' Contact."""
        representative = data.get("representative") or {}
        language = data.get("language") or get_language() or "ca"
        municipality = data.get("municipality")
        return Contact(
            name=data["name"],
            email=data.get("email", ""),
            phone=data.get("phone", ""),
            language=language if language in LANGUAGE_CODES else "ca",
            municipality_id=municipality.pk if municipality else None,
            id_document=data.get("id_document", ""),
            needs=frozenset(NEEDS[need] for need in data.get("needs", [])),
            notes=data.get("notes", ""),
            representative_name=representative.get("name", ""),
            representative_email=representative.get("email", ""),
            representative_phone=representative.get("phone", ""),
            representative_relation=representative.get("relation", ""),
        )


# --- Requests ------------------------------------------------------------------------------


class HoldRequestSerializer(WhereSerializer):
    start = AwareDateTimeField(help_text="One of the times from availability.")


class BookingRequestSerializer(serializers.Serializer):
    """Either `hold` (a time held before) or `service`, `channel`, `office` and `start`."""

    hold = serializers.CharField(
        required=False, max_length=200, help_text="A hold token from POST holds/."
    )
    service = serializers.SlugField(max_length=80, required=False)
    channel = serializers.ChoiceField(choices=Channel.choices, required=False)
    office = serializers.SlugField(max_length=60, required=False, allow_null=True)
    start = AwareDateTimeField(required=False)
    contact = ContactSerializer()
    code = serializers.RegexField(
        r"^[0-9]{6}$",
        required=False,
        help_text="With a hold of a service that has requires_verification: the six-digit "
        "code sent by POST holds/{token}/verification-code/ to the contact's e-mail or mobile.",
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        direct = {"service", "channel", "start"}
        if attrs.get("hold"):
            given = sorted((direct | {"office"}) & {k for k, v in attrs.items() if v})
            if given:
                raise serializers.ValidationError(
                    {name: [str(_("Send either a hold or a time, not both."))] for name in given}
                )
            return attrs
        missing = sorted(direct - set(attrs))
        if missing:
            raise serializers.ValidationError(
                {
                    name: [str(_("This field is required when no hold is given."))]
                    for name in missing
                }
            )
        where = WhereSerializer(context=self.context)
        attrs.update(where.validate(dict(attrs)))
        return attrs


class VerificationCodeRequestSerializer(serializers.Serializer):
    """The contact the booking will be made for: the code goes to its e-mail (or else its
    mobile; the representative's when the person gave neither)."""

    contact = ContactSerializer()


class RescheduleRequestSerializer(serializers.Serializer):
    start = AwareDateTimeField(help_text="One of the times from availability.")


class CancelRequestSerializer(serializers.Serializer):
    reason = serializers.CharField(required=False, allow_blank=True, max_length=300)


class WaitingContactSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    email = serializers.EmailField(required=False, allow_blank=True, max_length=254)
    phone = PhoneField()
    language = serializers.ChoiceField(choices=LANGUAGE_CODES, required=False)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if not attrs.get("email") and not attrs.get("phone"):
            raise serializers.ValidationError(
                {"email": [str(_("Give an e-mail or a mobile phone, so that we can tell you."))]}
            )
        return attrs

    @staticmethod
    def to_contact(data: dict[str, Any]) -> Contact:
        language = data.get("language") or get_language() or "ca"
        return Contact(
            name=data["name"],
            email=data.get("email", ""),
            phone=data.get("phone", ""),
            language=language if language in LANGUAGE_CODES else "ca",
        )


class WaitingListRequestSerializer(WhereSerializer):
    earliest = serializers.DateField(help_text="First acceptable day (YYYY-MM-DD).")
    latest = serializers.DateField(help_text="Last acceptable day (YYYY-MM-DD).")
    contact = WaitingContactSerializer()


# --- Responses -----------------------------------------------------------------------------


class LabelledSerializer(serializers.Serializer):
    code = serializers.CharField()
    label = serializers.CharField(help_text="In the request's language.")  # type: ignore[assignment]


class LevelSerializer(LabelledSerializer):
    explanation = serializers.CharField(help_text="What this level means, in plain words.")


class NamedSerializer(serializers.Serializer):
    slug = serializers.CharField()
    name = serializers.CharField()


class ServiceSerializer(serializers.Serializer):
    slug = serializers.CharField()
    name = serializers.CharField(help_text="In the request's language.")
    description = serializers.CharField()
    attention_level = LevelSerializer()
    channels = LabelledSerializer(many=True)
    duration_minutes = serializers.IntegerField()
    min_notice_hours = serializers.IntegerField()
    max_days_ahead = serializers.IntegerField()
    requires_verification = serializers.BooleanField(
        help_text="Booking needs a code sent to the person's e-mail or mobile first: hold a "
        "time, POST holds/{token}/verification-code/, then book with the hold and the code."
    )
    documents = serializers.ListField(child=serializers.CharField())
    offices = NamedSerializer(many=True, help_text="Offices that provide the service.")


class OpeningHoursSerializer(serializers.Serializer):
    weekday = serializers.IntegerField(help_text="0 is Monday.")
    # Wall-clock times in the office's zone (JSON Schema's "time" format would need an offset).
    opens = serializers.RegexField(r"^\d\d:\d\d$", help_text="HH:MM, local time.")
    closes = serializers.RegexField(r"^\d\d:\d\d$", help_text="HH:MM, local time.")


class OfficeSerializer(serializers.Serializer):
    slug = serializers.CharField()
    name = serializers.CharField()
    kind = LabelledSerializer()
    address = serializers.CharField()
    postcode = serializers.CharField()
    municipality = serializers.CharField(allow_null=True)
    phone = serializers.CharField()
    email = serializers.CharField()
    time_zone = serializers.CharField()
    opening_hours = OpeningHoursSerializer(many=True)


class AvailabilitySerializer(serializers.Serializer):
    service = serializers.CharField()
    channel = serializers.CharField()
    office = serializers.CharField(allow_null=True)
    time_zone = serializers.CharField()
    slots = SlotSerializer(many=True)


class HoldSerializer(serializers.Serializer):
    hold = serializers.CharField(help_text="Give it to POST bookings/, or DELETE it.")
    expires_at = serializers.DateTimeField()
    service = serializers.CharField()
    channel = serializers.CharField()
    office = serializers.CharField(allow_null=True)
    start = serializers.DateTimeField()
    end = serializers.DateTimeField()


class VerificationCodeSerializer(serializers.Serializer):
    sent_to = serializers.CharField(
        help_text="Where the code went, partly hidden: n•••@example.org, •••• 678."
    )
    channel = serializers.ChoiceField(choices=["email", "sms"])
    expires_at = serializers.DateTimeField(help_text="The code works until then (5 tries).")


class AppointmentContactSerializer(serializers.Serializer):
    name = serializers.CharField()
    email = serializers.CharField()
    phone = serializers.CharField()
    language = serializers.CharField()
    needs = serializers.ListField(child=serializers.CharField())


class AppointmentSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="The booking code people read aloud.")
    status = serializers.ChoiceField(choices=["booked", "cancelled", "attended", "no_show"])
    service = NamedSerializer()
    channel = serializers.CharField()
    office = NamedSerializer(allow_null=True)
    start = serializers.DateTimeField()
    end = serializers.DateTimeField()
    time_zone = serializers.CharField()
    changeable = serializers.BooleanField(help_text="Whether it can still be moved or cancelled.")
    cancelled_at = serializers.DateTimeField(allow_null=True)
    contact = AppointmentContactSerializer()
    manage_token = serializers.CharField(
        help_text="Keep it secret: it reads, moves and cancels this appointment."
    )


class WaitingListEntrySerializer(serializers.Serializer):
    service = serializers.CharField()
    channel = serializers.CharField()
    office = serializers.CharField(allow_null=True)
    earliest = serializers.DateField()
    latest = serializers.DateField()
    status = serializers.CharField()
