"""Where messages leave the platform: small gateways behind one interface, with plain
dataclasses at the boundary, and a registry that picks the configured one (STYLE.md).

- "outbox": the development outbox — nothing leaves the machine; the demo shows the messages.
- "smtp": e-mail through Django's mail backend (SMTP relay in production), from the
  organisation's own sender when it has one.
- An organisation's own SMS gateway over HTTP (`SmsHttpGateway`), when its messaging settings
  give an address: the JSON contract is in docs/sms-gateway.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from email.utils import formataddr, parseaddr
from smtplib import SMTPRecipientsRefused
from typing import Any, Protocol

import requests
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMultiAlternatives, get_connection
from django.urls import reverse

from finestreta.notifications.models import MessagingSettings
from finestreta.notifications.safety import check_gateway_url
from finestreta.tenants.models import Organisation

# What a gateway's HTTP status means for the message (docs/sms-gateway.md). Anything else that
# is not 2xx — 401/403 (a wrong key), 408, 429, 5xx, a redirect — is worth another attempt:
# an administrator can correct the settings before the retries run out.
PERMANENT_STATUSES = frozenset({400, 404, 410, 422})


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
    """A gateway may keep a connection open across the messages of a batch; `close` ends it."""

    def send(self, message: Outgoing) -> str:
        """Hand the message over; return the provider's id for it."""

    def close(self) -> None: ...


class DevelopmentOutbox:
    """Keeps messages in the database only: the embedded default, and the demo."""

    def send(self, message: Outgoing) -> str:
        return f"outbox:{message.idempotency_key}"

    def close(self) -> None:
        pass


class SmtpEmail:
    """E-mail through Django's mail backend. The sender is the organisation's own name and
    address when its messaging settings give them; else its name at the platform's address."""

    def __init__(self, *, sender_name: str = "", sender_email: str = "") -> None:
        self.sender_name = sender_name
        self.sender_email = sender_email
        self.connection: Any = None  # one SMTP session for the batch, opened at its first message

    def close(self) -> None:
        if self.connection is not None:
            connection, self.connection = self.connection, None
            try:
                connection.close()
            except OSError:  # the relay went away: nothing left to close
                pass

    def send(self, message: Outgoing) -> str:
        _name, address = parseaddr(self.sender_email or settings.DEFAULT_FROM_EMAIL)
        email = EmailMultiAlternatives(
            subject=message.subject,
            body=message.body,
            from_email=formataddr((self.sender_name or message.sender_name, address)),
            to=[message.recipient],
            reply_to=[message.reply_to] if message.reply_to else None,
            headers={
                # Receivers (and our own relay) can drop a resent copy by its Message-ID.
                "Message-ID": f"<{message.idempotency_key}@{address.split('@')[-1]}>",
                "Auto-Submitted": "auto-generated",
            },
        )
        if message.html:
            email.attach_alternative(message.html, "text/html")
        if message.attachment:
            email.attach(message.attachment_name, message.attachment, message.attachment_type)
        try:
            if self.connection is None:
                self.connection = get_connection(settings.EMAIL_BACKEND, fail_silently=False)
                self.connection.open()
            email.connection = self.connection
            email.send()
        except OSError as error:  # connection refused, timeout, TLS, SMTPServerDisconnected
            if isinstance(error, SMTPRecipientsRefused):
                raise PermanentFailure(str(error)) from error
            self.close()  # the next message starts a fresh session
            raise TemporaryFailure(str(error)) from error
        return email.extra_headers["Message-ID"]


class SmsHttpGateway:
    """An organisation's own SMS platform over HTTP: one JSON POST per message, authenticated
    with a bearer key and carrying an idempotency key, so a resent attempt is dropped by the
    gateway rather than delivered twice. The contract is in docs/sms-gateway.md."""

    def __init__(
        self, *, url: str, api_key: str, sender: str, callback_url: str, timeout: float
    ) -> None:
        self.url = url
        self.api_key = api_key
        self.sender = sender
        self.callback_url = callback_url
        self.timeout = timeout
        self.session: requests.Session | None = None  # kept alive across the batch
        self.checked = False

    def close(self) -> None:
        if self.session is not None:
            self.session.close()
            self.session = None

    def send(self, message: Outgoing) -> str:
        if not self.checked:  # again at send time (once per batch): DNS may have changed since
            try:
                check_gateway_url(self.url)
            except ValidationError as error:
                raise PermanentFailure(" ".join(error.messages)) from error
            self.checked = True
        if self.session is None:
            self.session = requests.Session()
        payload = {
            "to": message.recipient,
            "text": message.body,
            "sender": self.sender,
            "reference": message.idempotency_key,
            "callback_url": self.callback_url,
        }
        headers = {
            "Authorization": f"Bearer {self.api_key}",
            "Idempotency-Key": message.idempotency_key,
            "Accept": "application/json",
        }
        try:
            # No redirects: a POST must not turn into a GET, nor follow the key elsewhere.
            response = self.session.post(
                self.url,
                json=payload,
                headers=headers,
                timeout=self.timeout,
                allow_redirects=False,
            )
        except requests.RequestException as error:  # refused, timeout, TLS, a reset
            self.close()
            raise TemporaryFailure(f"SMS gateway unreachable: {type(error).__name__}") from error
        # Only the status goes to the error: the gateway's answer is not ours to show staff.
        if response.status_code in PERMANENT_STATUSES:
            raise PermanentFailure(f"SMS gateway refused the message: HTTP {response.status_code}")
        if not 200 <= response.status_code < 300:
            raise TemporaryFailure(f"SMS gateway answered HTTP {response.status_code}")
        return _provider_id(response) or message.idempotency_key


def _provider_id(response: requests.Response) -> str:
    """The gateway's id for the message from its JSON answer ("id"); empty when it gave none
    (the message was accepted all the same: receipts find it by its reference)."""
    try:
        answer: Any = response.json()
    except ValueError:
        return ""
    found = answer.get("id") if isinstance(answer, dict) else None
    return str(found) if isinstance(found, str | int) and not isinstance(found, bool) else ""


GATEWAYS: dict[str, type[DevelopmentOutbox] | type[SmtpEmail]] = {
    "outbox": DevelopmentOutbox,
    "smtp": SmtpEmail,
}


def receipt_url(organisation: Organisation) -> str:
    """Where an organisation's SMS gateway posts its delivery receipts."""
    path = reverse("notifications:sms-receipts", args=[organisation.slug])
    return f"{settings.SITE_URL}{path}"


def gateway_for(channel: str, organisation: Organisation | None = None) -> Gateway:
    """The gateway that sends `channel` for `organisation` (its own settings first, then the
    platform's)."""
    own = (
        MessagingSettings.objects.filter(organisation=organisation).first()
        if organisation is not None
        else None
    )
    if channel == "sms" and own is not None and own.sms_gateway_url and organisation:
        return SmsHttpGateway(
            url=own.sms_gateway_url,
            api_key=own.sms_api_key,
            sender=own.sms_sender,
            callback_url=receipt_url(organisation),
            timeout=settings.NOTIFICATIONS_SMS_TIMEOUT,
        )
    name = settings.NOTIFICATIONS_EMAIL if channel == "email" else settings.NOTIFICATIONS_SMS
    if channel == "email" and name == "smtp" and own is not None:
        return SmtpEmail(sender_name=own.sender_name, sender_email=own.sender_email)
    try:
        return GATEWAYS[name]()
    except KeyError as error:
        raise PermanentFailure(f"no {channel} gateway called {name!r}") from error
