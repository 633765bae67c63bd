from __future__ import annotations

from django.contrib import admin
from django.db.models import Model
from django.http import HttpRequest

from finestreta.lib.tenancy import TenantScopedAdmin
from finestreta.reports.models import SurveyAnswer


@admin.register(SurveyAnswer)
class SurveyAnswerAdmin(TenantScopedAdmin):
    """What citizens answered, read-only: an answer is theirs, not the office's to change."""

    list_display = ("answered_at", "score", "appointment", "language")
    list_filter = ("score", "language")
    list_select_related = ("appointment",)
    fields = ("answered_at", "organisation", "appointment", "score", "comment", "language")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False
