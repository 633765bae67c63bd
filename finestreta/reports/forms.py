"""The survey's form: the 1-to-5 question and an optional comment."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from finestreta.appointments.forms import AccessibleForm
from finestreta.reports.models import SCORES


class SurveyForm(AccessibleForm):
    score = forms.TypedChoiceField(
        label=_("How satisfied are you with the attention you received?"),
        choices=SCORES,
        coerce=int,
        widget=forms.RadioSelect,
        error_messages={
            "required": _("Choose how satisfied you are, from 1 to 5."),
            "invalid_choice": _("Choose how satisfied you are, from 1 to 5."),
        },
    )
    comment = forms.CharField(
        label=_("Anything you want to tell us? (optional)"),
        help_text=_(
            "What went well, or what we could do better. Do not write personal details: we "
            "read these comments to improve the service."
        ),
        required=False,
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 4}),
        error_messages={"max_length": _("Write at most 1,000 characters.")},
    )
