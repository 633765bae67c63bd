"""Public API of the accounts app: who a staff member is, and what they may reach.

Every staff view reaches tenant data through `get_membership_for_staff` (or a helper built on it),
which refuses — with a 404, so as not to reveal what exists — anyone who is not an active member of
that organisation with a high enough role.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404, HttpRequest

from finestreta.accounts.models import ROLE_RANK, Membership, Role, User
from finestreta.tenants.models import Office, Organisation

__all__ = [
    "Role",
    "StaffContext",
    "get_membership_for_staff",
    "get_office_for_staff",
    "list_memberships",
    "list_team",
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
    user = request.user
    if not user.is_authenticated or not isinstance(user, User) or not user.is_active:
        raise PermissionDenied
    membership = (
        list_memberships(user)
        .prefetch_related("offices", "services")
        .filter(organisation__slug=org_slug)
        .first()
    )
    if membership is None:
        raise Http404("Not a member of this organisation")
    if ROLE_RANK[Role(membership.role)] < ROLE_RANK[min_role]:
        raise PermissionDenied
    return StaffContext(user=user, organisation=membership.organisation, membership=membership)


def get_office_for_staff(staff: StaffContext, office_slug: str) -> Office:
    try:
        return Office.objects.get(organisation=staff.organisation, slug=office_slug)
    except Office.DoesNotExist as exc:
        raise Http404("No such office") from exc


def list_team(staff: StaffContext) -> QuerySet[Membership]:
    """Memberships a supervisor or administrator may see: their own organisation only."""
    return (
        Membership.objects.filter(organisation=staff.organisation)
        .select_related("user")
        .prefetch_related("offices", "services")
        .order_by("user__last_name", "user__first_name", "user__username")
    )
