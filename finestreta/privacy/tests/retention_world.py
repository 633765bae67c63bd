"""Data of every kind on both sides of each retention cutoff, for the purge's tests.

`seed(org, periods)` makes, for one organisation, what the given periods (kind → days) remove
and what they keep, and returns a `World` naming every row and file, and what should become of
it. Rows are one day either side of a cutoff; nothing here calls the purge.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import time_machine
from django.conf import settings
from django.db.models import Model

from finestreta.accounts.models import Membership, User
from finestreta.appointments.models import Appointment, VerificationCode, WaitingListEntry
from finestreta.identity import consent
from finestreta.identity.models import ConsentRecord, IdentityCheck, OneTimeCode, Signature
from finestreta.notifications.models import Message
from finestreta.privacy.models import AuditEvent, DataKind
from finestreta.privacy.services import record_event
from finestreta.queueing.models import QueueEntry
from finestreta.recordings import storage
from finestreta.recordings.models import Recording, Track
from finestreta.reports.models import SurveyAnswer
from finestreta.tenants.models import Organisation
from finestreta.video.models import ChatLine, Invitation, Room, RoomEvent, SharedFile
from finestreta.video.services import get_room
from tests.factories import AppointmentFactory

NOW = dt.datetime(2031, 3, 15, 10, 0, tzinfo=dt.UTC)
K = DataKind

POLICY = {  # short periods, within every floor
    K.CONTACT_DATA: 60,
    K.APPOINTMENTS: 400,
    K.CHAT: 10,
    K.FILES: 8,
    K.RECORDINGS: 20,
    K.CONSENT_RECORDS: 1100,
    K.AUDIT_LOG: 400,
}
CONTACT = {
    "name": "Núria Vidal",
    "email": "nuria@example.org",
    "phone": "+34600111222",
    "id_document": "12345678Z",
    "notes": "Arribaré amb la meva filla.",
    "representative_name": "Jordi Vidal",
    "representative_email": "jordi@example.org",
    "representative_phone": "+34600333444",
    "representative_relation": "fill",
    "staff_notes": "Ha portat el certificat.",
    "cancellation_reason": "",
}
_minutes = itertools.count()


def ago(days: int, now: dt.datetime = NOW) -> dt.datetime:
    return now - dt.timedelta(days=days)


@dataclass
class World:
    organisation: Organisation
    periods: dict[str, int]
    gone: list[Model] = field(default_factory=list)
    kept: list[Model] = field(default_factory=list)
    blanked: list[Appointment] = field(default_factory=list)  # contact details erased, row kept
    untouched: list[Appointment] = field(default_factory=list)  # contact details kept
    files_gone: list[Path] = field(default_factory=list)
    files_kept: list[Path] = field(default_factory=list)
    named: dict[str, Any] = field(default_factory=dict)
    audit_gone: list[int] = field(default_factory=list)
    audit_kept: list[int] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)  # what the purge should report


def _due(world: World, kind: str) -> dt.datetime:
    return ago(world.periods[kind] + 1)


def _within(world: World, kind: str) -> dt.datetime:
    return ago(world.periods[kind] - 1)


def _appointment(world: World, agent: Membership, ends: dt.datetime, **fields: Any) -> Appointment:
    # A few minutes apart (less than a day in all): the agent's times never overlap.
    ends = ends - dt.timedelta(minutes=35 * next(_minutes) % 1400)
    values = {**CONTACT, "status": "attended", **fields}
    return AppointmentFactory(
        agent=agent,
        service=agent.organisation.services.first(),
        starts_at=ends - dt.timedelta(minutes=30),
        ends_at=ends,
        **values,
    )


def _stored_file(world: World, room: Room, uploaded: dt.datetime, name: str) -> SharedFile:
    storage_name = f"{room.organisation_id}/{room.pk}/{name}.bin"
    path = Path(settings.VIDEO_FILES_DIR) / storage_name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"sealed " + name.encode())
    return SharedFile.objects.create(
        room=room,
        role="citizen",
        sender="Núria",
        name=f"{name}.pdf",
        content_type="application/pdf",
        size=10,
        sha256=hashlib.sha256(name.encode()).hexdigest(),
        storage_name=storage_name,
        uploaded_at=uploaded,
    )


def file_path(shared: SharedFile) -> Path:
    return Path(settings.VIDEO_FILES_DIR) / shared.storage_name


def _recording(room: Room, user: User, started: dt.datetime, **fields: Any) -> Recording:
    values = {
        "organisation_id": room.organisation_id,
        "appointment_id": room.appointment_id,
        "room": room,
        "basis": Recording.Basis.LEGAL_BASIS,
        "legal_basis": "Llei 1/2000",
        "started_by": user,
        "started_at": started,
        "stopped_at": started + dt.timedelta(minutes=20),
        "state": Recording.State.STOPPED,
        "delete_after": NOW + dt.timedelta(days=1000),
        **fields,
    }
    recording = Recording.objects.create(**values)
    Track.objects.create(
        recording=recording, peer="p1", role="staff", name="Agent", kind="audio", started_at=started
    )
    folder = storage.directory(recording)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "0.bin").write_bytes(b"sealed media")
    return recording


def _consent(appointment: Appointment, recorded: dt.datetime, **fields: Any) -> ConsentRecord:
    record = consent.record_consent(
        appointment=appointment, kind="recording", granted=True, method="clicked", now=recorded
    )
    if fields:
        ConsentRecord.objects.filter(pk=record.pk).update(**fields)
        record.refresh_from_db()
    return record


def _code(appointment: Appointment, at: dt.datetime) -> OneTimeCode:
    return OneTimeCode.objects.create(
        organisation=appointment.organisation,
        appointment=appointment,
        purpose="identify",
        channel="sms",
        recipient="+34600111222",
        code_hash="0" * 64,
        expires_at=at + dt.timedelta(minutes=10),
        created_at=at,
    )


def _check(appointment: Appointment, agent: User, at: dt.datetime, **fields: Any) -> IdentityCheck:
    return IdentityCheck.objects.create(
        organisation=appointment.organisation,
        appointment=appointment,
        method="id_document",
        verified=True,
        agent=agent,
        document_type="dni",
        document_hash="1" * 64,
        document_number="12345678Z",
        identified_name="NÚRIA VIDAL",
        checked_at=at,
        **fields,
    )


def _signature(appointment: Appointment, agent: User, at: dt.datetime, **fields: Any) -> Signature:
    values = {
        "organisation": appointment.organisation,
        "appointment": appointment,
        "route": "citizen_code",
        "status": "declined",
        "title": "Resum",
        "document_sha256": "2" * 64,
        "requested_by": agent,
        "requested_at": at,
        "closed_at": at,
        **fields,
    }
    return Signature.objects.create(**values)


def _message(appointment: Appointment, status: str) -> Message:
    return Message.objects.create(
        organisation=appointment.organisation,
        kind="booking_confirmed",
        channel="email",
        recipient=appointment.email,
        language="ca",
        body=f"Hola {appointment.name}",
        dedup_key=f"{appointment.code}-{status}",
        appointment=appointment,
        status=status,
    )


def _queue_entry(world: World, joined: dt.datetime, **fields: Any) -> QueueEntry:
    values = {
        "organisation": world.organisation,
        "service": world.organisation.services.first(),
        "channel": "video",
        "state": "left",
        "name": "Pere Puig",
        "phone": "+34600555666",
        "email": "pere@example.org",
        "joined_at": joined,
        **fields,
    }
    return QueueEntry.objects.create(**values)


def _waiting(world: World, latest: dt.date) -> WaitingListEntry:
    return WaitingListEntry.objects.create(
        organisation=world.organisation,
        service=world.organisation.services.first(),
        channel="video",
        earliest=latest - dt.timedelta(days=10),
        latest=latest,
        name="Anna Roca",
        email="anna@example.org",
        phone="+34600777888",
        status="left",
        manage_nonce="n",
    )


def seed(organisation: Organisation, periods: dict[str, int]) -> World:
    """Every kind, both sides of each cutoff, for `organisation` (its first agent and service)."""
    world = World(organisation=organisation, periods=dict(periods))
    agent = Membership.objects.filter(organisation=organisation, role="agent").first()
    assert agent is not None
    user = agent.user
    longest = max(periods[K.APPOINTMENTS], periods[K.CONSENT_RECORDS])
    assert periods[K.CONTACT_DATA] < periods[K.APPOINTMENTS]
    assert periods[K.RECORDINGS] < periods[K.APPOINTMENTS]

    # The audit log: two events past its period, one within; first in the organisation's
    # chain (the purge removes the oldest run of it: call `seed` before anything is audited).
    for moment in (_due(world, K.AUDIT_LOG), _due(world, K.AUDIT_LOG)):
        with time_machine.travel(moment, tick=False):
            world.audit_gone.append(
                record_event(action=AuditEvent.Action.LOGOUT, organisation=organisation).pk
            )
    with time_machine.travel(_within(world, K.AUDIT_LOG), tick=False):
        world.audit_kept.append(
            record_event(action=AuditEvent.Action.LOGOUT, organisation=organisation).pk
        )

    # 1. An appointment past its period, with everything that hangs off it: all of it goes.
    old = _appointment(world, agent, _due(world, K.APPOINTMENTS))
    room = get_room(old)
    hanging = [
        SurveyAnswer.objects.create(
            organisation=organisation,
            appointment=old,
            score=4,
            language="ca",
            answered_at=old.ends_at,
        ),
        VerificationCode.objects.create(
            appointment=old,
            channel="sms",
            recipient="+34600111222",
            code_hash="0" * 64,
            expires_at=old.ends_at,
        ),
        _code(old, old.ends_at),
        _message(old, "queued"),  # never sent: goes with its appointment
        _queue_entry(world, old.starts_at, state="served", appointment=old),
        room,
        ChatLine.objects.create(
            room=room,
            seq=1,
            peer="p",
            role="citizen",
            name="Núria",
            text="Hola",
            sent_at=old.ends_at,
        ),
        RoomEvent.objects.create(room=room, kind="joined", at=old.starts_at),
        Invitation.objects.create(
            room=room,
            kind="interpreter",
            name="Intèrpret",
            created_at=old.starts_at,
            expires_at=old.ends_at,
        ),
        _check(old, user, old.ends_at),
    ]
    old_file = _stored_file(world, room, old.ends_at, "old-appointment")
    world.gone += [old, old_file, *hanging]
    world.files_gone.append(file_path(old_file))
    world.named["old"] = old

    # 2. An older one, signed with an express consent on a shared document: its consent stays
    # for the signature until the appointment goes, and goes with it.
    signed = _appointment(world, agent, ago(longest + 1))
    signed_room = get_room(signed)
    signed_file = _stored_file(world, signed_room, ago(longest + 1), "signed-document")
    signed_consent = _consent(signed, ago(longest + 1))
    code = _code(signed, signed.ends_at)
    check = _check(signed, user, signed.ends_at, code=code)
    signature = _signature(
        signed,
        user,
        signed.ends_at,
        status="signed",
        signed_at=signed.ends_at,
        verification_code=f"V{organisation.pk:015d}",
        shared_file=signed_file,
        consent=signed_consent,
        identity_check=check,
        code=code,
    )
    world.gone += [signed, signed_room, signed_file, signed_consent, code, check, signature]
    world.files_gone.append(file_path(signed_file))

    # 3. Past the appointments' period, but its consent was withdrawn recently: the consent
    # record stays its period from the withdrawal, and its appointment with it.
    withdrawn = _appointment(world, agent, ago(longest + 1))
    withdrawn_consent = _consent(
        withdrawn, ago(longest + 1), withdrawn_at=_within(world, K.CONSENT_RECORDS)
    )
    world.kept += [withdrawn, withdrawn_consent]
    world.blanked.append(withdrawn)

    # 4. The consent's period counts from the deletion of the recording it allowed.
    recorded = _appointment(world, agent, ago(longest + 1))
    recorded_consent = _consent(recorded, ago(longest + 1))
    deleted_recording = _recording(
        get_room(recorded),
        user,
        ago(longest + 1),
        state=Recording.State.DELETED,
        deleted_at=_within(world, K.CONSENT_RECORDS),
    )
    world.kept += [recorded, recorded_consent, deleted_recording]
    world.blanked.append(recorded)

    # 5. Recorded on a legal basis, for a procedure that keeps recordings long: the
    # organisation's ceiling deletes the media, then the appointment goes with its recording.
    legal = _appointment(world, agent, _due(world, K.APPOINTMENTS))
    legal_recording = _recording(get_room(legal), user, legal.starts_at)
    world.gone += [legal, legal_recording]
    world.files_gone.append(storage.directory(legal_recording))
    world.named["legal"] = legal

    # 6. Within the appointments' period, past the contact details': the row stays, blanked.
    kept = _appointment(world, agent, _within(world, K.APPOINTMENTS))
    world.kept.append(kept)
    world.blanked.append(kept)
    world.named["kept"] = kept

    # 7. Past the contact details' period: blanked, and what carries them goes or is blanked.
    contact = _appointment(
        world,
        agent,
        _due(world, K.CONTACT_DATA),
        status="cancelled",
        cancelled_by="citizen",
        cancellation_reason="Em trobo malament, truqueu-me al 600111222",
        held_by="3" * 64,
    )
    contact_room = get_room(contact)
    sent = _message(contact, "delivered")
    unsent = _message(contact, "queued")
    contact_check = _check(contact, user, contact.ends_at)
    callback = RoomEvent.objects.create(
        room=contact_room, kind="callback", at=contact.ends_at, details={"phone": "+34600111222"}
    )
    joined = RoomEvent.objects.create(
        room=contact_room, kind="joined", at=contact.starts_at, details={"peer": "p1"}
    )
    contact_entry = _queue_entry(world, contact.starts_at, state="served", appointment=contact)
    world.gone.append(sent)
    world.kept += [contact, contact_room, unsent, contact_check, callback, joined, contact_entry]
    world.blanked.append(contact)
    world.named.update(contact=contact, callback=callback, joined=joined, check=contact_check)
    world.named.update(contact_entry=contact_entry)

    # 8. Within the contact details' period: nothing changes.
    recent = _appointment(world, agent, _within(world, K.CONTACT_DATA))
    recent_sent = _message(recent, "delivered")
    world.kept += [recent, recent_sent]
    world.untouched.append(recent)

    # Consent records on a kept appointment: one past its period, one within, and one past
    # it that a (declined) signature points to.
    consent_due = _consent(kept, _due(world, K.CONSENT_RECORDS))
    consent_within = _consent(kept, _within(world, K.CONSENT_RECORDS))
    consent_signed = _consent(kept, _due(world, K.CONSENT_RECORDS))
    declined = _signature(kept, user, kept.ends_at, consent=consent_signed)
    world.gone.append(consent_due)
    world.kept += [consent_within, consent_signed, declined]

    # Chat, files and recordings of a call a day ago (their own dates are what counts).
    call = _appointment(world, agent, ago(1))
    call_room = get_room(call)
    chat_due = ChatLine.objects.create(
        room=call_room, seq=1, peer="p", role="citizen", name="N", text="Hola",
        sent_at=_due(world, K.CHAT),
    )  # fmt: skip
    chat_within = ChatLine.objects.create(
        room=call_room, seq=2, peer="p", role="staff", name="A", text="Bon dia",
        sent_at=_within(world, K.CHAT),
    )  # fmt: skip
    file_due = _stored_file(world, call_room, _due(world, K.FILES), "file-due")
    file_within = _stored_file(world, call_room, _within(world, K.FILES), "file-within")
    file_signed = _stored_file(world, call_room, _due(world, K.FILES), "file-signed")
    pending = _signature(call, user, NOW, status="pending", closed_at=None, shared_file=file_signed)
    ceiling = _recording(call_room, user, _due(world, K.RECORDINGS))
    within = _recording(call_room, user, _within(world, K.RECORDINGS))
    procedure = _recording(call_room, user, ago(2), delete_after=ago(1))
    live = _recording(
        call_room, user, _due(world, K.RECORDINGS), state=Recording.State.RECORDING, stopped_at=None
    )
    world.gone += [chat_due, file_due]
    world.kept += [call, call_room, chat_within, file_within, file_signed, pending]
    world.kept += [ceiling, within, procedure, live]  # rows stay; media of two go
    world.untouched.append(call)
    world.files_gone += [
        file_path(file_due),
        storage.directory(ceiling),
        storage.directory(procedure),
    ]
    world.files_kept += [
        file_path(file_within),
        file_path(file_signed),
        storage.directory(within),
        storage.directory(live),
        storage.directory(deleted_recording),
    ]
    world.named.update(call=call, ceiling=ceiling, procedure=procedure, within=within, live=live)

    # The queue and the waiting list without appointments.
    queue_old = _queue_entry(world, _due(world, K.APPOINTMENTS))
    queue_blanked = _queue_entry(world, _due(world, K.CONTACT_DATA))
    queue_recent = _queue_entry(world, _within(world, K.CONTACT_DATA))
    waiting_old = _waiting(world, _due(world, K.APPOINTMENTS).date())
    waiting_blanked = _waiting(world, ago(world.periods[K.CONTACT_DATA] + 2).date())
    waiting_recent = _waiting(world, _within(world, K.CONTACT_DATA).date())
    world.gone += [queue_old, waiting_old]
    world.kept += [queue_blanked, queue_recent, waiting_blanked, waiting_recent]
    world.named.update(queue_blanked=queue_blanked, queue_recent=queue_recent)
    world.named.update(waiting_blanked=waiting_blanked, waiting_recent=waiting_recent)

    world.counts = {
        # Seven appointments ended before the contact cutoff, four queue entries (two of
        # appointments), two waiting-list entries.
        K.CONTACT_DATA: 7 + 4 + 2,
        K.CHAT: 2,  # the old appointment's line (by its own date) and the call's
        K.FILES: 2,  # the same; the signed documents stay
        K.RECORDINGS: 3,  # the ceiling's, the procedure's, and the legal one's (5)
        K.CONSENT_RECORDS: 1,
        K.APPOINTMENTS: 3 + 1 + 1,  # old, signed, legal; a queue entry; a waiting-list entry
        K.AUDIT_LOG: 2,
    }
    return world
