"""Each organisation's messaging settings and message wording, for its administrators."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.db import models
from django.utils.translation import gettext_lazy as _

from finestreta.lib.tenancy import TenantScopedAdmin
from finestreta.notifications import templating
from finestreta.notifications.models import MessageTemplate, MessagingSettings

# Never shown again once saved: an empty box keeps the value there is.
SECRET_FIELDS = ("sms_api_key", "sms_receipt_secret")
KEEP_HELP = _("Leave empty to keep the one saved. Never shown again once saved.")


def _https_by_default(db_field: Any, **kwargs: Any) -> Any:
    # As the admin does (TenantScopedAdmin.formfield_overrides), for the form's own class too.
    if isinstance(db_field, models.URLField):
        kwargs["assume_scheme"] = "https"
    return db_field.formfield(**kwargs)


class MessagingSettingsForm(forms.ModelForm):
    class Meta:
        model = MessagingSettings
        fields = "__all__"  # noqa: DJ007 - the ModelAdmin chooses the fields shown
        formfield_callback = _https_by_default
        widgets = {
            name: forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"})
            for name in SECRET_FIELDS
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name in SECRET_FIELDS:
            field = self.fields.get(name)
            if field is not None and self.instance.pk and getattr(self.instance, name):
                field.help_text = KEEP_HELP

    def _keep_secret(self, name: str) -> str:
        value = self.cleaned_data.get(name) or ""
        if not value and self.instance.pk:
            return str(getattr(self.instance, name))
        return str(value)

    def clean_sms_api_key(self) -> str:
        return self._keep_secret("sms_api_key")

    def clean_sms_receipt_secret(self) -> str:
        return self._keep_secret("sms_receipt_secret")


@admin.register(MessagingSettings)
class MessagingSettingsAdmin(TenantScopedAdmin):
    form = MessagingSettingsForm
    org_admin_only = True
    tenant_choice_paths = {"organisation": ""}
    list_display = ("organisation", "sender_name", "sender_email", "sms_gateway_url")
    fieldsets = (
        (None, {"fields": ("organisation",)}),
        (_("E-mail"), {"fields": ("sender_name", "sender_email")}),
        (
            _("SMS gateway (see the SMS gateway guide)"),
            {"fields": ("sms_gateway_url", "sms_api_key", "sms_receipt_secret", "sms_sender")},
        ),
        (_("When"), {"fields": ("quiet_from", "quiet_until", "reminder_hours")}),
    )

    def get_readonly_fields(self, request: Any, obj: Any = None) -> Any:
        # An organisation's settings stay its own: the organisation is chosen once.
        return ("organisation",) if obj is not None else ()


class MessageTemplateForm(forms.ModelForm):
    """An organisation's wording is checked as the editing page checks it (`templating`)."""

    kind = forms.ChoiceField(label=_("kind"), choices=templating.KINDS)

    class Meta:
        model = MessageTemplate
        fields = "__all__"  # noqa: DJ007 - the ModelAdmin chooses the fields shown

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        organisation = cleaned.get("organisation")
        kind, channel, language = (cleaned.get(k) for k in ("kind", "channel", "language"))
        if organisation is None or not (kind and channel and language):
            return cleaned  # the missing field has its own error
        errors = templating.check_template(
            subject=cleaned.get("subject") or "",
            body=cleaned.get("body") or "",
            kind=kind,
            channel=channel,
            language=language,
            organisation=organisation,
        )
        for field, messages in errors.items():
            for message in messages:
                self.add_error(field if field in self.fields else None, message)
        return cleaned


@admin.register(MessageTemplate)
class MessageTemplateAdmin(TenantScopedAdmin):
    form = MessageTemplateForm
    org_admin_only = True
    tenant_choice_paths = {"organisation": ""}
    list_display = ("kind", "channel", "language", "organisation", "updated_at")
    list_filter = ("channel", "language", "kind")
