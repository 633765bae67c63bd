"""Where messages leave the platform: small gateways behind one interface, with plain
dataclasses at the boundary, and a registry that picks the configured one (STYLE.md).

- "outbox": the development outbox — nothing leaves the machine; the demo shows the messages.
- "smtp": e-mail through Django's mail backend (SMTP relay in production).
"""

from __future__ import annotations

from dataclasses import dataclass
from email.utils import formataddr, parseaddr
from smtplib import SMTPRecipientsRefused
from typing import Protocol

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection

from finestreta.tenants.models import Organisation


class TemporaryFailure(Exception):
    """Worth trying again later (the relay is down, a timeout)."""


class PermanentFailure(Exception):
    """Trying again will not help (the address is refused)."""


@dataclass(frozen=True)
class Outgoing:
    channel: str
    recipient: str
    subject: str
    body: str
    html: str
    sender_name: str
    reply_to: str
    idempotency_key: str  # the same key for every attempt at one message
    attachment_name: str = ""
    attachment_type: str = ""
    attachment: bytes = b""


class Gateway(Protocol):
    def send(self, message: Outgoing) -> str:
        """Hand the message over; return the provider's id for it."""


class DevelopmentOutbox:
    """Keeps messages in the database only: the embedded default, and the demo."""

    def send(self, message: Outgoing) -> str:
        return f"outbox:{message.idempotency_key}"


class SmtpEmail:
    def send(self, message: Outgoing) -> str:
        _name, address = parseaddr(settings.DEFAULT_FROM_EMAIL)
        email = EmailMultiAlternatives(
            subject=message.subject,
            body=message.body,
            from_email=formataddr((message.sender_name, address)),
            to=[message.recipient],
            reply_to=[message.reply_to] if message.reply_to else None,
            headers={
                # Receivers (and our own relay) can drop a resent copy by its Message-ID.
                "Message-ID": f"<{message.idempotency_key}@{address.split('@')[-1]}>",
                "Auto-Submitted": "auto-generated",
            },
            connection=get_connection(settings.EMAIL_BACKEND, fail_silently=False),
        )
        if message.html:
            email.attach_alternative(message.html, "text/html")
        if message.attachment:
            email.attach(message.attachment_name, message.attachment, message.attachment_type)
        try:
            email.send()
        except OSError as error:  # connection refused, timeout, TLS, SMTPServerDisconnected
            if isinstance(error, SMTPRecipientsRefused):
                raise PermanentFailure(str(error)) from error
            raise TemporaryFailure(str(error)) from error
        return email.extra_headers["Message-ID"]


GATEWAYS: dict[str, type[DevelopmentOutbox] | type[SmtpEmail]] = {
    "outbox": DevelopmentOutbox,
    "smtp": SmtpEmail,
}


def gateway_for(channel: str, organisation: Organisation | None = None) -> Gateway:
    """The gateway that sends `channel` for `organisation` (its own settings first, then the
    platform's)."""
    name = settings.NOTIFICATIONS_EMAIL if channel == "email" else settings.NOTIFICATIONS_SMS
    try:
        return GATEWAYS[name]()
    except KeyError as error:
        raise PermanentFailure(f"no {channel} gateway called {name!r}") from error
