"""Requests per client address, counted in Django's cache (DRF throttling).

Reads and writes have their own rate (API_READ_RATE, API_WRITE_RATE). The address is REMOTE_ADDR
only, like everywhere else in the platform (`lib.net.client_ip`): X-Forwarded-For is never
trusted, so a client cannot pick a fresh address per request.
"""

from __future__ import annotations

from typing import Any, cast

from rest_framework.request import Request
from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle

from finestreta.lib.net import client_ip

SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


class ClientThrottle(SimpleRateThrottle):
    writes = False

    def get_rate(self) -> str | None:
        # Read at each request (not once at import), so that a changed setting applies.
        rates = cast(dict[str, str | None], api_settings.DEFAULT_THROTTLE_RATES)
        return rates.get(self.scope or "")

    def allow_request(self, request: Request, view: Any) -> bool:
        if (request.method not in SAFE_METHODS) != self.writes:
            return True
        return super().allow_request(request, view)

    def get_cache_key(self, request: Request, view: Any) -> str:
        return self.cache_format % {"scope": self.scope, "ident": client_ip(request) or "unknown"}


class ReadThrottle(ClientThrottle):
    scope = "api-read"


class WriteThrottle(ClientThrottle):
    scope = "api-write"
    writes = True
