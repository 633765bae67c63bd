"""A supervisor listening silently to a call, for coaching (issue "desk and queue", 4).

Only where the organisation's policy allows it (`Organisation.allows_silent_coaching`), only a
supervisor, only a call in progress. The supervisor's page sends no microphone or camera; the
server marks their place in the call `silent`, refuses them the chat, notices, admitting and
ending, and tells every participant who is listening — the citizen's page says so in words and
to screen readers, and plays nothing of the listener's even from a tampered client. Each start
is kept (`Coaching`) and audit-logged.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.utils.translation import gettext_lazy as _

from finestreta.accounts.models import Membership, Role
from finestreta.accounts.services import StaffContext
from finestreta.privacy.services import Action, record_event
from finestreta.video.models import Coaching, Presence, Room
from finestreta.video.models import Role as PeerRole


class CoachingRefused(Exception):
    def __init__(self, code: str, message: object) -> None:
        super().__init__(str(message))
        self.code = code
        self.message = message


@dataclass(frozen=True)
class CallInProgress:
    room: str  # public id
    service: str
    agents: list[str]
    since: dt.datetime | None
    coached: bool  # a supervisor is listening already


def calls_in_progress(*, organisation_id: int, membership: Membership) -> list[CallInProgress]:
    """The organisation's video calls with a citizen admitted and someone of staff connected,
    oldest first; `coached` when `membership` is listening already."""
    from finestreta.video.services import live

    rooms = list(
        Room.objects.filter(
            organisation=organisation_id,
            state=Room.State.OPEN,
            citizen_admitted_at__isnull=False,
            presences__role=PeerRole.CITIZEN,
            presences__state=Presence.State.ADMITTED,
            **{f"presences__{key}": value for key, value in live().items()},
        )
        .select_related("appointment__service")
        .distinct()
        .order_by("citizen_admitted_at")
    )
    staff = Presence.objects.filter(
        room__in=rooms, role=PeerRole.STAFF, silent=False, state=Presence.State.ADMITTED, **live()
    ).values_list("room_id", "name")
    names: dict[int, list[str]] = {}
    for room_id, name in staff:
        names.setdefault(room_id, []).append(name)
    mine = set(
        Coaching.objects.filter(room__in=rooms, membership=membership).values_list(
            "room_id", flat=True
        )
    )
    return [
        CallInProgress(
            room=room.public_id,
            service=str(room.appointment.service.name),
            agents=names[room.pk],
            since=room.citizen_admitted_at,
            coached=room.pk in mine,
        )
        for room in rooms
        if room.pk in names
    ]


def start_coaching(*, staff: StaffContext, public_id: str, now: dt.datetime) -> Room:
    """The supervisor asks to listen to a call: the room (to open its page) once allowed.
    Raises CoachingRefused with words for the supervisor."""
    organisation = staff.organisation
    if not organisation.allows_silent_coaching:
        raise CoachingRefused(
            "not_allowed_here",
            _("Your organisation does not allow listening to calls for coaching."),
        )
    if not staff.membership.has_role(Role.SUPERVISOR):
        raise CoachingRefused("not_supervisor", _("Only supervisors can listen to calls."))
    room = (
        Room.objects.select_related("appointment")
        .filter(organisation=organisation, public_id=public_id)
        .first()
    )
    if room is None or room.state != Room.State.OPEN or room.citizen_admitted_at is None:
        raise CoachingRefused("not_in_progress", _("That call is not in progress any more."))
    try:
        with transaction.atomic():
            Coaching.objects.create(room=room, membership=staff.membership, started_at=now)
    except IntegrityError:
        return room  # listening already (a second click, or back after leaving)
    record_event(
        action=Action.COACHING_STARTED,
        actor=staff.user,
        organisation=organisation,
        target=room.appointment,
        details={"room": room.public_id},
    )
    return room


def is_coaching(room: Room, membership: Membership) -> bool:
    return Coaching.objects.filter(room=room, membership=membership).exists()
