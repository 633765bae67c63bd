"""Forms of the staff side of appointments: the agenda's filters, booking for a caller, and the
actions on one appointment. Every message says what to do next, in plain words."""

from __future__ import annotations

import datetime as dt
import secrets
from typing import Any, cast

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.utils.http import urlencode
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _

from finestreta.accounts.services import StaffContext
from finestreta.appointments import agenda
from finestreta.appointments.forms import ContactChecks
from finestreta.appointments.models import NEEDS, Appointment
from finestreta.appointments.services import Contact
from finestreta.catalogue.models import Channel, Service
from finestreta.tenants.models import Office

TEL = forms.TextInput(attrs={"type": "tel", "autocomplete": "off"})
PHONE_HELP = _("A Spanish number, or + and the country code for another country.")
# Outside these years a date is a typing mistake (and would overflow the time arithmetic).
EARLIEST = dt.date(2000, 1, 1)
LATEST = dt.date(2999, 12, 31)


def _date_field(label: str | Any, **kwargs: Any) -> forms.DateField:
    return forms.DateField(
        label=label,
        required=False,
        validators=[MinValueValidator(EARLIEST), MaxValueValidator(LATEST)],
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        error_messages={"invalid": _("Enter a date, for example 2026-03-31.")},
        **kwargs,
    )


class AgendaForm(forms.Form):
    """The agenda's GET parameters; each one is optional and has a sensible default."""

    whose = forms.ChoiceField(
        label=_("Whose agenda"),
        required=False,
        error_messages={"invalid_choice": _("Choose an agenda from the list.")},
    )
    view = forms.ChoiceField(
        label=_("Show"),
        required=False,
        choices=[("day", _("One day")), ("week", _("The whole week"))],
        error_messages={"invalid_choice": _("Choose one day or the whole week.")},
    )
    date = _date_field(_("Date"))

    def __init__(self, data: Any, *, staff: StaffContext) -> None:
        agendas = agenda.agenda_choices(staff)
        default = agenda.default_whose(staff, agendas)
        # What is left out is the default, and the form shows it as chosen.
        data = data.copy()
        for name, value in (
            ("whose", default.value),
            ("view", "day"),
            ("date", agenda.today(staff).isoformat()),
        ):
            if not data.get(name):
                data[name] = value
        super().__init__(data)
        self.staff, self.agendas, self.default = staff, agendas, default
        mine = [(w.value, w.label) for w in self.agendas if w.kind == "mine"]
        offices = [(w.value, w.label) for w in self.agendas if w.kind == "office"]
        agents = [(w.value, w.label) for w in self.agendas if w.kind == "agent"]
        choices: list[Any] = list(mine)
        if offices:
            choices.append((_("Offices"), offices))
        if agents:
            choices.append((_("Staff members"), agents))
        field = cast(forms.ChoiceField, self.fields["whose"])
        field.choices = choices

    def chosen_agenda(self) -> agenda.Whose:
        value = self.cleaned_data.get("whose") or self.default.value
        return next(w for w in self.agendas if w.value == value)

    def chosen_view(self) -> str:
        return str(self.cleaned_data.get("view") or "day")

    def first_day(self) -> dt.date:
        """The day shown, or the Monday of the week shown."""
        day: dt.date = self.cleaned_data.get("date") or agenda.today(self.staff)
        if self.chosen_view() == "week":
            day -= dt.timedelta(days=day.weekday())
        return day

    def days(self) -> int:
        return 7 if self.chosen_view() == "week" else 1


class BookingChoiceForm(forms.Form):
    """Booking for a caller, first steps (GET): the service, how, where, and then a time."""

    service: forms.ModelChoiceField[Service] = forms.ModelChoiceField(
        label=_("Service"),
        queryset=Service.objects.none(),  # the organisation's: see __init__
        # Radio buttons, not a select: long names wrap on a phone instead of widening the page.
        widget=forms.RadioSelect,
        error_messages={
            "required": _("Choose the service the person needs."),
            "invalid_choice": _("Choose a service from the list."),
        },
    )
    channel = forms.ChoiceField(
        label=_("How"),
        choices=Channel.choices,
        widget=forms.RadioSelect,
        error_messages={
            "required": _("Choose how the person will be attended."),
            "invalid_choice": _("Choose video call, telephone or in person."),
        },
    )
    office: forms.ModelChoiceField[Office] = forms.ModelChoiceField(
        label=_("Office"),
        queryset=Office.objects.none(),  # the organisation's: see __init__
        required=False,
        widget=forms.RadioSelect,
        blank=True,
        empty_label=_("Any office"),
        help_text=_("Needed in person. By video or telephone, choose one to book only its staff."),
        error_messages={"invalid_choice": _("Choose an office from the list.")},
    )
    start = forms.CharField(required=False, widget=forms.HiddenInput)
    week = _date_field(_("From"))

    def __init__(self, data: Any, *, staff: StaffContext) -> None:
        super().__init__(data)
        service = cast(forms.ModelChoiceField, self.fields["service"])
        office = cast(forms.ModelChoiceField, self.fields["office"])
        service.queryset = agenda.bookable_services(staff)
        office.queryset = agenda.booking_offices(staff)

    def clean_start(self) -> dt.datetime | None:
        value = self.cleaned_data.get("start") or ""
        if not value:
            return None
        start = agenda.parse_slot_value(value)
        if start is None:
            raise ValidationError(_("Choose a time from the list."), code="invalid_start")
        return start

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        service, channel, office = (cleaned.get(k) for k in ("service", "channel", "office"))
        if service is None or not channel:
            return cleaned
        if channel not in service.channels:
            self.add_error(
                "channel",
                _("This service is not offered that way. It is offered by: %(ways)s.")
                % {"ways": ", ".join(str(Channel(c).label) for c in service.channels)},
            )
        elif channel == Channel.IN_PERSON:
            if office is None:
                self.add_error("office", _("Choose the office where the person will go."))
            elif not service.offices.filter(pk=office.pk).exists():
                self.add_error("office", _("This office does not provide this service."))
        return cleaned

    def carried(self) -> list[tuple[str, str]]:
        """The choices so far, as hidden fields for the next step."""
        data = self.cleaned_data
        office = data.get("office")
        return [
            ("service", str(data["service"].pk)),
            ("channel", str(data["channel"])),
            ("office", str(office.pk) if office else ""),
        ]

    def carried_query(self) -> str:
        return urlencode(self.carried())

    def channel_label(self) -> str:
        return str(Channel(self.cleaned_data["channel"]).label)

    def start_value(self) -> str:
        start = self.cleaned_data.get("start")
        return agenda.slot_value(start) if start else ""


class StaffContactForm(ContactChecks, forms.Form):
    """Booking for a caller, last step (POST): who is attended, and who books for them."""

    name = forms.CharField(
        label=_("Full name"),
        max_length=200,
        error_messages={"required": _("Give the name of the person to be attended.")},
    )
    email = forms.EmailField(
        label=_("E-mail"),
        required=False,
        help_text=_("Give an e-mail address, a mobile number, or both."),
        error_messages={"invalid": _("Write the e-mail address like name@example.org.")},
    )
    phone = forms.CharField(
        label=_("Mobile phone"), required=False, max_length=30, widget=TEL, help_text=PHONE_HELP
    )
    language = forms.ChoiceField(
        label=_("Language for messages"),
        choices=settings.LANGUAGES,
        initial="ca",
        error_messages={"invalid_choice": _("Choose a language from the list.")},
    )
    municipality = forms.CharField(
        label=_("Municipality (optional)"),
        required=False,
        max_length=120,
        help_text=_("Where the person lives, for example Girona."),
    )
    id_document = forms.CharField(
        label=_("Identity document (optional)"),
        required=False,
        max_length=30,
        help_text=_("DNI, NIE or passport number."),
    )
    needs = forms.MultipleChoiceField(
        label=_("Accessibility needs"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        error_messages={"invalid_choice": _("Choose the needs from the list.")},
        choices=[
            (flag, capfirst(Appointment._meta.get_field(flag).verbose_name))  # type: ignore[union-attr]
            for flag in NEEDS
        ],
    )
    notes = forms.CharField(
        label=_("Notes for the agent (optional)"),
        required=False,
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    representative_name = forms.CharField(
        label=_("Representative's name"),
        required=False,
        max_length=200,
        help_text=_("Only when someone else books on the person's behalf."),
    )
    representative_relation = forms.CharField(
        label=_("Relationship to the person"), required=False, max_length=100
    )
    representative_email = forms.EmailField(
        label=_("Representative's e-mail"),
        required=False,
        error_messages={"invalid": _("Write the e-mail address like name@example.org.")},
    )
    representative_phone = forms.CharField(
        label=_("Representative's mobile phone"),
        required=False,
        max_length=30,
        widget=TEL,
        help_text=PHONE_HELP,
    )
    key = forms.CharField(required=False, max_length=40, widget=forms.HiddenInput)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not self.is_bound:
            self.initial.setdefault("key", secrets.token_urlsafe(16))

    REPRESENTATIVE = (
        "representative_name",
        "representative_relation",
        "representative_email",
        "representative_phone",
    )

    def person_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in self.fields if name not in self.REPRESENTATIVE]

    def representative_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in self.REPRESENTATIVE]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if "email" in cleaned and "phone" in cleaned and not (cleaned["email"] or cleaned["phone"]):
            self.add_error(
                "email",
                _("Give an e-mail address or a mobile number (or both), to send the confirmation."),
            )
        others = ("representative_relation", "representative_email", "representative_phone")
        if any(cleaned.get(f) for f in others) and not cleaned.get("representative_name"):
            self.add_error(
                "representative_name", _("Give the name of the person who books on their behalf.")
            )
        return cleaned

    def contact(self) -> Contact:
        data = self.cleaned_data
        return Contact(
            name=data["name"].strip(),
            email=data["email"],
            phone=data["phone"],
            language=data["language"],
            municipality_id=data["municipality"].pk if data["municipality"] else None,
            id_document=data["id_document"],
            needs=frozenset(data["needs"]),
            notes=data["notes"],
            representative_name=data["representative_name"].strip(),
            representative_email=data["representative_email"],
            representative_phone=data["representative_phone"],
            representative_relation=data["representative_relation"].strip(),
        )

    def idempotency_key(self) -> str | None:
        key = self.cleaned_data.get("key") or ""
        return f"staff-{key}" if key else None


class OutcomeForm(forms.Form):
    outcome = forms.ChoiceField(
        choices=[("attended", _("Attended")), ("no_show", _("Did not come"))],
        error_messages={
            "required": _("Choose whether the person came."),
            "invalid_choice": _("Choose whether the person came."),
        },
    )


class CancelForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason for cancelling"),
        max_length=300,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Say it briefly, for example: the office is closed that day."),
        error_messages={"required": _("Write why the appointment is cancelled.")},
    )


class SlotForm(forms.Form):
    """A time chosen from a list of free times."""

    start = forms.CharField(error_messages={"required": _("Choose a time from the list.")})

    def clean_start(self) -> dt.datetime:
        start = agenda.parse_slot_value(self.cleaned_data["start"])
        if start is None:
            raise ValidationError(_("Choose a time from the list."), code="invalid_start")
        return start


class WeekForm(forms.Form):
    """Which week of free times to show; a date that makes no sense shows the first week."""

    week = _date_field(_("From"))

    def first_day(self) -> dt.date | None:
        return self.cleaned_data.get("week") if self.is_valid() else None
