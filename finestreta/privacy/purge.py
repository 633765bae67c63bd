"""The retention purge (ADR 34): what each kind's period removes, batch by batch.

Each batch is one transaction: its rows are removed, the run's counts grow, an audit event
(`retention.purged`, counts only) and the `data.deleted` events for connected systems are
written, and all of it commits or none of it does; files on disk go once it has committed.
Batches are taken with SKIP LOCKED on PostgreSQL, so two workers purging at once take
different rows; SQLite writes one transaction at a time.

A dry run is the same run inside a transaction that is rolled back: what it counts is exactly
what a run would remove now (a consent record removed first lets its appointment go), and it
leaves nothing behind but its `PurgeRun`. It writes no audit or webhook event, and does not
take the audit chain's lock, so a preview does not hold up the organisation's staff.

Order and evidence (see `retention.ORDER`):

- contact details are blanked on appointments, queue entries and the waiting list (and the
  messages sent about an appointment, the callback number, the name and number read from an
  identity document go) before the rows themselves go; the statistics fields stay;
- a file that was signed stays with its signature; a signature, an identity check and the
  consent records go with their appointment only;
- a consent record stays while a signature points to it, and for the consent period after
  the recording it allowed was deleted;
- an appointment stays while one of its consent records stays, or a recording of it still
  has its media.

Called through `privacy.services`; this module is imported on use (it imports other apps'
services, which import privacy.services).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from finestreta.accounts.models import User
from finestreta.appointments.models import Appointment, WaitingListEntry
from finestreta.identity.models import ConsentRecord, IdentityCheck, Signature
from finestreta.integrations.services import emit_data_deleted
from finestreta.lib.transactions import lock_retention_schedule, lock_skipping
from finestreta.notifications.models import Message
from finestreta.privacy import chain, retention
from finestreta.privacy.models import AuditEvent, DataKind, PurgeRun
from finestreta.privacy.services import record_event
from finestreta.queueing.models import QueueEntry
from finestreta.recordings.models import Recording
from finestreta.recordings.services import delete_media
from finestreta.tenants.models import Organisation
from finestreta.video.files import delete_stored
from finestreta.video.models import ChatLine, Room, RoomEvent, SharedFile

logger = logging.getLogger(__name__)

KEPT_RECORDING_STATES = [*Recording.LIVE_STATES, Recording.State.DELETED]


class Rollback(Exception):  # noqa: N818 - not an error: how a dry run undoes its work
    pass


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


# --- Runs --------------------------------------------------------------------------------


@dataclass
class OrganisationReport:
    organisation: str  # slug
    run_id: int
    counts: dict[str, int] = field(default_factory=dict)
    error: str = ""


@dataclass
class PurgeReport:
    """What a purge removed (a dry run: would remove), per organisation and kind."""

    as_of: dt.datetime
    dry_run: bool
    organisations: list[OrganisationReport] = field(default_factory=list)

    def total(self, kind: str) -> int:
        return sum(report.counts.get(kind, 0) for report in self.organisations)

    @property
    def failed(self) -> list[OrganisationReport]:
        return [report for report in self.organisations if report.error]

    def lines(self) -> list[str]:
        """The report in words, one line per organisation and kind (the command prints it)."""
        lines = []
        for report in self.organisations:
            heading = _("%(organisation)s (run %(run)s)") % {
                "organisation": report.organisation,
                "run": report.run_id,
            }
            if report.error:
                heading += " — " + _("stopped by an error: %(error)s") % {"error": report.error}
            lines.append(heading)
            for kind in retention.ORDER:
                lines.append(f"  {retention.label_of(kind)}: {report.counts.get(kind, 0)}")
        return lines


def purge_expired_data(
    *,
    now: dt.datetime,
    organisation: Organisation | None = None,
    dry_run: bool = False,
    actor: User | None = None,
    batch_size: int | None = None,
) -> PurgeReport:
    """Remove, for every organisation (or one), what its retention periods say is due at
    `now`, and report it. An error stops that organisation's run (what its committed batches
    removed stays removed, and is reported) and the purge goes on with the next one."""
    organisations = [organisation] if organisation is not None else _all_organisations()
    runs = _start_runs(organisations, now=now, dry_run=dry_run, scheduled=False, actor=actor)
    return _execute(runs, now=now, dry_run=dry_run, batch_size=batch_size)


def purge_if_due(*, now: dt.datetime) -> PurgeReport | None:
    """The workers' daily purge: runs when the last scheduled one started at least
    RETENTION_PURGE_HOURS before `now`, else None. Of several workers asking at once, one
    starts it: the check and the runs it starts are one transaction, under a lock."""
    every = dt.timedelta(hours=settings.RETENTION_PURGE_HOURS)
    with transaction.atomic():
        lock_retention_schedule()
        last = (
            PurgeRun.objects.filter(scheduled=True, dry_run=False)
            .order_by("-as_of")
            .values_list("as_of", flat=True)
            .first()
        )
        if last is not None and now - last < every:
            return None
        runs = _start_runs(_all_organisations(), now=now, dry_run=False, scheduled=True)
    return _execute(runs, now=now, dry_run=False, batch_size=None)


def _all_organisations() -> list[Organisation]:
    # Inactive organisations too: their data is due all the same.
    return list(Organisation.objects.order_by("pk"))


def _start_runs(
    organisations: Sequence[Organisation],
    *,
    now: dt.datetime,
    dry_run: bool,
    scheduled: bool,
    actor: User | None = None,
) -> list[PurgeRun]:
    return [
        PurgeRun.objects.create(
            organisation=organisation,
            started_at=timezone.now(),
            as_of=now,
            dry_run=dry_run,
            scheduled=scheduled,
            started_by=actor,
        )
        for organisation in organisations
    ]


def _execute(
    runs: list[PurgeRun], *, now: dt.datetime, dry_run: bool, batch_size: int | None
) -> PurgeReport:
    report = PurgeReport(as_of=now, dry_run=dry_run)
    size = batch_size or settings.RETENTION_BATCH_SIZE
    for run in runs:
        organisation = run.organisation
        ctx = Context(
            organisation=organisation,
            now=now,
            cutoffs=retention.cutoffs_for(organisation, now=now),
            dry_run=dry_run,
        )
        line = OrganisationReport(organisation=organisation.slug, run_id=run.pk)
        report.organisations.append(line)
        try:
            if dry_run:
                _preview(run, ctx, size)
            else:
                _purge(run, ctx, size)
        except Exception as error:
            logger.exception("the retention purge of %s failed", organisation.slug)
            run.error = f"{type(error).__name__}: {error}"[:200]
            PurgeRun.objects.filter(pk=run.pk).update(error=run.error)
            line.error = run.error
        else:
            run.finished_at = timezone.now()
            PurgeRun.objects.filter(pk=run.pk).update(
                finished_at=run.finished_at, counts=run.counts
            )
        line.counts = {kind: run.count(kind) for kind in retention.ORDER}
    return report


def _steps() -> list[Step]:
    """The steps in the order of their kinds (the audit log has none: `_purge_audit`)."""
    return sorted(STEPS, key=lambda step: retention.ORDER.index(step.kind))


def _purge(run: PurgeRun, ctx: Context, size: int) -> None:
    for step in _steps():
        while _batch(run, step, ctx, size) == size:
            pass
    _purge_audit(run, ctx)


def _preview(run: PurgeRun, ctx: Context, size: int) -> None:
    counts = {kind: 0 for kind in retention.ORDER}
    try:
        with transaction.atomic():
            for step in _steps():
                while True:
                    rows = _take(step, ctx, size)
                    step.remove(rows, ctx)
                    counts[step.kind] += len(rows)
                    if len(rows) < size:
                        break
            counts[DataKind.AUDIT_LOG] = _audit_due(ctx)
            raise Rollback
    except Rollback:
        pass
    run.counts = counts


def _take(step: Step, ctx: Context, size: int) -> list[Any]:
    return list(lock_skipping(step.candidates(ctx), of=("self",)).order_by("pk")[:size])


def _batch(run: PurgeRun, step: Step, ctx: Context, size: int) -> int:
    """One batch of one step, in one transaction; how many rows it removed."""
    with transaction.atomic():
        rows = _take(step, ctx, size)
        if not rows:
            return 0
        announced = step.remove(rows, ctx)
        if step.announce_as and announced:
            emit_data_deleted(
                organisation=ctx.organisation, kind=step.announce_as, ids=announced, now=ctx.now
            )
        _account(run, ctx, step.kind, step.name, len(rows))
    run.counts[step.kind] = run.count(step.kind) + len(rows)
    return len(rows)


def _account(run: PurgeRun, ctx: Context, kind: str, name: str, removed: int) -> None:
    """The run's counts and the audit event, in the batch's transaction."""
    counts = {**run.counts, kind: run.count(kind) + removed}
    PurgeRun.objects.filter(pk=run.pk).update(counts=counts)
    record_event(
        action=AuditEvent.Action.RETENTION_PURGED,
        organisation=ctx.organisation,
        target=run,
        details={
            "run": run.pk,
            "kind": kind,
            "rows": name,
            "removed": removed,
            "before": ctx.cutoffs[kind].isoformat(),
        },
    )


def _purge_audit(run: PurgeRun, ctx: Context) -> None:
    """The audit log's old events, through the chain's one door (a sealed checkpoint lets the
    rest verify); not announced to connected systems, which never receive audit events."""
    with transaction.atomic():
        removed = chain.purge_events_before(ctx.organisation, ctx.cutoffs[DataKind.AUDIT_LOG])
        if not removed:
            return
        _account(run, ctx, DataKind.AUDIT_LOG, "audit_events", removed)
    run.counts[DataKind.AUDIT_LOG] = run.count(DataKind.AUDIT_LOG) + removed


def _audit_due(ctx: Context) -> int:
    """How many events `chain.purge_events_before` would remove now."""
    events = AuditEvent.objects.filter(chain.chain_filter(ctx.organisation.pk))
    first_kept = (
        events.filter(occurred_at__gte=ctx.cutoffs[DataKind.AUDIT_LOG])
        .order_by("chain_position")
        .values_list("chain_position", flat=True)
        .first()
    )
    if first_kept is not None:
        events = events.filter(chain_position__lt=first_kept)
    return events.count()
