"""What each kind's retention period removes (ADR 34): the rows due, found per organisation,
and how a batch of them is removed or blanked, evidence first. The runs, batches and
transactions around them are `privacy.purge`'s; see its docstring for the order and the rules
of evidence."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models import Exists, OuterRef, Q, QuerySet

from finestreta.appointments.models import Appointment, WaitingListEntry
from finestreta.identity.models import ConsentRecord, IdentityCheck, Signature
from finestreta.notifications.models import Message
from finestreta.privacy.models import DataKind
from finestreta.queueing.models import QueueEntry
from finestreta.recordings.models import Recording
from finestreta.recordings.services import delete_media
from finestreta.tenants.models import Organisation
from finestreta.video.files import delete_stored
from finestreta.video.models import ChatLine, Room, RoomEvent, SharedFile

KEPT_RECORDING_STATES = [*Recording.LIVE_STATES, Recording.State.DELETED]


@dataclass
class Context:
    organisation: Organisation
    now: dt.datetime
    cutoffs: dict[str, dt.datetime]
    dry_run: bool


@dataclass(frozen=True)
class Step:
    """One kind of row a kind's period removes (or blanks)."""

    kind: DataKind
    name: str  # for the audit event: which rows
    candidates: Callable[[Context], QuerySet[Any]]
    # Removes the (locked) rows; returns what connected systems know them by.
    remove: Callable[[list[Any], Context], list[str]]
    announce_as: str = ""  # the kind of the data.deleted event; "": not announced


# --- Contact details ---------------------------------------------------------------------

APPOINTMENT_CONTACT = [
    "name",
    "email",
    "phone",
    "id_document",
    "notes",
    "representative_name",
    "representative_email",
    "representative_phone",
    "representative_relation",
    "staff_notes",
    "cancellation_reason",
    "held_by",
]


def _any_filled(fields: Iterable[str]) -> Q:
    found = Q()
    for name in fields:
        found |= ~Q(**{name: ""})
    return found


def _codes(appointment_ids: Iterable[int]) -> list[str]:
    return list(
        Appointment.objects.filter(pk__in=set(appointment_ids))
        .order_by("pk")
        .values_list("code", flat=True)
    )


def _contact_appointments(ctx: Context) -> QuerySet[Appointment]:
    appointment = OuterRef("pk")
    return Appointment.objects.filter(
        organisation=ctx.organisation, ends_at__lt=ctx.cutoffs[DataKind.CONTACT_DATA]
    ).filter(
        _any_filled(APPOINTMENT_CONTACT)
        | Exists(Message.objects.filter(appointment=appointment, status__in=Message.TERMINAL))
        | Exists(
            IdentityCheck.objects.filter(appointment=appointment).filter(
                _any_filled(["identified_name", "document_number"])
            )
        )
        | Exists(
            RoomEvent.objects.filter(
                room__appointment=appointment, kind=RoomEvent.Kind.CALLBACK
            ).exclude(details={})
        )
    )


def _blank_appointments(rows: list[Appointment], ctx: Context) -> list[str]:
    ids = [row.pk for row in rows]
    Appointment.objects.filter(pk__in=ids).update(**dict.fromkeys(APPOINTMENT_CONTACT, ""))
    # What was sent to the citizen carries their address and name.
    Message.objects.filter(appointment_id__in=ids, status__in=Message.TERMINAL).delete()
    # The keyed hash of the document stays: it is the evidence of the check.
    IdentityCheck.objects.filter(appointment_id__in=ids).update(
        identified_name="", document_number=""
    )
    RoomEvent.objects.filter(room__appointment_id__in=ids, kind=RoomEvent.Kind.CALLBACK).update(
        details={}
    )
    return [row.code for row in rows]


def _contact_queue(ctx: Context) -> QuerySet[QueueEntry]:
    return QueueEntry.objects.filter(
        organisation=ctx.organisation, joined_at__lt=ctx.cutoffs[DataKind.CONTACT_DATA]
    ).filter(_any_filled(["name", "phone", "email"]))


def _blank_queue(rows: list[QueueEntry], ctx: Context) -> list[str]:
    QueueEntry.objects.filter(pk__in=[row.pk for row in rows]).update(name="", phone="", email="")
    return []  # integrators know queue entries by their appointment, blanked above


def _contact_waiting(ctx: Context) -> QuerySet[WaitingListEntry]:
    return WaitingListEntry.objects.filter(
        organisation=ctx.organisation, latest__lt=ctx.cutoffs[DataKind.CONTACT_DATA].date()
    ).filter(_any_filled(["name", "phone", "email"]))


def _blank_waiting(rows: list[WaitingListEntry], ctx: Context) -> list[str]:
    WaitingListEntry.objects.filter(pk__in=[row.pk for row in rows]).update(
        name="", phone="", email=""
    )
    return []


# --- Chat, files, recordings -------------------------------------------------------------


def _chat(ctx: Context) -> QuerySet[ChatLine]:
    return ChatLine.objects.filter(
        room__organisation=ctx.organisation, sent_at__lt=ctx.cutoffs[DataKind.CHAT]
    )


def _delete_chat(rows: list[ChatLine], ctx: Context) -> list[str]:
    ChatLine.objects.filter(pk__in=[row.pk for row in rows]).delete()
    return _codes(
        Room.objects.filter(pk__in={row.room_id for row in rows}).values_list(
            "appointment_id", flat=True
        )
    )


def _files(ctx: Context) -> QuerySet[SharedFile]:
    return SharedFile.objects.filter(
        room__organisation=ctx.organisation, uploaded_at__lt=ctx.cutoffs[DataKind.FILES]
    ).exclude(Exists(Signature.objects.filter(shared_file=OuterRef("pk"))))


def _delete_files(rows: list[SharedFile], ctx: Context) -> list[str]:
    names = [row.storage_name for row in rows]
    SharedFile.objects.filter(pk__in=[row.pk for row in rows]).delete()
    transaction.on_commit(lambda: delete_stored(names))  # a rollback keeps them
    return _codes(
        Room.objects.filter(pk__in={row.room_id for row in rows}).values_list(
            "appointment_id", flat=True
        )
    )


def _recordings(ctx: Context) -> QuerySet[Recording]:
    # Due by the procedure's period (the sweeper's work, should it not have run) or by the
    # organisation's ceiling.
    return (
        Recording.objects.filter(organisation=ctx.organisation)
        .exclude(state__in=KEPT_RECORDING_STATES)
        .filter(Q(delete_after__lte=ctx.now) | Q(started_at__lt=ctx.cutoffs[DataKind.RECORDINGS]))
    )


def _delete_recordings(rows: list[Recording], ctx: Context) -> list[str]:
    for recording in rows:
        if ctx.dry_run:  # no audit event (and no lock on the audit chain) for a preview
            Recording.objects.filter(pk=recording.pk).update(
                state=Recording.State.DELETED, deleted_at=ctx.now
            )
        else:
            delete_media(recording, now=ctx.now)
    return _codes(row.appointment_id for row in rows)


# --- Consent records and appointments ----------------------------------------------------


def _consent_kept(cutoff: dt.datetime) -> Q:
    """On ConsentRecord: within its period, counted from the later of the answer, its
    withdrawal and the deletion of the recording of its appointment."""
    recording_kept = Recording.objects.filter(appointment=OuterRef("appointment")).filter(
        Q(deleted_at__isnull=True) | Q(deleted_at__gte=cutoff)
    )
    return Q(recorded_at__gte=cutoff) | Q(withdrawn_at__gte=cutoff) | Q(Exists(recording_kept))


def _consents(ctx: Context) -> QuerySet[ConsentRecord]:
    return (
        ConsentRecord.objects.filter(organisation=ctx.organisation)
        .exclude(_consent_kept(ctx.cutoffs[DataKind.CONSENT_RECORDS]))
        # Evidence of a signature kept with it, as long as its appointment.
        .exclude(Exists(Signature.objects.filter(consent=OuterRef("pk"))))
    )


def _delete_consents(rows: list[ConsentRecord], ctx: Context) -> list[str]:
    ConsentRecord.objects.filter(pk__in=[row.pk for row in rows]).delete()
    return _codes(row.appointment_id for row in rows)


def _appointments(ctx: Context) -> QuerySet[Appointment]:
    consents_kept = ConsentRecord.objects.filter(appointment=OuterRef("pk")).filter(
        _consent_kept(ctx.cutoffs[DataKind.CONSENT_RECORDS])
    )
    media_kept = Recording.objects.filter(appointment=OuterRef("pk")).exclude(
        state=Recording.State.DELETED
    )
    return (
        Appointment.objects.filter(
            organisation=ctx.organisation, ends_at__lt=ctx.cutoffs[DataKind.APPOINTMENTS]
        )
        .exclude(Exists(consents_kept))
        .exclude(Exists(media_kept))
    )


def _delete_appointments(rows: list[Appointment], ctx: Context) -> list[str]:
    """Everything that hangs off the appointments, PROTECT relations first (in the order they
    point at each other), then the rows whose relation is SET_NULL, then the appointments with
    what CASCADEs from them (verification and one-time codes, the survey answer)."""
    ids = [row.pk for row in rows]
    Signature.objects.filter(appointment_id__in=ids).delete()  # → checks, codes, consents, files
    IdentityCheck.objects.filter(appointment_id__in=ids).delete()  # → one-time codes
    ConsentRecord.objects.filter(appointment_id__in=ids).delete()  # → recordings, invitations
    Recording.objects.filter(appointment_id__in=ids).delete()  # media gone already → rooms
    names = list(
        SharedFile.objects.filter(room__appointment_id__in=ids).values_list(
            "storage_name", flat=True
        )
    )
    # Chat, events, files, presences, invitations and coaching go with the room.
    Room.objects.filter(appointment_id__in=ids).delete()
    transaction.on_commit(lambda: delete_stored(names))
    QueueEntry.objects.filter(appointment_id__in=ids).delete()
    Message.objects.filter(appointment_id__in=ids).delete()
    Appointment.objects.filter(pk__in=ids).delete()
    return [row.code for row in rows]


def _old_queue(ctx: Context) -> QuerySet[QueueEntry]:
    return QueueEntry.objects.filter(
        organisation=ctx.organisation,
        appointment__isnull=True,
        joined_at__lt=ctx.cutoffs[DataKind.APPOINTMENTS],
    )


def _delete_queue(rows: list[QueueEntry], ctx: Context) -> list[str]:
    QueueEntry.objects.filter(pk__in=[row.pk for row in rows]).delete()
    return []


def _old_waiting(ctx: Context) -> QuerySet[WaitingListEntry]:
    return WaitingListEntry.objects.filter(
        organisation=ctx.organisation, latest__lt=ctx.cutoffs[DataKind.APPOINTMENTS].date()
    )


def _delete_waiting(rows: list[WaitingListEntry], ctx: Context) -> list[str]:
    WaitingListEntry.objects.filter(pk__in=[row.pk for row in rows]).delete()
    return []


STEPS = [
    Step(
        DataKind.CONTACT_DATA,
        "appointments",
        _contact_appointments,
        _blank_appointments,
        "contact_data",
    ),
    Step(DataKind.CONTACT_DATA, "queue_entries", _contact_queue, _blank_queue),
    Step(DataKind.CONTACT_DATA, "waiting_list", _contact_waiting, _blank_waiting),
    Step(DataKind.CHAT, "chat_lines", _chat, _delete_chat, "chat"),
    Step(DataKind.FILES, "shared_files", _files, _delete_files, "file"),
    Step(DataKind.RECORDINGS, "recordings", _recordings, _delete_recordings, "recording"),
    Step(
        DataKind.CONSENT_RECORDS, "consent_records", _consents, _delete_consents, "consent_record"
    ),
    Step(DataKind.APPOINTMENTS, "appointments", _appointments, _delete_appointments, "appointment"),
    Step(DataKind.APPOINTMENTS, "queue_entries", _old_queue, _delete_queue),
    Step(DataKind.APPOINTMENTS, "waiting_list", _old_waiting, _delete_waiting),
]
