"""The answer while the database is unreachable (restarted, failing over, out of connections):
503 with Retry-After instead of a 500 with a traceback. The API gets its error shape
(api.errors) with the code `unavailable`; a page gets a plain page in the request's language.

Two ways in, one answer:
- `DatabaseUnavailableMiddleware.process_exception`: the database errors raised by a view (most
  of them: a view's first query is where a lost connection shows), with DEBUG on or off;
- `handler500` (finestreta.urls): the ones raised by a middleware (sessions, the staff session
  check), which Django turns into a 500 before any `process_exception` sees them; it only runs
  with DEBUG off, as in production.

Nothing here touches the database or templates with context processors: the page is a few
lines of HTML, and its texts come from the compiled catalogues (in memory once loaded).
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from html import escape

from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import translation
from django.utils.translation import gettext
from django.views import defaults

logger = logging.getLogger(__name__)

RETRY_AFTER = 5  # seconds: a restart or a failover of PostgreSQL takes about that long
UNAVAILABLE = (OperationalError, InterfaceError)


def is_unavailable(error: BaseException | None) -> bool:
    return isinstance(error, UNAVAILABLE)


def unavailable_response(request: HttpRequest) -> HttpResponse:
    """503 with Retry-After: JSON in the API's error shape under /api/, a plain page elsewhere."""
    languages = {code for code, _name in settings.LANGUAGES}
    language = (translation.get_language() or "").split("-")[0]
    language = language if language in languages else settings.LANGUAGE_CODE
    with translation.override(language):
        title = gettext("Service unavailable for a moment")
        message = gettext("We could not handle your request. Please try again in a few seconds.")
    response: HttpResponse
    if request.path.startswith("/api/"):
        response = JsonResponse({"error": {"code": "unavailable", "message": message}}, status=503)
    else:
        title, message = escape(title), escape(message)
        response = HttpResponse(
            f'<!doctype html><html lang="{language}"><head><meta charset="utf-8">'
            f"<title>{title}</title></head><body><main><h1>{title}</h1><p>{message}</p>"
            "</main></body></html>",
            status=503,
            content_type="text/html; charset=utf-8",
        )
    response["Retry-After"] = str(RETRY_AFTER)
    response["Cache-Control"] = "no-store"
    response["Content-Language"] = language
    return response


class DatabaseUnavailableMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not is_unavailable(exception):
            return None
        logger.warning("database unavailable: %s", exception)
        return unavailable_response(request)


def handler500(request: HttpRequest) -> HttpResponse:
    """Django's 500 handler, called while the exception is being handled: a database outage
    raised by a middleware gets the 503 too; anything else the usual 500 page."""
    if is_unavailable(sys.exc_info()[1]):
        return unavailable_response(request)
    return defaults.server_error(request)
