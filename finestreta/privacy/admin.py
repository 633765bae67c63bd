from __future__ import annotations

from django.contrib import admin
from django.db.models import Model
from django.http import HttpRequest

from finestreta.lib.tenancy import TenantScopedAdmin
from finestreta.privacy.models import AuditEvent


@admin.register(AuditEvent)
class AuditEventAdmin(TenantScopedAdmin):
    """Read-only for everyone, platform administrators included. Organisation administrators
    see their organisation's events; platform events (no organisation) only platform
    administrators see."""

    org_admin_only = True
    list_display = (
        "occurred_at",
        "organisation",
        "actor_label",
        "action",
        "target_type",
        "target_label",
        "ip_address",
    )
    list_filter = ("action",)
    search_fields = ("actor_label", "target_label", "target_id")
    list_select_related = ("organisation",)
    show_full_result_count = False
    fields = (
        "occurred_at",
        "organisation",
        "actor",
        "actor_label",
        "action",
        "target_type",
        "target_id",
        "target_label",
        "ip_address",
        "user_agent",
        "details",
    )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False
