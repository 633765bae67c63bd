"""The request's ids, log line and metrics; security headers that Django's SecurityMiddleware
does not set."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from finestreta.lib import logs, metrics

PERMISSIONS_POLICY = (
    "accelerometer=(), autoplay=(self), camera=(self), display-capture=(self), "
    "geolocation=(), gyroscope=(), magnetometer=(), microphone=(self), payment=(), usb=()"
)


class SecurityHeadersMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response.headers.setdefault("Permissions-Policy", PERMISSIONS_POLICY)
        response.headers.setdefault("Cross-Origin-Resource-Policy", "same-origin")
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            # Pages with personal data must not be kept by shared caches or the back button.
            response.headers.setdefault("Cache-Control", "no-store")
        return response


request_logger = logging.getLogger("finestreta.requests")
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
# Probes and scrapes come every few seconds: counted, not logged.
QUIET_ROUTES = frozenset({"healthz", "readyz", "metrics"})


class ObservabilityMiddleware:
    """Gives the request its id (the proxy's X-Request-Id if sane, or a new one) for every log
    line made while it is handled and for the response's X-Request-Id; counts and times it by
    route; logs one line for it (the route, never the address, which may hold a token)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request_id = logs.request_id_from(request.headers.get("X-Request-Id"))
        tokens = logs.bind(request_id=request_id)
        started = time.perf_counter()
        try:
            response = self.get_response(request)
            elapsed = time.perf_counter() - started
            route = metrics.route_of(request.resolver_match)
            method = request.method if request.method in METHODS else "other"
            metrics.REQUESTS.labels(method, route, str(response.status_code)).inc()
            metrics.REQUEST_SECONDS.labels(method, route).observe(elapsed)
            response.headers["X-Request-Id"] = request_id
            if route not in QUIET_ROUTES:
                org = request.resolver_match.kwargs.get("org", "") if request.resolver_match else ""
                request_logger.info(
                    "%s %s %s",
                    method,
                    route,
                    response.status_code,
                    extra={
                        "method": method,
                        "route": route,
                        "status": response.status_code,
                        "duration_ms": round(elapsed * 1000, 1),
                        **({"organisation": org} if org else {}),
                    },
                )
            return response
        finally:
            logs.unbind(tokens)
