"""Sharing files in a call over HTTP (the signaling socket then tells the others): uploads and
downloads for the citizen (by their join link) and for staff (by their session). JSON answers for
the page's script; the file itself as an attachment that no browser renders inline."""

from __future__ import annotations

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST, require_safe
from django_ratelimit.core import is_ratelimited

from finestreta.accounts.services import get_membership_for_staff
from finestreta.appointments.common import InvalidLink
from finestreta.lib.net import client_ip
from finestreta.tenants.services import get_public_organisation
from finestreta.video import files, services
from finestreta.video.coaching import is_coaching
from finestreta.video.consumers import room_group
from finestreta.video.models import Role, Room


def _citizen_room(org: str, token: str) -> tuple[Room, files.Uploader]:
    organisation = get_public_organisation(org)
    try:
        appointment = services.get_appointment_for_citizen(
            organisation=organisation, token=token, now=timezone.now()
        )
    except InvalidLink:
        raise Http404("No such call") from None
    room = services.get_room(appointment)
    return room, files.Uploader(role=Role.CITIZEN, name=appointment.name)


def _staff_room(
    request: HttpRequest, org: str, room_id: str, *, sharing: bool = False
) -> tuple[Room, files.Uploader]:
    staff = get_membership_for_staff(request, org)
    room = services.get_room_for_staff(staff, room_id)
    if sharing and is_coaching(room, staff.membership):
        raise PermissionDenied("A supervisor listening silently shares nothing.")
    return room, files.Uploader(role=Role.STAFF, name=str(staff.user), user_id=staff.user.pk)


def _upload(request: HttpRequest, room: Room, uploader: files.Uploader) -> JsonResponse:
    if is_ratelimited(
        request,
        group="video.files",
        key=lambda _group, req: client_ip(req) or "unknown",
        rate=settings.VIDEO_FILE_RATE_LIMIT,
        increment=True,
    ):
        return _refusal(
            "rate_limited", _("You have shared many files. Wait a while and try again."), status=429
        )
    upload = request.FILES.get("file")
    if upload is None:
        return _refusal("no_file", _("Choose a file to share."), status=400)
    try:
        shared = files.share_file(
            room=room, uploader=uploader, upload=upload, name=upload.name or "", now=timezone.now()
        )
    except files.FileRefused as refusal:
        return _refusal(refusal.code, str(refusal.message), status=400)
    message = files.file_message(shared)
    layer = get_channel_layer()
    if layer is not None:
        async_to_sync(layer.group_send)(
            room_group(room), {"type": "video.relay", "message": message}
        )
    return JsonResponse({"file": message}, status=201)


def _refusal(code: str, message: str, *, status: int) -> JsonResponse:
    return JsonResponse({"error": {"code": code, "message": message}}, status=status)


def _download(room: Room, file_id: int, reader: files.Uploader) -> HttpResponse:
    shared = files.get_file(room, file_id)
    if shared is None:
        raise Http404("No such file in this call")
    try:
        content = files.read_file(shared, reader=reader, now=timezone.now())
    except files.FileRefused:
        raise Http404("The file cannot be read") from None
    response = HttpResponse(content, content_type=shared.content_type)
    response["Content-Disposition"] = content_disposition_header(True, shared.name) or "attachment"
    response["Cache-Control"] = "no-store"
    response["Content-Security-Policy"] = "sandbox; default-src 'none'"
    response["X-Content-Type-Options"] = "nosniff"
    return response


@require_POST
def citizen_upload(request: HttpRequest, org: str, token: str) -> JsonResponse:
    room, uploader = _citizen_room(org, token)
    return _upload(request, room, uploader)


@require_safe
def citizen_download(request: HttpRequest, org: str, token: str, file_id: int) -> HttpResponse:
    room, reader = _citizen_room(org, token)
    return _download(room, file_id, reader)


@login_required
@require_POST
def staff_upload(request: HttpRequest, org: str, room: str) -> JsonResponse:
    found, uploader = _staff_room(request, org, room, sharing=True)
    return _upload(request, found, uploader)


@login_required
@require_safe
def staff_download(request: HttpRequest, org: str, room: str, file_id: int) -> HttpResponse:
    found, reader = _staff_room(request, org, room)
    return _download(found, file_id, reader)
