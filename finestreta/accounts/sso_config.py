"""Identity-provider configuration: validation, SAML metadata import, and the allauth apps.

Each organisation's providers live in `accounts.IdentityProvider` (editable by its administrators);
allauth sees them as SocialApp objects built here on the fly, never stored in allauth's own tables.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from allauth.socialaccount.models import SocialApp
from django.conf import settings
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils.translation import gettext as _
from onelogin.saml2.idp_metadata_parser import OneLogin_Saml2_IdPMetadataParser

if TYPE_CHECKING:
    from finestreta.accounts.models import IdentityProvider

MAPPABLE_FIELDS = {"email", "first_name", "last_name"}
SAML_DEFAULT_MAPPING = {"email": "mail", "first_name": "givenName", "last_name": "sn"}
OIDC_DEFAULT_MAPPING = {"email": "email", "first_name": "given_name", "last_name": "family_name"}


def import_saml_metadata(idp: IdentityProvider) -> None:
    """Fill entity ID, endpoints and signing certificate from pasted IdP metadata."""
    try:
        parsed = OneLogin_Saml2_IdPMetadataParser.parse(idp.idp_metadata)
    except Exception as exc:  # noqa: BLE001 - any parser failure is the admin's input
        raise ValidationError(
            {"idp_metadata": _("This is not valid SAML 2.0 identity provider metadata.")}
        ) from exc
    data = parsed.get("idp") or {}
    if not data.get("entityId") or not data.get("singleSignOnService", {}).get("url"):
        raise ValidationError(
            {"idp_metadata": _("The metadata does not describe an identity provider.")}
        )
    idp.idp_entity_id = data["entityId"]
    idp.idp_sso_url = data["singleSignOnService"]["url"]
    idp.idp_slo_url = (data.get("singleLogoutService") or {}).get("url", "")
    certificate = data.get("x509cert") or (data.get("x509certMulti") or {}).get("signing", [""])[0]
    if not certificate:
        raise ValidationError(
            {
                "idp_metadata": _(
                    "The metadata has no signing certificate: assertions must be signed."
                )
            }
        )
    idp.idp_certificate = certificate


def validate_identity_provider(idp: IdentityProvider) -> None:
    from finestreta.accounts.models import IdentityProvider, Role

    if idp.protocol == IdentityProvider.Protocol.SAML:
        if idp.idp_metadata.strip():
            import_saml_metadata(idp)
        missing = [
            name
            for name in ("idp_entity_id", "idp_sso_url", "idp_certificate")
            if not getattr(idp, name)
        ]
        if missing:
            raise ValidationError(
                {name: _("Paste the metadata or fill in this field.") for name in missing}
            )
    else:
        missing = [
            name for name in ("issuer", "client_id", "client_secret") if not getattr(idp, name)
        ]
        if missing:
            raise ValidationError({name: _("OpenID Connect needs this field.") for name in missing})
        if "openid" not in idp.scopes.split():
            raise ValidationError({"scopes": _("The scopes must include “openid”.")})
    if not isinstance(idp.attribute_mapping, dict) or set(idp.attribute_mapping) - MAPPABLE_FIELDS:
        raise ValidationError(
            {"attribute_mapping": _("Use only the keys email, first_name and last_name.")}
        )
    roles = {choice.value for choice in Role}
    if not isinstance(idp.role_mapping, dict) or set(idp.role_mapping.values()) - roles:
        raise ValidationError(
            {
                "role_mapping": _("Each value must be one of: %(roles)s.")
                % {"roles": ", ".join(sorted(roles))}
            }
        )
    if idp.audience == IdentityProvider.Audience.CITIZENS and (
        idp.role_mapping or idp.role_attribute
    ):
        raise ValidationError(
            {"role_mapping": _("A citizens' provider grants no roles: leave the roles empty.")}
        )
    if idp.document_attribute and idp.audience != IdentityProvider.Audience.CITIZENS:
        raise ValidationError(
            {"document_attribute": _("Only a citizens' provider tells a document number.")}
        )
    if idp.role_mapping and not idp.role_attribute:
        raise ValidationError({"role_attribute": _("Say which attribute carries the roles.")})


def provider_origin(idp: IdentityProvider) -> str:
    """The origin the browser is sent to for signing on: the IdP's single sign-on URL (SAML) or
    the issuer's (OpenID Connect, whose authorization endpoint is on it in practice)."""
    from finestreta.accounts.models import IdentityProvider
    from finestreta.lib.csp import origin_of

    if idp.protocol == IdentityProvider.Protocol.SAML:
        return origin_of(idp.idp_sso_url)
    return origin_of(idp.issuer)


def sp_entity_id(idp: IdentityProvider) -> str:
    return settings.SITE_URL + reverse("saml_metadata", args=[idp.slug])


def build_social_app(idp: IdentityProvider) -> SocialApp:
    """The allauth app for this provider (unsaved: allauth accepts apps built from settings)."""
    from finestreta.accounts.models import IdentityProvider

    if idp.protocol == IdentityProvider.Protocol.SAML:
        mapping: dict[str, Any] = {**SAML_DEFAULT_MAPPING, **idp.attribute_mapping}
        if idp.uid_attribute:
            mapping["uid"] = idp.uid_attribute
        app_settings: dict[str, Any] = {
            "attribute_mapping": mapping,
            "idp": {
                "entity_id": idp.idp_entity_id,
                "sso_url": idp.idp_sso_url,
                "slo_url": idp.idp_slo_url or None,
                "x509cert": idp.idp_certificate,
            },
            "sp": {"entity_id": sp_entity_id(idp)},
            "advanced": {
                "strict": True,
                "want_assertion_signed": True,
                "reject_idp_initiated_sso": True,
                "allow_single_label_domains": True,
                "reject_deprecated_algorithm": True,
            },
        }
        return SocialApp(
            provider="saml",
            provider_id=idp.slug,
            client_id=idp.slug,
            name=idp.name,
            settings=app_settings,
        )
    return SocialApp(
        provider="openid_connect",
        provider_id=idp.slug,
        client_id=idp.client_id,
        secret=idp.client_secret,
        name=idp.name,
        settings={
            "server_url": idp.issuer,
            "oauth_pkce_enabled": True,
            "scope": idp.scopes.split(),
        },
    )
