"""Staff sessions: limits, the list a person can see, and ending sessions at once."""

from __future__ import annotations

import datetime as dt
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.contrib.sessions.backends.base import SessionBase
from django.contrib.sessions.models import Session
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from finestreta.accounts.models import IdentityProvider, StaffSession, User
from finestreta.accounts.sso_config import provider_origin
from finestreta.lib.net import client_ip
from finestreta.tenants.models import Organisation

AUTH_KEY = "finestreta_auth"  # in the session: how and for which organisation it was signed in
SEEN_WRITE_INTERVAL = dt.timedelta(seconds=60)
# The session of the request being served (set by StaffSessionMiddleware): a password changed in
# it ends the person's other sessions, not this one.
serving: ContextVar[SessionBase | None] = ContextVar("serving_session", default=None)


@dataclass(frozen=True)
class SessionLimits:
    idle: dt.timedelta
    absolute: dt.timedelta


def limits_for(organisation: Organisation | None) -> SessionLimits:
    idle = settings.SESSION_IDLE_MINUTES
    absolute = settings.SESSION_MAX_HOURS
    if organisation is not None:
        # An organisation may be stricter than the platform, never laxer.
        idle = min(idle, organisation.session_idle_minutes or idle)
        absolute = min(absolute, organisation.session_max_hours or absolute)
    return SessionLimits(dt.timedelta(minutes=idle), dt.timedelta(hours=absolute))


def start_session(
    request: HttpRequest,
    *,
    user: User,
    method: str,
    identity_provider: IdentityProvider | None = None,
) -> None:
    """Called right after login (the session key is already the new one)."""
    now = timezone.now()
    organisation = identity_provider.organisation if identity_provider else None
    request.session[AUTH_KEY] = {
        "method": method,
        "provider": identity_provider.slug if identity_provider else None,
        # Logout ends at the provider, so every staff page's forms may lead there.
        "provider_origin": provider_origin(identity_provider) if identity_provider else "",
        "org": organisation.slug if organisation else None,
        "at": now.isoformat(),
        "seen": now.isoformat(),
    }
    request.session.save()  # make sure the key exists before it is recorded
    StaffSession.objects.update_or_create(
        session_key=request.session.session_key,
        defaults={
            "user": user,
            "organisation": organisation,
            "identity_provider": identity_provider,
            "started_at": now,
            "last_seen": now,
            "ip_address": client_ip(request),
            "user_agent": request.META.get("HTTP_USER_AGENT", "")[:300],
        },
    )


def session_auth(request: HttpRequest) -> dict[str, Any]:
    session = getattr(request, "session", None)
    value = session.get(AUTH_KEY) if session is not None else None
    return value if isinstance(value, dict) else {}


def expired_reason(request: HttpRequest, now: dt.datetime) -> str | None:
    auth = session_auth(request)
    if not auth:
        return "unknown"
    organisation = None
    if auth.get("org"):
        organisation = Organisation.objects.filter(slug=auth["org"]).first()
    limits = limits_for(organisation)
    started = dt.datetime.fromisoformat(auth["at"])
    seen = dt.datetime.fromisoformat(auth["seen"])
    if now - started > limits.absolute:
        return "absolute"
    if now - seen > limits.idle:
        return "idle"
    if not StaffSession.objects.filter(session_key=request.session.session_key).exists():
        return "ended"
    return None


def touch(request: HttpRequest, now: dt.datetime) -> None:
    auth = session_auth(request)
    seen = dt.datetime.fromisoformat(auth["seen"])
    if now - seen >= SEEN_WRITE_INTERVAL:
        auth["seen"] = now.isoformat()
        request.session[AUTH_KEY] = auth
        StaffSession.objects.filter(session_key=request.session.session_key).update(last_seen=now)


def list_sessions(user: User) -> list[StaffSession]:
    return list(
        StaffSession.objects.filter(user=user).select_related("organisation", "identity_provider")
    )


@transaction.atomic
def end_sessions(*, user: User, keep: str | None = None) -> int:
    """End the user's sessions (all, or all but `keep`) at once: no request of theirs is served
    after this returns."""
    sessions = StaffSession.objects.filter(user=user)
    if keep:
        sessions = sessions.exclude(session_key=keep)
    keys = list(sessions.values_list("session_key", flat=True))
    Session.objects.filter(session_key__in=keys).delete()
    sessions.delete()
    return len(keys)


def end_sessions_after_password_change(*, user: User) -> int:
    """A new password ends every other session of the user at once (ASVS 3.3.3). The session in
    which the user changed their own password stays: Django gives it a new key and the new
    password's hash (`update_session_auth_hash`). A password set by someone else, or outside a
    request (`manage.py changepassword`), ends them all."""
    current = serving.get()
    keep = None
    if current is not None and current.get(SESSION_KEY) == str(user.pk):
        keep = current.session_key
    return end_sessions(user=user, keep=keep)


@transaction.atomic
def end_session(*, user: User, session_id: int) -> bool:
    found = StaffSession.objects.filter(user=user, pk=session_id).first()
    if found is None:
        return False
    Session.objects.filter(session_key=found.session_key).delete()
    found.delete()
    return True


def end_session_by_key(session_key: str | None) -> None:
    if session_key:
        StaffSession.objects.filter(session_key=session_key).delete()
