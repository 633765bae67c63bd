"""Public pages of the platform and of each organisation (no login)."""

from __future__ import annotations

import datetime as dt

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_safe

from finestreta.catalogue import services as catalogue
from finestreta.tenants import services as tenants


@require_safe
def platform_home(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "tenants/platform_home.html",
        {"organisations": tenants.list_public_organisations()},
    )


@require_safe
def organisation_home(request: HttpRequest, org: str) -> HttpResponse:
    organisation = tenants.get_public_organisation(org)
    return render(
        request,
        "tenants/organisation_home.html",
        {
            "organisation": organisation,
            "levels": catalogue.group_services_by_level(organisation),
            "offices": tenants.list_public_offices(organisation),
        },
    )


@require_safe
def service_detail(request: HttpRequest, org: str, service: str) -> HttpResponse:
    organisation = tenants.get_public_organisation(org)
    return render(
        request,
        "tenants/service_detail.html",
        {
            "organisation": organisation,
            "service": catalogue.get_public_service(organisation, service),
        },
    )


@require_safe
def office_detail(request: HttpRequest, org: str, office: str) -> HttpResponse:
    organisation = tenants.get_public_organisation(org)
    found = tenants.get_public_office(organisation, office)
    today = tenants.office_today(found)
    return render(
        request,
        "tenants/office_detail.html",
        {
            "organisation": organisation,
            "office": found,
            "week": tenants.describe_week(office=found),
            "closures": tenants.list_closures(
                office=found, start=today, end=today + dt.timedelta(days=90)
            ),
            "services": catalogue.list_services_at_office(found),
        },
    )


@require_safe
def accessibility_statement(request: HttpRequest, org: str) -> HttpResponse:
    organisation = tenants.get_public_organisation(org)
    return render(request, "tenants/accessibility.html", {"organisation": organisation})


@require_safe
def privacy_notice(request: HttpRequest, org: str) -> HttpResponse:
    organisation = tenants.get_public_organisation(org)
    return render(request, "tenants/privacy.html", {"organisation": organisation})


@require_safe
@cache_control(max_age=300)
def brand_css(request: HttpRequest, org: str) -> HttpResponse:
    """The organisation's colour as a stylesheet: CSP forbids inline styles."""
    organisation = tenants.get_public_organisation(org)
    return render(
        request, "tenants/brand.css", {"organisation": organisation}, content_type="text/css"
    )
