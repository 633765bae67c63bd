"""Public API of the accounts app: who a staff member is, and what they may reach.

Every staff view reaches tenant data through `get_membership_for_staff` (or a helper built on it),
which refuses — with a 404, so as not to reveal what exists — anyone who is not an active member of
that organisation with a high enough role.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404, HttpRequest

from finestreta.accounts.models import ROLE_RANK, IdentityProvider, Membership, Role, User
from finestreta.accounts.sessions import AUTH_KEY as SESSION_AUTH_KEY
from finestreta.accounts.sessions import session_auth, start_session
from finestreta.accounts.sso_config import provider_origin
from finestreta.tenants.models import Office, Organisation

__all__ = [
    "Role",
    "StaffContext",
    "get_membership_for_staff",
    "get_staff_context",
    "get_office_for_staff",
    "list_memberships",
    "list_login_providers",
    "list_team",
    "provision_sso_user",
    "complete_sso_login",
]


@dataclass(frozen=True)
class StaffContext:
    """What a staff view knows after the access check."""

    user: User
    organisation: Organisation
    membership: Membership


def list_memberships(user: User | AnonymousUser) -> QuerySet[Membership]:
    if not user.is_authenticated:
        return Membership.objects.none()
    return (
        Membership.objects.filter(user=user, is_active=True, organisation__is_active=True)
        .select_related("organisation")
        .order_by("organisation__name")
    )


def get_membership_for_staff(
    request: HttpRequest, org_slug: str, *, min_role: Role = Role.AGENT
) -> StaffContext:
    """The signed-in staff member's membership of this organisation, or a refusal.

    A stranger to the organisation gets 404 (the organisation's staff area does not exist for
    them); a member whose role is too low gets 403.
    """
    return get_staff_context(
        request.user, org_slug, signed_in_for=session_auth(request).get("org"), min_role=min_role
    )


def get_staff_context(
    user: Any, org_slug: str, *, signed_in_for: str | None, min_role: Role = Role.AGENT
) -> StaffContext:
    """`get_membership_for_staff` without a request (a WebSocket has a user and a session, not
    a request): `signed_in_for` is the organisation whose identity provider signed the user in,
    from the session."""
    if not getattr(user, "is_authenticated", False) or not isinstance(user, User):
        raise PermissionDenied
    if not user.is_active:
        raise PermissionDenied
    membership = (
        list_memberships(user)
        .prefetch_related("offices", "services")
        .filter(organisation__slug=org_slug)
        .first()
    )
    if membership is None:
        raise Http404("Not a member of this organisation")
    if signed_in_for and signed_in_for != membership.organisation.slug:
        # Signed in through another organisation's identity provider: that provider vouches
        # for this person only towards its own organisation.
        raise Http404("Signed in for another organisation")
    if ROLE_RANK[Role(membership.role)] < ROLE_RANK[min_role]:
        raise PermissionDenied
    return StaffContext(user=user, organisation=membership.organisation, membership=membership)


def get_office_for_staff(staff: StaffContext, office_slug: str) -> Office:
    try:
        return Office.objects.get(organisation=staff.organisation, slug=office_slug)
    except Office.DoesNotExist as exc:
        raise Http404("No such office") from exc


def list_team(staff: StaffContext) -> QuerySet[Membership]:
    """Memberships a supervisor or administrator may see: their own organisation only.

    The team list is staff personal data: each call is written to the audit log.
    """
    from finestreta.privacy.services import record_event

    record_event(
        action="personal_data.viewed",
        actor=staff.user,
        organisation=staff.organisation,
        target=Membership,
        details={"list": "team"},
    )
    return (
        Membership.objects.filter(organisation=staff.organisation)
        .select_related("user")
        .prefetch_related("offices", "services")
        .order_by("user__last_name", "user__first_name", "user__username")
    )


def provision_sso_user(
    *, user: User, identity_provider: IdentityProvider, request: HttpRequest | None = None
) -> Membership:
    """Someone new signed in through an organisation's provider: give them a membership of that
    organisation with no access (inactive) until an administrator or a role mapping grants it."""
    from finestreta.privacy.services import record_event

    membership, _created = Membership.objects.get_or_create(
        user=user,
        organisation=identity_provider.organisation,
        defaults={"role": Role.AGENT, "is_active": False},
    )
    record_event(
        action="sso.user_provisioned",
        request=request,
        actor=user,
        organisation=identity_provider.organisation,
        target=membership,
        details={"provider": identity_provider.slug},
    )
    return membership


def complete_sso_login(*, request: HttpRequest, user: User, sociallogin: Any) -> None:
    """After a single sign-on: bind the session to the provider's organisation and apply the
    provider's role mapping, if it has one."""
    from finestreta.accounts.sso import claims_of, identity_provider_for, mapped_role
    from finestreta.privacy.services import record_event

    idp = identity_provider_for(sociallogin)
    if idp is None:
        return
    start_session(request, user=user, method="sso", identity_provider=idp)
    auth = session_auth(request)
    if idp.protocol == IdentityProvider.Protocol.SAML and not idp.uid_attribute:
        auth["subject"] = sociallogin.account.uid  # the NameID, for single logout
    request.session[SESSION_AUTH_KEY] = auth
    role = mapped_role(idp, claims_of(sociallogin))
    if role is None:
        return
    membership, _created = Membership.objects.get_or_create(
        user=user, organisation=idp.organisation, defaults={"role": role, "is_active": True}
    )
    if membership.role != role or not membership.is_active:
        membership.role = role
        membership.is_active = True
        membership.save(update_fields=["role", "is_active"])
        record_event(
            action="role.granted",
            request=request,
            actor=user,
            organisation=idp.organisation,
            target=membership,
            details={"role": role.value, "by": "role mapping", "provider": idp.slug},
        )


@dataclass(frozen=True)
class LoginProvider:
    organisation: Organisation
    name: str
    protocol: str
    login_url: str
    origin: str = ""  # where the browser goes to sign on (the login page's form-action)


def list_login_providers() -> list[LoginProvider]:
    """The identity providers offered on the staff login page, by organisation."""
    from django.urls import reverse

    found = []
    for idp in (
        IdentityProvider.objects.filter(
            is_active=True,
            organisation__is_active=True,
            audience=IdentityProvider.Audience.STAFF,
        )
        .select_related("organisation")
        .order_by("organisation__name", "name")
    ):
        if idp.protocol == IdentityProvider.Protocol.SAML:
            url = reverse("saml_login", args=[idp.slug])
        else:
            url = reverse("openid_connect_login", kwargs={"provider_id": idp.slug})
        found.append(
            LoginProvider(
                idp.organisation,
                idp.name,
                idp.get_protocol_display(),
                url,
                provider_origin(idp),
            )
        )
    return found
