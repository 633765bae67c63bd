"""Forms of the citizen's booking flow. Errors are written for the person who made them."""

from __future__ import annotations

import datetime as dt
import difflib
import unicodedata
from typing import TYPE_CHECKING, Any

from django import forms
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.utils.translation import gettext_lazy as _

from finestreta.appointments.contact import normalise_id_document, normalise_phone
from finestreta.appointments.models import NEEDS
from finestreta.appointments.services import Contact
from finestreta.tenants.models import Municipality

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

NEED_CHOICES = [
    ("needs_sign_language", _("A sign-language interpreter (Catalan Sign Language)")),
    ("needs_captions", _("Captions (written text of what is said)")),
    ("needs_extra_time", _("Extra time")),
    ("needs_easy_read", _("Explanations in easy-read language")),
]
if [key for key, _label in NEED_CHOICES] != list(NEEDS):
    raise ImproperlyConfigured("NEED_CHOICES must list the appointment's NEEDS, in order")


class AccessibleForm(forms.Form):
    """Marks invalid fields with aria-invalid and links each field to its error and help text,
    so screen readers announce them (WCAG 3.3.1, 4.1.2)."""

    def full_clean(self) -> None:
        super().full_clean()
        for name, field in self.fields.items():
            described = []
            if field.help_text:
                described.append(f"id_{name}_help")
            if name in self.errors:
                field.widget.attrs["aria-invalid"] = "true"
                described.append(f"id_{name}_error")
            if described:
                field.widget.attrs["aria-describedby"] = " ".join(described)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name, field in self.fields.items():
            if field.help_text:
                field.widget.attrs.setdefault("aria-describedby", f"id_{name}_help")


def _folded(text: str) -> str:
    """Lower case without accents or apostrophes: 'l'Hospitalet' matches 'LHOSPITALET'."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if c.isalnum())


def find_municipality(name: str) -> Municipality:
    """The municipality called `name` (accents and case do not matter), or ValidationError
    suggesting the closest names."""
    wanted = _folded(name)
    municipalities = list(Municipality.objects.only("pk", "name"))
    by_name = {_folded(m.name): m for m in municipalities}
    if wanted in by_name:
        return by_name[wanted]
    close = difflib.get_close_matches(wanted, by_name, n=3, cutoff=0.75)
    if close:
        raise ValidationError(
            _("We do not know this municipality. Did you mean: %(names)s?"),
            params={"names": ", ".join(by_name[c].name for c in close)},
            code="unknown_municipality",
        )
    raise ValidationError(
        _("We do not know this municipality. Write its name as it is officially written."),
        code="unknown_municipality",
    )


def email_field() -> forms.EmailField:
    return forms.EmailField(
        label=_("E-mail (optional if you give a mobile)"),
        required=False,
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
        error_messages={"invalid": _("Write an e-mail address like name@example.org.")},
    )


def phone_field(help_text: StrOrPromise = "") -> forms.CharField:
    return forms.CharField(
        label=_("Mobile phone (optional if you give an e-mail)"),
        required=False,
        max_length=30,
        widget=forms.TextInput(attrs={"autocomplete": "tel", "inputmode": "tel"}),
        help_text=help_text,
    )


class ContactChecks:
    """The checks every form about a person shares: mobile numbers in E.164 (the person's and
    a representative's), identity documents with their letter, municipalities by name."""

    cleaned_data: dict[str, Any]

    def clean_phone(self) -> str:
        return normalise_phone(self.cleaned_data.get("phone") or "")

    def clean_representative_phone(self) -> str:
        return normalise_phone(self.cleaned_data.get("representative_phone") or "")

    def clean_id_document(self) -> str:
        return normalise_id_document(self.cleaned_data.get("id_document") or "")

    def clean_municipality(self) -> Municipality | None:
        name = (self.cleaned_data.get("municipality") or "").strip()
        return find_municipality(name) if name else None


class ContactForm(ContactChecks, AccessibleForm):
    name = forms.CharField(
        label=_("Full name of the person to be attended"),
        max_length=200,
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
        error_messages={"required": _("Write the name of the person to be attended.")},
    )
    email = email_field()
    phone = phone_field(help_text=_("We send the reminder and the link to it."))
    language = forms.ChoiceField(
        label=_("Language in which you want to be attended and to receive messages"),
        choices=settings.LANGUAGES,
    )
    municipality = forms.CharField(
        label=_("Municipality where the person lives (optional)"),
        required=False,
        max_length=120,
        widget=forms.TextInput(attrs={"autocomplete": "address-level2"}),
        help_text=_("It helps us to know how far you did not have to travel."),
    )
    id_document = forms.CharField(
        label=_("DNI, NIE or passport number (optional)"),
        required=False,
        max_length=30,
        help_text=_("If you give it, the staff member can prepare your case beforehand."),
    )
    needs = forms.MultipleChoiceField(
        label=_("Do you need any of these?"),
        choices=NEED_CHOICES,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    notes = forms.CharField(
        label=_("Anything else we should know (optional)"),
        required=False,
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    on_behalf = forms.ChoiceField(
        label=_("Are you booking for someone else?"),
        choices=[("no", _("No, for myself")), ("yes", _("Yes, for another person"))],
        initial="no",
        widget=forms.RadioSelect,
    )
    representative_name = forms.CharField(
        label=_("Your full name"),
        required=False,
        max_length=200,
    )
    representative_relation = forms.CharField(
        label=_("Your relationship to the person (for example: daughter, social worker)"),
        required=False,
        max_length=100,
    )
    representative_email = forms.EmailField(
        label=_("Your e-mail (optional)"),
        required=False,
        error_messages={"invalid": _("Write an e-mail address like name@example.org.")},
    )
    representative_phone = forms.CharField(
        label=_("Your mobile phone (optional)"),
        required=False,
        max_length=30,
        widget=forms.TextInput(attrs={"inputmode": "tel"}),
    )
    declaration = forms.BooleanField(
        label=_(
            "I declare that I represent this person, and that they agree to my booking "
            "this appointment for them."
        ),
        required=False,
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        on_behalf = data.get("on_behalf") == "yes"
        if on_behalf:
            if not data.get("representative_name"):
                self.add_error("representative_name", _("Write your own name."))
            if not data.get("declaration"):
                self.add_error(
                    "declaration",
                    _("To book for someone else, declare that you represent them."),
                )
        reachable = [data.get("email"), data.get("phone")]
        if on_behalf:
            reachable += [data.get("representative_email"), data.get("representative_phone")]
        if not any(reachable) and "email" not in self.errors and "phone" not in self.errors:
            self.add_error(
                "email",
                _("Give an e-mail or a mobile phone, so that we can send you the confirmation."),
            )
        return data

    def contact(self) -> Contact:
        data = self.cleaned_data
        on_behalf = data["on_behalf"] == "yes"
        municipality = data.get("municipality")
        return Contact(
            name=data["name"],
            email=data["email"],
            phone=data["phone"],
            language=data["language"],
            municipality_id=municipality.pk if municipality else None,
            id_document=data["id_document"],
            needs=frozenset(data["needs"]),
            notes=data["notes"],
            representative_name=data["representative_name"] if on_behalf else "",
            representative_email=data["representative_email"] if on_behalf else "",
            representative_phone=data["representative_phone"] if on_behalf else "",
            representative_relation=data["representative_relation"] if on_behalf else "",
        )

    def need_labels(self) -> list[str]:
        chosen = self.cleaned_data["needs"]
        return [str(label) for key, label in NEED_CHOICES if key in chosen]

    def to_session(self) -> dict[str, Any]:
        """What the form was given, to show it again if the citizen goes back to change it."""
        data = dict(self.cleaned_data)
        municipality = data.get("municipality")
        data["municipality"] = municipality.name if municipality else ""
        return data


class CancelForm(AccessibleForm):
    reason = forms.CharField(
        label=_("Why are you cancelling? (optional)"),
        required=False,
        max_length=300,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("It helps us to improve."),
    )


class WaitingListForm(ContactChecks, AccessibleForm):
    name = forms.CharField(
        label=_("Full name"),
        max_length=200,
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
        error_messages={"required": _("Write your name.")},
    )
    email = email_field()
    phone = phone_field()
    language = forms.ChoiceField(label=_("Language of the messages"), choices=settings.LANGUAGES)
    earliest = forms.DateField(
        label=_("From (day/month/year)"),
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        input_formats=["%Y-%m-%d", "%d/%m/%Y", "%d-%m-%Y"],
        error_messages={"invalid": _("Write a date like 31/12/2026.")},
    )
    latest = forms.DateField(
        label=_("Until (day/month/year)"),
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        input_formats=["%Y-%m-%d", "%d/%m/%Y", "%d-%m-%Y"],
        error_messages={"invalid": _("Write a date like 31/12/2026.")},
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not data.get("email") and not data.get("phone") and not self.has_error("phone"):
            self.add_error("email", _("Give an e-mail or a mobile phone, so that we can tell you."))
        earliest: dt.date | None = data.get("earliest")
        latest: dt.date | None = data.get("latest")
        if earliest and latest and latest < earliest:
            self.add_error("latest", _("The last day must be after the first one."))
        return data

    def contact(self) -> Contact:
        data = self.cleaned_data
        return Contact(
            name=data["name"], email=data["email"], phone=data["phone"], language=data["language"]
        )
