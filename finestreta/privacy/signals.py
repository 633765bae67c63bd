"""Audit hooks: logins, failed logins, logouts and every change made in the Django admin."""

from __future__ import annotations

from typing import Any

from django.contrib.admin.models import LogEntry
from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.db.models.signals import post_save
from django.dispatch import receiver
from django.http import HttpRequest

from finestreta.accounts.models import User
from finestreta.privacy import services
from finestreta.privacy.models import AuditEvent


@receiver(user_logged_in, dispatch_uid="privacy.login_succeeded")
def record_login(sender: Any, request: HttpRequest | None, user: User, **kwargs: Any) -> None:
    services.record_event(
        action=AuditEvent.Action.LOGIN_SUCCEEDED,
        request=request,
        actor=user,
        organisation=services.sole_organisation(user),
        details={"backend": getattr(user, "backend", "")},
    )


@receiver(user_login_failed, dispatch_uid="privacy.login_failed")
def record_failed_login(
    sender: Any, credentials: dict[str, Any], request: HttpRequest | None = None, **kwargs: Any
) -> None:
    # Only the username: Django has already masked the password in `credentials`, and nothing
    # else of what was typed is kept.
    username = credentials.get(get_user_model().USERNAME_FIELD)
    services.record_failed_login(
        request=request, username=username if isinstance(username, str) else ""
    )


@receiver(user_logged_out, dispatch_uid="privacy.logout")
def record_logout(sender: Any, request: HttpRequest, user: User | None, **kwargs: Any) -> None:
    if user is None:
        return  # nobody was logged in
    services.record_event(
        action=AuditEvent.Action.LOGOUT,
        request=request,
        actor=user,
        organisation=services.sole_organisation(user),
    )


@receiver(post_save, sender=LogEntry, dispatch_uid="privacy.admin_change")
def record_admin_change(sender: Any, instance: LogEntry, created: bool, **kwargs: Any) -> None:
    if created and not kwargs.get("raw"):
        services.record_admin_log_entry(instance)
