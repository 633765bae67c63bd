"""Queue sharing agreements in the administration (ADR 25), for organisation administrators.

The host proposes (which of its procedures, under which agreement, between which dates); the
partner chooses its agents. Saving is each side's approval; a host's change to what is shared
asks the partner to approve again. Either side may revoke. Each side sees only the agreements
it is part of; every change goes to the audit log like any other in the administration.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import Model, Q, QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from finestreta.lib.tenancy import TenantScopedAdmin
from finestreta.queueing.models import SharingAgreement
from finestreta.queueing.sharing import in_force
from finestreta.tenants.models import Organisation

# What the host decides; changing any of it asks the partner to approve again.
HOST_FIELDS = ("services", "reference", "starts_on", "ends_on")


class SharingAgreementForm(forms.ModelForm):
    class Meta:
        model = SharingAgreement
        fields = "__all__"  # noqa: DJ007 - the ModelAdmin chooses the fields shown

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        host = cleaned.get("host") or getattr(self.instance, "host", None)
        partner = cleaned.get("partner") or getattr(self.instance, "partner", None)
        if host is not None and partner is not None and host.pk == partner.pk:
            self.add_error("partner", _("Choose another organisation than the host."))
        services = cleaned.get("services")
        if host is not None and services and any(s.organisation_id != host.pk for s in services):
            self.add_error("services", _("Choose only procedures of the host organisation."))
        agents = cleaned.get("agents")
        if partner is not None and agents and any(a.organisation_id != partner.pk for a in agents):
            self.add_error("agents", _("Choose only agents of the partner organisation."))
        starts, ends = cleaned.get("starts_on"), cleaned.get("ends_on")
        if starts and ends and ends < starts:
            self.add_error("ends_on", _("The end cannot be before the start."))
        return cleaned


@admin.register(SharingAgreement)
class SharingAgreementAdmin(TenantScopedAdmin):
    form = SharingAgreementForm
    org_admin_only = True
    list_display = ("__str__", "starts_on", "ends_on", "approved_by_both", "is_in_force")
    filter_horizontal = ("services", "agents")
    tenant_choice_paths = {"host": "", "services": "organisation", "agents": "organisation"}
    actions = ("revoke",)
    approvals = ("host_approved_at", "partner_approved_at", "revoked_at")

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        queryset = admin.ModelAdmin.get_queryset(self, request)
        if request.user.is_superuser:
            return queryset
        ids = self._org_ids(request)
        return queryset.filter(Q(host__in=ids) | Q(partner__in=ids))

    def _sides(self, request: HttpRequest, obj: SharingAgreement | None) -> set[str]:
        if obj is None:
            return {"host"}  # who adds one proposes it, as its host
        ids = set(self._org_ids(request))
        if request.user.is_superuser:
            return {"host", "partner"}
        return {
            side for side, org in (("host", obj.host_id), ("partner", obj.partner_id)) if org in ids
        }

    def get_fields(self, request: HttpRequest, obj: Model | None = None) -> Any:
        fields = ["host", "partner", *HOST_FIELDS]
        if obj is not None:
            fields += ["agents", *self.approvals]
        return fields

    def get_readonly_fields(self, request: HttpRequest, obj: Model | None = None) -> Any:
        if obj is None:
            return ()
        sides = self._sides(request, obj)  # type: ignore[arg-type]
        readonly = ["host", "partner", *self.approvals]
        if "host" not in sides:
            readonly += HOST_FIELDS
        if "partner" not in sides:
            readonly.append("agents")
        return readonly

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "partner":  # any other active organisation may be asked
            kwargs["queryset"] = Organisation.objects.filter(is_active=True)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        agreement: SharingAgreement = form.instance
        sides = self._sides(request, agreement if change else None)
        super().save_related(request, form, formsets, change)
        now = timezone.now()
        updates: dict[str, Any] = {}
        if "host" in sides:
            updates.update(host_approved_at=now, host_approved_by=request.user)
            if change and any(name in form.changed_data for name in HOST_FIELDS):
                if "partner" not in sides:  # the partner must agree to the new terms
                    updates.update(partner_approved_at=None, partner_approved_by=None)
        if "partner" in sides:
            updates.update(partner_approved_at=now, partner_approved_by=request.user)
        SharingAgreement.objects.filter(pk=agreement.pk).update(**updates)
        if "partner" not in sides:
            self.message_user(
                request,
                _("The agreement applies once the partner organisation approves it."),
                messages.INFO,
            )

    @admin.display(boolean=True, description=_("approved by both"))
    def approved_by_both(self, obj: SharingAgreement) -> bool:
        return obj.host_approved_at is not None and obj.partner_approved_at is not None

    @admin.display(boolean=True, description=_("in force"))
    def is_in_force(self, obj: SharingAgreement) -> bool:
        return SharingAgreement.objects.filter(in_force(timezone.now()), pk=obj.pk).exists()

    @admin.action(description=_("Revoke the selected agreements"))
    def revoke(self, request: HttpRequest, queryset: QuerySet[SharingAgreement]) -> None:
        revoked = 0
        for agreement in queryset.filter(revoked_at__isnull=True):
            agreement.revoked_at = timezone.now()
            agreement.save(update_fields=["revoked_at"])
            self.log_change(request, agreement, [{"changed": {"fields": ["revoked_at"]}}])
            revoked += 1
        self.message_user(request, _("Agreements revoked: %(count)d.") % {"count": revoked})
