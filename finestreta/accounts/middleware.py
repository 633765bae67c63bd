"""Enforces staff session limits and the platform administrators' second factor."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from finestreta.accounts import sessions
from finestreta.lib.csp import allow_form_action

# Reachable before the second factor is given.
SECOND_FACTOR_EXEMPT = (
    "/accounts/2fa/",
    "/accounts/logout/",
    "/static/",
    "/i18n/",
    "/healthz",
    "/readyz",
)


def needs_second_factor(request: HttpRequest) -> bool:
    user = request.user
    if not user.is_authenticated or not user.is_superuser:
        return False
    if getattr(user, "is_demo", False) and settings.DEBUG:
        return False  # demo accounts exist only in development
    is_verified = getattr(user, "is_verified", None)
    return not (is_verified and is_verified())


class StaffSessionMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        serving = sessions.serving.set(getattr(request, "session", None))
        try:
            return self.handle(request)
        finally:
            sessions.serving.reset(serving)

    def handle(self, request: HttpRequest) -> HttpResponse:
        if request.user.is_authenticated:
            now = timezone.now()
            reason = sessions.expired_reason(request, now)
            if reason is not None:
                from finestreta.privacy.services import record_event

                record_event(
                    action="session.expired",
                    request=request,
                    details={"reason": reason},
                )
                logout(request)
                messages.info(request, _("Your session has ended. Please log in again."))
                return redirect_to_login(request.get_full_path(), reverse("accounts:login"))
            sessions.touch(request, now)
            if needs_second_factor(request) and not request.path.startswith(SECOND_FACTOR_EXEMPT):
                return redirect(
                    f"{reverse('accounts:second-factor')}?next={request.get_full_path()}"
                )
        response = self.get_response(request)
        origin = sessions.session_auth(request).get("provider_origin")
        if origin:
            allow_form_action(response, [origin])
        return response
