"""The admin site: platform administrators see everything; organisation and office administrators
see only their own organisation's data (see TenantScopedAdmin)."""

from __future__ import annotations

from django.contrib import admin
from django.contrib.admin.apps import AdminConfig
from django.http import HttpRequest

from finestreta.lib.tenancy import admin_memberships


class FinestretaAdminSite(admin.AdminSite):
    def has_permission(self, request: HttpRequest) -> bool:
        user = request.user
        if not user.is_active:
            return False
        if user.is_superuser:
            return True
        return admin_memberships(user).exists()


class FinestretaAdminConfig(AdminConfig):
    default_site = "finestreta.lib.admin_site.FinestretaAdminSite"
