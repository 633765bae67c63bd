"""SMS through an organisation's own HTTP gateway, and e-mail from its own sender: a real HTTP
server (the standard library's, in a thread: aiohttp is not installed here) and a real SMTP
server (aiosmtpd), started by the tests, record what they actually received."""

from __future__ import annotations

import datetime as dt
import email
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from aiosmtpd.controller import Controller
from django.db import transaction

from finestreta.notifications.gateways import SmsHttpGateway, gateway_for
from finestreta.notifications.models import Message, MessagingSettings
from finestreta.notifications.services import deliver, queue_message
from tests.personas import Personas
from tests.processes import free_port

NOW = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC)
SITE = "https://cita.example.cat"


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: dict


@dataclass
class Answer:
    status: int = 200
    body: bytes = b'{"id": "gw-1"}'
    delay: float = 0.0


@dataclass
class SmsGatewayServer:
    """A gateway on a free port: it records every request and gives the scripted answers in
    turn (then 200 with an id)."""

    url: str
    received: list[Received] = field(default_factory=list)
    answers: list[Answer] = field(default_factory=list)


def _handler(state: SmsGatewayServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's hook name
            length = int(self.headers.get("Content-Length", "0"))
            raw = self.rfile.read(length)
            state.received.append(
                Received(
                    self.path, {k.lower(): v for k, v in self.headers.items()}, json.loads(raw)
                )
            )
            answer = state.answers.pop(0) if state.answers else Answer()
            time.sleep(answer.delay)
            self.send_response(answer.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(answer.body)))
            self.end_headers()
            self.wfile.write(answer.body)

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            pass  # quiet test output

    return Handler


@pytest.fixture
def gateway() -> Iterator[SmsGatewayServer]:
    port = free_port()
    state = SmsGatewayServer(url=f"http://127.0.0.1:{port}/v1/messages")
    server = ThreadingHTTPServer(("127.0.0.1", port), _handler(state))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()


@pytest.fixture
def own_gateway(personas: Personas, gateway: SmsGatewayServer, settings) -> SmsGatewayServer:  # type: ignore[no-untyped-def]
    settings.SITE_URL = SITE
    settings.NOTIFICATIONS_SMS = "outbox"
    settings.NOTIFICATIONS_SMS_TIMEOUT = 2
    MessagingSettings.objects.create(
        organisation=personas.org_a,
        sms_gateway_url=gateway.url,
        sms_api_key="key-of-org-a",
        sms_receipt_secret="receipt-secret-a",
        sms_sender="AjuntamentA",
    )
    return gateway


def queue_sms(personas: Personas, organisation=None, dedup_key: str = "test:sms") -> Message:  # type: ignore[no-untyped-def]
    with transaction.atomic():
        message = queue_message(
            organisation=organisation or personas.org_a,
            kind="verification_code",
            channel="sms",
            recipient="+34612345678",
            language="ca",
            context={"code": "123456"},
            dedup_key=dedup_key,
            now=NOW,  # the clock of the test, not the run's: at night an SMS waits for morning
        )
    assert message is not None
    return message


def test_an_sms_reaches_the_organisations_gateway_as_the_documented_json(
    personas: Personas, own_gateway: SmsGatewayServer
) -> None:
    message = queue_sms(personas)

    assert deliver(message_id=message.pk, now=NOW) == Message.Status.DELIVERED

    [request] = own_gateway.received
    key = f"finestreta-{personas.org_a.pk}-{message.pk}"
    assert request.path == "/v1/messages"
    assert request.body == {
        "to": "+34612345678",
        "text": message.body,
        "sender": "AjuntamentA",
        "reference": key,
        "callback_url": f"{SITE}/hooks/sms/org-a/receipts/",
    }
    assert "123456" in request.body["text"]
    assert request.headers["authorization"] == "Bearer key-of-org-a"
    assert request.headers["idempotency-key"] == key
    assert request.headers["content-type"] == "application/json"
    message.refresh_from_db()
    assert message.provider_id == "gw-1"
    assert message.attempts == 1 and message.sent_at == NOW


def test_a_gateway_that_is_unavailable_means_a_retry_with_the_same_idempotency_key(
    personas: Personas, own_gateway: SmsGatewayServer
) -> None:
    own_gateway.answers.append(Answer(503, b'{"error": "maintenance"}'))
    message = queue_sms(personas)

    assert deliver(message_id=message.pk, now=NOW) == Message.Status.QUEUED
    message.refresh_from_db()
    assert message.attempts == 1
    assert "503" in message.last_error
    assert message.send_after == NOW + dt.timedelta(minutes=1)

    assert deliver(message_id=message.pk, now=message.send_after) == Message.Status.DELIVERED
    first, second = own_gateway.received
    assert first.headers["idempotency-key"] == second.headers["idempotency-key"]
    assert first.body == second.body


def test_an_invalid_number_fails_at_once_without_a_retry(
    personas: Personas, own_gateway: SmsGatewayServer
) -> None:
    own_gateway.answers.append(Answer(422, b'{"error": "invalid number"}'))
    message = queue_sms(personas)

    assert deliver(message_id=message.pk, now=NOW) == Message.Status.FAILED
    assert deliver(message_id=message.pk, now=NOW) == Message.Status.FAILED  # a rerun

    assert len(own_gateway.received) == 1
    message.refresh_from_db()
    assert message.attempts == 1
    assert message.last_error == "SMS gateway refused the message: HTTP 422"


@pytest.mark.parametrize("status", [401, 408, 429, 500, 502])
def test_other_refusals_are_tried_again_later(
    personas: Personas, own_gateway: SmsGatewayServer, status: int
) -> None:
    own_gateway.answers.append(Answer(status, b""))
    message = queue_sms(personas)

    assert deliver(message_id=message.pk, now=NOW) == Message.Status.QUEUED


def test_a_gateway_that_does_not_answer_in_time_means_a_retry(
    personas: Personas, own_gateway: SmsGatewayServer, settings
) -> None:  # type: ignore[no-untyped-def]
    settings.NOTIFICATIONS_SMS_TIMEOUT = 0.3
    own_gateway.answers.append(Answer(delay=1.0))
    message = queue_sms(personas)

    assert deliver(message_id=message.pk, now=NOW) == Message.Status.QUEUED
    message.refresh_from_db()
    assert message.last_error == "SMS gateway unreachable: ReadTimeout"


def test_a_gateway_nobody_listens_on_means_a_retry(personas: Personas, settings) -> None:  # type: ignore[no-untyped-def]
    MessagingSettings.objects.create(
        organisation=personas.org_a, sms_gateway_url=f"http://127.0.0.1:{free_port()}/sms"
    )
    message = queue_sms(personas)

    assert deliver(message_id=message.pk, now=NOW) == Message.Status.QUEUED
    message.refresh_from_db()
    assert message.last_error == "SMS gateway unreachable: ConnectionError"


def test_an_accepted_sms_without_an_id_in_the_answer_is_sent_all_the_same(
    personas: Personas, own_gateway: SmsGatewayServer
) -> None:
    own_gateway.answers.append(Answer(202, b"accepted"))
    message = queue_sms(personas)

    assert deliver(message_id=message.pk, now=NOW) == Message.Status.DELIVERED
    message.refresh_from_db()
    assert message.provider_id == f"finestreta-{personas.org_a.pk}-{message.pk}"


def test_an_organisation_without_its_own_gateway_uses_the_platform_default(
    personas: Personas, own_gateway: SmsGatewayServer
) -> None:
    message = queue_sms(personas, organisation=personas.org_b)

    assert deliver(message_id=message.pk, now=NOW) == Message.Status.DELIVERED

    assert own_gateway.received == []
    message.refresh_from_db()
    assert message.provider_id.startswith("outbox:")
    assert isinstance(gateway_for("sms", personas.org_a), SmsHttpGateway)
    assert not isinstance(gateway_for("sms", personas.org_b), SmsHttpGateway)


class Inbox:
    def __init__(self) -> None:
        self.received: list[email.message.EmailMessage] = []

    async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]  # noqa: N802
        self.received.append(email.message_from_bytes(envelope.content, policy=policy.default))
        return "250 OK"


@pytest.fixture
def smtp(settings) -> Iterator[Inbox]:  # type: ignore[no-untyped-def]
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    settings.NOTIFICATIONS_EMAIL = "smtp"
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
    settings.EMAIL_TIMEOUT = 5
    settings.DEFAULT_FROM_EMAIL = "Finestreta <no-reply@finestreta.example>"
    yield inbox
    controller.stop()


def queue_email(personas: Personas, organisation, dedup_key: str) -> Message:  # type: ignore[no-untyped-def]
    with transaction.atomic():
        message = queue_message(
            organisation=organisation,
            kind="verification_code",
            channel="email",
            recipient="nuria@example.org",
            language="ca",
            context={"code": "123456"},
            dedup_key=dedup_key,
            now=NOW,  # the clock of the test, not the run's: at night an SMS waits for morning
        )
    assert message is not None
    return message


def test_an_email_leaves_from_the_organisations_own_sender_when_it_has_one(
    personas: Personas, smtp: Inbox
) -> None:
    MessagingSettings.objects.create(
        organisation=personas.org_a,
        sender_name="Oficina d'Atenció Ciutadana",
        sender_email="cita@org-a.example.cat",
    )
    own = queue_email(personas, personas.org_a, "test:own")
    default = queue_email(personas, personas.org_b, "test:default")

    deliver(message_id=own.pk, now=NOW)
    deliver(message_id=default.pk, now=NOW)

    senders = [
        (address.display_name, address.addr_spec)
        for received in smtp.received
        for address in received["From"].addresses
    ]
    assert senders == [
        ("Oficina d'Atenció Ciutadana", "cita@org-a.example.cat"),
        (personas.org_b.name, "no-reply@finestreta.example"),
    ]
