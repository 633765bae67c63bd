"""Per-response additions to the Content-Security-Policy (django-csp reads `_csp_update`)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TypeVar
from urllib.parse import urlsplit

from django.http import HttpResponseBase

Response = TypeVar("Response", bound=HttpResponseBase)


def origin_of(url: str) -> str:
    """ "https://idp.example:8443" of "https://idp.example:8443/sso?x=1" ("" if not absolute)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return ""
    return f"{parts.scheme}://{parts.netloc}"


def allow_form_action(response: Response, origins: Iterable[str]) -> Response:
    """Let this page's forms lead to these origins too. Browsers apply `form-action` to the
    redirects that follow a form's submission, so a form that starts a sign-on at an identity
    provider (or a logout that ends there) needs the provider's origin."""
    wanted = sorted({origin for origin in origins if origin})
    if wanted:
        update = dict(getattr(response, "_csp_update", None) or {})
        update["form-action"] = sorted({*update.get("form-action", []), *wanted})
        response._csp_update = update  # type: ignore[attr-defined]
    return response
