"""The citizen's survey page: reached by its signed link, no account needed."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone, translation
from django.views.decorators.http import require_http_methods

from finestreta.appointments import web
from finestreta.appointments.services import InvalidLink
from finestreta.reports import services as reports
from finestreta.reports.forms import SurveyForm


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
