"""Watching a recording: supervisors and administrators of the organisation only; every play and
download is audit-logged. Under /<org>/staff/: the tenant-isolation walk covers them."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from finestreta.accounts.services import StaffContext, get_membership_for_staff
from finestreta.identity.models import ConsentRecord
from finestreta.privacy.models import AuditEvent
from finestreta.recordings import services, storage
from finestreta.recordings.models import Recording


def _recording(request: HttpRequest, org: str, recording: int) -> tuple[StaffContext, Recording]:
    staff = get_membership_for_staff(request, org)
    try:
        return staff, services.get_recording_for_staff(staff, recording)
    except Recording.DoesNotExist:
        raise Http404 from None


def _part(found: Recording, number: int) -> services.Part:
    for part in services.parts(found):
        if part.number == number:
            return part
    raise Http404


@require_safe
@login_required
@never_cache
def detail(request: HttpRequest, org: str, recording: int) -> HttpResponse:
    staff, found = _recording(request, org, recording)
    consents = ConsentRecord.objects.filter(pk__in=found.consent_ids).select_related("text")
    return render(
        request,
        "recordings/detail.html",
        {
            "staff": staff,
            "organisation": staff.organisation,
            "recording": found,
            "appointment": found.appointment,
            "parts": services.parts(found),  # none once deleted: the purge removed the tracks
            "consents": consents,
        },
    )


def _media(
    request: HttpRequest, org: str, recording: int, part: int, *, download: bool
) -> FileResponse:
    staff, found = _recording(request, org, recording)
    chosen = _part(found, part)
    try:
        handle = storage.participant_temporary_file(chosen.tracks)
    except storage.Damaged:
        raise Http404 from None
    action = (
        AuditEvent.Action.RECORDING_DOWNLOADED if download else AuditEvent.Action.RECORDING_PLAYED
    )
    services.record_access(staff=staff, recording=found, part=chosen, action=action)
    name = f"{found.appointment.code}-{found.started_at:%Y%m%d-%H%M}-{chosen.number}.webm"
    response = FileResponse(
        handle, content_type="video/webm", as_attachment=download, filename=name
    )
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response


@require_safe
@login_required
def play(request: HttpRequest, org: str, recording: int, part: int) -> FileResponse:
    return _media(request, org, recording, part, download=False)


@require_safe
@login_required
def download(request: HttpRequest, org: str, recording: int, part: int) -> FileResponse:
    return _media(request, org, recording, part, download=True)
