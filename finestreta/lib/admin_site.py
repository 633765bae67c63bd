"""The admin site: platform administrators see everything; organisation and office administrators
see only their own organisation's data (see TenantScopedAdmin)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.admin.apps import AdminConfig
from django.contrib.auth import REDIRECT_FIELD_NAME
from django.http import HttpRequest
from django.urls import reverse

from finestreta.lib.tenancy import admin_memberships


class FinestretaAdminSite(admin.AdminSite):
    def login(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> Any:
        # One login for all staff (the single sign-on issue plugs in there), not the admin's own
        # form, which would also refuse organisation administrators for lacking `is_staff`.
        from django.contrib.auth.views import redirect_to_login  # needs the app registry

        return redirect_to_login(
            request.GET.get(REDIRECT_FIELD_NAME) or reverse("admin:index"),
            reverse("accounts:login"),
        )

    def has_permission(self, request: HttpRequest) -> bool:
        user = request.user
        if not user.is_active:
            return False
        if user.is_superuser:
            return True
        return admin_memberships(user).exists()


class FinestretaAdminConfig(AdminConfig):
    default_site = "finestreta.lib.admin_site.FinestretaAdminSite"
