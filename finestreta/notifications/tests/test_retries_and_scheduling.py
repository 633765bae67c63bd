"""When a message leaves: retries doubling for about four hours against a real (closed or
refusing) SMTP port, quiet hours for SMS, and dispatchers that look too early."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from aiosmtpd.controller import Controller
from django.db import transaction

from finestreta.notifications.models import Message, MessagingSettings
from finestreta.notifications.services import RETRY_DELAYS, deliver, deliver_due, queue_message
from tests.processes import free_port

MADRID = ZoneInfo("Europe/Madrid")
NOON = dt.datetime(2026, 12, 1, 12, 0, tzinfo=MADRID)


def queue(personas, **overrides):  # type: ignore[no-untyped-def]
    values = {
        "organisation": personas.org_a,
        "kind": "verification_code",
        "channel": "sms",
        "recipient": "+34612345678",
        "language": "ca",
        "context": {"code": "123456"},
        "dedup_key": "test:1",
        "now": NOON,
    }
    values.update(overrides)
    with transaction.atomic():
        return queue_message(**values)


def test_the_waits_double_from_one_minute_for_about_four_hours() -> None:
    assert [d.total_seconds() / 60 for d in RETRY_DELAYS] == [1, 2, 4, 8, 16, 32, 64, 128]
    assert dt.timedelta(hours=4) <= sum(RETRY_DELAYS, dt.timedelta()) <= dt.timedelta(hours=5)


def test_each_retry_waits_its_turn_and_the_last_failure_is_technical(personas, settings) -> None:
    settings.NOTIFICATIONS_EMAIL = "smtp"
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", free_port()  # nobody listens
    settings.EMAIL_TIMEOUT = 2
    message = queue(personas, channel="email", recipient="nuria@example.org")
    now = NOON
    for delay in RETRY_DELAYS:
        assert deliver(message_id=message.pk, now=now) == Message.Status.QUEUED
        message.refresh_from_db()
        assert message.send_after == now + delay
        assert deliver_due(now=now + delay - dt.timedelta(seconds=1)) == 0  # not yet
        now += delay
    assert deliver(message_id=message.pk, now=now) == Message.Status.FAILED
    assert deliver_due(now=now + dt.timedelta(days=1)) == 0  # nothing more is tried
    message.refresh_from_db()
    assert message.attempts == len(RETRY_DELAYS) + 1
    assert "Connection refused" in message.last_error or message.last_error


class Refusing:
    async def handle_RCPT(self, server, session, envelope, address, options):  # noqa: N802
        return "550 No such mailbox"


def test_a_permanent_failure_is_not_retried(
    personas, settings, django_capture_on_commit_callbacks
) -> None:
    port = free_port()
    controller = Controller(Refusing(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        settings.NOTIFICATIONS_EMAIL = "smtp"
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
        settings.EMAIL_TIMEOUT = 5
        message = queue(personas, channel="email", recipient="nobody@example.org")
        with django_capture_on_commit_callbacks(execute=True) as callbacks:
            assert deliver(message_id=message.pk, now=NOON) == Message.Status.FAILED
        assert not callbacks
        message.refresh_from_db()
        assert message.attempts == 1 and "550" in message.last_error
    finally:
        controller.stop()


# --- Quiet hours ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("local", "expected"),
    [
        (
            dt.datetime(2026, 12, 1, 23, 30, tzinfo=MADRID),
            dt.datetime(2026, 12, 2, 9, 0, tzinfo=MADRID),
        ),  # before midnight
        (
            dt.datetime(2026, 12, 2, 3, 0, tzinfo=MADRID),
            dt.datetime(2026, 12, 2, 9, 0, tzinfo=MADRID),
        ),  # after midnight
        (
            dt.datetime(2026, 12, 1, 21, 0, tzinfo=MADRID),
            dt.datetime(2026, 12, 2, 9, 0, tzinfo=MADRID),
        ),  # from included
    ],
)
def test_an_sms_at_night_waits_for_the_morning_across_midnight(personas, local, expected) -> None:
    message = queue(
        personas,
        kind="booking_confirmed",
        now=local,
        **_appointment(personas),
    )
    assert message.send_after == expected


def _appointment(personas) -> dict:  # type: ignore[no-untyped-def]
    from finestreta.accounts.models import Membership
    from tests.factories import AppointmentFactory

    appointment = AppointmentFactory(
        agent=Membership.objects.get(user=personas.agent_a),
        service=personas.service_a,
        starts_at=dt.datetime(2026, 12, 10, 9, 0, tzinfo=dt.UTC),
    )
    return {"context": {"appointment": appointment, "manage_url": "https://x.example/m"}}


def test_an_sms_in_the_day_and_at_nine_sharp_goes_at_once(personas) -> None:
    assert queue(personas, dedup_key="a").send_after is None
    nine = dt.datetime(2026, 12, 2, 9, 0, tzinfo=MADRID)
    assert queue(personas, dedup_key="b", now=nine).send_after is None


def test_an_urgent_sms_and_an_email_are_never_held(personas) -> None:
    night = dt.datetime(2026, 12, 2, 2, 0, tzinfo=MADRID)
    assert queue(personas, urgent=True, now=night).send_after is None
    email = queue(
        personas, channel="email", recipient="nuria@example.org", dedup_key="e", now=night
    )
    assert email.send_after is None


def test_an_organisation_s_own_quiet_hours_apply_and_may_cross_midnight(personas) -> None:
    MessagingSettings.objects.create(
        organisation=personas.org_a, quiet_from=dt.time(22), quiet_until=dt.time(7)
    )
    half_past_nine = dt.datetime(2026, 12, 1, 21, 30, tzinfo=MADRID)
    assert queue(personas, dedup_key="a", now=half_past_nine).send_after is None
    six = dt.datetime(2026, 12, 2, 6, 0, tzinfo=MADRID)
    assert queue(personas, dedup_key="b", now=six).send_after == six.replace(hour=7)


def test_an_organisation_without_settings_keeps_the_default_night(personas) -> None:
    assert not MessagingSettings.objects.filter(organisation=personas.org_a).exists()
    late = dt.datetime(2026, 12, 1, 20, 59, tzinfo=MADRID)
    assert queue(personas, dedup_key="a", now=late).send_after is None
    later = dt.datetime(2026, 12, 1, 21, 1, tzinfo=MADRID)
    assert queue(personas, dedup_key="b", now=later).send_after == dt.datetime(
        2026, 12, 2, 9, 0, tzinfo=MADRID
    )


def test_an_sms_held_for_the_morning_is_not_sent_at_night_and_leaves_in_the_morning(
    personas,
) -> None:
    night = dt.datetime(2026, 12, 1, 23, 0, tzinfo=MADRID)
    morning = dt.datetime(2026, 12, 2, 9, 0, tzinfo=MADRID)
    message = queue(personas, now=night)
    assert message.send_after == morning
    assert deliver_due(now=night) == 0
    assert deliver(message_id=message.pk, now=night) == Message.Status.QUEUED
    message.refresh_from_db()
    assert message.attempts == 0 and message.status == Message.Status.QUEUED
    assert deliver_due(now=morning) == 1
    message.refresh_from_db()
    assert message.status == Message.Status.DELIVERED and message.sent_at == morning
