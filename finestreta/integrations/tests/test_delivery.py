"""Signed delivery to a real receiver started by the test, with retries and backoff, the end of
the schedule, 410 and other refusals, replay, and the refusal of private addresses."""

from __future__ import annotations

import datetime as dt
import json
import random

import pytest
import requests
from django.db import transaction

from finestreta.integrations import safety, services
from finestreta.integrations.models import Attempt, Delivery, Event, Subscription
from finestreta.integrations.tests.conftest import subscribe
from finestreta.integrations.tests.receiver import Answer, Receiver, verify
from tests.personas import Personas

NOW = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC)
MINUTE = dt.timedelta(minutes=1)
Status = Delivery.Status


def ping_event(subscription: Subscription, *, now: dt.datetime = NOW) -> Delivery:
    """An event queued for `subscription` in a committed-like transaction of its own."""
    with transaction.atomic():
        event = services.emit(
            organisation=subscription.organisation,
            event_type="data.deleted",
            data={"kind": "appointment", "ids": ["ABC123"]},
            now=now,
        )
    assert event is not None
    return event.deliveries.get(subscription=subscription)


def test_a_delivery_reaches_the_receiver_signed_with_the_subscription_s_secret(
    subscription: Subscription, receiver: Receiver
) -> None:
    delivery = ping_event(subscription)

    assert services.deliver(delivery_id=delivery.pk, now=NOW) == Status.DELIVERED

    [request] = receiver.received
    event = delivery.event
    assert request.path == "/hooks/finestreta"
    assert request.headers["content-type"] == "application/json"
    assert request.headers["finestreta-event-id"] == str(event.uid)
    assert request.headers["finestreta-event-type"] == "data.deleted"
    assert request.headers["finestreta-timestamp"] == str(int(NOW.timestamp()))
    assert request.json == event.payload
    assert request.json["id"] == str(event.uid) and request.json["version"] == 1
    # The receiver's own check, as documented: it passes with the secret only.
    clock = NOW.timestamp()
    assert verify(subscription.secret, request.headers, request.body, now=clock)
    assert not verify(services.new_secret(), request.headers, request.body, now=clock)
    assert not verify(subscription.secret, request.headers, request.body + b" ", now=clock)
    # Too old for the replay window: refused even with the right secret.
    assert not verify(subscription.secret, request.headers, request.body, now=clock + 301)
    [attempt] = Attempt.objects.filter(delivery=delivery)
    assert (attempt.status_code, attempt.error, attempt.response_excerpt) == (200, "", "ok")
    assert NOW <= attempt.started_at < NOW + dt.timedelta(seconds=1)  # the batch's clock
    delivery.refresh_from_db()
    assert (delivery.attempts, delivery.delivered_at, delivery.claim) == (1, attempt.started_at, "")


def test_after_a_500_it_is_retried_after_its_backoff_and_then_delivered(
    subscription: Subscription, receiver: Receiver
) -> None:
    receiver.answers = [Answer(500, b"database is down")]
    delivery = ping_event(subscription)

    assert services.deliver(delivery_id=delivery.pk, now=NOW) == Status.QUEUED
    delivery.refresh_from_db()
    assert (delivery.attempts, delivery.last_status_code, delivery.last_error) == (
        1,
        500,
        "HTTP 500",
    )
    # A minute, give or take the jitter.
    assert NOW + 0.8 * MINUTE <= delivery.due_at <= NOW + 1.2 * MINUTE
    assert services.deliver_due(now=NOW + 0.75 * MINUTE) == 0  # not due yet
    assert services.deliver_due(now=delivery.due_at) == 1

    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (Status.DELIVERED, 2)
    assert receiver.event_ids() == [str(delivery.event.uid)] * 2
    attempts = list(Attempt.objects.filter(delivery=delivery))
    assert [a.status_code for a in attempts] == [500, 200]
    assert attempts[0].response_excerpt == "database is down"


def test_a_receiver_that_is_down_is_retried_until_it_is_back(
    subscription: Subscription, receiver: Receiver
) -> None:
    receiver.stop()
    delivery = ping_event(subscription)

    assert services.deliver(delivery_id=delivery.pk, now=NOW) == Status.QUEUED
    delivery.refresh_from_db()
    assert delivery.last_error == "No answer: ConnectionError"
    [attempt] = Attempt.objects.filter(delivery=delivery)
    assert attempt.status_code is None and attempt.error == "No answer: ConnectionError"
    first_wait = delivery.due_at - NOW

    assert services.deliver_due(now=delivery.due_at) == 1  # still down: waits twice as long
    delivery.refresh_from_db()
    second_wait = delivery.due_at - (NOW + first_wait)
    assert 1.6 * MINUTE <= second_wait <= 2.4 * MINUTE
    receiver.start()  # back, on the same address
    assert services.deliver_due(now=delivery.due_at) == 1

    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (Status.DELIVERED, 3)
    assert receiver.event_ids() == [str(delivery.event.uid)]


def test_a_timeout_counts_as_a_failed_attempt(
    subscription: Subscription, receiver: Receiver, settings
) -> None:  # type: ignore[no-untyped-def]
    settings.WEBHOOKS_TIMEOUT_SECONDS = 0.3
    receiver.answers = [Answer(200, delay=1.0)]
    delivery = ping_event(subscription)

    assert services.deliver(delivery_id=delivery.pk, now=NOW) == Status.QUEUED
    [attempt] = Attempt.objects.filter(delivery=delivery)
    assert attempt.error == "No answer: ReadTimeout"
    assert 250 <= attempt.duration_ms < 1000


def test_410_gone_stops_retrying_that_delivery_and_nothing_else(
    subscription: Subscription, receiver: Receiver
) -> None:
    receiver.answers = [Answer(410, b"unknown hook")]
    gone = ping_event(subscription)

    assert services.deliver(delivery_id=gone.pk, now=NOW) == Status.FAILED
    gone.refresh_from_db()
    assert (gone.attempts, gone.last_status_code) == (1, 410)
    assert "410" in gone.last_error
    subscription.refresh_from_db()
    assert subscription.is_active  # nothing is switched off by itself
    later = ping_event(subscription)
    assert services.deliver(delivery_id=later.pk, now=NOW) == Status.DELIVERED


def test_other_client_errors_are_retried_a_few_times_only(
    subscription: Subscription, receiver: Receiver
) -> None:
    receiver.default = Answer(400, b"bad request")
    refused = ping_event(subscription)
    moment = NOW
    for attempt in range(1, services.MAX_CLIENT_ERROR_ATTEMPTS):
        assert services.deliver(delivery_id=refused.pk, now=moment) == Status.QUEUED
        refused.refresh_from_db()
        assert refused.attempts == attempt
        moment = refused.due_at
    assert services.deliver(delivery_id=refused.pk, now=moment) == Status.FAILED
    assert len(receiver.received) == services.MAX_CLIENT_ERROR_ATTEMPTS

    # "Too many requests" is not the event's fault: retried like a server error.
    receiver.default = Answer(429)
    throttled = ping_event(subscription, now=moment)
    for _ in range(services.MAX_CLIENT_ERROR_ATTEMPTS + 1):
        assert services.deliver(delivery_id=throttled.pk, now=moment) == Status.QUEUED
        throttled.refresh_from_db()
        moment = throttled.due_at


def test_a_delivery_fails_after_about_a_day_of_attempts(
    subscription: Subscription, receiver: Receiver
) -> None:
    receiver.default = Answer(503)
    delivery = ping_event(subscription)
    moment = NOW
    while services.deliver(delivery_id=delivery.pk, now=moment) == Status.QUEUED:
        delivery.refresh_from_db()
        assert delivery.due_at > moment
        moment = delivery.due_at

    delivery.refresh_from_db()
    assert delivery.status == Status.FAILED
    assert delivery.attempts == services.RETRIES + 1 == len(receiver.received)
    assert dt.timedelta(hours=20) < moment - NOW < dt.timedelta(hours=33)
    assert delivery.last_error == "HTTP 503"


def test_the_waits_double_from_a_minute_up_to_six_hours_with_jitter() -> None:
    waits = services.retry_waits()
    assert waits[:4] == [MINUTE, 2 * MINUTE, 4 * MINUTE, 8 * MINUTE]
    assert waits[-1] == dt.timedelta(hours=6)
    assert dt.timedelta(hours=26) < sum(waits, dt.timedelta()) < dt.timedelta(hours=27)
    rng = random.Random(3)
    drawn = {services.next_wait(1, rng=rng) for _ in range(50)}
    assert len(drawn) > 40  # spread out …
    assert all(0.8 * MINUTE <= wait <= 1.2 * MINUTE for wait in drawn)  # … within ±20 %


def test_replay_sends_the_same_event_id_and_body_again(
    personas: Personas, subscription: Subscription, receiver: Receiver
) -> None:
    from finestreta.accounts.services import StaffContext

    delivery = ping_event(subscription)
    services.deliver(delivery_id=delivery.pk, now=NOW)
    staff = StaffContext(
        user=personas.admin_a,
        organisation=personas.org_a,
        membership=personas.membership(personas.admin_a),
    )

    fresh = services.replay(staff=staff, delivery=delivery, now=NOW + MINUTE)
    assert services.deliver(delivery_id=fresh.pk, now=NOW + MINUTE) == Status.DELIVERED

    first, second = receiver.received
    assert first.event_id == second.event_id == str(delivery.event.uid)
    assert first.body == second.body
    assert int(second.headers["finestreta-timestamp"]) == int((NOW + MINUTE).timestamp())
    assert verify(subscription.secret, second.headers, second.body, now=(NOW + MINUTE).timestamp())
    assert fresh.replay_of_id == delivery.pk and Event.objects.count() == 1


def test_a_delivery_claimed_by_a_worker_that_died_is_sent_again_after_the_claim_timeout(
    subscription: Subscription, receiver: Receiver, settings
) -> None:  # type: ignore[no-untyped-def]
    from finestreta.integrations.delivery import _claim, _due

    delivery = ping_event(subscription)
    # A worker claims it, and dies before it records anything.
    [claimed] = _claim(_due(NOW), now=NOW)
    assert claimed.pk == delivery.pk
    assert services.deliver_due(now=NOW) == 0  # "sending": nobody else touches it
    timeout = dt.timedelta(seconds=settings.WEBHOOKS_CLAIM_TIMEOUT_SECONDS)
    assert services.requeue_stale(now=NOW + timeout - MINUTE) == 0
    assert services.requeue_stale(now=NOW + timeout + MINUTE) == 1

    assert services.deliver_due(now=NOW + timeout + MINUTE) == 1
    delivery.refresh_from_db()
    assert delivery.status == Status.DELIVERED
    # The dead worker's late word changes nothing: its claim is gone.
    from finestreta.integrations.delivery import _record

    _record(claimed, status=Status.FAILED)
    delivery.refresh_from_db()
    assert delivery.status == Status.DELIVERED
    assert receiver.event_ids() == [str(delivery.event.uid)]


def test_a_switched_off_subscription_is_not_sent_what_was_queued(
    subscription: Subscription, receiver: Receiver
) -> None:
    delivery = ping_event(subscription)
    Subscription.objects.filter(pk=subscription.pk).update(is_active=False)

    assert services.deliver(delivery_id=delivery.pk, now=NOW) == Status.FAILED
    assert receiver.received == []


# --- Addresses -------------------------------------------------------------------------------


def test_private_addresses_are_refused_at_delivery_when_not_allowed(
    personas: Personas, receiver: Receiver, settings
) -> None:  # type: ignore[no-untyped-def]
    settings.WEBHOOKS_ALLOW_PRIVATE_TARGETS = False
    # Written before the setting changed (or by hand): the delivery checks again.
    for url in (receiver.url, f"https://127.0.0.1:{receiver.port}/", "https://10.1.2.3/hook"):
        subscription = subscribe(personas.org_a, url)
        delivery = ping_event(subscription)
        assert services.deliver(delivery_id=delivery.pk, now=NOW) == Status.FAILED
        delivery.refresh_from_db()
        assert delivery.attempts == 1 and delivery.last_error, url
    assert receiver.received == []


def test_the_connection_itself_is_refused_on_a_non_public_address(
    receiver: Receiver, settings
) -> None:  # type: ignore[no-untyped-def]
    """What a host name that resolves to a public address when checked and to a private one
    when connecting (DNS rebinding) meets: the check is on the connected socket's address."""
    settings.WEBHOOKS_ALLOW_PRIVATE_TARGETS = False
    with safety.guarded_session() as session, pytest.raises(requests.ConnectionError) as error:
        session.post(receiver.url, data=b"{}", timeout=2)
    assert safety.refused(error.value)
    assert receiver.received == []
    settings.WEBHOOKS_ALLOW_PRIVATE_TARGETS = True
    with safety.guarded_session() as session:
        assert session.post(receiver.url, data=b"{}", timeout=2).status_code == 200


@pytest.mark.parametrize(
    ("url", "code"),
    [
        ("http://example.org/hook", "https"),
        ("ftp://example.org/hook", "https"),
        ("https://user:secret@example.org/hook", "credentials"),
        ("https://token@example.org/hook", "credentials"),
        ("https://127.0.0.1/hook", "private"),
        ("https://localhost:8443/hook", "private"),
        ("https://10.0.0.7/hook", "private"),
        ("https://169.254.169.254/latest/meta-data/", "private"),
        ("https://[::1]/hook", "private"),
        ("https://[::ffff:192.168.1.1]/hook", "private"),
        ("https://example.org:99999/hook", "invalid"),
    ],
)
def test_receiver_addresses_must_be_https_without_credentials_on_the_internet(
    url: str, code: str, settings
) -> None:  # type: ignore[no-untyped-def]
    from django.core.exceptions import ValidationError

    settings.WEBHOOKS_ALLOW_PRIVATE_TARGETS = False
    with pytest.raises(ValidationError) as refused:
        safety.check_url(url)
    assert refused.value.code == code
    safety.check_url("https://cases.example.org/hooks/finestreta")  # fine


def test_http_is_allowed_on_loopback_only_and_only_when_the_settings_say_so(settings) -> None:  # type: ignore[no-untyped-def]
    from django.core.exceptions import ValidationError

    settings.WEBHOOKS_ALLOW_PRIVATE_TARGETS = True
    safety.check_url("http://127.0.0.1:8025/hook")
    safety.check_url("http://localhost:8025/hook")
    safety.check_url("https://10.0.0.7/hook")
    with pytest.raises(ValidationError):
        safety.check_url("http://example.org/hook")
    with pytest.raises(ValidationError):
        safety.check_url("http://user:pw@127.0.0.1/hook")


def test_the_body_is_the_stored_payload_as_compact_json(subscription: Subscription) -> None:
    delivery = ping_event(subscription)
    body = services.body_of(delivery.event.payload)
    assert json.loads(body) == delivery.event.payload
    assert b" " not in body
