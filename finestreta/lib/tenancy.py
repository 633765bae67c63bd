"""Tenant scoping shared by the admin and the access helpers."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db import models
from django.db.models import Model, Q, QuerySet
from django.http import HttpRequest


def admin_memberships(user: Any) -> QuerySet[Any]:
    """Active memberships that give admin rights (office or organisation administrator)."""
    from finestreta.accounts.models import Membership, Role

    if not getattr(user, "is_authenticated", False):
        return Membership.objects.none()
    return Membership.objects.filter(
        user=user,
        is_active=True,
        organisation__is_active=True,
        role__in=[Role.OFFICE_ADMIN, Role.ORG_ADMIN],
    )


def admin_organisation_ids(user: Any, *, org_admin_only: bool = False) -> list[int]:
    from finestreta.accounts.models import Role

    memberships = admin_memberships(user)
    if org_admin_only:
        memberships = memberships.filter(role=Role.ORG_ADMIN)
    return list(memberships.values_list("organisation_id", flat=True))


class TenantScopedAdmin(admin.ModelAdmin):
    """A ModelAdmin whose rows, choices and permissions are limited to the user's organisations.

    `tenant_path` is the lookup from the model to its organisation ("organisation",
    "office__organisation", or "" for the Organisation model itself). `org_admin_only` restricts
    the model to organisation administrators (office administrators only see it when False).
    """

    tenant_path = "organisation"
    org_admin_only = False
    # Models whose choices must be limited to the user's organisations, by FK/M2M field name.
    tenant_choice_paths: dict[str, str] = {}
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}

    def _org_ids(self, request: HttpRequest) -> list[int]:
        # Every permission check asks; remember the answer for the rest of the request.
        cache: dict[bool, list[int]] = request.__dict__.setdefault("_admin_org_ids", {})
        if self.org_admin_only not in cache:
            cache[self.org_admin_only] = admin_organisation_ids(
                request.user, org_admin_only=self.org_admin_only
            )
        return cache[self.org_admin_only]

    def _org_filter(self, path: str, org_ids: list[int]) -> Q:
        lookup = f"{path}__in" if path else "pk__in"
        return Q(**{lookup: org_ids})

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        queryset = super().get_queryset(request)
        if request.user.is_superuser:
            return queryset
        return queryset.filter(self._org_filter(self.tenant_path, self._org_ids(request)))

    def _allowed(self, request: HttpRequest, obj: Model | None = None) -> bool:
        if request.user.is_superuser:
            return True
        if not self._org_ids(request):
            return False
        if obj is None:
            return True
        return self.get_queryset(request).filter(pk=obj.pk).exists()

    def has_module_permission(self, request: HttpRequest) -> bool:
        return self._allowed(request)

    def has_view_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return self._allowed(request, obj)

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return self._allowed(request, obj)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return self._allowed(request)

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return self._allowed(request, obj)

    def log_deletions(self, request: HttpRequest, queryset: QuerySet[Any]) -> Any:
        # Bulk deletions write their admin log entries in bulk (no save signal): mirror each
        # into the audit log here.
        entries = super().log_deletions(request, queryset)
        from finestreta.privacy.services import record_admin_log_entry

        listed = entries if isinstance(entries, list) else [entries]
        if len(listed) > 1:  # a single entry is saved one by one and recorded by the signal
            for entry in listed:
                record_admin_log_entry(entry)
        return entries

    def _limit_choices(self, request: HttpRequest, db_field: Any, kwargs: dict[str, Any]) -> None:
        if request.user.is_superuser:
            return
        path = self.tenant_choice_paths.get(db_field.name)
        if path is None:
            return
        related = db_field.remote_field.model._default_manager
        kwargs["queryset"] = related.filter(
            self._org_filter(path, self._org_ids(request))
        ).distinct()

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        self._limit_choices(request, db_field, kwargs)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def formfield_for_manytomany(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        self._limit_choices(request, db_field, kwargs)
        return super().formfield_for_manytomany(db_field, request, **kwargs)


def admin_office_ids(user: Any) -> list[int]:
    """Offices a user administers: every office of an organisation they administer, plus the
    offices of their office-administrator memberships."""
    from finestreta.accounts.models import Role
    from finestreta.tenants.models import Office

    memberships = admin_memberships(user)
    org_ids = memberships.filter(role=Role.ORG_ADMIN).values_list("organisation_id", flat=True)
    office_admin = memberships.filter(role=Role.OFFICE_ADMIN)
    return list(
        Office.objects.filter(Q(organisation_id__in=org_ids) | Q(memberships__in=office_admin))
        .values_list("pk", flat=True)
        .distinct()
    )


class TenantScopedInline(admin.TabularInline):
    """Inline rows follow their parent's permissions (the parent admin is tenant-scoped)."""

    extra = 0

    def has_view_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return True

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return True

    def has_add_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return True

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return True
