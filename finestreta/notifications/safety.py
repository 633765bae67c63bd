"""Where an organisation may point its SMS gateway. The platform posts the gateway's key there,
so an address inside the platform's own network (a database, a metadata service) must never be
accepted: https only, and every address the host name resolves to must be public. Development
and the test suite (which run their gateways on 127.0.0.1) set NOTIFICATIONS_ALLOW_PRIVATE_GATEWAYS.
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _


def check_gateway_url(url: str) -> None:
    """ValidationError unless `url` is a safe place to send the gateway's key to."""
    if settings.NOTIFICATIONS_ALLOW_PRIVATE_GATEWAYS:
        return
    parts = urlsplit(url)
    if parts.scheme != "https" or not parts.hostname:
        raise ValidationError(_("The gateway's address must start with https://."), code="https")
    try:
        found = socket.getaddrinfo(parts.hostname, parts.port or 443, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError) as error:
        raise ValidationError(
            _("The gateway's host name cannot be found."), code="unresolvable"
        ) from error
    for _family, _type, _proto, _name, address in found:
        if not ipaddress.ip_address(address[0]).is_global:
            raise ValidationError(
                _("The gateway must be on the internet, not on a private network."),
                code="private",
            )
