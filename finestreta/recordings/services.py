"""Recording a call (ADR 28): who may start it and when, the recorder's place in the room, what
stops it, who may watch it, and its deletion at the end of the retention period. Verb functions;
the recorder itself (an aiortc participant) is `recordings.recorder`."""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from finestreta.accounts.models import User
from finestreta.accounts.services import StaffContext
from finestreta.appointments.models import Appointment
from finestreta.identity.consent import latest_answers
from finestreta.identity.models import ConsentKind
from finestreta.identity.models import Recording as RecordingRule
from finestreta.identity.policy import rules_for
from finestreta.integrations.services import emit_data_deleted
from finestreta.lib.transactions import lock_skipping
from finestreta.privacy.models import AuditEvent
from finestreta.privacy.services import record_event
from finestreta.recordings import storage
from finestreta.recordings.models import Recording, Track
from finestreta.video.models import Presence, Role, Room
from finestreta.video.services import guests_in_call, live, new_peer, touch

logger = logging.getLogger(__name__)

HEARTBEAT = dt.timedelta(seconds=5)
# A recorder silent this long was in a server that stopped: its recording is closed.
SILENT_FOR = dt.timedelta(seconds=60)


LIVE = Recording.LIVE_STATES


class RecordingRefused(Exception):
    """`code` for the protocol, `message` for the person (translated)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(code)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Gate:
    """Whether the call may be recorded now, on what basis, and who still has to agree."""

    basis: str  # Recording.Basis, or "" when the procedure is never recorded
    legal_basis: str = ""
    consent_ids: list[int] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)  # the names of who has not agreed

    @property
    def open(self) -> bool:
        return bool(self.basis) and not self.missing


def gate(room: Room) -> Gate:
    """The procedure's rule: never; on a stated legal basis (everyone is told); or with the
    consent in force of the citizen and of every invited guest in the call. Staff take part
    under their organisation's instructions and are told like everyone else."""
    appointment = room.appointment
    rules = rules_for(appointment.service)
    if rules.recording == RecordingRule.NEVER:
        return Gate(basis="")
    if rules.recording == RecordingRule.LEGAL_BASIS:
        return Gate(basis=Recording.Basis.LEGAL_BASIS, legal_basis=rules.legal_basis)
    ids: list[int] = []
    missing: list[str] = []
    answer = latest_answers(appointment).get(ConsentKind.RECORDING)
    if answer is not None and answer.in_force:
        ids.append(answer.pk)
    else:
        missing.append(appointment.name or _("The citizen"))
    for guest in guests_in_call(room):
        answer = latest_answers(appointment, guest.invitation).get(ConsentKind.RECORDING)
        if answer is not None and answer.in_force:
            ids.append(answer.pk)
        else:
            missing.append(guest.name)
    return Gate(basis=Recording.Basis.CONSENT, consent_ids=ids, missing=missing)


def live_recording(room: Room) -> Recording | None:
    return Recording.objects.filter(room=room, state__in=LIVE).first()


def _language_of(presence: Presence) -> str | None:
    """The staff member's language, for what they are told over the socket."""
    if presence.user_id is None:
        return None
    user = User.objects.filter(pk=presence.user_id).only("preferred_language").first()
    return (user.preferred_language if user is not None else "") or None


def start_recording(*, room: Room, presence: Presence, now: dt.datetime) -> Recording:
    """A staff member in the call asks to record it: refused unless the rules allow it now."""
    with translation.override(_language_of(presence)):
        return _start(room=room, presence=presence, now=now)


def _start(*, room: Room, presence: Presence, now: dt.datetime) -> Recording:
    if presence.role != Role.STAFF or presence.silent or presence.user_id is None:
        raise RecordingRefused("not_allowed", _("Only the staff attending the call can record it."))
    if room.state != Room.State.OPEN:
        raise RecordingRefused("ended", _("The call has ended."))
    try:
        storage.keys()
    except storage.NotConfigured:
        raise RecordingRefused(
            "not_configured", _("Recording is not available: the platform has no keys for it.")
        ) from None
    appointment = room.appointment
    allowed = gate(room)
    if not allowed.basis:
        raise RecordingRefused("never", _("This procedure is never recorded."))
    if allowed.missing:
        raise RecordingRefused(
            "no_consent",
            _("Not recorded: %(names)s did not agree to the recording.")
            % {"names": ", ".join(allowed.missing)},
        )
    days = rules_for(appointment.service).recording_retention_days
    try:
        with transaction.atomic():
            recording = Recording.objects.create(
                organisation_id=room.organisation_id,
                appointment=appointment,
                room=room,
                basis=allowed.basis,
                legal_basis=allowed.legal_basis,
                consent_ids=allowed.consent_ids,
                started_by_id=presence.user_id,
                started_at=now,
                heartbeat_at=now,
                delete_after=now + dt.timedelta(days=days),
            )
            record_event(
                action=AuditEvent.Action.RECORDING_STARTED,
                actor=recording.started_by,
                organisation=appointment.organisation,
                target=appointment,
                details={"recording": recording.pk, "basis": allowed.basis},
            )
    except IntegrityError:
        raise RecordingRefused("recording", _("The call is being recorded already.")) from None
    return recording


def recorder_joined(
    *, recording_id: int, channel_name: str, now: dt.datetime
) -> tuple[Recording, Presence, list[Presence]]:
    """The recorder is in the room: its presence, and the participants it connects to."""
    with transaction.atomic():
        recording = (
            Recording.objects.select_for_update().select_related("room").get(pk=recording_id)
        )
        if recording.state != Recording.State.STARTING:
            raise RecordingRefused("stopped", "The recording was stopped before it began.")
        with translation.override(recording.appointment.language or None):
            name = _("Recording")
        presence = Presence.objects.create(
            room=recording.room,
            peer=new_peer(),
            role=Role.RECORDER,
            name=name,
            state=Presence.State.ADMITTED,
            channel_name=channel_name,
            since=now,
            last_seen=now,
        )
        recording.state = Recording.State.RECORDING
        recording.peer = presence.peer
        recording.channel_name = channel_name
        recording.heartbeat_at = now
        recording.save(update_fields=["state", "peer", "channel_name", "heartbeat_at"])
    others = [
        p
        for p in Presence.objects.filter(
            room=recording.room, state=Presence.State.ADMITTED, **live()
        ).exclude(role=Role.RECORDER)
        if may_record(recording, p)
    ]
    return recording, presence, others


def may_record(recording: Recording, presence: Presence) -> bool:
    """Whether the recorder takes this participant's sound and picture. A silent listener sends
    nothing; a guest who joined after the start is recorded only with their own consent."""
    if presence.silent or presence.role == Role.RECORDER:
        return False
    if presence.role != Role.GUEST or recording.basis == Recording.Basis.LEGAL_BASIS:
        return True
    if presence.invitation_id is None:
        return False
    answer = latest_answers(recording.appointment, presence.invitation).get(ConsentKind.RECORDING)
    return answer is not None and answer.in_force


def may_record_peer(recording_id: int, peer: str) -> Presence | None:
    recording = Recording.objects.select_related("appointment").get(pk=recording_id)
    presence = (
        Presence.objects.filter(room=recording.room_id, peer=peer, state=Presence.State.ADMITTED)
        .select_related("invitation")
        .first()
    )
    if presence is None or not may_record(recording, presence):
        return None
    return presence


def beat(*, recording_id: int, peer: str, now: dt.datetime) -> bool:
    """The recorder (presence `peer`) is alive; False when its recording was closed meanwhile."""
    if not Recording.objects.filter(pk=recording_id, state__in=LIVE).update(heartbeat_at=now):
        return False
    touch(peer=peer, now=now)
    return True


def finish(*, recording_id: int, reason: str, now: dt.datetime) -> Recording | None:
    """Close a live recording (what was written is kept) and take the recorder out."""
    with transaction.atomic():
        recording = (
            Recording.objects.select_for_update()
            .select_related("appointment__organisation")
            .filter(pk=recording_id, state__in=LIVE)
            .first()
        )
        if recording is None:
            return None
        recording.state = Recording.State.STOPPED
        recording.stopped_at = now
        recording.stop_reason = reason
        recording.save(update_fields=["state", "stopped_at", "stop_reason"])
        if recording.peer:
            Presence.objects.filter(peer=recording.peer).delete()
        record_event(
            action=AuditEvent.Action.RECORDING_STOPPED,
            organisation=recording.appointment.organisation,
            target=recording.appointment,
            details={"recording": recording.pk, "reason": reason},
        )
    return recording


def stop(*, room: Room, presence: Presence, now: dt.datetime) -> None:
    """A staff member in the call stops the recording."""
    with translation.override(_language_of(presence)):
        if presence.role != Role.STAFF or presence.silent:
            raise RecordingRefused(
                "not_allowed", _("Only the staff attending the call can record it.")
            )
        recording = live_recording(room)
        if recording is None:
            raise RecordingRefused("not_recording", _("The call is not being recorded."))
    _tell_recorder(recording, Recording.Reason.STAFF, now=now)


def stop_for_withdrawal(appointment: Appointment) -> None:
    """Someone said no to the recording: it stops at once (what it holds so far is kept)."""
    room = Room.objects.filter(appointment=appointment).first()
    recording = live_recording(room) if room is not None else None
    if recording is not None:
        _tell_recorder(recording, Recording.Reason.WITHDRAWN, now=timezone.now())


def _tell_recorder(recording: Recording, reason: str, *, now: dt.datetime) -> None:
    """Ask the recorder to stop (wherever it runs); a recording without a recorder yet is
    closed here, and the call is told."""
    if recording.channel_name:
        async_to_sync(get_channel_layer().send)(
            recording.channel_name, {"type": "recorder.stop", "reason": reason}
        )
        return
    if finish(recording_id=recording.pk, reason=reason, now=now) is not None:
        tell_room(recording.room, None)


def tell_room(room: Room, recording: Recording | None) -> None:
    """Say to everyone in the call whether it is recorded (from synchronous code)."""
    from finestreta.video.consumers import room_group

    async_to_sync(get_channel_layer().group_send)(
        room_group(room), {"type": "video.relay", "message": message(recording)}
    )


def message(recording: Recording | None) -> dict[str, Any]:
    """The `recording` message of the signaling protocol (docs/signaling.md)."""
    if recording is None or not recording.live:
        return {"type": "recording", "on": False}
    found: dict[str, Any] = {
        "type": "recording",
        "on": True,
        "since": recording.started_at.isoformat(),
        "basis": recording.basis,
    }
    if recording.legal_basis:
        found["legal_basis"] = recording.legal_basis
    return found


def close_silent(*, now: dt.datetime) -> int:
    """Close the recordings whose recorder went silent (its server stopped). Run by the task
    workers' sweeper; what was written before is kept."""
    silent = Recording.objects.filter(state__in=LIVE).filter(
        Q(heartbeat_at__lt=now - SILENT_FOR) | Q(heartbeat_at__isnull=True)
    )
    closed = 0
    for pk in silent.values_list("pk", flat=True):
        if finish(recording_id=pk, reason=Recording.Reason.INTERRUPTED, now=now) is not None:
            closed += 1
    return closed


def purge_expired(*, now: dt.datetime) -> int:
    """Delete the media of every recording past its procedure's retention period (the row
    stays, saying when it was deleted). Run by the task workers' sweeper, every few seconds;
    the organisation's ceiling on top of it (privacy.retention) is applied by the daily purge,
    which calls `delete_media` too."""
    deleted = 0
    due = Recording.objects.filter(delete_after__lte=now).exclude(
        state__in=[*LIVE, Recording.State.DELETED]
    )
    for pk in due.values_list("pk", flat=True):
        with transaction.atomic():
            # Locked and checked again: another worker's sweep (or the retention purge) may be
            # deleting it at this very moment.
            recording = (
                lock_skipping(Recording.objects.filter(pk=pk))
                .exclude(state__in=[*LIVE, Recording.State.DELETED])
                .select_related("appointment__organisation")
                .first()
            )
            if recording is None:
                continue
            delete_media(recording, now=now)
            emit_data_deleted(
                organisation=recording.appointment.organisation,
                kind="recording",
                ids=[recording.appointment.code],
                now=now,
            )
        deleted += 1
    return deleted


def delete_media(recording: Recording, *, now: dt.datetime) -> None:
    """Delete a stopped recording's media: its tracks and chunks now, its files once the
    caller's transaction commits (a rollback keeps them); the row stays, marked deleted, with
    an audit event. The caller holds the row locked and has checked it is neither live nor
    deleted; it tells connected systems (`emit_data_deleted`) as it sees fit."""
    Track.objects.filter(recording=recording).delete()
    recording.state = Recording.State.DELETED
    recording.deleted_at = now
    recording.save(update_fields=["state", "deleted_at"])
    record_event(
        action=AuditEvent.Action.RECORDING_DELETED,
        organisation=recording.appointment.organisation,
        target=recording.appointment,
        details={"recording": recording.pk},
    )
    transaction.on_commit(lambda r=recording: storage.delete_files(r))  # type: ignore[misc]


# --- Watching -----------------------------------------------------------------------------


def may_watch(staff: StaffContext) -> bool:
    """Supervisors and administrators of the organisation; not every agent."""
    return staff.membership.can_supervise


@dataclass(frozen=True)
class Part:
    """One participant's sound and picture during one connection of the recorder to them."""

    number: int
    name: str
    role: str
    offset_ms: int
    tracks: list[Track]

    @property
    def role_label(self) -> str:
        return str(Role(self.role).label)

    @property
    def starts_at(self) -> str:
        """Minutes and seconds into the recording."""
        seconds = self.offset_ms // 1000
        return f"{seconds // 60:02d}:{seconds % 60:02d}"

    @property
    def kinds(self) -> list[str]:
        return sorted(track.kind for track in self.tracks)


def parts(recording: Recording) -> list[Part]:
    grouped: dict[tuple[str, int], list[Track]] = {}
    for track in Track.objects.filter(recording=recording).order_by("offset_ms", "pk"):
        if track.chunks:
            grouped.setdefault((track.peer, track.part), []).append(track)
    found = []
    for number, tracks in enumerate(grouped.values(), start=1):
        first = tracks[0]
        found.append(
            Part(
                number=number,
                name=first.name,
                role=first.role,
                offset_ms=min(t.offset_ms for t in tracks),
                tracks=tracks,
            )
        )
    return found


def recordings_for(staff: StaffContext, appointment: Appointment) -> list[Recording]:
    """The recordings of an appointment this staff member may watch (none unless they may)."""
    if not may_watch(staff):
        return []
    return list(Recording.objects.filter(appointment=appointment, organisation=staff.organisation))


def get_recording_for_staff(staff: StaffContext, pk: int) -> Recording:
    """A recording of the staff member's organisation they may watch, or Recording.DoesNotExist."""
    if not may_watch(staff):
        raise Recording.DoesNotExist
    return Recording.objects.select_related("appointment__service", "started_by").get(
        pk=pk, organisation=staff.organisation
    )


def record_access(*, staff: StaffContext, recording: Recording, part: Part, action: str) -> None:
    record_event(
        action=action,
        actor=staff.user,
        organisation=staff.organisation,
        target=recording.appointment,
        details={"recording": recording.pk, "part": part.number, "name": part.name},
    )
