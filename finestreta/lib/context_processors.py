from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest


def platform(request: HttpRequest) -> dict[str, Any]:
    return {"DEBUG_DEMO": settings.DEBUG, "SITE_URL": settings.SITE_URL}
