"""Public API of the video app: rooms, who may join them, presence, admission, chat, notices and
the end of a call (docs/signaling.md). Synchronous: the WebSocket consumer calls them through
`database_sync_to_async`, the pages directly."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import phonenumbers
from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.db.models import Exists, Max, OuterRef, Q
from django.http import Http404
from django.urls import reverse
from django.utils import timezone

from finestreta.accounts.models import Membership
from finestreta.accounts.services import StaffContext, get_staff_context
from finestreta.appointments.agenda import appointments_for_staff
from finestreta.appointments.common import InvalidLink
from finestreta.appointments.contact import format_phone
from finestreta.appointments.models import Appointment
from finestreta.appointments.services import get_appointment_by_join_token, join_token
from finestreta.catalogue.models import Channel
from finestreta.tenants.models import Organisation
from finestreta.video import files, notify
from finestreta.video.models import ChatLine, Coaching, Presence, Role, Room, RoomEvent

MAX_PARTICIPANTS = 4
CHAT_MAX = 2000
NOTICE_MAX = 500
CHAT_HISTORY = 200
# A participant whose socket closed without a "leave" may resume for this long.
RESUME_GRACE = dt.timedelta(seconds=60)
# Clients ping every 20 seconds and a ping is written at most every TOUCH_EVERY: a presence
# not seen for LIVE_FOR is a connection that died with its server (a crash leaves no "leave").
TOUCH_EVERY = dt.timedelta(seconds=30)
LIVE_FOR = dt.timedelta(seconds=90)


def live() -> dict[str, Any]:
    """The filter of presences really there: connected, and seen lately."""
    return {"connected": True, "last_seen__gte": timezone.now() - LIVE_FOR}


class Refused(Exception):
    """A join refused: `code` for the client (docs/signaling.md), `close` the WebSocket close
    code."""

    def __init__(self, code: str, close: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.close = close
        self.message = message


class NotAllowed(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Joiner:
    """Who is joining, once checked."""

    room: Room
    role: str
    name: str
    number: str = ""
    user_id: int | None = None
    invitation_id: int | None = None  # a guest's
    silent: bool = False  # a supervisor listening for coaching (video.coaching)
    staff: StaffContext | None = field(default=None, compare=False)


# --- Links and rooms ---------------------------------------------------------------------------


def join_path(appointment: Appointment) -> str:
    return reverse("video:precall", args=[appointment.organisation.slug, join_token(appointment)])


def join_window(appointment: Appointment) -> tuple[dt.datetime, dt.datetime]:
    """When the citizen may enter the waiting room: from a little before the appointment until
    a while after its end (a late agent, a long call)."""
    return (
        appointment.starts_at - dt.timedelta(minutes=settings.VIDEO_JOIN_EARLY_MINUTES),
        appointment.ends_at + dt.timedelta(minutes=settings.VIDEO_JOIN_LATE_MINUTES),
    )


def get_room(appointment: Appointment) -> Room:
    """The appointment's room, made on first use."""
    room = Room.objects.filter(appointment=appointment).first()
    if room is not None:
        return room
    try:
        with transaction.atomic():
            return Room.objects.create(
                organisation_id=appointment.organisation_id,
                appointment=appointment,
                public_id=secrets.token_urlsafe(16)[:22],
            )
    except IntegrityError:  # made at the same moment by the other side
        return Room.objects.get(appointment=appointment)


def get_appointment_for_citizen(
    *, organisation: Organisation, token: str, now: dt.datetime
) -> Appointment:
    """The booked video appointment of a join link (InvalidLink otherwise)."""
    appointment = get_appointment_by_join_token(organisation=organisation, token=token, now=now)
    if appointment.status != Appointment.Status.BOOKED:
        raise InvalidLink()
    return appointment


def can_serve(staff: StaffContext, appointment: Appointment) -> bool:
    """Staff who may attend the call: whoever reaches the appointment in the agenda, a colleague
    invited into it, or, for a pooled appointment (no office), any active agent with the
    service's skill."""
    from finestreta.video.models import Invitation

    if appointment.organisation_id != staff.organisation.pk:
        # Another organisation's agent: only the attention they took from a shared queue, while
        # they serve it (queueing.sharing, ADR 25).
        from finestreta.queueing.sharing import serving_for_host

        return serving_for_host(staff.membership.pk, appointment)
    if appointments_for_staff(staff).filter(pk=appointment.pk).exists():
        return True
    if Invitation.objects.filter(
        room__appointment=appointment,
        membership=staff.membership,
        revoked_at__isnull=True,
        expires_at__gt=timezone.now(),
    ).exists():
        return True  # invited into this call (interpreter, specialist, supervisor, transfer)
    if Coaching.objects.filter(room__appointment=appointment, membership=staff.membership).exists():
        return True  # listening silently for coaching (video.coaching)
    return (
        appointment.office_id is None
        and staff.membership.services.filter(pk=appointment.service_id).exists()
    )


def get_room_for_staff(staff: StaffContext, public_id: str) -> Room:
    # By id alone: can_serve keeps other organisations' rooms out (but the one a helping agent
    # serves through a shared queue).
    room = (
        Room.objects.select_related("appointment__service", "appointment__organisation")
        .filter(public_id=public_id)
        .first()
    )
    if room is None or not can_serve(staff, room.appointment):
        raise Http404("No such room within reach")
    return room


def list_waiting(staff: StaffContext) -> list[Presence]:
    """Citizens waiting now in the rooms this staff member may serve, longest first."""
    waiting = (
        Presence.objects.filter(
            room__organisation=staff.organisation,
            room__state=Room.State.OPEN,
            role=Role.CITIZEN,
            state=Presence.State.WAITING,
            **live(),
        )
        .select_related("room__appointment__service")
        .order_by("since")
    )
    return [presence for presence in waiting if can_serve(staff, presence.room.appointment)]


# --- TURN ----------------------------------------------------------------------------------


def ice_servers(peer: str, *, now: float | None = None) -> list[dict[str, Any]]:
    """The RTCIceServer list for one participant: STUN as configured, and TURN with short-lived
    TURN REST credentials (coturn's use-auth-secret) when a secret is set."""
    servers: list[dict[str, Any]] = []
    if settings.VIDEO_STUN_URLS:
        servers.append({"urls": list(settings.VIDEO_STUN_URLS)})
    if settings.VIDEO_TURN_URLS and settings.VIDEO_TURN_SECRET:
        expiry = int((now if now is not None else time.time()) + settings.VIDEO_TURN_TTL)
        username = f"{expiry}:{peer}"
        digest = hmac.new(
            settings.VIDEO_TURN_SECRET.encode(), username.encode(), hashlib.sha1
        ).digest()
        servers.append(
            {
                "urls": list(settings.VIDEO_TURN_URLS),
                "username": username,
                "credential": base64.b64encode(digest).decode(),
            }
        )
    return servers


# --- Joining -------------------------------------------------------------------------------


def authenticate(
    *,
    org_slug: str,
    public_id: str,
    token: str | None,
    user: Any,
    session: Any,
    now: dt.datetime,
    guest: str | None = None,
) -> Joiner:
    """Who is knocking at a room's WebSocket: the appointment's citizen (by the join token), a
    guest (by their invitation's token) or staff who may serve it (by their session). Raises
    Refused."""
    room = (
        Room.objects.select_related(
            "appointment__organisation", "appointment__service", "appointment__agent__user"
        )
        .filter(public_id=public_id)
        .first()
    )
    # Under another organisation's address: only its staff helping through a shared queue
    # (checked with their session below), never a citizen's link or a guest's.
    foreign = room is not None and room.appointment.organisation.slug != org_slug
    if room is None or (foreign and (token or guest)):
        raise Refused("no_room", 4404, "No such room.")
    if room.state == Room.State.ENDED:
        raise Refused("ended", 4410, "The call has ended.")
    appointment = room.appointment
    if guest:
        from finestreta.video.invitations import guest_invitation

        invitation = guest_invitation(room=room, token=guest, now=now)
        if invitation is None:
            raise Refused("not_allowed", 4401, "The invitation is not valid.")
        return Joiner(
            room=room,
            role=Role.GUEST,
            name=invitation.name,
            number=invitation.kind,
            invitation_id=invitation.pk,
        )
    if token:
        try:
            found = get_appointment_for_citizen(
                organisation=appointment.organisation, token=token, now=now
            )
        except InvalidLink:
            raise Refused("not_allowed", 4401, "The link is not valid.") from None
        if found.pk != appointment.pk:
            raise Refused("not_allowed", 4403, "The link is for another call.")
        opens, closes = join_window(appointment)
        if now < opens:
            raise Refused("too_early", 4403, "The waiting room is not open yet.")
        if now > closes:
            raise Refused("too_late", 4403, "The waiting room has closed.")
        return Joiner(room=room, role=Role.CITIZEN, name=appointment.name)
    staff = staff_for_session(user=user, session=session, org_slug=org_slug, now=now)
    if not can_serve(staff, appointment):
        raise Refused("not_allowed", 4403, "Not allowed in this call.")
    return Joiner(
        room=room,
        role=Role.STAFF,
        name=str(staff.user),
        number=staff.membership.staff_number,
        user_id=staff.user.pk,
        silent=Coaching.objects.filter(room=room, membership=staff.membership).exists(),
        staff=staff,
    )


def staff_for_session(*, user: Any, session: Any, org_slug: str, now: dt.datetime) -> StaffContext:
    """The staff context of a WebSocket's session, with the same checks as a staff page: a live
    staff session (not timed out, not ended), of this organisation. Raises Refused."""
    from finestreta.accounts.sessions import expired_reason, session_auth

    if not getattr(user, "is_authenticated", False):
        raise Refused("not_allowed", 4401, "Not signed in.")
    request = SimpleNamespace(session=session)
    if expired_reason(request, now):  # type: ignore[arg-type]
        raise Refused("not_allowed", 4401, "The session has expired.")
    try:
        return get_staff_context(
            user,
            org_slug,
            signed_in_for=session_auth(request).get("org"),  # type: ignore[arg-type]
        )
    except (Http404, PermissionDenied):
        raise Refused("not_allowed", 4403, "Not allowed in this organisation.") from None


def new_peer() -> str:
    return "p_" + secrets.token_urlsafe(15)[:20]


@dataclass(frozen=True)
class Joined:
    presence: Presence
    replaced_channel: str  # a connection still open under the resumed id, to be closed


def join(joiner: Joiner, *, channel_name: str, resume: str | None, now: dt.datetime) -> Joined:
    """Record the participant as connected: a fresh peer id, or the resumed one (its earlier
    connection, if still open, is replaced). A citizen waits unless already admitted once; a
    room holds at most MAX_PARTICIPANTS admitted participants."""
    room = joiner.room
    with transaction.atomic():
        # One join at a time per room, on the room as it is now.
        locked = (
            Room.objects.select_for_update().only("state", "citizen_admitted_at").get(pk=room.pk)
        )
        room.state, room.citizen_admitted_at = locked.state, locked.citizen_admitted_at
        previous = None
        if resume:
            # The same person only: the citizen (no user) or the same staff member.
            same: dict[str, Any] = (
                {"user__isnull": True} if joiner.user_id is None else {"user": joiner.user_id}
            )
            if joiner.role == Role.GUEST:
                same["invitation"] = joiner.invitation_id
            previous = Presence.objects.filter(
                room=room, peer=resume, role=joiner.role, **same
            ).first()
        # Staff and invited guests go straight in; the citizen waits to be let in once.
        admitted = joiner.role != Role.CITIZEN or room.citizen_admitted_at is not None
        state = Presence.State.ADMITTED if admitted else Presence.State.WAITING
        if state == Presence.State.ADMITTED:
            # A silent listener takes no place (it sends nothing).
            others = Presence.objects.filter(
                room=room, state=Presence.State.ADMITTED, silent=False, **live()
            ).exclude(role=Role.RECORDER)
            if joiner.silent:
                others = others.none()
            if previous is not None:
                others = others.exclude(pk=previous.pk)
            if others.count() >= MAX_PARTICIPANTS:
                raise Refused("room_full", 4403, "The call is full.")
        replaced = ""
        if previous is not None:
            replaced = previous.channel_name if previous.connected else ""
            previous.channel_name = channel_name
            previous.connected = True
            previous.state = state
            previous.last_seen = now
            previous.name = joiner.name
            previous.silent = joiner.silent
            if joiner.role == Role.STAFF:
                previous.number = joiner.number
            previous.save()
            presence = previous
        else:
            presence = Presence.objects.create(
                room=room,
                peer=new_peer(),
                role=joiner.role,
                user_id=joiner.user_id,
                name=joiner.name,
                number=joiner.number if joiner.role == Role.STAFF else "",
                invited_as=joiner.number if joiner.role == Role.GUEST else "",
                invitation_id=joiner.invitation_id,
                state=state,
                silent=joiner.silent,
                channel_name=channel_name,
                since=now,
                last_seen=now,
            )
        joined: dict[str, Any] = {"resumed": previous is not None}
        if joiner.silent:
            joined["silent"] = True
        _event(room, RoomEvent.Kind.JOINED, presence, now, joined)
        if previous is None and state == Presence.State.WAITING:
            notify.queue_waiting_alert(room, presence, now=now)
        if state == Presence.State.WAITING:
            # A pooled appointment's citizen also waits in the queue (queueing/booked.py).
            from finestreta.queueing.booked import citizen_arrived

            citizen_arrived(appointment=room.appointment, now=now)
    return Joined(presence=presence, replaced_channel=replaced)


def leave(*, peer: str, channel_name: str, now: dt.datetime, for_good: bool) -> Presence | None:
    """The participant's connection closed (`for_good`: it said "leave"). Returns the presence
    if this connection was the participant's current one."""
    with transaction.atomic():
        presence = Presence.objects.filter(peer=peer, channel_name=channel_name).first()
        if presence is None:
            return None  # replaced by a newer connection: nothing to record
        presence.connected = False
        presence.channel_name = ""
        presence.last_seen = now
        presence.save(update_fields=["connected", "channel_name", "last_seen"])
        _event(presence.room, RoomEvent.Kind.LEFT, presence, now, {"said_leave": for_good})
        if for_good and presence.state == Presence.State.WAITING:
            notify.withdraw_waiting_alert(presence.room, presence.peer)
            from finestreta.queueing.booked import citizen_left

            citizen_left(appointment=presence.room.appointment, now=now)
    return presence


def touch(*, peer: str, now: dt.datetime) -> None:
    Presence.objects.filter(peer=peer, connected=True).update(last_seen=now)


def admit(*, room: Room, staff_peer: Presence, peer: str, now: dt.datetime) -> Presence:
    if staff_peer.role != Role.STAFF:
        raise NotAllowed("not_allowed", "Only staff can admit.")
    refuse_if_silent(staff_peer)
    with transaction.atomic():
        Room.objects.select_for_update().filter(pk=room.pk).first()
        citizen = Presence.objects.filter(room=room, peer=peer, role=Role.CITIZEN, **live()).first()
        if citizen is None:
            raise NotAllowed("not_in_room", "Nobody is waiting with that id.")
        admitted = (
            Presence.objects.filter(
                room=room, state=Presence.State.ADMITTED, silent=False, **live()
            )
            .exclude(role=Role.RECORDER)
            .count()
        )
        if citizen.state != Presence.State.ADMITTED and admitted >= MAX_PARTICIPANTS:
            raise NotAllowed("room_full", "The call is full.")
        citizen.state = Presence.State.ADMITTED
        citizen.save(update_fields=["state"])
        Room.objects.filter(pk=room.pk, citizen_admitted_at__isnull=True).update(
            citizen_admitted_at=now
        )
        _event(room, RoomEvent.Kind.ADMITTED, citizen, now, {"by": staff_peer.peer}, staff_peer)
        notify.withdraw_waiting_alert(room, citizen.peer)
        # Let in from the waiting room: the queue's part of a pooled appointment is over.
        from finestreta.queueing.booked import admitted_in_room

        member = Membership.objects.filter(
            user=staff_peer.user_id, organisation=room.organisation_id
        ).first()
        if member is not None:
            admitted_in_room(appointment=room.appointment, membership=member, now=now)
    return citizen


@dataclass(frozen=True)
class Entered:
    joiner: Joiner
    joined: Joined
    snapshot: dict[str, Any]  # what `welcome` tells them


def enter(
    *,
    org_slug: str,
    public_id: str,
    token: str | None,
    guest: str | None,
    user: Any,
    session: Any,
    channel_name: str,
    resume: str | None,
    now: dt.datetime,
) -> Entered:
    """A `hello`: who knocks (`authenticate`), their presence (`join`) and what they are told
    (`snapshot`), in one call so that the socket makes one trip to the database thread. Raises
    Refused."""
    joiner = authenticate(
        org_slug=org_slug,
        public_id=public_id,
        token=token,
        guest=guest,
        user=user,
        session=session,
        now=now,
    )
    joined = join(joiner, channel_name=channel_name, resume=resume, now=now)
    return Entered(joiner, joined, snapshot(joiner.room, joined.presence))


def snapshot(room: Room, presence: Presence) -> dict[str, Any]:
    """What `welcome` tells a participant: the others, the waiting citizens (to staff), the
    chat and the notices so far (docs/signaling.md)."""
    connected = list(
        Presence.objects.filter(room=room, **live()).exclude(pk=presence.pk).order_by("since")
    )
    admitted = [p for p in connected if p.state == Presence.State.ADMITTED]
    if presence.state == Presence.State.WAITING:
        admitted = [p for p in admitted if p.role == Role.STAFF]
    data: dict[str, Any] = {"peers": [describe(p) for p in admitted]}
    if presence.role == Role.STAFF:
        data["waiting"] = [
            {"peer": p.peer, "name": p.name, "since": p.since.isoformat()}
            for p in connected
            if p.state == Presence.State.WAITING
        ]
    if presence.state == Presence.State.ADMITTED:
        lines = list(ChatLine.objects.filter(room=room).order_by("-seq")[:CHAT_HISTORY])
        data["chat"] = [chat_message(line) for line in reversed(lines)]
        data["files"] = [files.file_message(shared) for shared in files.list_files(room)]
    else:
        data["chat"] = []
        data["files"] = []
    data["notices"] = [
        {"text": event.details.get("text", ""), "at": event.at.isoformat()}
        for event in RoomEvent.objects.filter(room=room, kind=RoomEvent.Kind.NOTICE)
    ]
    from finestreta.recordings import services as recordings

    data["recording"] = recordings.message(recordings.live_recording(room))
    return data


def describe(presence: Presence) -> dict[str, Any]:
    found: dict[str, Any] = {"peer": presence.peer, "role": presence.role, "name": presence.name}
    if presence.role == Role.STAFF:
        found["number"] = presence.number
    if presence.role == Role.GUEST:
        found["as"] = presence.invited_as
    if presence.silent:
        found["silent"] = True
    return found


def refuse_if_silent(presence: Presence) -> None:
    """A supervisor listening for coaching takes no part: no chat, notice, admitting, ending."""
    if presence.silent:
        raise NotAllowed("silent", "You are listening silently: you take no part in the call.")


def guests_in_call(room: Room) -> list[Presence]:
    """The invited guests admitted and connected now, with their invitations."""
    return list(
        Presence.objects.filter(
            room=room,
            role=Role.GUEST,
            state=Presence.State.ADMITTED,
            invitation__isnull=False,
            **live(),
        ).select_related("invitation")
    )


def admitted_peers(room: Room) -> list[Presence]:
    return list(Presence.objects.filter(room=room, state=Presence.State.ADMITTED, **live()))


# --- Chat, notices, call-backs, the end ---------------------------------------------------


def chat_message(line: ChatLine) -> dict[str, Any]:
    return {
        "type": "chat",
        "seq": line.seq,
        "peer": line.peer,
        "role": line.role,
        "name": line.name,
        "text": line.text,
        "at": line.sent_at.isoformat(),
        "ref": line.ref,
    }


def chat_lines_between(*, room: Room, after: int, before: int) -> list[dict[str, Any]]:
    """The stored lines numbered between `after` and `before` (both left out), as sent: those a
    participant missed live. The channel layer delivers at most once (a Redis outage loses what
    was in flight); every acknowledged line is stored all the same."""
    lines = ChatLine.objects.filter(room=room, seq__gt=after, seq__lt=before).order_by("seq")
    return [chat_message(line) for line in lines[:CHAT_HISTORY]]


def post_chat(*, room: Room, presence: Presence, text: str, ref: str, now: dt.datetime) -> ChatLine:
    """Store a chat line with the room's next number; a line the same participant sent before
    with the same `ref` (a resend after a dropped connection) is returned, not stored again."""
    text = text.strip()
    if not text:
        raise NotAllowed("bad_message", "Empty chat line.")
    if len(text) > CHAT_MAX:
        raise NotAllowed("too_long", f"A chat line has at most {CHAT_MAX} characters.")
    if presence.state != Presence.State.ADMITTED:
        raise NotAllowed("not_allowed", "Not in the call yet.")
    refuse_if_silent(presence)
    ref = ref[:40]
    for _attempt in range(5):
        if ref:
            again = ChatLine.objects.filter(room=room, peer=presence.peer, ref=ref).first()
            if again is not None:
                return again
        try:
            with transaction.atomic():
                last = ChatLine.objects.filter(room=room).aggregate(top=Max("seq"))["top"] or 0
                return ChatLine.objects.create(
                    room=room,
                    seq=last + 1,
                    peer=presence.peer,
                    ref=ref,
                    role=presence.role,
                    user_id=presence.user_id,
                    name=presence.name,
                    text=text,
                    sent_at=now,
                )
        except IntegrityError:  # another line took the number: take the next
            continue
    raise NotAllowed("busy", "The chat is busy; send again.")


def post_notice(*, room: Room, presence: Presence, text: str, now: dt.datetime) -> RoomEvent:
    if presence.role != Role.STAFF:
        raise NotAllowed("not_allowed", "Only staff can send a notice.")
    refuse_if_silent(presence)
    text = text.strip()
    if not text or len(text) > NOTICE_MAX:
        raise NotAllowed("too_long", f"A notice has 1 to {NOTICE_MAX} characters.")
    return _event(room, RoomEvent.Kind.NOTICE, presence, now, {"text": text}, presence)


def request_callback(*, room: Room, presence: Presence, phone: str, now: dt.datetime) -> str:
    """The citizen would rather be called by telephone: the number to call, formatted."""
    if presence.role != Role.CITIZEN:
        raise NotAllowed("not_allowed", "Only the citizen can ask to be called.")
    parsed = _phone((phone or "").strip() or room.appointment.phone)
    if not parsed:
        raise NotAllowed("bad_message", "A valid telephone number is needed.")
    _event(room, RoomEvent.Kind.CALLBACK, presence, now, {"phone": parsed})
    return format_phone(parsed)


def _phone(value: str) -> str:
    """Any valid number (a landline will do for a call), in E.164; empty when not valid."""
    try:
        number = phonenumbers.parse(value, "ES")
    except phonenumbers.NumberParseException:
        return ""
    if not phonenumbers.is_valid_number(number):
        return ""
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def end_call(*, room: Room, presence: Presence, now: dt.datetime) -> None:
    if presence.role != Role.STAFF:
        raise NotAllowed("not_allowed", "Only staff can end the call.")
    refuse_if_silent(presence)
    with transaction.atomic():
        Room.objects.filter(pk=room.pk, state=Room.State.OPEN).update(
            state=Room.State.ENDED, ended_at=now
        )
        for waiting in Presence.objects.filter(room=room, state=Presence.State.WAITING):
            notify.withdraw_waiting_alert(room, waiting.peer)
        Presence.objects.filter(room=room).update(connected=False, channel_name="")
        _event(room, RoomEvent.Kind.ENDED, presence, now, {}, presence)


def close_room(*, appointment: Any, now: dt.datetime, user_id: int | None = None) -> bool:
    """End the appointment's call from outside it (the agent finished the attention at the
    desk): the room closes and whoever is still connected is told, once this commits."""
    room = Room.objects.filter(appointment=appointment, state=Room.State.OPEN).first()
    if room is None:
        return False
    Room.objects.filter(pk=room.pk).update(state=Room.State.ENDED, ended_at=now)
    for waiting in Presence.objects.filter(room=room, state=Presence.State.WAITING):
        notify.withdraw_waiting_alert(room, waiting.peer)
    Presence.objects.filter(room=room).update(connected=False, channel_name="")
    RoomEvent.objects.create(
        room=room,
        kind=RoomEvent.Kind.ENDED,
        role=Role.STAFF,
        user_id=user_id,
        details={"from": "desk"},
        at=now,
    )
    transaction.on_commit(lambda: _tell_ended(room))
    return True


def _tell_ended(room: Room) -> None:
    from asgiref.sync import async_to_sync
    from channels.layers import get_channel_layer

    from finestreta.video.consumers import room_group, staff_group

    layer = get_channel_layer()
    if layer is None:
        return
    for group in (room_group(room), staff_group(room)):
        async_to_sync(layer.group_send)(group, {"type": "video.ended"})


def mark_no_shows(*, now: dt.datetime) -> int:
    """Video appointments whose citizen never joined (not even the waiting room) within
    VIDEO_NO_SHOW_MINUTES of the start are marked not come, by the platform (the audit log says
    so); the agent may still correct it. Looks back two days at most. Returns how many."""
    from finestreta.appointments.services import NotChangeable, record_outcome

    grace = dt.timedelta(minutes=settings.VIDEO_NO_SHOW_MINUTES)
    joined = RoomEvent.objects.filter(
        room__appointment=OuterRef("pk"), kind=RoomEvent.Kind.JOINED, role=Role.CITIZEN
    )
    absent = Appointment.objects.filter(
        status=Appointment.Status.BOOKED,
        channel=Channel.VIDEO,
        starts_at__lte=now - grace,
        starts_at__gte=now - dt.timedelta(days=2),
    ).exclude(Exists(joined))
    marked = 0
    for appointment in absent:
        try:
            record_outcome(appointment=appointment, attended=False, now=now, staff=None)
        except NotChangeable:  # changed meanwhile (attended, cancelled)
            continue
        if appointment.walk_in:
            from finestreta.queueing.services import end_not_come

            end_not_come(appointment_id=appointment.pk, now=now)
        marked += 1
    return marked


def forget_stale(*, now: dt.datetime) -> int:
    """Forget presences whose client did not come back: disconnected longer than the resume
    grace, or "connected" but silent for long (their server died). Run by the task workers'
    sweeper."""
    from finestreta.queueing.booked import citizen_left

    stale = Presence.objects.filter(
        Q(connected=False, last_seen__lt=now - RESUME_GRACE)
        | Q(connected=True, last_seen__lt=now - LIVE_FOR - RESUME_GRACE)
    )
    # A citizen gone from the waiting room without a word (a closed tab) leaves the queue too,
    # unless they are back on another connection.
    gone = stale.filter(role=Role.CITIZEN, state=Presence.State.WAITING).select_related(
        "room__appointment"
    )
    for presence in gone:
        back = Presence.objects.filter(room=presence.room_id, role=Role.CITIZEN, **live())
        if not back.exclude(pk=presence.pk).exists():
            citizen_left(appointment=presence.room.appointment, now=now)
    deleted, _rows = stale.delete()
    return deleted


def _event(
    room: Room,
    kind: str,
    presence: Presence,
    now: dt.datetime,
    details: dict[str, Any],
    actor: Presence | None = None,
) -> RoomEvent:
    return RoomEvent.objects.create(
        room=room,
        kind=kind,
        peer=presence.peer,
        role=presence.role,
        user_id=(actor or presence).user_id,
        details=details,
        at=now,
    )


__all__ = [
    "CHAT_MAX",
    "MAX_PARTICIPANTS",
    "Joined",
    "Joiner",
    "NotAllowed",
    "Refused",
    "admit",
    "authenticate",
    "can_serve",
    "chat_message",
    "close_room",
    "end_call",
    "get_appointment_for_citizen",
    "get_room",
    "get_room_for_staff",
    "ice_servers",
    "join",
    "join_path",
    "join_window",
    "leave",
    "list_waiting",
    "post_chat",
    "post_notice",
    "request_callback",
    "snapshot",
]


# --- Pages (read only) ----------------------------------------------------------------------


def window_state(appointment: Appointment, *, now: dt.datetime) -> str:
    """Where `now` falls in the citizen's join window: "early", "open" or "late"."""
    opens, closes = join_window(appointment)
    if now < opens:
        return "early"
    if now > closes:
        return "late"
    return "open"


def room_socket_path(room: Room, *, via: str | None = None) -> str:
    """The WebSocket address of a room (routing.py), for the pages to connect to; `via` the
    organisation of a staff member helping through a shared queue (their session's)."""
    return f"/ws/{via or room.appointment.organisation.slug}/video/{room.public_id}/"


def lobby_socket_path(organisation: Organisation) -> str:
    return f"/ws/{organisation.slug}/video/lobby/"


def check_turn_servers(room: Room, *, now: float | None = None) -> list[dict[str, Any]]:
    """The TURN entries of `ice_servers`, for the pre-call page's relay check (empty when no
    TURN is configured). Named after the room: there is no participant yet."""
    return [
        server for server in ice_servers(f"check-{room.public_id}", now=now) if "username" in server
    ]


__all__ += [
    "check_turn_servers",
    "lobby_socket_path",
    "room_socket_path",
    "window_state",
]


def citizen_was_admitted(appointment_id: int) -> bool:
    """Whether the citizen of this appointment was let into its video call (the room admitted
    them at least once)."""
    return Room.objects.filter(
        appointment_id=appointment_id, citizen_admitted_at__isnull=False
    ).exists()
