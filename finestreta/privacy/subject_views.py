"""The data-subject pages, for organisation administrators (ADR 35): find a person, see what
is held about them, download the export, erase what the law allows; and the record of
processing activities.

Who the person is travels in POST bodies only, never in addresses (which end in logs and
histories); each step's form carries the normalised identifiers on to the next. Searches are
rate-limited per administrator."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone, translation
from django.views.decorators.http import require_http_methods, require_POST, require_safe
from django_ratelimit.core import is_ratelimited

from finestreta.accounts.services import Role, StaffContext, get_membership_for_staff
from finestreta.privacy import services
from finestreta.privacy.subject_forms import EraseForm, ExportForm, SubjectForm

NO_STORE = "no-store"


def _admin(request: HttpRequest, org: str) -> StaffContext:
    return get_membership_for_staff(request, org, min_role=Role.ORG_ADMIN)


def _page(
    request: HttpRequest, template: str, staff: StaffContext, status: int = 200, **context: object
) -> HttpResponse:
    context = {"staff": staff, "organisation": staff.organisation, **context}
    response = render(request, f"privacy/{template}", context, status=status)
    response["Cache-Control"] = NO_STORE  # personal data: not kept by the browser
    return response


def _limited(request: HttpRequest, staff: StaffContext) -> bool:
    return is_ratelimited(
        request,
        group="privacy.subject_search",
        key=lambda _group, _req: f"{staff.organisation.pk}:{staff.user.pk}",
        rate=settings.SUBJECT_SEARCH_RATE_LIMIT,
        increment=True,
    )


def _found(
    request: HttpRequest, staff: StaffContext, form: SubjectForm, status: int = 200
) -> HttpResponse:
    subject = services.find_subject_for_staff(staff, form.criteria)
    language = translation.get_language()
    export_form = ExportForm(
        initial={**form.hidden(), "language": language if language in dict(settings.LANGUAGES)
                 else settings.LANGUAGE_CODE}
    )  # fmt: skip
    return _page(
        request, "subject_found.html", staff, status, subject=subject, hidden=form.hidden(),
        export_form=export_form,
    )  # fmt: skip


@require_http_methods(["GET", "HEAD", "POST"])
@login_required
def subject_search(request: HttpRequest, org: str) -> HttpResponse:
    staff = _admin(request, org)
    if request.method != "POST":
        return _page(request, "subject_search.html", staff, form=SubjectForm())
    form = SubjectForm(request.POST)
    if not form.is_valid():
        return _page(request, "subject_search.html", staff, 400, form=form)
    if _limited(request, staff):
        return _page(request, "subject_search.html", staff, 429, form=form, too_many=True)
    return _found(request, staff, form)


@login_required
@require_POST
def subject_export(request: HttpRequest, org: str) -> HttpResponse:
    staff = _admin(request, org)
    form = ExportForm(request.POST)
    if not form.is_valid():
        return _page(request, "subject_search.html", staff, 400, form=form)
    name, content = services.export_subject_data(
        staff, form.criteria, language=form.cleaned_data["language"], request=request
    )
    response = HttpResponse(content, content_type="application/zip")
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    response["Cache-Control"] = NO_STORE
    return response


@login_required
@require_POST
def erasure_plan(request: HttpRequest, org: str) -> HttpResponse:
    staff = _admin(request, org)
    form = SubjectForm(request.POST)
    if not form.is_valid():
        return _page(request, "subject_search.html", staff, 400, form=form)
    subject = services.find_subject_for_staff(staff, form.criteria)
    plan = services.plan_erasure(subject, now=timezone.now())
    confirm = EraseForm(initial={**form.hidden(), "plan": plan.fingerprint})
    return _page(request, "erasure_plan.html", staff, plan=plan, form=confirm,
                 hidden=form.hidden())  # fmt: skip


@login_required
@require_POST
def erasure_confirm(request: HttpRequest, org: str) -> HttpResponse:
    staff = _admin(request, org)
    form = EraseForm(request.POST)
    if not form.is_valid():
        if not hasattr(form, "criteria") or form.errors.keys() - {"confirm"}:
            return _page(request, "subject_search.html", staff, 400, form=SubjectForm(request.POST))
        subject = services.find_subject_for_staff(staff, form.criteria)
        plan = services.plan_erasure(subject, now=timezone.now())
        return _page(request, "erasure_plan.html", staff, 400, plan=plan, form=form,
                     hidden=form.hidden())  # fmt: skip
    try:
        result = services.erase_personal_data(
            staff=staff, criteria=form.criteria, fingerprint=form.cleaned_data["plan"],
            now=timezone.now(), request=request,
        )  # fmt: skip
    except services.ErasureRefused as refusal:
        subject = services.find_subject_for_staff(staff, form.criteria)
        plan = services.plan_erasure(subject, now=timezone.now())
        fresh = EraseForm(initial={**form.hidden(), "plan": plan.fingerprint})
        return _page(request, "erasure_plan.html", staff, 409, plan=plan, form=fresh,
                     hidden=form.hidden(), refusal=refusal)  # fmt: skip
    return _page(request, "erasure_done.html", staff, result=result)


@require_safe
@login_required
def processing_record(request: HttpRequest, org: str) -> HttpResponse:
    staff = _admin(request, org)
    record = services.processing_record_for_staff(staff)
    return _page(request, "processing_record.html", staff, record=record)


@require_safe
@login_required
def processing_record_download(request: HttpRequest, org: str, format: str) -> HttpResponse:
    staff = _admin(request, org)
    name, content_type, content = services.export_processing_record(
        staff, format=format, request=request
    )
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response
