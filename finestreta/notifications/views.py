"""Pages and endpoints of the notifications app: the development outbox, an organisation's
failed messages for its staff, and the delivery receipts its SMS gateway posts."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST, require_safe
from django_ratelimit.core import is_ratelimited

from finestreta.accounts.services import Role, get_membership_for_staff
from finestreta.lib.net import client_ip
from finestreta.notifications import receipts, status
from finestreta.notifications.services import list_outbox

PAGE_SIZE = 50


@require_safe
def development_outbox(request: HttpRequest) -> HttpResponse:
    """Only with DEBUG on (the embedded default's demo); in production it is not found."""
    if not settings.DEBUG:
        raise Http404("Only in development")
    return render(request, "notifications/outbox.html", {"messages_sent": list_outbox()})


@require_safe
@login_required
def failures(request: HttpRequest, org: str) -> HttpResponse:
    staff = get_membership_for_staff(request, org, min_role=Role.SUPERVISOR)
    page = Paginator(status.list_failures(staff), PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "staff": staff,
        "organisation": staff.organisation,
        "page": page,
        "rows": [status.describe(message) for message in page],
    }
    return render(request, "notifications/failures.html", context)


def _refused(status_code: int, error: str) -> JsonResponse:
    # Machine-readable and the same for every cause of one status: nothing to learn from it.
    return JsonResponse({"error": error}, status=status_code)


@csrf_exempt  # a machine callback, authenticated by its signature instead
@require_POST
def sms_receipt(request: HttpRequest, org: str) -> HttpResponse:
    """A delivery receipt from an organisation's SMS gateway (docs/sms-gateway.md)."""
    if is_ratelimited(
        request,
        group="notifications.receipts",
        key=lambda _group, req: client_ip(req) or "unknown",
        rate=settings.NOTIFICATIONS_RECEIPT_RATE_LIMIT,
        increment=True,
    ):
        return _refused(429, "too many requests")
    organisation = receipts.organisation_for_receipts(org)
    if organisation is None:
        return _refused(404, "unknown")
    now = timezone.now()
    signed = receipts.is_signed(
        secret=receipts.receipt_secret(organisation),
        timestamp=request.headers.get("X-Finestreta-Timestamp", ""),
        header=request.headers.get("X-Finestreta-Signature", ""),
        body=request.body,
        now=now,
    )
    if not signed:
        return _refused(401, "missing, wrong or stale signature")
    try:
        receipt = receipts.parse(request.body)
    except receipts.InvalidReceipt as error:
        return _refused(400, str(error))
    if not receipts.record_receipt(organisation=organisation, receipt=receipt, now=now):
        return _refused(404, "unknown")
    return HttpResponse(status=204)
