from __future__ import annotations

from django.contrib import admin

from finestreta.lib.tenancy import TenantScopedAdmin
from finestreta.scheduling.models import Absence, WorkingPattern


@admin.register(WorkingPattern)
class WorkingPatternAdmin(TenantScopedAdmin):
    tenant_path = "membership__organisation"
    list_display = (
        "membership",
        "office",
        "weekday",
        "starts",
        "ends",
        "valid_from",
        "valid_until",
    )
    list_filter = ("weekday", "video", "phone", "in_person")
    tenant_choice_paths = {"membership": "organisation", "office": "organisation"}


@admin.register(Absence)
class AbsenceAdmin(TenantScopedAdmin):
    tenant_path = "membership__organisation"
    list_display = ("membership", "starts_at", "ends_at", "reason")
    tenant_choice_paths = {"membership": "organisation"}
