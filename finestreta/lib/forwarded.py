"""The client's address behind the reverse proxy, for the WSGI workers (ADR 37).

The platform reads the client's address from REMOTE_ADDR only (finestreta.lib.net.client_ip: rate
limits, audit events, login lockouts). uvicorn already puts the client from X-Forwarded-For there
when the connection comes from a trusted proxy; gunicorn does not (it only trusts
X-Forwarded-Proto). This middleware does for the WSGI entry point what uvicorn does, with the
same trust list: FORWARDED_ALLOW_IPS, the variable both servers read (addresses or networks,
comma-separated; `*` trusts every peer; default 127.0.0.1 and ::1).

The client is the right-most address of X-Forwarded-For that is not a trusted proxy: what a
client wrote itself sits on the left and is never taken while a proxy's own entry follows it.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Callable, Iterable
from typing import Any

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class TrustedProxies:
    def __init__(self, spec: str) -> None:
        items = [item.strip() for item in spec.split(",") if item.strip()]
        self.everyone = "*" in items
        self.networks: list[Network] = []
        for item in items:
            if item != "*":
                # A malformed entry is a configuration error: better to stop than trust nothing
                # silently (or everything).
                self.networks.append(ipaddress.ip_network(item, strict=False))

    def __contains__(self, host: str) -> bool:
        if self.everyone:
            return True
        try:
            address: Address = ipaddress.ip_address(host)
        except ValueError:
            return False
        return any(address in network for network in self.networks)

    def client(self, peer: str, forwarded_for: str) -> str:
        """The client's address given the connection's peer and the X-Forwarded-For value."""
        if not forwarded_for or peer not in self:
            return peer
        hops = [hop.strip() for hop in forwarded_for.split(",") if hop.strip()]
        for hop in reversed(hops):
            if hop not in self:
                return hop
        return hops[0] if hops else peer


class ForwardedClientMiddleware:
    """Sets REMOTE_ADDR to the client's address when a trusted proxy forwarded the request."""

    def __init__(self, app: WSGIApp, trusted: str | None = None) -> None:
        self.app = app
        spec = trusted if trusted is not None else os.environ.get("FORWARDED_ALLOW_IPS", "")
        self.trusted = TrustedProxies(spec or "127.0.0.1,::1")

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        peer = str(environ.get("REMOTE_ADDR", ""))
        forwarded_for = str(environ.get("HTTP_X_FORWARDED_FOR", ""))
        if forwarded_for:
            environ["REMOTE_ADDR"] = self.trusted.client(peer, forwarded_for)
        return self.app(environ, start_response)
