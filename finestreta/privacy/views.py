"""The audit log, for organisation administrators: a filtered, paginated table and a CSV file."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_safe

from finestreta.accounts.services import Role, get_membership_for_staff
from finestreta.privacy import services
from finestreta.privacy.forms import AuditFilterForm

PAGE_SIZE = 50


@require_safe
@login_required
def audit_log(request: HttpRequest, org: str) -> HttpResponse:
    staff = get_membership_for_staff(request, org, min_role=Role.ORG_ADMIN)
    form = AuditFilterForm(request.GET)
    page = None
    if form.is_valid():
        events = services.list_events_for_staff(staff, **form.filters())
        page = Paginator(events, PAGE_SIZE).get_page(request.GET.get("page"))
    chain = services.chain_status_for_staff(staff)
    context = {
        "staff": staff,
        "organisation": staff.organisation,
        "form": form,
        "page": page,
        "chain": chain,
        "chain_line": services.describe_chain(chain),
    }
    return render(
        request, "privacy/audit_log.html", context, status=200 if page is not None else 400
    )


@require_safe
@login_required
def audit_export(request: HttpRequest, org: str) -> HttpResponseBase:
    staff = get_membership_for_staff(request, org, min_role=Role.ORG_ADMIN)
    form = AuditFilterForm(request.GET)
    if not form.is_valid():  # the page shows what to fix
        context = {"staff": staff, "organisation": staff.organisation, "form": form}
        return render(request, "privacy/audit_log.html", context, status=400)
    events = services.export_events_for_staff(staff, request=request, **form.filters())
    response = StreamingHttpResponse(
        services.csv_lines(events, staff.organisation), content_type="text/csv; charset=utf-8"
    )
    today = timezone.localdate(timezone=ZoneInfo(staff.organisation.time_zone))
    filename = f"audit-{staff.organisation.slug}-{today:%Y-%m-%d}.csv"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
