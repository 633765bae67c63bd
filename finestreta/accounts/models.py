"""Staff users, their membership of organisations, roles and skills."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from finestreta.catalogue.models import Service
from finestreta.tenants.models import Office, Organisation

# Languages an agent may speak with citizens (ISO 639-1), beyond the interface languages.
SPOKEN_LANGUAGES = [
    ("ca", _("Catalan")),
    ("es", _("Spanish")),
    ("oc", _("Aranese (Occitan)")),
    ("en", _("English")),
    ("fr", _("French")),
    ("de", _("German")),
    ("it", _("Italian")),
    ("pt", _("Portuguese")),
    ("ro", _("Romanian")),
    ("ar", _("Arabic")),
    ("zh", _("Chinese")),
    ("ur", _("Urdu")),
    ("ru", _("Russian")),
    ("uk", _("Ukrainian")),
]
SPOKEN_LANGUAGE_CODES = frozenset(code for code, _label in SPOKEN_LANGUAGES)


def validate_spoken_languages(value: object) -> None:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValidationError(_("Give the languages as a list of codes."), code="type")
    unknown = sorted(set(value) - SPOKEN_LANGUAGE_CODES)
    if unknown:
        raise ValidationError(
            _("Unknown language codes: %(codes)s."),
            code="unknown",
            params={"codes": ", ".join(unknown)},
        )


class User(AbstractUser):
    """A staff member or a platform administrator. Citizens do not have accounts."""

    preferred_language = models.CharField(
        _("preferred language"), max_length=5, choices=settings.LANGUAGES, default="ca"
    )
    is_demo = models.BooleanField(
        _("demo account"),
        default=False,
        help_text=_("Demo accounts can only log in while DEBUG is on."),
    )

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")

    def __str__(self) -> str:
        return self.get_full_name() or self.username


class Role(models.TextChoices):
    AGENT = "agent", _("Agent")
    SUPERVISOR = "supervisor", _("Supervisor")
    OFFICE_ADMIN = "office_admin", _("Office administrator")
    ORG_ADMIN = "org_admin", _("Organisation administrator")


# What each role may do, from least to most.
ROLE_RANK = {Role.AGENT: 1, Role.SUPERVISOR: 2, Role.OFFICE_ADMIN: 3, Role.ORG_ADMIN: 4}


class Membership(models.Model):
    """A staff member's place in one organisation: role, offices and skills."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="memberships",
        verbose_name=_("user"),
    )
    organisation = models.ForeignKey(
        Organisation,
        on_delete=models.CASCADE,
        related_name="memberships",
        verbose_name=_("organisation"),
    )
    role = models.CharField(_("role"), max_length=20, choices=Role.choices, default=Role.AGENT)
    offices = models.ManyToManyField(
        Office,
        related_name="memberships",
        blank=True,
        verbose_name=_("offices"),
        help_text=_("Where the staff member works; the virtual back-office counts as an office."),
    )
    services: models.ManyToManyField[Service, Any] = models.ManyToManyField(
        Service,
        related_name="skilled_memberships",
        blank=True,
        verbose_name=_("services they can attend"),
    )
    languages = models.JSONField(
        _("languages spoken"), default=list, blank=True, validators=[validate_spoken_languages]
    )
    sign_language = models.BooleanField(_("Catalan Sign Language"), default=False)
    staff_number = models.CharField(
        _("staff number"),
        max_length=30,
        blank=True,
        help_text=_("Shown to the citizen in a video call, with the staff member's name."),
    )
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")
        constraints = [
            models.UniqueConstraint(fields=["user", "organisation"], name="one_membership_per_org"),
        ]

    def __str__(self) -> str:
        return f"{self.user} @ {self.organisation} ({self.get_role_display()})"

    def has_role(self, role: Role) -> bool:
        return ROLE_RANK[Role(self.role)] >= ROLE_RANK[role]

    @property
    def is_admin(self) -> bool:
        return self.has_role(Role.OFFICE_ADMIN)

    @property
    def can_supervise(self) -> bool:
        return self.has_role(Role.SUPERVISOR)


class IdentityProvider(models.Model):
    """An organisation's identity provider: its corporate one for staff single sign-on, or its
    citizen identity service (VÀLid, Cl@ve…) with which citizens identify themselves before a
    call — never to sign in (identity.electronic_id, ADR 29).

    Staff are matched on (this provider, the subject it asserts): the provider's `slug` becomes the
    allauth provider id, so one person's accounts at two providers are two accounts.
    """

    class Protocol(models.TextChoices):
        SAML = "saml", _("SAML 2.0")
        OIDC = "oidc", _("OpenID Connect")

    class Audience(models.TextChoices):
        STAFF = "staff", _("Staff: single sign-on")
        CITIZENS = "citizens", _("Citizens: electronic identity before a call")

    organisation = models.ForeignKey(
        Organisation,
        on_delete=models.CASCADE,
        related_name="identity_providers",
        verbose_name=_("organisation"),
    )
    slug = models.SlugField(
        _("identifier"),
        max_length=60,
        unique=True,
        help_text=_("Appears in the sign-on addresses, for example generalitat-gicar."),
    )
    name = models.CharField(
        _("name shown on the login page"), max_length=100, help_text=_("For example GICAR.")
    )
    protocol = models.CharField(_("protocol"), max_length=4, choices=Protocol.choices)
    audience = models.CharField(
        _("who uses it"),
        max_length=8,
        choices=Audience.choices,
        default=Audience.STAFF,
        help_text=_(
            "A citizens' provider never signs anyone in: it only tells who the citizen of an "
            "appointment is."
        ),
    )
    is_active = models.BooleanField(_("active"), default=True)
    # SAML 2.0
    idp_metadata = models.TextField(
        _("identity provider metadata (XML)"),
        blank=True,
        help_text=_(
            "Paste the IdP's metadata: entity ID, endpoints and certificate are read from it."
        ),
    )
    idp_entity_id = models.CharField(_("IdP entity ID"), max_length=255, blank=True)
    idp_sso_url = models.URLField(_("IdP single sign-on URL"), blank=True)
    idp_slo_url = models.URLField(_("IdP single logout URL"), blank=True)
    idp_certificate = models.TextField(_("IdP signing certificate"), blank=True)
    uid_attribute = models.CharField(
        _("attribute with the user's stable identifier"),
        max_length=100,
        blank=True,
        help_text=_("Leave empty to use the SAML NameID."),
    )
    # OpenID Connect
    issuer = models.URLField(_("issuer"), blank=True)
    client_id = models.CharField(_("client ID"), max_length=200, blank=True)
    client_secret = models.CharField(_("client secret"), max_length=500, blank=True)
    scopes = models.CharField(
        _("scopes"), max_length=200, blank=True, default="openid profile email"
    )
    # Both
    attribute_mapping = models.JSONField(
        _("attribute mapping"),
        default=dict,
        blank=True,
        help_text=_(
            'Names of the attributes or claims, e.g. {"email": "mail", "first_name": '
            '"givenName", "last_name": "sn"}.'
        ),
    )
    document_attribute = models.CharField(
        _("attribute or claim with the citizen's document number"),
        max_length=200,
        blank=True,
        help_text=_(
            "Citizens' providers: for example identifier (VÀLid) or PersonIdentifier (Cl@ve). "
            "It is compared with the document given when booking, and kept only as a keyed "
            "fingerprint."
        ),
    )
    role_attribute = models.CharField(
        _("attribute or claim that grants roles"), max_length=100, blank=True
    )
    role_mapping = models.JSONField(
        _("role mapping"),
        default=dict,
        blank=True,
        help_text=_('Values of that attribute and the role they grant, e.g. {"atencio": "agent"}.'),
    )

    class Meta:
        verbose_name = _("identity provider")
        verbose_name_plural = _("identity providers")
        ordering = ["organisation", "name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_protocol_display()})"

    def clean(self) -> None:
        super().clean()
        from finestreta.accounts.sso_config import validate_identity_provider

        validate_identity_provider(self)


class StaffSession(models.Model):
    """A signed-in staff session, so people can see and end their sessions, and admins can end
    all sessions of a deactivated user at once."""

    session_key = models.CharField(max_length=40, unique=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="staff_sessions"
    )
    organisation = models.ForeignKey(
        Organisation, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    identity_provider = models.ForeignKey(
        IdentityProvider, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    started_at = models.DateTimeField()
    last_seen = models.DateTimeField()
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-last_seen"]

    def __str__(self) -> str:
        return f"{self.user} since {self.started_at:%Y-%m-%d %H:%M}"
