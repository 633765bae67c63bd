from __future__ import annotations

import datetime as dt
import functools
from typing import Any

from django import forms
from django.core.validators import MaxValueValidator, MinValueValidator
from django.utils.translation import gettext_lazy as _

from finestreta.privacy.models import AuditEvent
from finestreta.privacy.retention import ORDER, RULES, validate_period

# Outside these years a date is a typing mistake (and would overflow the time arithmetic).
EARLIEST = dt.date(2000, 1, 1)
LATEST = dt.date(2999, 12, 31)


class _AuditDateField(forms.DateField):
    """An optional date, typed or picked (ISO from the browser's date picker)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(
            required=False,
            validators=[MinValueValidator(EARLIEST), MaxValueValidator(LATEST)],
            widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
            error_messages={"invalid": _("Enter a date, for example 2026-03-31.")},
            **kwargs,
        )


class AuditFilterForm(forms.Form):
    """The audit log viewer's filters (a GET form: every field is optional)."""

    date_from = _AuditDateField(label=_("From (date)"))
    date_to = _AuditDateField(label=_("To (date, included)"))
    action = forms.ChoiceField(
        label=_("What"),
        required=False,
        choices=[("", _("Any action")), *AuditEvent.Action.choices],
        error_messages={"invalid_choice": _("Choose an action from the list.")},
    )
    actor = forms.CharField(label=_("Who (username contains)"), required=False, max_length=150)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        start, end = cleaned.get("date_from"), cleaned.get("date_to")
        if start and end and start > end:
            self.add_error("date_to", _("The end date must be on or after the start date."))
        return cleaned

    def filters(self) -> dict[str, Any]:
        """The cleaned filters, as keyword arguments of privacy.services.list_events_for_staff."""
        data = self.cleaned_data
        return {
            "date_from": data.get("date_from"),
            "date_to": data.get("date_to"),
            "action": data.get("action") or "",
            "actor_contains": (data.get("actor") or "").strip(),
        }


class RetentionForm(forms.Form):
    """The organisation's retention period of every kind of data, in days (privacy.retention):
    each field refuses a period below its kind's floor or above its ceiling."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for kind in ORDER:
            rule = RULES[kind]
            self.fields[kind] = forms.IntegerField(
                label=rule.kind.label,
                min_value=1,
                widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
                help_text=_(
                    "In days. Default %(default)s; at least %(floor)s, at most %(ceiling)s."
                )
                % {"default": rule.default, "floor": rule.floor, "ceiling": rule.ceiling},
                error_messages={
                    "required": _("Enter a number of days."),
                    "invalid": _("Enter a whole number of days, for example 365."),
                    "min_value": _("Enter a number of days of 1 or more."),
                },
                validators=[functools.partial(validate_period, kind)],
            )

    def periods(self) -> dict[str, int]:
        return {kind: self.cleaned_data[kind] for kind in ORDER}
