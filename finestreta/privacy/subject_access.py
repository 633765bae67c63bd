"""The right of access (GDPR art. 15): everything one organisation holds about a person, as
machine-readable JSON (this module) and a readable PDF (`subject_pdf`), in one zip (ADR 35).

What is theirs and what is not (the rules the tests prove):
- Their own appointments, in full, but for the staff's identities (the agent, who booked it,
  who attested or checked: not the person's data; CJEU C-579/21) and the platform's security
  material (hashes of codes and documents, nonces, tokens, storage names), which are listed by
  name in `withheld_fields` with the reason.
- An appointment booked for them by a representative names the representative and their
  relationship (the source of the data, art. 15.1.g), not the representative's contact.
- Appointments they booked for someone else: only their own representative data, the procedure
  and the time — nothing of the person represented.
- A call's chat: their own lines and the staff's (the conversation with them); an invited
  guest's lines (an interpreter, a specialist) are theirs, not the person's: counted, not
  shown. Files likewise; room events of their own connection, the staff's notices and the end.
- Messages sent to them, in full; messages about their appointments sent to someone else
  (their representative) are counted only; messages they received as a representative are
  listed without their text (it is about the person represented).
- Recording media and shared files are listed (metadata and how to obtain a copy), not
  embedded. Signature receipts (PDFs the person was sent) go into the zip.
- Audit events that name their records: when and what, not which member of staff (C-579/21).
"""

from __future__ import annotations

import datetime as dt
import io
import json
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from django.db import models
from django.utils import timezone, translation

from finestreta.appointments.models import Appointment, VerificationCode
from finestreta.identity.models import ConsentRecord, IdentityCheck, OneTimeCode, Signature
from finestreta.integrations.models import Event, EventType
from finestreta.privacy.export_fields import EXPORTED, THIRD_PARTY
from finestreta.privacy.models import AuditEvent
from finestreta.privacy.subjects import Subject
from finestreta.recordings.models import Recording, Track
from finestreta.reports.models import SurveyAnswer
from finestreta.video.models import ChatLine, Coaching, Invitation, Role, Room, RoomEvent
from finestreta.video.models import SharedFile as SharedFileModel

SCHEMA = "finestreta.subject-access"
SCHEMA_VERSION = 1

__all__ = [
    "EXPORTED",
    "SCHEMA",
    "SCHEMA_VERSION",
    "Export",
    "collect",
    "export_zip",
]


@dataclass
class Export:
    """The export's data (`data`, as the JSON says it) and the receipts to put beside it."""

    data: dict[str, Any]
    receipts: dict[str, bytes]
    subject: Subject


def _value(value: Any, zone: ZoneInfo) -> Any:
    if isinstance(value, dt.datetime):
        return timezone.localtime(value, zone).isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, Appointment):
        return value.code
    if isinstance(value, models.Model):
        return str(value)
    return value


def _row(obj: models.Model, zone: ZoneInfo, **extra: Any) -> dict[str, Any]:
    fields = EXPORTED[type(obj)]
    row = {name: _value(getattr(obj, name), zone) for name in fields.exported}
    row.update(extra)
    return row


def _rows(objects: Iterable[models.Model], zone: ZoneInfo) -> list[dict[str, Any]]:
    return [_row(obj, zone) for obj in objects]


def _contacts(subject: Subject) -> set[str]:
    """The person's own addresses and numbers: searched, and on their own appointments."""
    values = {subject.criteria.email, subject.criteria.phone}
    for appointment in subject.appointments:
        values |= {appointment.email.lower(), appointment.phone}
    for entry in subject.queue_entries:
        values |= {entry.email.lower(), entry.phone}
    return {value for value in values if value}


def collect(subject: Subject, *, now: dt.datetime) -> Export:
    """The export of everything `subject.organisation` holds about the person."""
    organisation = subject.organisation
    zone = ZoneInfo(organisation.time_zone)
    own = subject.appointments
    own_ids = [a.pk for a in own]
    represented_ids = {a.pk for a in subject.represented}
    contacts = _contacts(subject)
    counts: dict[str, int] = {}

    messages, message_rows = [], []
    for message in subject.messages:
        mine = message.recipient.lower() in contacts or message.recipient in contacts
        if message.appointment_id in represented_ids or (
            message.appointment_id not in own_ids and not mine
        ):
            # Received as someone's representative: the text is about the person represented.
            row = _row(message, zone, subject="", body="", attachment_name="")
            row["withheld"] = THIRD_PARTY
            message_rows.append(row)
        elif mine:
            messages.append(message)
            message_rows.append(_row(message, zone))
        else:
            counts["messages_to_others"] = counts.get("messages_to_others", 0) + 1

    rooms = list(Room.objects.filter(appointment_id__in=own_ids).select_related("appointment"))
    room_ids = [room.pk for room in rooms]
    people = [Role.CITIZEN, Role.STAFF]
    chat = ChatLine.objects.filter(room_id__in=room_ids).select_related("room__appointment")
    files = SharedFileModel.objects.filter(room_id__in=room_ids).select_related("room__appointment")
    counts["chat_lines_of_others"] = chat.exclude(role__in=people).count()
    counts["files_of_others"] = files.exclude(role__in=people).count()
    counts["invited_guests"] = Invitation.objects.filter(room_id__in=room_ids).count()
    events = RoomEvent.objects.filter(room_id__in=room_ids).filter(
        models.Q(role=Role.CITIZEN)
        | models.Q(kind__in=[RoomEvent.Kind.NOTICE, RoomEvent.Kind.ENDED])
    )

    consents = ConsentRecord.objects.filter(
        organisation=organisation, appointment_id__in=own_ids, invitation__isnull=True
    ).select_related("text", "appointment", "recording__appointment")
    counts["consents_of_guests"] = ConsentRecord.objects.filter(
        appointment_id__in=own_ids, invitation__isnull=False
    ).count()
    signatures = list(
        Signature.objects.filter(organisation=organisation, appointment_id__in=own_ids)
        .select_related("appointment", "shared_file")
        .order_by("requested_at", "pk")
    )
    receipts = {
        f"receipts/{signature.verification_code}.pdf": bytes(signature.receipt)
        for signature in signatures
        if signature.receipt and signature.verification_code
    }
    recordings = list(
        Recording.objects.filter(organisation=organisation, appointment_id__in=own_ids)
        .select_related("appointment")
        .order_by("started_at", "pk")
    )
    recording_rows = []
    for recording in recordings:
        tracks = Track.objects.filter(recording=recording, role=Role.CITIZEN)
        recording_rows.append(
            _row(
                recording,
                zone,
                tracks=_rows(tracks, zone),
                participants_recorded=sorted(
                    set(Track.objects.filter(recording=recording).values_list("role", flat=True))
                ),
            )
        )

    data: dict[str, Any] = {
        "schema": SCHEMA,
        "schema_version": SCHEMA_VERSION,
        "generated_at": timezone.localtime(now, zone).isoformat(),
        "language": translation.get_language(),
        "organisation": {
            "slug": organisation.slug,
            "name": organisation.name,
            "contact_email": organisation.contact_email,
            "contact_phone": organisation.contact_phone,
            "website": organisation.website,
            "time_zone": organisation.time_zone,
        },
        "searched_by": {
            "email": subject.criteria.email,
            "phone": subject.criteria.phone,
            "id_document": subject.criteria.id_document,
        },
        "appointments": [_row(a, zone, matched_by=subject.matched_by.get(a.pk, [])) for a in own],
        "represented_appointments": [
            {
                "code": a.code,
                "service": str(a.service),
                "starts_at": _value(a.starts_at, zone),
                "status": a.status,
                "representative_name": a.representative_name,
                "representative_email": a.representative_email,
                "representative_phone": a.representative_phone,
                "representative_relation": a.representative_relation,
            }
            for a in subject.represented
        ],
        "queue_entries": _rows(subject.queue_entries, zone),
        "waiting_list_entries": _rows(subject.waiting_list, zone),
        "messages": message_rows,
        "verification_codes": _rows(
            VerificationCode.objects.filter(appointment_id__in=own_ids)
            .select_related("appointment")
            .order_by("created_at", "pk"),
            zone,
        ),
        "video_calls": [
            _row(
                room,
                zone,
                chat=[
                    _row(line, zone)
                    for line in chat.filter(room=room, role__in=people).order_by("seq")
                ],
                files=_rows(files.filter(room=room, role__in=people), zone),
                events=_rows(events.filter(room=room).order_by("at", "pk"), zone),
                silent_listening=_rows(Coaching.objects.filter(room=room), zone),
            )
            for room in rooms
        ],
        "identity_checks": _rows(
            IdentityCheck.objects.filter(organisation=organisation, appointment_id__in=own_ids)
            .select_related("appointment", "provider")
            .order_by("checked_at", "pk"),
            zone,
        ),
        "one_time_codes": _rows(
            OneTimeCode.objects.filter(organisation=organisation, appointment_id__in=own_ids)
            .select_related("appointment")
            .order_by("created_at", "pk"),
            zone,
        ),
        "consents": [
            _row(record, zone, text_shown=record.text.body)
            for record in consents.order_by("recorded_at", "pk")
        ],
        "signatures": [
            _row(
                signature,
                zone,
                receipt_file=(
                    f"receipts/{signature.verification_code}.pdf"
                    if f"receipts/{signature.verification_code}.pdf" in receipts
                    else None
                ),
            )
            for signature in signatures
        ],
        "recordings": recording_rows,
        "survey_answers": _rows(
            SurveyAnswer.objects.filter(organisation=organisation, appointment_id__in=own_ids)
            .select_related("appointment")
            .order_by("answered_at"),
            zone,
        ),
        "audit_events": [
            _row(event, zone, action_label=event.action_label)
            for event in _audit_events(subject, own_ids, room_ids, recordings, signatures)
        ],
        "webhook_events": _webhook_events(subject, zone),
        "not_included": counts,
        "withheld_fields": {
            model._meta.model_name: fields.withheld for model, fields in EXPORTED.items()
        },
    }
    return Export(data=data, receipts=receipts, subject=subject)


def _audit_events(
    subject: Subject,
    own_ids: list[int],
    room_ids: list[int],
    recordings: list[Recording],
    signatures: list[Signature],
) -> list[AuditEvent]:
    targets = models.Q(target_type="appointments.appointment", target_id__in=map(str, own_ids))
    targets |= models.Q(target_type="video.room", target_id__in=map(str, room_ids))
    targets |= models.Q(
        target_type="recordings.recording", target_id__in=[str(r.pk) for r in recordings]
    )
    targets |= models.Q(
        target_type="identity.signature", target_id__in=[str(s.pk) for s in signatures]
    )
    targets |= models.Q(
        target_type="queueing.queueentry",
        target_id__in=[str(e.pk) for e in subject.queue_entries],
    )
    return list(
        AuditEvent.objects.filter(organisation=subject.organisation)
        .filter(targets)
        .order_by("occurred_at", "id")
    )


def _webhook_events(subject: Subject, zone: ZoneInfo) -> list[dict[str, Any]]:
    """Events sent to connected systems about their own appointments, and to whom."""
    codes = {a.code for a in subject.appointments}
    if not codes:
        return []
    found = []
    events = Event.objects.filter(organisation=subject.organisation).prefetch_related(
        "deliveries__subscription"
    )
    for event in events.order_by("occurred_at", "pk"):
        data = event.payload.get("data", {}) if isinstance(event.payload, dict) else {}
        if event.type == EventType.DATA_DELETED:
            about = codes & set(map(str, data.get("ids", [])))
        else:
            about = codes & {str(data.get("appointment"))}
        if about:
            recipients = sorted(
                {d.subscription.description or d.subscription.url for d in event.deliveries.all()}
            )
            found.append(_row(event, zone, uid=str(event.uid), sent_to=recipients))
    return found


def export_zip(export: Export, pdf: bytes) -> bytes:
    """One zip: the readable PDF, the JSON, and the signature receipts."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("subject-access.pdf", pdf)
        archive.writestr(
            "subject-access.json",
            json.dumps(export.data, ensure_ascii=False, indent=2, sort_keys=False),
        )
        for name, content in export.receipts.items():
            archive.writestr(name, content)
    return out.getvalue()
