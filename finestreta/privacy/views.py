"""For organisation administrators: the audit log (a filtered, paginated table and a CSV file),
and the retention periods with the purges' reports and a preview of the next one."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from finestreta.accounts.services import Role, StaffContext, get_membership_for_staff
from finestreta.privacy import services
from finestreta.privacy.forms import AuditFilterForm, RetentionForm

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


def _periods(staff: StaffContext) -> dict[str, int]:
    return {
        line.rule.kind.value: line.days for line in services.describe_retention_for_staff(staff)
    }


def _retention_page(
    request: HttpRequest, staff: StaffContext, form: RetentionForm, **context: object
) -> HttpResponse:
    context = {
        "staff": staff,
        "organisation": staff.organisation,
        "form": form,
        "kinds": services.describe_retention_for_staff(staff),
        "last_purge": services.last_purge_for_staff(staff),
        "runs": services.list_purge_runs_for_staff(staff),
        **context,
    }
    return render(request, "privacy/retention.html", context, status=400 if form.errors else 200)


@require_http_methods(["GET", "HEAD", "POST"])
@login_required
def retention(request: HttpRequest, org: str) -> HttpResponse:
    staff = get_membership_for_staff(request, org, min_role=Role.ORG_ADMIN)
    form = RetentionForm(
        request.POST if request.method == "POST" else None, initial=_periods(staff)
    )
    if form.is_valid():
        try:
            changed = services.set_retention_periods_for_staff(
                staff, periods=form.periods(), request=request
            )
        except ValidationError as error:  # the form checks the same bounds: a safety net
            for kind, problems in error.message_dict.items():
                form.add_error(kind, problems)
        else:
            messages.success(request, _("Saved.") if changed else _("Nothing changed."))
            return redirect("privacy:retention", org=org)
    return _retention_page(request, staff, form)


@login_required  # first: a visitor who is not signed in is sent to log in, whatever the method
@require_POST
def retention_preview(request: HttpRequest, org: str) -> HttpResponse:
    staff = get_membership_for_staff(request, org, min_role=Role.ORG_ADMIN)
    preview = services.preview_purge_for_staff(staff, now=timezone.now()).organisations[0]
    return _retention_page(
        request,
        staff,
        RetentionForm(initial=_periods(staff)),
        preview=preview,
        preview_counts=services.describe_counts(preview.counts),
    )
