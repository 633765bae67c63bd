from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import Model, QuerySet
from django.http import HttpRequest
from modeltranslation.admin import TranslationAdmin

from finestreta.lib.tenancy import TenantScopedAdmin, TenantScopedInline, admin_office_ids
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
    tenant_choice_paths = {"organisation": ""}


@admin.register(ClosedDay)
class ClosedDayAdmin(OfficeScopedAdmin):
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


@admin.register(Municipality)
class MunicipalityAdmin(admin.ModelAdmin):
    list_display = ("name", "ine_code", "latitude", "longitude")
    search_fields = ("name", "ine_code")

    def has_module_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.is_superuser)

    def has_view_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        # Every admin may look municipalities up (office autocomplete); only platform admins edit.
        return bool(request.user.is_active)
