"""Bringing a third participant into a call — an interpreter (sign language or another
language), a specialist from another office or organisation, a supervisor — and transferring
the call to another agent. Each joins with their own authorisation: a colleague with their own
login (the invitation lets them into this one call), a guest from outside with the link of their
invitation (only a hash of its token is kept). At most four are in a call at once."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass

from django.conf import settings
from django.db import IntegrityError, transaction
from django.urls import reverse

from finestreta.accounts.models import Membership
from finestreta.accounts.services import StaffContext
from finestreta.video.models import Invitation, Role, Room, RoomEvent
from finestreta.video.services import NotAllowed, can_serve

# An invitation is good for the rest of the working day's call, not for ever.
VALID_FOR = dt.timedelta(hours=4)


@dataclass(frozen=True)
class GuestInvitation:
    invitation: Invitation
    link: str  # shown once to the agent, to pass on; not kept


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _check_inviter(staff: StaffContext, room: Room) -> None:
    if room.state != Room.State.OPEN:
        raise NotAllowed("ended", "The call has ended.")
    if not can_serve(staff, room.appointment):
        raise NotAllowed("not_allowed", "Only staff of this call can invite.")
    if room.organisation_id != staff.organisation.pk:  # helping through a shared queue
        raise NotAllowed("not_allowed", "Only the organisation's own staff can invite.")


def colleagues(staff: StaffContext) -> list[Membership]:
    """Who of the organisation can be invited or take the call over: active members, except
    the inviter."""
    return list(
        Membership.objects.filter(organisation=staff.organisation, is_active=True)
        .exclude(pk=staff.membership.pk)
        .select_related("user")
        .order_by("user__first_name", "user__last_name", "user__username")
    )


def invite_colleague(
    *, staff: StaffContext, room: Room, membership_id: int, kind: str, now: dt.datetime
) -> Invitation:
    """Let a colleague of the organisation into this call (they join with their own login).
    A transfer also makes them the appointment's agent: the call, its outcome and its alerts
    are theirs from now on."""
    _check_inviter(staff, room)
    membership = Membership.objects.filter(
        pk=membership_id, organisation=staff.organisation, is_active=True
    ).first()
    if membership is None:
        raise NotAllowed("not_allowed", "No such colleague.")
    if kind not in Invitation.Kind.values:
        raise NotAllowed("bad_message", "Invite as what?")
    try:
        with transaction.atomic():
            invitation = Invitation.objects.create(
                room=room,
                kind=kind,
                name=str(membership.user),
                membership=membership,
                created_by=staff.user,
                created_at=now,
                expires_at=now + VALID_FOR,
            )
            if kind == Invitation.Kind.TRANSFER:
                appointment = room.appointment
                previous = appointment.agent_id
                appointment.agent = membership
                appointment.save(update_fields=["agent"])
                _record(room, RoomEvent.Kind.TRANSFERRED, staff, now, {"from": previous})
            _record(room, RoomEvent.Kind.INVITED, staff, now, {"as": kind, "to": membership.pk})
    except IntegrityError:  # the colleague has another appointment at that time
        raise NotAllowed("busy", "That colleague has another appointment at this time.") from None
    return invitation


def invite_guest(
    *, staff: StaffContext, room: Room, name: str, kind: str, now: dt.datetime
) -> GuestInvitation:
    """A link for someone from outside the organisation (an interpreter service, a specialist
    of another administration). Shown once; only its hash is kept."""
    _check_inviter(staff, room)
    name = " ".join(name.split())[:200]
    if not name:
        raise NotAllowed("bad_message", "Give the guest's name: the citizen sees it.")
    if kind not in (Invitation.Kind.INTERPRETER, Invitation.Kind.SPECIALIST):
        raise NotAllowed("bad_message", "A guest joins as an interpreter or a specialist.")
    token = secrets.token_urlsafe(24)
    with transaction.atomic():
        invitation = Invitation.objects.create(
            room=room,
            kind=kind,
            name=name,
            token_hash=_hash(token),
            created_by=staff.user,
            created_at=now,
            expires_at=now + VALID_FOR,
        )
        _record(room, RoomEvent.Kind.INVITED, staff, now, {"as": kind, "guest": name})
    path = reverse("video:guest", args=[room.organisation.slug, room.public_id, token])
    return GuestInvitation(invitation=invitation, link=settings.SITE_URL.rstrip("/") + path)


def revoke(*, staff: StaffContext, invitation: Invitation, now: dt.datetime) -> None:
    _check_inviter(staff, invitation.room)
    Invitation.objects.filter(pk=invitation.pk, revoked_at__isnull=True).update(revoked_at=now)


def guest_invitation(*, room: Room, token: str, now: dt.datetime) -> Invitation | None:
    """The live guest invitation of this room that `token` opens, if any."""
    return Invitation.objects.filter(
        room=room,
        token_hash=_hash(token),
        membership__isnull=True,
        revoked_at__isnull=True,
        expires_at__gt=now,
    ).first()


def get_guest_room(
    *, organisation_id: int, public_id: str, token: str, now: dt.datetime
) -> tuple[Room, Invitation] | None:
    """The room of this organisation and the live guest invitation that `token` opens in it;
    None for anything else."""
    room = (
        Room.objects.select_related("appointment__service")
        .filter(organisation_id=organisation_id, public_id=public_id)
        .first()
    )
    invitation = guest_invitation(room=room, token=token, now=now) if room else None
    return (room, invitation) if room and invitation else None


def list_invitations(room: Room) -> list[Invitation]:
    return list(Invitation.objects.filter(room=room).select_related("membership__user"))


def _record(
    room: Room, kind: str, staff: StaffContext, now: dt.datetime, details: dict[str, object]
) -> None:
    RoomEvent.objects.create(
        room=room, kind=kind, role=Role.STAFF, user=staff.user, details=details, at=now
    )
