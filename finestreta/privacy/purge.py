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

What each kind removes is `privacy.purge_steps`. Called through `privacy.services`; this module
is imported on use (it imports other apps' services, which import privacy.services).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from finestreta.accounts.models import User
from finestreta.integrations.services import emit_data_deleted
from finestreta.lib.transactions import lock_retention_schedule, lock_skipping
from finestreta.privacy import chain, retention
from finestreta.privacy.models import AuditEvent, DataKind, PurgeRun
from finestreta.privacy.purge_steps import STEPS, Context, Step
from finestreta.privacy.services import record_event
from finestreta.tenants.models import Organisation

logger = logging.getLogger(__name__)


class Rollback(Exception):  # noqa: N818 - not an error: how a dry run undoes its work
    pass


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
