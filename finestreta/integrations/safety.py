"""Where an organisation may send its webhooks. The platform posts to an address an administrator
types in, so the address must never reach into the platform's own network (a database, a
metadata service, the admin site): https only, no credentials in the address, and — when the
request is made — no connection to a loopback, private, link-local or otherwise non-public
address. The check is made on the address actually connected to (after DNS), so a host name
that resolves differently at send time (DNS rebinding) is refused as well.

Development, the demo and the tests (receivers on 127.0.0.1) set WEBHOOKS_ALLOW_PRIVATE_TARGETS:
then http is accepted on loopback, and private addresses are connected to.

(`finestreta.notifications.safety` checks SMS gateway addresses by resolving them first; this
module checks the connected socket too, and could serve it as well.)
"""

from __future__ import annotations

import ipaddress
import socket
from typing import Any
from urllib.parse import urlsplit

import requests
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

LOOPBACK_NAMES = {"localhost", "127.0.0.1", "::1"}
# Marks the connection error of a refused address (requests wraps the original exception).
REFUSED = "refused to connect to a non-public address"


def private_allowed() -> bool:
    return bool(settings.WEBHOOKS_ALLOW_PRIVATE_TARGETS)


def is_public(address: str) -> bool:
    """An address on the internet: not loopback, private, link-local, multicast or reserved
    (an IPv4 address mapped into IPv6 is judged as itself)."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def _literal_ip(host: str) -> str | None:
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        return None


def check_url(url: str) -> None:
    """ValidationError unless `url` is an acceptable receiver address. Host names are not
    resolved here (DNS may change before sending): the connection is checked when sending."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port out of range
    except ValueError as error:
        raise ValidationError(_("Enter a valid address."), code="invalid") from error
    host = (parts.hostname or "").lower()
    if not host:
        raise ValidationError(_("Enter a valid address."), code="invalid")
    if parts.username is not None or parts.password is not None:
        raise ValidationError(
            _("The address must not contain a user name or password."), code="credentials"
        )
    loopback = host in LOOPBACK_NAMES or host.endswith(".localhost")
    if parts.scheme != "https" and not (parts.scheme == "http" and loopback and private_allowed()):
        raise ValidationError(_("The address must start with https://."), code="https")
    if private_allowed():
        return
    literal = _literal_ip(host)
    if loopback or (literal is not None and not is_public(literal)):
        raise ValidationError(
            _("The address must be on the internet, not on a private network."), code="private"
        )


class RefusedAddress(OSError):
    pass


def _guarded_conn(conn: Any, sock: socket.socket) -> socket.socket:
    if private_allowed():
        return sock
    peer = sock.getpeername()[0]
    if not is_public(peer):
        sock.close()
        raise RefusedAddress(f"{REFUSED} ({peer})")
    return sock


class _GuardedHTTPConnection(HTTPConnection):
    def _new_conn(self) -> socket.socket:
        return _guarded_conn(self, super()._new_conn())


class _GuardedHTTPSConnection(HTTPSConnection):
    def _new_conn(self) -> socket.socket:
        return _guarded_conn(self, super()._new_conn())


class _GuardedHTTPPool(HTTPConnectionPool):
    ConnectionCls = _GuardedHTTPConnection


class _GuardedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _GuardedHTTPSConnection


class _GuardedAdapter(HTTPAdapter):
    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {
            "http": _GuardedHTTPPool,
            "https": _GuardedHTTPSPool,
        }


def guarded_session() -> requests.Session:
    """A requests session that refuses to connect to a non-public address (unless allowed) and
    ignores the environment's proxies (the check must see the real destination)."""
    session = requests.Session()
    session.trust_env = False
    adapter = _GuardedAdapter(max_retries=0)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


def refused(error: BaseException) -> bool:
    """Whether a requests error was the refusal of a non-public address."""
    return REFUSED in str(error)
