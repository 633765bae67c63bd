"""The development receiver (`integrations.dev_receiver`): the demo's working webhook. It is
posted to over real HTTP by the platform's own delivery code in the end-to-end tests (the
receiver runs in pytest-django's live server)."""

from __future__ import annotations

import html
import json
import time

import pytest
from django.test import Client
from django.utils import timezone
from pytest_django.fixtures import Settings
from pytest_django.live_server_helper import LiveServer

from finestreta.accounts.services import StaffContext
from finestreta.integrations import dev_receiver, services
from finestreta.integrations.delivery import body_of, signature
from finestreta.integrations.models import Delivery, ReceivedRequest, Subscription
from finestreta.integrations.tests.conftest import subscribe
from finestreta.lib.demo_data import load_webhooks
from tests.factories import AppointmentFactory
from tests.personas import Personas

Verdict = ReceivedRequest.Verdict


@pytest.fixture
def debug(settings: Settings) -> Settings:
    settings.DEBUG = True
    return settings


@pytest.fixture
def demo_subscription(personas: Personas, debug: Settings) -> Subscription:
    return subscribe(personas.org_a, dev_receiver.demo_url("http://testserver", personas.org_a))


def post(
    client: Client,
    subscription: Subscription,
    *,
    secret: str | None = None,
    timestamp: int | None = None,
    event_id: str = "5d0c8a8e-0b8c-4b76-9a53-2e8f5f0c7f0e",
    path: str | None = None,
):  # type: ignore[no-untyped-def]
    body = body_of({"id": event_id, "type": "ping", "data": {"subscription": subscription.pk}})
    sent_at = int(time.time()) if timestamp is None else timestamp
    return client.post(
        path or f"/dev/webhooks/{subscription.organisation.slug}/",
        data=body,
        content_type="application/json",
        headers={
            "Finestreta-Event-Id": event_id,
            "Finestreta-Event-Type": "ping",
            "Finestreta-Timestamp": str(sent_at),
            "Finestreta-Signature": signature(secret or subscription.secret, sent_at, body),
        },
    )


def test_a_request_signed_with_the_subscriptions_secret_is_accepted_and_kept(
    client: Client, demo_subscription: Subscription
) -> None:
    answer = post(client, demo_subscription)

    assert answer.status_code == 200
    assert answer.json() == {"received": True, "duplicate": False}
    received = ReceivedRequest.objects.get()
    assert received.verdict == Verdict.ACCEPTED
    assert received.subscription == demo_subscription
    assert received.organisation == demo_subscription.organisation
    assert received.event_type == "ping"
    assert json.loads(received.body)["data"] == {"subscription": demo_subscription.pk}
    assert received.headers["finestreta-signature"].startswith("v1=")


def test_a_wrong_signature_is_refused_so_that_the_platform_tries_again(
    client: Client, demo_subscription: Subscription
) -> None:
    answer = post(client, demo_subscription, secret=services.new_secret())

    assert answer.status_code == 401
    assert answer.json() == {"error": "bad_signature"}
    assert ReceivedRequest.objects.get().verdict == Verdict.BAD_SIGNATURE


def test_a_request_sent_more_than_five_minutes_ago_is_refused_as_a_replay(
    client: Client, demo_subscription: Subscription
) -> None:
    answer = post(client, demo_subscription, timestamp=int(time.time()) - 301)

    assert answer.status_code == 401
    assert ReceivedRequest.objects.get().verdict == Verdict.STALE


def test_a_second_copy_of_an_event_is_answered_200_and_dropped(
    client: Client, demo_subscription: Subscription
) -> None:
    post(client, demo_subscription)
    answer = post(client, demo_subscription)

    assert answer.status_code == 200
    assert answer.json()["duplicate"] is True
    verdicts = list(ReceivedRequest.objects.order_by("pk").values_list("verdict", flat=True))
    assert verdicts == [Verdict.ACCEPTED, Verdict.DUPLICATE]


def test_an_address_no_subscription_sends_to_is_not_found(
    client: Client, demo_subscription: Subscription, personas: Personas
) -> None:
    # Organisation B has no subscription here, although A's secret signs the request.
    answer = post(client, demo_subscription, path=f"/dev/webhooks/{personas.org_b.slug}/")

    assert answer.status_code == 404
    received = ReceivedRequest.objects.get()
    assert received.verdict == Verdict.NO_SUBSCRIPTION
    assert received.subscription is None


def test_only_the_latest_requests_are_kept(
    client: Client, demo_subscription: Subscription, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(dev_receiver, "KEPT", 3)
    for n in range(5):
        post(client, demo_subscription, event_id=f"event-{n}")

    kept = ReceivedRequest.objects.order_by("pk").values_list("event_id", flat=True)
    assert list(kept) == ["event-2", "event-3", "event-4"]


def test_an_oversized_body_is_refused_unread(
    client: Client, demo_subscription: Subscription
) -> None:
    answer = client.post(
        f"/dev/webhooks/{demo_subscription.organisation.slug}/",
        data=b"x" * (dev_receiver.MAX_BODY_BYTES + 1),
        content_type="application/json",
    )

    assert answer.status_code == 413
    assert not ReceivedRequest.objects.exists()


def test_the_page_lists_what_arrived_with_its_verdict_and_the_body_indented(
    client: Client, demo_subscription: Subscription
) -> None:
    post(client, demo_subscription)
    post(client, demo_subscription, secret=services.new_secret(), event_id="forged")

    page = client.get("/dev/webhooks/", headers={"accept-language": "en"})

    assert page.status_code == 200
    text = html.unescape(page.content.decode())
    assert "Signature right: accepted" in text
    assert "Refused: the signature does not match the secret" in text
    assert f'"subscription": {demo_subscription.pk}' in text
    assert text.index("forged") < text.index("5d0c8a8e")  # latest first


def test_with_debug_off_neither_the_receiver_nor_its_page_exist(
    client: Client, demo_subscription: Subscription, settings: Settings
) -> None:
    settings.DEBUG = False

    assert post(client, demo_subscription).status_code == 404
    assert client.get("/dev/webhooks/").status_code == 404
    assert not ReceivedRequest.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_the_demos_webhook_reaches_the_receiver_over_http_and_a_replay_is_dropped_as_a_copy(
    live_server: LiveServer, personas: Personas, debug: Settings
) -> None:
    debug.SITE_URL = live_server.url
    load_webhooks({"a": personas.org_a})
    subscription = Subscription.objects.get(organisation=personas.org_a)
    appointment = AppointmentFactory(agent=personas.membership(personas.agent_a))
    services.emit_appointment("appointment.created", appointment, now=timezone.now())

    assert services.deliver_due(now=timezone.now()) == 1

    delivery = Delivery.objects.get(subscription=subscription)
    assert delivery.status == Delivery.Status.DELIVERED, delivery.last_error
    received = ReceivedRequest.objects.get()
    assert received.verdict == Verdict.ACCEPTED
    assert received.event_id == str(delivery.event.uid)
    assert json.loads(received.body) == delivery.event.payload

    assert received.event_type == "appointment.created"
    assert json.loads(received.body)["data"]["appointment"] == appointment.code

    admin = StaffContext(
        user=personas.admin_a,
        organisation=personas.org_a,
        membership=personas.membership(personas.admin_a),
    )
    services.replay(staff=admin, delivery=delivery)
    services.deliver_due(now=timezone.now())

    assert ReceivedRequest.objects.latest("pk").verdict == Verdict.DUPLICATE
    assert Delivery.objects.filter(status=Delivery.Status.DELIVERED).count() == 2
