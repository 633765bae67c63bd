"""The citizen's survey page (reached by its signed link, no account needed) and the staff's
dashboard of figures with its exports."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils import timezone, translation
from django.views.decorators.http import require_http_methods, require_safe

from finestreta.accounts.models import Role
from finestreta.accounts.services import get_membership_for_staff
from finestreta.appointments import web
from finestreta.appointments.services import InvalidLink
from finestreta.reports import services as reports
from finestreta.reports.dashboard import DashboardForm
from finestreta.reports.forms import SurveyForm
from finestreta.tenants.models import Organisation


@require_http_methods(["GET", "HEAD", "POST"])
def answer(request: HttpRequest, org: str, token: str) -> HttpResponse:
    organisation = web.public_organisation(org)
    try:
        survey = reports.get_survey(organisation=organisation, token=token)
    except InvalidLink as exc:
        raise Http404("No such survey") from exc
    context: dict[str, object] = {
        "organisation": organisation,
        "appointment": survey.appointment,
    }
    if survey.answer is not None:
        return render(request, "reports/survey_thanks.html", {**context, "again": True})
    now = timezone.now()
    try:
        reports.check_open(survey.appointment, now=now)
    except reports.Closed as closed:
        return render(
            request, "reports/survey_closed.html", {**context, "reason": closed.reason}, status=410
        )
    form = SurveyForm(request.POST or None)
    if request.method == "POST":
        if web.limited(request, "survey"):
            return web.too_many(request, organisation)
        if form.is_valid():
            language = translation.get_language() or organisation.default_language
            try:
                reports.answer_survey(
                    survey=survey,
                    score=form.cleaned_data["score"],
                    comment=form.cleaned_data["comment"],
                    language=language,
                    now=now,
                )
            except reports.Closed as closed:
                context["reason"] = closed.reason
                return render(request, "reports/survey_closed.html", context, status=410)
            return render(request, "reports/survey_thanks.html", context)
    status = 400 if request.method == "POST" else 200
    return render(request, "reports/survey.html", {**context, "form": form}, status=status)


@login_required
@require_safe
def dashboard(request: HttpRequest, org: str) -> HttpResponse:
    """The organisation's figures over the chosen dates, for supervisors and administrators."""
    staff = get_membership_for_staff(request, org, min_role=Role.SUPERVISOR)
    organisation = staff.organisation
    form = DashboardForm(request.GET, organisation=organisation, today=_today(organisation))
    context: dict[str, object] = {"staff": staff, "organisation": organisation, "form": form}
    if not form.is_valid():
        return render(request, "reports/staff/dashboard.html", context, status=400)
    found = reports.report(organisation, form.filters(), group=form.cleaned_data["group"])
    context.update(reports.dashboard_context(found, query=request.GET.urlencode()))
    return render(request, "reports/staff/dashboard.html", context)


@login_required
@require_safe
def export(request: HttpRequest, org: str, fmt: str) -> HttpResponse:
    """The dashboard's figures as a CSV or XLSX file (the same filters as the page)."""
    staff = get_membership_for_staff(request, org, min_role=Role.SUPERVISOR)
    organisation = staff.organisation
    form = DashboardForm(request.GET, organisation=organisation, today=_today(organisation))
    if not form.is_valid():
        return JsonResponse({"error": "invalid_filters", "fields": form.errors}, status=400)
    content, content_type, name = reports.export_report(
        request=request, organisation=organisation, form=form, fmt=fmt
    )
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


def _today(organisation: Organisation) -> dt.date:
    return timezone.localtime(timezone.now(), ZoneInfo(organisation.time_zone)).date()
