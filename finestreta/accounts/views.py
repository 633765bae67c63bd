"""Staff pages. Every view reaches tenant data through accounts.services helpers."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_safe

from finestreta.accounts import services as accounts
from finestreta.accounts.demo import DEMO_LOGINS
from finestreta.accounts.services import Role
from finestreta.tenants import services as tenants


class StaffLoginView(auth_views.LoginView):
    template_name = "accounts/login.html"
    redirect_authenticated_user = True

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["demo_logins"] = DEMO_LOGINS if settings.DEBUG else []
        return context


@require_safe
@login_required
def staff_home(request: HttpRequest) -> HttpResponse:
    memberships = list(accounts.list_memberships(request.user))
    if len(memberships) == 1:
        return redirect("accounts:dashboard", org=memberships[0].organisation.slug)
    return render(request, "accounts/staff_home.html", {"memberships": memberships})


@require_safe
@login_required
def dashboard(request: HttpRequest, org: str) -> HttpResponse:
    staff = accounts.get_membership_for_staff(request, org)
    return render(
        request,
        "accounts/dashboard.html",
        {
            "staff": staff,
            "organisation": staff.organisation,
            "can_see_team": staff.membership.has_role(Role.SUPERVISOR),
        },
    )


@require_safe
@login_required
def team(request: HttpRequest, org: str) -> HttpResponse:
    staff = accounts.get_membership_for_staff(request, org, min_role=Role.SUPERVISOR)
    return render(
        request,
        "accounts/team.html",
        {"staff": staff, "organisation": staff.organisation, "team": accounts.list_team(staff)},
    )


@require_safe
@login_required
def office(request: HttpRequest, org: str, office: str) -> HttpResponse:
    staff = accounts.get_membership_for_staff(request, org)
    found = accounts.get_office_for_staff(staff, office)
    return render(
        request,
        "accounts/office.html",
        {
            "staff": staff,
            "organisation": staff.organisation,
            "office": found,
            "week": tenants.describe_week(office=found),
        },
    )
