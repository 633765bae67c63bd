from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.db.models import Model, QuerySet
from django.http import HttpRequest
from modeltranslation.admin import TranslationAdmin

from finestreta.lib.tenancy import (
    TenantScopedAdmin,
    TenantScopedInline,
    admin_office_ids,
    admin_organisation_ids,
)
from finestreta.tenants.models import ClosedDay, Municipality, Office, OpeningHours, Organisation


@admin.register(Organisation)
class OrganisationAdmin(TenantScopedAdmin, TranslationAdmin):
    tenant_path = ""
    org_admin_only = True
    list_display = ("name", "slug", "default_language", "time_zone", "is_active")
    search_fields = ("name", "slug")

    def get_readonly_fields(self, request: HttpRequest, obj: Model | None = None) -> Any:
        # Only platform administrators create tenants or rename their address.
        if request.user.is_superuser:
            return ()
        return ("slug", "is_active")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.is_superuser)

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return bool(request.user.is_superuser)


class OpeningHoursInline(TenantScopedInline):
    model = OpeningHours


class OfficeScopedAdmin(TenantScopedAdmin):
    """Office administrators see only their own offices."""

    office_path = "pk"

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        queryset = super().get_queryset(request)
        if request.user.is_superuser:
            return queryset
        return queryset.filter(**{f"{self.office_path}__in": admin_office_ids(request.user)})


@admin.register(Office)
class OfficeAdmin(OfficeScopedAdmin, TranslationAdmin):
    list_display = ("name", "organisation", "kind", "municipality", "is_active")
    list_filter = ("kind", "is_active")
    search_fields = ("name", "slug", "address")
    autocomplete_fields = ("municipality",)
    inlines = [OpeningHoursInline]

    def _is_org_admin(self, request: HttpRequest) -> bool:
        return bool(request.user.is_superuser) or bool(
            admin_organisation_ids(request.user, org_admin_only=True)
        )

    def has_add_permission(self, request: HttpRequest) -> bool:
        # Opening and closing offices is the organisation's decision, not an office's.
        return self._is_org_admin(request) and super().has_add_permission(request)

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return self._is_org_admin(request) and super().has_delete_permission(request, obj)

    tenant_choice_paths = {"organisation": ""}


class ClosedDayForm(forms.ModelForm):
    # Organisations whose every office the user may close; None for platform administrators.
    org_wide_ids: frozenset[int] | None = None

    class Meta:
        model = ClosedDay
        fields = "__all__"  # noqa: DJ007 - the ModelAdmin chooses the fields shown

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        organisation = cleaned.get("organisation")
        if (
            self.org_wide_ids is not None
            and organisation is not None
            and not cleaned.get("office")
            and organisation.pk not in self.org_wide_ids
        ):
            # An office administrator must name their office (Django's own, translated message).
            self.add_error("office", self.fields["office"].error_messages["required"])
        return cleaned


@admin.register(ClosedDay)
class ClosedDayAdmin(OfficeScopedAdmin):
    form = ClosedDayForm
    list_display = ("date", "reason", "organisation", "office")
    list_filter = ("organisation",)
    date_hierarchy = "date"
    office_path = "office"
    tenant_choice_paths = {"organisation": "", "office": "organisation"}

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        queryset = TenantScopedAdmin.get_queryset(self, request)
        if request.user.is_superuser:
            return queryset
        # Organisation-wide closures are visible to every admin of the organisation.
        from django.db.models import Q

        return queryset.filter(
            Q(office__isnull=True) | Q(office__in=admin_office_ids(request.user))
        )

    # Office administrators may see organisation-wide closures, but only close their own offices:
    # only organisation administrators add, change or delete a closure of every office.

    def _closes_every_office_allowed(self, request: HttpRequest, obj: Model | None) -> bool:
        if request.user.is_superuser or obj is None or getattr(obj, "office_id", None):
            return True
        org_ids = admin_organisation_ids(request.user, org_admin_only=True)
        return getattr(obj, "organisation_id", None) in org_ids

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        allowed = super().has_change_permission(request, obj)
        return allowed and self._closes_every_office_allowed(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        allowed = super().has_delete_permission(request, obj)
        return allowed and self._closes_every_office_allowed(request, obj)

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        field = super().formfield_for_foreignkey(db_field, request, **kwargs)
        if db_field.name == "office" and not request.user.is_superuser:
            field.queryset = field.queryset.filter(pk__in=admin_office_ids(request.user))
        return field

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any):
        form = super().get_form(request, obj, change, **kwargs)
        # get_form builds a new class on every call, so this does not leak between requests.
        form.org_wide_ids = (  # type: ignore[attr-defined]
            None
            if request.user.is_superuser
            else frozenset(admin_organisation_ids(request.user, org_admin_only=True))
        )
        return form


@admin.register(Municipality)
class MunicipalityAdmin(admin.ModelAdmin):
    list_display = ("name", "ine_code", "latitude", "longitude")
    search_fields = ("name", "ine_code")

    def has_module_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.is_superuser)

    def has_view_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        # Every admin may look municipalities up (office autocomplete); only platform admins edit.
        return bool(request.user.is_active)
