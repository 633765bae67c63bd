"""Organisation administrators set the rules of each attention level (and of a service, in the
service's page), keep the register of habilitated officials, and read the evidence: consent
records and identity checks, which nobody edits or deletes here."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.db.models import Model
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from finestreta.identity.models import (
    ConsentRecord,
    HabilitatedOfficial,
    IdentityCheck,
    LevelPolicy,
    ServicePolicy,
    Signature,
)
from finestreta.lib.tenancy import TenantScopedAdmin, TenantScopedInline

POLICY_FIELDS = (
    "identity",
    "keeps_document_number",
    "recording",
    "legal_basis",
    "recording_retention_days",
    "asks_image_rights",
    "signature",
)


@admin.register(LevelPolicy)
class LevelPolicyAdmin(TenantScopedAdmin):
    org_admin_only = True
    list_display = ("attention_level", "organisation", "identity", "recording", "signature")
    list_filter = ("attention_level",)
    fields = ("organisation", "attention_level", *POLICY_FIELDS)
    tenant_choice_paths = {"organisation": ""}


class ServicePolicyInline(TenantScopedInline):
    """On the service's page: rules of its own, in place of its attention level's."""

    model = ServicePolicy
    template = "admin/edit_inline/stacked.html"
    fields = POLICY_FIELDS
    max_num = 1
    can_delete = True
    verbose_name = _("rules of its own (instead of its attention level's)")


class HabilitatedOfficialForm(forms.ModelForm):
    class Meta:
        model = HabilitatedOfficial
        fields = ("organisation", "user", "reference", "valid_from", "valid_until")

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        organisation, user = cleaned.get("organisation"), cleaned.get("user")
        if (
            organisation
            and user
            and not user.memberships.filter(organisation=organisation).exists()
        ):
            self.add_error("user", _("Choose a member of the organisation's own staff."))
        return cleaned


@admin.register(HabilitatedOfficial)
class HabilitatedOfficialAdmin(TenantScopedAdmin):
    form = HabilitatedOfficialForm
    org_admin_only = True
    list_display = ("user", "organisation", "reference", "valid_from", "valid_until")
    search_fields = ("user__first_name", "user__last_name", "user__username", "reference")
    tenant_choice_paths = {"organisation": "", "user": "memberships__organisation"}


class EvidenceAdmin(TenantScopedAdmin):
    """Read only: evidence is written by the attention itself, never by hand."""

    org_admin_only = True

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False


@admin.register(ConsentRecord)
class ConsentRecordAdmin(EvidenceAdmin):
    list_display = (
        "appointment",
        "kind",
        "person",
        "granted",
        "method",
        "recorded_at",
        "withdrawn_at",
    )
    list_filter = ("kind", "granted", "method")
    search_fields = ("appointment__code", "person")
    list_select_related = ("appointment",)


@admin.register(IdentityCheck)
class IdentityCheckAdmin(EvidenceAdmin):
    list_display = (
        "appointment",
        "method",
        "verified",
        "document_type",
        "agent",
        "provider",
        "checked_at",
    )
    list_filter = ("method", "verified", "document_type")
    search_fields = ("appointment__code",)
    exclude = ("document_hash", "subject_hash", "code")
    list_select_related = ("appointment", "agent")


@admin.register(Signature)
class SignatureAdmin(EvidenceAdmin):
    list_display = ("appointment", "title", "route", "status", "requested_by", "signed_at")
    list_filter = ("route", "status")
    search_fields = ("appointment__code", "verification_code", "title")
    # The PDF is read on the staff call page or the public verification page, not as bytes.
    exclude = ("receipt", "code", "identity_check", "consent", "shared_file")
    list_select_related = ("appointment", "requested_by")
