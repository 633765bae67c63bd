"""Delivery from the outbox: a real SMTP server (aiosmtpd) receives the e-mail with its calendar
file; a relay that is down means a retry later, never a lost or doubled message."""

from __future__ import annotations

import datetime as dt
import email
from email import policy

import pytest
from aiosmtpd.controller import Controller
from django.db import transaction

from finestreta.notifications.models import Message
from finestreta.notifications.services import Attachment, deliver, queue_message, requeue_stale
from tests.processes import free_port

NOW = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC)


class Inbox:
    def __init__(self) -> None:
        self.received: list[email.message.EmailMessage] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        self.received.append(email.message_from_bytes(envelope.content, policy=policy.default))
        return "250 OK"


@pytest.fixture
def smtp(settings):  # type: ignore[no-untyped-def]
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    settings.NOTIFICATIONS_EMAIL = "smtp"
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
    settings.EMAIL_TIMEOUT = 5
    yield inbox
    controller.stop()


def queue(personas, **overrides):  # type: ignore[no-untyped-def]
    values = {
        "organisation": personas.org_a,
        "kind": "verification_code",
        "channel": "email",
        "recipient": "nuria@example.org",
        "language": "ca",
        "context": {"code": "123456"},
        "dedup_key": "test:1",
    }
    values.update(overrides)
    with transaction.atomic():
        return queue_message(**values)


def test_a_message_reaches_a_real_smtp_server_once_with_its_attachment(personas, smtp) -> None:
    message = queue(
        personas,
        attachment=Attachment("appointment.ics", "text/calendar", b"BEGIN:VCALENDAR\r\n"),
    )
    assert deliver(message_id=message.pk, now=NOW) == Message.Status.DELIVERED
    assert deliver(message_id=message.pk, now=NOW) == Message.Status.DELIVERED  # a rerun
    assert len(smtp.received) == 1
    received = smtp.received[0]
    assert received["To"] == "nuria@example.org"
    assert personas.org_a.name in received["From"]
    assert received["Auto-Submitted"] == "auto-generated"
    assert "123456" in received.get_body(("plain",)).get_content()
    assert received.get_body(("html",)) is not None
    names = [part.get_filename() for part in received.iter_attachments()]
    assert names == ["appointment.ics"]


def test_the_same_event_queues_one_message_only(personas) -> None:
    assert queue(personas) is not None
    assert queue(personas) is None
    assert Message.objects.count() == 1


def test_a_relay_that_is_down_means_a_retry_later_and_in_the_end_a_failure(
    personas, settings
) -> None:
    settings.NOTIFICATIONS_EMAIL = "smtp"
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", free_port()  # nobody listens
    settings.EMAIL_TIMEOUT = 2
    message = queue(personas)
    assert deliver(message_id=message.pk, now=NOW) == Message.Status.QUEUED
    message.refresh_from_db()
    assert message.attempts == 1 and message.last_error
    for _ in range(8):
        message.refresh_from_db()
        assert message.send_after > NOW  # waits before the next attempt: not sent before it
        assert deliver(message_id=message.pk, now=NOW) == Message.Status.QUEUED
        deliver(message_id=message.pk, now=message.send_after)
    message.refresh_from_db()
    assert message.status == Message.Status.FAILED and message.attempts == 9
    assert message.last_error  # the technical failure says why


def test_a_message_whose_worker_died_mid_send_goes_back_in_the_queue(personas) -> None:
    message = queue(personas)
    Message.objects.filter(pk=message.pk).update(
        status=Message.Status.SENDING, claimed_at=NOW - dt.timedelta(minutes=30)
    )
    assert requeue_stale(now=NOW) == 1
    assert deliver(message_id=message.pk, now=NOW) == Message.Status.DELIVERED


def test_sms_text_is_one_line_with_the_organisation_name(personas) -> None:
    message = queue(personas, channel="sms", recipient="+34612345678", dedup_key="test:sms")
    assert "\n" not in message.body
    assert message.body.startswith(personas.org_a.name)
    assert "123456" in message.body


def test_the_development_outbox_page_shows_messages_only_with_debug(
    personas, client, settings
) -> None:
    queue(personas)
    settings.DEBUG = False
    assert client.get("/dev/outbox/").status_code == 404
    settings.DEBUG = True
    response = client.get("/dev/outbox/")
    assert response.status_code == 200
    assert "nuria@example.org" in response.content.decode()
