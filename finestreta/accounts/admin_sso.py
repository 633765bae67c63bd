from __future__ import annotations

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from finestreta.accounts.models import IdentityProvider
from finestreta.accounts.sso_config import sp_entity_id
from finestreta.lib.tenancy import TenantScopedAdmin


@admin.register(IdentityProvider)
class IdentityProviderAdmin(TenantScopedAdmin):
    org_admin_only = True
    list_display = ("name", "organisation", "audience", "protocol", "slug", "is_active")
    list_filter = ("audience", "protocol", "is_active")
    readonly_fields = ("service_provider_details",)
    tenant_choice_paths = {"organisation": ""}
    fieldsets = (
        (None, {"fields": ("organisation", "slug", "name", "audience", "protocol", "is_active")}),
        (
            _("SAML 2.0"),
            {
                "fields": (
                    "service_provider_details",
                    "idp_metadata",
                    "idp_entity_id",
                    "idp_sso_url",
                    "idp_slo_url",
                    "idp_certificate",
                    "uid_attribute",
                )
            },
        ),
        (_("OpenID Connect"), {"fields": ("issuer", "client_id", "client_secret", "scopes")}),
        (
            _("Attributes and roles"),
            {
                "fields": (
                    "attribute_mapping",
                    "document_attribute",
                    "role_attribute",
                    "role_mapping",
                )
            },
        ),
    )

    @admin.display(description=_("What to give the identity provider"))
    def service_provider_details(self, obj: IdentityProvider) -> str:
        if not obj.pk:
            return str(_("Save first: the addresses depend on the identifier."))
        from django.conf import settings
        from django.urls import reverse

        base = settings.SITE_URL
        if obj.protocol == IdentityProvider.Protocol.SAML:
            return str(
                _(
                    "SP metadata and entity ID: %(entity)s — assertion consumer service: "
                    "%(acs)s — single logout: %(sls)s"
                )
                % {
                    "entity": sp_entity_id(obj),
                    "acs": base + reverse("saml_acs", args=[obj.slug]),
                    "sls": base + reverse("saml_sls", args=[obj.slug]),
                }
            )
        callback = base + reverse("openid_connect_callback", kwargs={"provider_id": obj.slug})
        return str(
            _("Redirect URI: %(callback)s — post-logout redirect URI: %(logout)s")
            % {"callback": callback, "logout": base + "/"}
        )
