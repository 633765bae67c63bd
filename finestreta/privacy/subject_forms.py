"""Forms of the data-subject pages: who the person is (by e-mail, mobile or identity document,
normalised as the booking form does), the export's language, the erasure's confirmation."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from finestreta.privacy.subjects import Criteria, normalise_criteria


class SubjectForm(forms.Form):
    """The person searched for. Any of the three identifies them; each is matched exactly."""

    email = forms.CharField(
        label=_("E-mail address"),
        required=False,
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    phone = forms.CharField(
        label=_("Mobile number"),
        required=False,
        max_length=30,
        help_text=_("Without a country code it is read as a Spanish number."),
        widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "off"}),
    )
    id_document = forms.CharField(
        label=_("Identity document (DNI, NIE, passport)"),
        required=False,
        max_length=30,
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        try:
            self.criteria = normalise_criteria(
                email=cleaned.get("email") or "",
                phone=cleaned.get("phone") or "",
                id_document=cleaned.get("id_document") or "",
            )
        except ValidationError as error:
            if hasattr(error, "error_dict"):
                for name, errors in error.message_dict.items():
                    self.add_error(name, errors)
            else:
                raise
        return cleaned

    def hidden(self) -> dict[str, str]:
        """The normalised criteria, for the hidden fields of the next step's forms."""
        criteria: Criteria = self.criteria
        return {
            "email": criteria.email,
            "phone": criteria.phone,
            "id_document": criteria.id_document,
        }


class ExportForm(SubjectForm):
    language = forms.ChoiceField(
        label=_("Language of the readable document"),
        choices=settings.LANGUAGES,
        error_messages={"invalid_choice": _("Choose a language from the list.")},
    )


class EraseForm(SubjectForm):
    plan = forms.CharField(widget=forms.HiddenInput, max_length=64)
    confirm = forms.BooleanField(
        label=_(
            "I have checked the person's identity and their request, and I understand that "
            "what is listed as erased cannot be recovered."
        ),
        error_messages={"required": _("Tick the box to confirm the erasure.")},
    )
