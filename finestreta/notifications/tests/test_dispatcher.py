"""The dispatcher: due messages leave in batches over one SMTP session, urgent ones first; two
dispatchers at once never send one message twice; a relay that is down costs one attempt per
message, not one connection timeout each."""

from __future__ import annotations

import datetime as dt
import threading
from collections import Counter

import pytest
from aiosmtpd.controller import Controller
from django.db import connection, transaction

from finestreta.notifications.models import Message
from finestreta.notifications.services import deliver_due, queue_message
from tests.factories import OrganisationFactory
from tests.processes import free_port

NOW = dt.datetime(2026, 12, 1, 10, 0, tzinfo=dt.UTC)


class Relay:
    """Counts the SMTP sessions (by the client's port) that carried messages."""

    def __init__(self) -> None:
        self.sessions: Counter[tuple] = Counter()

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        self.sessions[session.peer] += 1
        return "250 OK"


@pytest.fixture
def relay(settings):  # type: ignore[no-untyped-def]
    relay = Relay()
    controller = Controller(relay, hostname="127.0.0.1", port=free_port())
    controller.start()
    settings.NOTIFICATIONS_EMAIL = "smtp"
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", controller.port
    settings.EMAIL_TIMEOUT = 5
    yield relay
    controller.stop()


def queue(organisation, n: int, **overrides) -> Message:  # type: ignore[no-untyped-def]
    values = {
        "organisation": organisation,
        "kind": "verification_code",
        "channel": "email",
        "recipient": f"persona{n}@example.org",
        "language": "ca",
        "context": {"code": f"{n:06d}"},
        "dedup_key": f"dispatch:{n}",
        "now": NOW,
    }
    values.update(overrides)
    with transaction.atomic():
        message = queue_message(**values)
    assert message is not None
    return message


def test_a_batch_of_e_mail_goes_over_one_smtp_session(db: None, relay: Relay) -> None:
    organisation = OrganisationFactory()
    for n in range(25):
        queue(organisation, n)
    assert deliver_due(now=NOW, limit=20) == 20
    assert deliver_due(now=NOW, limit=20) == 5
    assert deliver_due(now=NOW, limit=20) == 0
    assert sorted(relay.sessions.values()) == [5, 20]
    assert set(Message.objects.values_list("status", "attempts", "claim")) == {
        (Message.Status.DELIVERED, 1, "")
    }


def test_urgent_messages_leave_first_then_the_oldest(db: None) -> None:
    organisation = OrganisationFactory()
    old, _newer = queue(organisation, 1), queue(organisation, 2)
    code = queue(organisation, 3, urgent=True)
    assert deliver_due(now=NOW, limit=1) == 1
    assert Message.objects.get(status=Message.Status.DELIVERED) == code
    assert deliver_due(now=NOW, limit=1) == 1
    assert set(Message.objects.filter(status=Message.Status.DELIVERED)) == {code, old}


def test_a_relay_that_is_down_costs_each_message_of_the_batch_one_attempt(
    db: None, settings
) -> None:
    settings.NOTIFICATIONS_EMAIL = "smtp"
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", free_port()  # nobody listens
    settings.EMAIL_TIMEOUT = 2
    organisation = OrganisationFactory()
    for n in range(5):
        queue(organisation, n)
    assert deliver_due(now=NOW) == 5
    rows = Message.objects.values_list("status", "attempts", "send_after", "last_error")
    assert {row[:3] for row in rows} == {(Message.Status.QUEUED, 1, NOW + dt.timedelta(minutes=1))}
    assert len({row[3] for row in rows}) == 1 and rows[0][3]  # the relay's error, for each
    assert deliver_due(now=NOW) == 0  # not before the wait is over


def test_one_organisation_s_broken_gateway_does_not_hold_back_another_s_messages(
    db: None, relay: Relay
) -> None:
    from finestreta.notifications.models import MessagingSettings

    broken, fine = OrganisationFactory(), OrganisationFactory()
    MessagingSettings.objects.create(
        organisation=broken, sms_gateway_url=f"http://127.0.0.1:{free_port()}/sms"
    )
    for n in range(3):
        queue(broken, n, channel="sms", recipient="+34612345678", urgent=True)
        queue(fine, 10 + n)
    assert deliver_due(now=NOW) == 6
    assert set(Message.objects.filter(organisation=broken).values_list("status", flat=True)) == {
        Message.Status.QUEUED
    }
    assert set(Message.objects.filter(organisation=fine).values_list("status", flat=True)) == {
        Message.Status.DELIVERED
    }
    assert sum(relay.sessions.values()) == 3


@pytest.mark.django_db(transaction=True)
def test_two_dispatchers_at_once_send_every_message_exactly_once() -> None:
    organisation = OrganisationFactory()
    total = 120
    for n in range(total):
        queue(organisation, n)
    claimed: list[int] = []
    errors: list[BaseException] = []
    start = threading.Barrier(3)

    def dispatcher() -> None:
        try:
            start.wait()
            while (count := deliver_due(now=NOW, limit=7)) > 0:
                claimed.append(count)
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=dispatcher) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors
    assert sum(claimed) == total  # no message claimed twice
    assert set(Message.objects.values_list("status", "attempts")) == {(Message.Status.DELIVERED, 1)}
