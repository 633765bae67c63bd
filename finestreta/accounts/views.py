"""Staff pages. Every view reaches tenant data through accounts.services helpers."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST, require_safe

from finestreta.accounts import second_factor as second_factor_service
from finestreta.accounts import services as accounts
from finestreta.accounts import sessions
from finestreta.accounts.demo import DEMO_LOGINS
from finestreta.accounts.forms import SecondFactorForm
from finestreta.accounts.models import User
from finestreta.accounts.services import Role
from finestreta.accounts.sso_logout import provider_logout_url
from finestreta.lib.csp import allow_form_action
from finestreta.tenants import services as tenants


class StaffLoginView(auth_views.LoginView):
    template_name = "accounts/login.html"
    redirect_authenticated_user = True

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["demo_logins"] = DEMO_LOGINS if settings.DEBUG else []
        context["identity_providers"] = accounts.list_login_providers()
        return context

    def render_to_response(self, context: dict[str, Any], **kwargs: Any) -> HttpResponse:
        response = super().render_to_response(context, **kwargs)
        return allow_form_action(response, [p.origin for p in context["identity_providers"]])


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


@require_safe
def login_redirect(request: HttpRequest) -> HttpResponse:
    """Old address of the staff login."""
    return redirect(f"{reverse('accounts:login')}?{request.GET.urlencode()}")


@login_required
def second_factor(request: HttpRequest) -> HttpResponse:
    """Platform administrators give a TOTP code (and set one up the first time)."""
    user = request.user
    if not isinstance(user, User):
        raise PermissionDenied
    next_url = request.POST.get("next") or request.GET.get("next") or reverse("admin:index")
    if not url_has_allowed_host_and_scheme(next_url, {request.get_host()}):
        next_url = reverse("admin:index")
    form = SecondFactorForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if second_factor_service.verify(request, user=user, token=form.cleaned_data["code"]):
            return redirect(next_url)
        form.add_error("code", _("That code is not right. Check the time on your phone."))
    device = second_factor_service.confirmed_device(user)
    context: dict[str, Any] = {"form": form, "next": next_url, "setting_up": device is None}
    if device is None:
        pending = second_factor_service.pending_device(user)
        context["secret"] = second_factor_service.secret_base32(pending)
        context["qr_code"] = second_factor_service.qr_code_data_uri(pending)
    return render(request, "accounts/second_factor.html", context)


@login_required
def session_list(request: HttpRequest) -> HttpResponse:
    user = request.user
    if not isinstance(user, User):
        raise PermissionDenied
    if request.method == "POST":
        choice = request.POST.get("end", "")
        if choice == "others":
            sessions.end_sessions(user=user, keep=request.session.session_key)
            messages.success(request, _("Your other sessions have ended."))
        elif choice.isdigit() and sessions.end_session(user=user, session_id=int(choice)):
            messages.success(request, _("The session has ended."))
        else:
            messages.error(request, _("That session has already ended."))
        return redirect("accounts:sessions")
    return render(
        request,
        "accounts/sessions.html",
        {"sessions": sessions.list_sessions(user), "current": request.session.session_key},
    )


@require_POST
def logout_view(request: HttpRequest) -> HttpResponse:
    """Log out here, then at the identity provider when its protocol allows it."""
    auth = sessions.session_auth(request)
    return_to = request.build_absolute_uri(reverse("public:platform-home"))
    provider_url = provider_logout_url(request, auth, return_to=return_to)
    if request.user.is_authenticated:
        sessions.end_session_by_key(request.session.session_key)
    logout(request)
    return redirect(provider_url or "public:platform-home")
