"""The data-subject rights and the record of processing, for an organisation's administrators
(ADR 35): each function checks the role, reads through the organisation's own scope and writes
the audit event. The views call these; `privacy.services` re-exports them."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from django.utils import timezone, translation

from finestreta.accounts.models import Role
from finestreta.accounts.services import StaffContext
from finestreta.privacy import documents, subject_access
from finestreta.privacy.models import AuditEvent
from finestreta.privacy.processing_record import as_json, build_record
from finestreta.privacy.subjects import Criteria, Subject, find_subject

__all__ = [
    "EXPORT_LANGUAGES",
    "export_processing_record",
    "export_subject_data",
    "find_subject_for_staff",
    "processing_record_for_staff",
]

EXPORT_LANGUAGES = [code for code, _name in settings.LANGUAGES]


def _admin(staff: StaffContext) -> None:
    if not staff.membership.has_role(Role.ORG_ADMIN):
        raise PermissionDenied


def find_subject_for_staff(staff: StaffContext, criteria: Criteria) -> Subject:
    """What the administrator's organisation holds about the person (nothing of another)."""
    _admin(staff)
    return find_subject(staff.organisation, criteria)


def export_subject_data(
    staff: StaffContext,
    criteria: Criteria,
    *,
    language: str,
    request: HttpRequest | None = None,
    now: dt.datetime | None = None,
) -> tuple[str, bytes]:
    """The right of access: a zip of the readable PDF (in `language`), the JSON and the
    signature receipts, with its file name. Writes the audit event, which names the
    appointments by code and says what was searched by, never the values."""
    from finestreta.privacy.services import record_event

    _admin(staff)
    if language not in EXPORT_LANGUAGES:
        raise ValueError(f"unknown language {language!r}")
    now = now or timezone.now()
    subject = find_subject(staff.organisation, criteria)
    with translation.override(language):
        export = subject_access.collect(subject, now=now)
        pdf = documents.subject_access_pdf(export, explanations=documents.explanations_for(export))
    content = subject_access.export_zip(export, pdf)
    counts = {
        key: len(value) for key, value in export.data.items() if isinstance(value, list) and value
    }
    record_event(
        action=AuditEvent.Action.SUBJECT_ACCESS_EXPORTED,
        request=request,
        actor=staff.user,
        organisation=staff.organisation,
        details={
            "searched_by": criteria.kinds(),
            "language": language,
            "appointments": subject.codes(),
            "counts": counts,
        },
    )
    day = timezone.localdate(now, ZoneInfo(staff.organisation.time_zone))
    return f"subject-access-{staff.organisation.slug}-{day:%Y-%m-%d}.zip", content


def processing_record_for_staff(staff: StaffContext) -> Any:
    """The record of processing activities, to read on the page (no audit event: reading
    the organisation's configuration is not a disclosure)."""
    _admin(staff)
    return build_record(staff.organisation)


def export_processing_record(
    staff: StaffContext, *, format: str, request: HttpRequest | None = None
) -> tuple[str, str, bytes]:
    """The record as a download: (file name, content type, bytes); `format` "pdf" or "json"."""
    from finestreta.privacy.services import record_event

    _admin(staff)
    record = build_record(staff.organisation)
    if format == "pdf":
        content, content_type = documents.processing_record_pdf(record), "application/pdf"
    elif format == "json":
        content = json.dumps(as_json(record), ensure_ascii=False, indent=2).encode()
        content_type = "application/json"
    else:
        raise ValueError(f"unknown format {format!r}")
    record_event(
        action=AuditEvent.Action.PROCESSING_RECORD_EXPORTED,
        request=request,
        actor=staff.user,
        organisation=staff.organisation,
        details={"format": format, "activities": [a.code for a in record.activities]},
    )
    day = timezone.localdate(record.generated_at, ZoneInfo(staff.organisation.time_zone))
    return (
        f"processing-record-{staff.organisation.slug}-{day:%Y-%m-%d}.{format}",
        content_type,
        content,
    )
