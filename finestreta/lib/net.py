"""Where a request comes from."""

from __future__ import annotations

import ipaddress

from django.http import HttpRequest


def client_ip(request: HttpRequest | None) -> str | None:
    """The client's address from REMOTE_ADDR (the reverse proxy or ASGI server must set it to the
    real client; X-Forwarded-For is not trusted here), or None when it is absent or not an
    address (a Unix socket): better none than a wrong one."""
    if request is None:
        return None
    try:
        return str(ipaddress.ip_address(str(request.META.get("REMOTE_ADDR", "")).strip()))
    except ValueError:
        return None
