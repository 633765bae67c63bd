"""The form an organisation administrator sets a webhook subscription up with."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from finestreta.integrations import safety
from finestreta.integrations.models import SUBSCRIBABLE


class SubscriptionForm(forms.Form):
    url = forms.URLField(
        label=_("Address of your receiver"),
        max_length=500,
        assume_scheme="https",
        help_text=_("It must start with https://. The platform posts each event there."),
        widget=forms.URLInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    description = forms.CharField(
        label=_("Description (optional)"),
        max_length=200,
        required=False,
        help_text=_("For example, the name of the system that receives the events."),
    )
    event_types = forms.MultipleChoiceField(
        label=_("Events to send"),
        choices=SUBSCRIBABLE,
        widget=forms.CheckboxSelectMultiple,
        error_messages={
            "required": _("Choose at least one event."),
            "invalid_choice": _("Choose the events from the list."),
        },
    )
    is_active = forms.BooleanField(
        label=_("Active: send events to this address"), required=False, initial=True
    )

    def clean_url(self) -> str:
        url: str = self.cleaned_data["url"]
        try:
            safety.check_url(url)
        except forms.ValidationError as error:
            raise forms.ValidationError(error.messages, code=error.code) from error
        return url

    def values(self) -> dict[str, Any]:
        """What `services.create_subscription` and `update_subscription` take."""
        return {
            "url": self.cleaned_data["url"],
            "description": self.cleaned_data["description"],
            "event_types": self.cleaned_data["event_types"],
            "is_active": self.cleaned_data["is_active"],
        }
