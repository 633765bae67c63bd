from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.utils.translation import gettext_lazy as _
from modeltranslation.admin import TranslationAdmin

from finestreta.catalogue.models import Service
from finestreta.identity.admin import ServicePolicyInline
from finestreta.lib.tenancy import TenantScopedAdmin


class ServiceForm(forms.ModelForm):
    class Meta:
        model = Service
        fields = "__all__"  # noqa: DJ007 - the ModelAdmin chooses the fields shown

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        organisation = cleaned.get("organisation")
        offices = cleaned.get("offices")
        if organisation and offices:
            strangers = [o for o in offices if o.organisation_id != organisation.pk]
            if strangers:
                self.add_error(
                    "offices", _("Choose only offices of the service's own organisation.")
                )
        return cleaned


@admin.register(Service)
class ServiceAdmin(TenantScopedAdmin, TranslationAdmin):
    form = ServiceForm
    org_admin_only = True
    list_display = ("name", "organisation", "attention_level", "duration_minutes", "is_active")
    list_filter = ("attention_level", "is_active", "offers_video", "offers_phone")
    search_fields = ("name", "slug")
    filter_horizontal = ("offices",)
    tenant_choice_paths = {"organisation": "", "offices": "organisation"}
    inlines = [ServicePolicyInline]
