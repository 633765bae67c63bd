from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.db.models import Model
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from finestreta.accounts.models import SPOKEN_LANGUAGES, Membership, User
from finestreta.lib.tenancy import TenantScopedAdmin


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    fieldsets = (
        *(BaseUserAdmin.fieldsets or ()),
        (_("Finestreta"), {"fields": ("preferred_language", "is_demo")}),
    )

    def has_module_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.is_superuser)

    def has_view_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return bool(request.user.is_superuser)


class MembershipForm(forms.ModelForm):
    languages = forms.MultipleChoiceField(
        label=_("languages spoken"),
        choices=SPOKEN_LANGUAGES,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )

    class Meta:
        model = Membership
        fields = "__all__"  # noqa: DJ007 - the ModelAdmin chooses the fields shown

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        organisation = cleaned.get("organisation")
        if organisation:
            for field in ("offices", "services"):
                strangers = [
                    x for x in cleaned.get(field) or [] if x.organisation_id != organisation.pk
                ]
                if strangers:
                    self.add_error(field, _("Choose only items of this organisation."))
        return cleaned


@admin.register(Membership)
class MembershipAdmin(TenantScopedAdmin):
    form = MembershipForm
    org_admin_only = True
    list_display = ("user", "organisation", "role", "sign_language", "is_active")
    list_filter = ("role", "is_active", "sign_language")
    search_fields = ("user__username", "user__first_name", "user__last_name", "user__email")
    filter_horizontal = ("offices", "services")
    tenant_choice_paths = {
        "organisation": "",
        # Organisation admins choose among people already known to their organisation (new
        # people arrive through the organisation's single sign-on, see docs/adr).
        "user": "memberships__organisation",
        "offices": "organisation",
        "services": "organisation",
    }


from finestreta.accounts import admin_sso  # noqa: E402,F401 - registers IdentityProviderAdmin
