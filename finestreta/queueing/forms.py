"""Forms of "attention now" (the citizen) and of the agent's desk. Errors are written for the
person who made them."""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from finestreta.appointments.forms import AccessibleForm, ContactChecks, email_field
from finestreta.catalogue.models import OutcomeCode, Service
from finestreta.queueing.models import DeskStatus, QueueEntry
from finestreta.tenants.models import Organisation

ANY_LANGUAGE = ""

# Why an agent pauses (shown to the supervisor). "missed_offer" and "after_call" are set by the
# platform.
PAUSE_REASONS = [
    ("break", _("Break")),
    ("after_call", _("After-call work")),
    ("training", _("Training or a meeting")),
    ("back_office", _("Other work")),
    ("missed_offer", _("Did not answer an offer")),
]
NO_CONTACT = _("Give a mobile phone or an e-mail, so that we can tell you when it is your turn.")
CHOOSABLE_PAUSES = [choice for choice in PAUSE_REASONS if choice[0] != "missed_offer"]


class JoinQueueForm(ContactChecks, AccessibleForm):
    """A citizen enters the queue of one service."""

    channel = forms.ChoiceField(
        label=_("How do you want to be attended?"),
        widget=forms.RadioSelect,
        error_messages={"required": _("Choose video call or telephone.")},
    )
    name = forms.CharField(
        label=_("Your name"),
        max_length=200,
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
        error_messages={"required": _("Write your name.")},
    )
    phone = forms.CharField(
        label=_("Mobile phone"),
        required=False,
        max_length=30,
        widget=forms.TextInput(attrs={"autocomplete": "tel", "inputmode": "tel"}),
        help_text=_(
            "We send you an SMS when it is your turn. For a telephone call, we call you here."
        ),
    )
    email = email_field()
    language = forms.ChoiceField(
        label=_("Language you want to be attended in"),
        required=False,
        help_text=_("If you choose one, you may wait longer until someone who speaks it is free."),
    )
    sign_language = forms.BooleanField(
        label=_("I need Catalan Sign Language (video call only)"), required=False
    )
    priority = forms.BooleanField(
        label=_(
            "I need priority attention (for example, I am over 65, have a disability or am "
            "pregnant)"
        ),
        required=False,
    )

    def __init__(
        self, *args: Any, service: Service, organisation: Organisation, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        channels = [
            (QueueEntry.Channel.VIDEO.value, _("Video call, from this phone or computer")),
            (QueueEntry.Channel.PHONE.value, _("We call you on the telephone")),
        ]
        offered = [(value, label) for value, label in channels if value in service.channels]
        cast(forms.ChoiceField, self.fields["channel"]).choices = offered
        if len(offered) == 1:
            self.fields["channel"].initial = offered[0][0]
        cast(forms.ChoiceField, self.fields["language"]).choices = [
            (ANY_LANGUAGE, _("Any of them")),
            *settings.LANGUAGES,
        ]
        if not organisation.queue_priority_help:
            del self.fields["priority"]
        if QueueEntry.Channel.VIDEO not in service.channels:
            del self.fields["sign_language"]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        channel = data.get("channel")
        if (
            channel == QueueEntry.Channel.PHONE
            and not data.get("phone")
            and not self.has_error("phone")
        ):
            self.add_error("phone", _("Write the telephone number where we should call you."))
        elif not data.get("phone") and not data.get("email") and not self.has_error("phone"):
            self.add_error(
                "phone",
                NO_CONTACT,
            )
        if data.get("sign_language") and channel == QueueEntry.Channel.PHONE:
            self.add_error("sign_language", _("Sign language needs a video call."))
        return data


class DeskStatusForm(forms.Form):
    state = forms.ChoiceField(
        choices=[
            (DeskStatus.State.AVAILABLE.value, _("Available")),
            (DeskStatus.State.PAUSED.value, _("Paused")),
            (DeskStatus.State.OFFLINE.value, _("Offline")),
        ]
    )
    reason = forms.ChoiceField(label=_("Reason"), choices=CHOOSABLE_PAUSES, required=False)


class FinishForm(AccessibleForm):
    """The end of an attention at the desk: how it ended and the agent's notes."""

    outcome: forms.ModelChoiceField[OutcomeCode] = forms.ModelChoiceField(
        label=_("Outcome"),
        queryset=OutcomeCode.objects.none(),
        required=False,
        empty_label=_("Choose the outcome"),
    )
    notes = forms.CharField(
        label=_("Notes"),
        required=False,
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("For you and your colleagues: the citizen does not see them."),
    )
    then = forms.ChoiceField(
        choices=[
            ("next", _("next")),
            ("pause", _("pause")),
            ("not_come", _("not come")),
        ]
    )

    def __init__(self, *args: Any, organisation: Organisation, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["outcome"].queryset = OutcomeCode.objects.filter(  # type: ignore[attr-defined]
            organisation=organisation, is_active=True
        )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        needs_outcome = self.fields["outcome"].queryset.exists()  # type: ignore[attr-defined]
        if data.get("then") != "not_come" and needs_outcome and not data.get("outcome"):
            self.add_error("outcome", _("Choose how the attention ended."))
        return data
