"""Makes the request being served known to the audit log, for events raised far from any view.

Django's admin writes its log entries (and `privacy.signals` mirrors them) without the request
at hand; with this middleware installed, such events still carry the IP address and browser.
Add it to MIDDLEWARE early, before any middleware that may record events.
"""

from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar

from django.http import HttpRequest, HttpResponse

_current_request: ContextVar[HttpRequest | None] = ContextVar("audit_request", default=None)


def current_request() -> HttpRequest | None:
    """The request this thread or task is serving, if the middleware is installed."""
    return _current_request.get()


class AuditRequestMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        token = _current_request.set(request)
        try:
            return self.get_response(request)
        finally:
            _current_request.reset(token)
