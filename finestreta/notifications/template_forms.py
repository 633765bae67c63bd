"""The form an organisation administrator edits one message template with."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from finestreta.notifications import templating
from finestreta.notifications.models import Message
from finestreta.tenants.models import Organisation


class MessageTemplateForm(forms.Form):
    subject = forms.CharField(label=_("Subject"), max_length=200, required=False)
    body = forms.CharField(
        label=_("Text"),
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 14, "spellcheck": "true"}),
    )

    def __init__(
        self,
        *args: Any,
        organisation: Organisation,
        kind: str,
        channel: str,
        language: str,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.organisation, self.kind, self.channel, self.language = (
            organisation,
            kind,
            channel,
            language,
        )
        if channel == Message.Channel.SMS:
            del self.fields["subject"]
            self.fields["body"].widget.attrs["rows"] = 4
            self.fields["body"].help_text = _(
                "No personal data: the SMS is read on a locked phone's screen. At most two SMS "
                "with long sample values."
            )
        else:
            self.fields["subject"].required = True

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if "body" not in cleaned or (
            self.channel == Message.Channel.EMAIL and "subject" not in cleaned
        ):
            return cleaned
        problems = templating.check_template(
            subject=cleaned.get("subject", ""),
            body=cleaned["body"],
            kind=self.kind,
            channel=self.channel,
            language=self.language,
            organisation=self.organisation,
        )
        for field, messages in problems.items():
            for message in messages:
                self.add_error(field, message)
        return cleaned

    def template_values(self) -> dict[str, str]:
        """What `services.save_template` takes, once the form is valid."""
        return {
            "kind": self.kind,
            "channel": self.channel,
            "language": self.language,
            "subject": self.cleaned_data.get("subject", ""),
            "body": self.cleaned_data["body"],
        }
