"""Public API of the privacy app: the audit log.

Other apps write to the audit log through `record_event` only, and staff read it through
`list_events_for_staff` (the organisation's own events, for its administrators).

The data-subject rights and the record of processing activities (ADR 35) live in their own
modules and are re-exported here: `normalise_criteria` and `find_subject_for_staff` (who the
person is and what names them), `export_subject_data` (right of access), `plan_erasure` and
`erase_personal_data` (right to erasure, with `KEEP_RULES`), `processing_record_for_staff`,
`export_processing_record` and `retention_period_text` (GDPR art. 30).

The log is a hash chain per organisation (ADR 31, `privacy.chain`): `verify_audit_log` and
`verify_chain` check it (`manage.py verify_audit_log`), `chain_status_for_staff` tells an
organisation's administrators about their own chain, and `purge_events_before` is the
retention job's one way to remove old events.

Retention (ADR 34, `privacy.retention` and `privacy.purge`): `describe_retention_for_staff`
and `set_retention_periods_for_staff` for the administrators' page, `purge_expired_data` for
the command and the page's preview, `purge_if_due` for the task workers' daily purge.

Events are written in the caller's transaction (call `record_event` inside it): a change that
is rolled back leaves no event behind. Failed logins change nothing, so their events stand alone.
"""

from __future__ import annotations

import csv
import datetime as dt
import itertools
import json
import re
import unicodedata
from collections.abc import Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, cast
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib.admin.models import ADDITION, CHANGE, DELETION, LogEntry
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ObjectDoesNotExist, PermissionDenied, ValidationError
from django.db.models import Model, QuerySet
from django.http import HttpRequest
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from finestreta.accounts.models import Membership, Role, User
from finestreta.lib.net import client_ip
from finestreta.privacy import chain, retention, verification
from finestreta.privacy.chain import purge_events_before
from finestreta.privacy.middleware import current_request
from finestreta.privacy.models import AuditEvent, DataKind, PurgeRun
from finestreta.privacy.retention import RULES, KindStatus, validate_period
from finestreta.privacy.verification import (
    ChainResult,
    Verification,
    verify_audit_log,
    verify_chain,
)
from finestreta.tenants.models import Organisation

if TYPE_CHECKING:
    from finestreta.accounts.services import StaffContext
    from finestreta.privacy.purge import PurgeReport

__all__ = [
    "RULES",
    "Action",
    "ChainResult",
    "DataKind",
    "KindStatus",
    "PurgeRun",
    "EXPORT_LANGUAGES",
    "KEEP_RULES",
    "Action",
    "ChainResult",
    "Criteria",
    "ErasurePlan",
    "ErasureRefused",
    "ErasureResult",
    "Subject",
    "Verification",
    "chain_status_for_staff",
    "csv_lines",
    "csv_rows",
    "csv_safe",
    "describe_chain",
    "erase_personal_data",
    "export_events_for_staff",
    "describe_counts",
    "describe_retention_for_staff",
    "list_events_for_staff",
    "last_purge_for_staff",
    "list_purge_runs_for_staff",
    "preview_purge_for_staff",
    "export_processing_record",
    "export_subject_data",
    "find_subject_for_staff",
    "list_events_for_staff",
    "normalise_criteria",
    "plan_erasure",
    "processing_record_for_staff",
    "purge_events_before",
    "purge_expired_data",
    "purge_if_due",
    "record_admin_log_entry",
    "record_event",
    "record_failed_login",
    "set_retention_periods_for_staff",
    "retention_period_text",
    "sole_organisation",
    "validate_period",
    "verify_audit_log",
    "verify_chain",
]

Action = AuditEvent.Action

_field_length = {f.name: getattr(f, "max_length", None) for f in AuditEvent._meta.fields}
# Keys whose values never belong in the log, whoever passes them.
_SECRET_KEY = re.compile(r"password|passwd|secret|token|api_?key|credential", re.IGNORECASE)
REDACTED = "[redacted]"


def record_event(
    *,
    action: str,
    request: HttpRequest | None = None,
    actor: User | None = None,
    organisation: Organisation | None = None,
    target: Model | type[Model] | None = None,
    details: Mapping[str, Any] | None = None,
) -> AuditEvent:
    """Write one audit event and return it.

    - `action`: an `AuditEvent.Action` (a plain string with its value works too); an unknown
      code is a programming error and raises ValueError.
    - `request`: the request that caused the event; it gives the IP address (REMOTE_ADDR: the
      reverse proxy must set it, e.g. uvicorn/daphne with proxy headers on) and the browser, and
      the actor when `actor` is not given. Without it, the request being served (see
      `privacy.middleware`) gives the IP address and browser only.
    - `actor`: who did it; None for the system or an unknown person.
    - `organisation`: whose event it is; None for a platform event.
    - `target`: the record concerned (its type, id and label are kept), or a model class for a
      list of records ("the team").
    - `details`: small JSON facts. Keys that look like passwords, secrets or tokens are redacted.
    """
    origin = request if request is not None else current_request()
    if actor is None and request is not None:
        user = getattr(request, "user", None)
        if isinstance(user, User) and user.is_authenticated:
            actor = user
    return _write(
        action=action,
        origin=origin,
        actor=actor,
        actor_label=actor.get_username() if actor else "",
        organisation=organisation,
        target=_describe(target),
        details=details,
    )


def record_failed_login(*, request: HttpRequest | None, username: str) -> AuditEvent:
    """A failed login: the username that was tried is kept (cut to 150 characters) as the actor
    label; there is no actor, and nothing else of what was typed is kept."""
    return _write(
        action=Action.LOGIN_FAILED,
        origin=request if request is not None else current_request(),
        actor=None,
        actor_label=username,
        organisation=None,
        target=("", "", ""),
        details=None,
    )


def sole_organisation(user: User) -> Organisation | None:
    """The organisation of the user's only active membership; None for none or several."""
    organisations = list(
        Organisation.objects.filter(
            pk__in=Membership.objects.filter(
                user=user, is_active=True, organisation__is_active=True
            ).values("organisation_id")
        )[:2]
    )
    return organisations[0] if len(organisations) == 1 else None


_ADMIN_ACTIONS = {
    ADDITION: Action.ADMIN_CREATED,
    CHANGE: Action.ADMIN_CHANGED,
    DELETION: Action.ADMIN_DELETED,
}


def record_admin_log_entry(entry: LogEntry) -> AuditEvent | None:
    """Mirror one Django admin log entry into the audit log.

    The organisation is the changed object's (or the object itself when it is an organisation);
    an object that is already gone, or has no organisation, gives a platform event. An
    organisation that is being deleted is not referenced (that would block its deletion).
    """
    action = _ADMIN_ACTIONS.get(entry.action_flag)
    if action is None:
        return None
    obj: Model | None
    try:
        obj = entry.get_edited_object()
    except (ObjectDoesNotExist, AttributeError, ValueError, ValidationError):
        obj = None  # deleted already, or its model is gone
    organisation = _organisation_of(obj)
    if action == Action.ADMIN_DELETED and isinstance(obj, Organisation):
        organisation = None
    try:
        message: Any = json.loads(entry.change_message) if entry.change_message else []
    except ValueError:
        message = entry.change_message
    content_type = cast(ContentType | None, entry.content_type)
    actor = cast(User, entry.user)
    return _write(
        action=action,
        origin=current_request(),
        actor=actor,
        actor_label=actor.get_username(),
        organisation=organisation,
        # What the admin showed, even when the object is gone.
        target=(
            f"{content_type.app_label}.{content_type.model}" if content_type else "",
            str(entry.object_id or ""),
            entry.object_repr,
        ),
        details={"change_message": message, "admin_log_entry": entry.pk},
    )


def list_events_for_staff(
    staff: StaffContext,
    *,
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
    action: str = "",
    actor_contains: str = "",
) -> QuerySet[AuditEvent]:
    """The organisation's events, newest first, for its organisation administrators.

    Dates are days in the organisation's time zone, both included.
    """
    if not staff.membership.has_role(Role.ORG_ADMIN):
        raise PermissionDenied
    events = AuditEvent.objects.filter(organisation=staff.organisation)
    zone = ZoneInfo(staff.organisation.time_zone)
    if date_from is not None:
        events = events.filter(occurred_at__gte=_start_of(date_from, zone))
    if date_to is not None:
        events = events.filter(occurred_at__lt=_start_of(date_to + dt.timedelta(days=1), zone))
    if action:
        events = events.filter(action=action)
    if actor_contains:
        events = events.filter(actor_label__icontains=actor_contains)
    return events.order_by("-occurred_at", "-id")


def chain_status_for_staff(staff: StaffContext) -> ChainResult:
    """Whether the organisation's own chain of events is intact, for its administrators."""
    if not staff.membership.has_role(Role.ORG_ADMIN):
        raise PermissionDenied
    return verify_chain(staff.organisation)


def describe_chain(result: ChainResult) -> str:
    """The result in one sentence, for people."""
    return verification.describe(result)


def export_events_for_staff(
    staff: StaffContext, *, request: HttpRequest, **filters: Any
) -> QuerySet[AuditEvent]:
    """Like `list_events_for_staff`; the export itself is recorded, as it takes personal data
    (usernames, IP addresses) out of the platform."""
    events = list_events_for_staff(staff, **filters)
    record_event(
        action=Action.AUDIT_LOG_EXPORTED,
        request=request,
        actor=staff.user,
        organisation=staff.organisation,
        target=AuditEvent,
        details={"filters": {k: v for k, v in filters.items() if v}},
    )
    return events


# --- Retention --------------------------------------------------------------------------


def _require_org_admin(staff: StaffContext) -> None:
    if not staff.membership.has_role(Role.ORG_ADMIN):
        raise PermissionDenied


def describe_retention_for_staff(staff: StaffContext) -> list[KindStatus]:
    """Each kind of data with the organisation's period, the default, floor and ceiling, and
    what the last purge removed; for its administrators."""
    _require_org_admin(staff)
    return retention.describe_policies(staff.organisation)


def list_purge_runs_for_staff(staff: StaffContext, *, limit: int = 20) -> list[PurgeRun]:
    """The organisation's latest purges and previews, newest first."""
    _require_org_admin(staff)
    return retention.recent_runs(staff.organisation, limit=limit)


def last_purge_for_staff(staff: StaffContext) -> PurgeRun | None:
    _require_org_admin(staff)
    return retention.last_run(staff.organisation)


def set_retention_periods_for_staff(
    staff: StaffContext, *, periods: Mapping[str, int], request: HttpRequest | None = None
) -> list[str]:
    """Change the organisation's periods (kind → days); the kinds changed. ValidationError,
    with a message per kind, for a period below the kind's floor or above its ceiling."""
    _require_org_admin(staff)
    return retention.set_retention_periods(
        organisation=staff.organisation, periods=dict(periods), actor=staff.user, request=request
    )


def preview_purge_for_staff(staff: StaffContext, *, now: dt.datetime) -> PurgeReport:
    """What the purge would remove from the organisation now, changing nothing (a dry run,
    recorded as such)."""
    _require_org_admin(staff)
    return purge_expired_data(
        now=now, organisation=staff.organisation, dry_run=True, actor=staff.user
    )


def describe_counts(counts: Mapping[str, int]) -> list[tuple[str, int]]:
    """(kind in words, count), in the purge's order: a run's counts for people."""
    return [(retention.label_of(kind), int(counts.get(kind, 0))) for kind in retention.ORDER]


def purge_expired_data(
    *,
    now: dt.datetime,
    organisation: Organisation | None = None,
    dry_run: bool = False,
    actor: User | None = None,
    batch_size: int | None = None,
) -> PurgeReport:
    """Remove what the retention periods say is due at `now`, in every organisation or one,
    and report it; `dry_run`: only count it (see `privacy.purge`)."""
    from finestreta.privacy import purge  # it imports other apps' services, which import this

    return purge.purge_expired_data(
        now=now, organisation=organisation, dry_run=dry_run, actor=actor, batch_size=batch_size
    )


def purge_if_due(*, now: dt.datetime) -> PurgeReport | None:
    """The task workers' daily purge: run unless one ran less than RETENTION_PURGE_HOURS ago."""
    from finestreta.privacy import purge

    return purge.purge_if_due(now=now)


# --- CSV -----------------------------------------------------------------------------------

# A spreadsheet runs a cell starting with one of these as a formula (OWASP "CSV injection").
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_safe(value: str) -> str:
    """The cell as text a spreadsheet will not run: a leading quote defuses a formula."""
    return "'" + value if value.startswith(_FORMULA_START) else value


def csv_rows(events: Iterable[AuditEvent], organisation: Organisation) -> Iterator[list[str]]:
    """The header and one row per event. Every text is translated before the first row, so a
    streamed file does not depend on the language still being active while it streams."""
    zone = ZoneInfo(organisation.time_zone)
    labels = {value: str(label) for value, label in Action.choices}
    header = [
        _("When"),
        _("Who"),
        _("Action code"),
        _("What"),
        _("Record type"),
        _("Record id"),
        _("Record"),
        _("IP address"),
        _("Browser"),
        _("Details"),
    ]
    return _csv_rows(header, labels, events, zone)


def _csv_rows(
    header: list[str], labels: dict[str, str], events: Iterable[AuditEvent], zone: ZoneInfo
) -> Iterator[list[str]]:
    yield header
    for event in events:
        details = event.details
        yield [
            csv_safe(value)
            for value in (
                timezone.localtime(event.occurred_at, zone).isoformat(),
                event.actor_label,
                event.action,
                labels.get(event.action, event.action),
                event.target_type,
                event.target_id,
                event.target_label,
                event.ip_address or "",
                event.user_agent,
                json.dumps(details, ensure_ascii=False, sort_keys=True) if details else "",
            )
        ]


class _Echo:
    def write(self, value: str) -> str:
        return value


def csv_lines(events: QuerySet[AuditEvent], organisation: Organisation) -> Iterator[str]:
    """The CSV file, line by line (for a streaming response); UTF-8 with a byte order mark so
    that spreadsheets show accented letters right."""
    rows = csv_rows(events.iterator(chunk_size=500), organisation)
    writer = csv.writer(_Echo())
    return itertools.chain(["\ufeff"], (writer.writerow(row) for row in rows))


# --- Helpers -------------------------------------------------------------------------------


def _write(
    *,
    action: str,
    origin: HttpRequest | None,
    actor: User | None,
    actor_label: str,
    organisation: Organisation | None,
    target: tuple[str, str, str],
    details: Mapping[str, Any] | None,
) -> AuditEvent:
    if action not in Action.values:
        raise ValueError(f"Unknown audit action {action!r}: add it to AuditEvent.Action")
    target_type, target_id, target_label = target
    event = AuditEvent(
        organisation=organisation,
        actor=actor,
        actor_label=_clip("actor_label", actor_label),
        action=str(action),
        target_type=_clip("target_type", target_type),
        target_id=_clip("target_id", target_id),
        target_label=_clip("target_label", target_label),
        ip_address=client_ip(origin),
        user_agent=_clip("user_agent", origin.META.get("HTTP_USER_AGENT", "") if origin else ""),
        details=_redact(dict(details or {})),
    )
    return chain.append(event)


def _start_of(day: dt.date, zone: ZoneInfo) -> dt.datetime:
    return dt.datetime.combine(day, dt.time.min, tzinfo=zone)


def _clip(field: str, value: str) -> str:
    """Without control characters (no forged lines in a log viewer), cut to the column size."""
    cleaned = "".join(c for c in value if unicodedata.category(c) != "Cc")
    limit = _field_length[field]
    return cleaned[:limit] if limit else cleaned


def _describe(target: Model | type[Model] | None) -> tuple[str, str, str]:
    if target is None:
        return "", "", ""
    # Labels in the platform's language, so that the log does not mix languages.
    with translation.override(settings.LANGUAGE_CODE):
        if isinstance(target, type):
            meta = target._meta
            return meta.label_lower, "", str(meta.verbose_name_plural)
        return target._meta.label_lower, str(target.pk), str(target)


def _organisation_of(obj: Model | None) -> Organisation | None:
    if obj is None:
        return None
    if isinstance(obj, Organisation):
        return obj
    try:
        organisation = getattr(obj, "organisation", None)
    except ObjectDoesNotExist:
        return None
    return organisation if isinstance(organisation, Organisation) else None


def _redact(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {
            str(k): REDACTED if _SECRET_KEY.search(str(k)) else _redact(v) for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [_redact(v) for v in value]
    return value


# --- Data-subject rights and the record of processing (ADR 35) -----------------------------
# Imported last: these modules read every app's records, and some of those apps' services
# import this module for `record_event` (defined above by now).
from finestreta.privacy.erasure import (  # noqa: E402
    KEEP_RULES,
    ErasurePlan,
    ErasureRefused,
    ErasureResult,
    erase_personal_data,
    plan_erasure,
)
from finestreta.privacy.operations import (  # noqa: E402
    EXPORT_LANGUAGES,
    export_processing_record,
    export_subject_data,
    find_subject_for_staff,
    processing_record_for_staff,
)
from finestreta.privacy.processing_record import retention_period_text  # noqa: E402
from finestreta.privacy.subjects import Criteria, Subject, normalise_criteria  # noqa: E402
