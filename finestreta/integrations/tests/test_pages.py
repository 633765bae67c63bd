"""The organisation administrators' webhook pages, with the test client: who may open them,
creating with its validation errors, the secret and its rotation, the test event, the delivery
log, replay and deletion — each change in the audit log."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.utils import timezone

from finestreta.integrations import services
from finestreta.integrations.models import Delivery, Event, Subscription
from finestreta.integrations.tests.conftest import subscribe
from finestreta.integrations.tests.receiver import Receiver
from finestreta.privacy.models import AuditEvent
from tests.personas import Personas, log_in

pytestmark = pytest.mark.django_db

LIST = "/org-a/staff/webhooks/"
NEW = LIST + "new/"


@pytest.fixture
def admin(personas: Personas) -> Client:
    client = log_in(personas.admin_a)
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


def actions() -> list[str]:
    return list(
        AuditEvent.objects.filter(action__startswith="webhook.")
        .order_by("pk")
        .values_list("action", flat=True)
    )


def test_only_the_organisation_s_administrators_open_the_pages(
    personas: Personas, client: Client
) -> None:
    subscription = subscribe(personas.org_a, "https://cases.example.org/")
    detail = f"{LIST}{subscription.pk}/"
    for user in (personas.agent_a, personas.supervisor_a):
        member = log_in(user)
        assert member.get(LIST).status_code == 403
        assert member.get(detail).status_code == 403
        assert member.post(detail + "secret/rotate/").status_code == 403
    assert log_in(personas.admin_b).get(LIST).status_code == 404
    assert client.get(LIST).status_code == 302  # to log in


def test_the_dashboard_links_the_webhooks_for_administrators_only(
    personas: Personas, admin: Client
) -> None:
    assert 'href="/org-a/staff/webhooks/"' in admin.get("/org-a/staff/").content.decode()
    agent = log_in(personas.agent_a).get("/org-a/staff/").content.decode()
    assert "/staff/webhooks/" not in agent


def test_an_administrator_creates_a_subscription_and_is_shown_its_secret(
    personas: Personas, admin: Client
) -> None:
    response = admin.post(
        NEW,
        {
            "url": "https://cases.example.org/hooks/finestreta",
            "description": "Gestor d'expedients",
            "event_types": ["appointment.created", "call.ended"],
            "is_active": "on",
        },
    )

    subscription = Subscription.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"{LIST}{subscription.pk}/secret/"
    assert subscription.organisation == personas.org_a
    assert subscription.event_types == ["appointment.created", "call.ended"]
    assert subscription.secret.startswith("whsec_") and len(subscription.secret) > 40
    page = admin.get(response["Location"])
    assert subscription.secret in page.content.decode()
    assert page["Cache-Control"] == "no-store"
    assert actions() == ["webhook.created", "webhook.secret_shown"]
    created = AuditEvent.objects.get(action="webhook.created")
    assert subscription.secret not in str(created.details)
    assert "Gestor d&#x27;expedients" in admin.get(LIST).content.decode()


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"url": "http://cases.example.org/"}, "url", "must start with https://"),
        ({"url": "https://me:pw@cases.example.org/"}, "url", "user name or password"),
        ({"url": "not an address"}, "url", "Enter a valid URL"),
        ({"event_types": []}, "event_types", "Choose at least one event"),
        ({"event_types": ["appointment.eaten"]}, "event_types", "Choose the events"),
        ({"event_types": ["ping"]}, "event_types", "Choose the events"),
    ],
)
def test_a_form_that_makes_no_sense_says_what_to_fix_by_its_field(
    admin: Client, data: dict, field: str, message: str
) -> None:
    posted = {"url": "https://cases.example.org/", "event_types": ["call.ended"], **data}
    response = admin.post(NEW, posted)

    assert response.status_code == 400
    page = response.content.decode()
    assert 'id="error-summary"' in page
    assert message in page
    assert f'id="id_{field}_error"' in page or field == "event_types"
    if field == "url":
        assert 'aria-describedby="id_url_helptext id_url_error"' in page
        assert 'aria-invalid="true"' in page
    assert not Subscription.objects.exists()


def test_a_private_address_is_refused_in_production(admin: Client, settings) -> None:  # type: ignore[no-untyped-def]
    settings.WEBHOOKS_ALLOW_PRIVATE_TARGETS = False
    for url in ("https://192.168.1.20/hook", "http://127.0.0.1:8000/hook"):
        response = admin.post(NEW, {"url": url, "event_types": ["call.ended"]})
        assert response.status_code == 400
    assert not Subscription.objects.exists()


def test_editing_changes_the_events_and_switches_it_off(personas: Personas, admin: Client) -> None:
    subscription = subscribe(personas.org_a, "https://cases.example.org/")
    edit = f"{LIST}{subscription.pk}/edit/"
    assert 'value="https://cases.example.org/"' in admin.get(edit).content.decode()

    response = admin.post(
        edit, {"url": "https://other.example.org/", "event_types": ["data.deleted"]}
    )

    assert response.status_code == 302
    subscription.refresh_from_db()
    assert (subscription.url, subscription.event_types, subscription.is_active) == (
        "https://other.example.org/",
        ["data.deleted"],
        False,
    )
    assert actions() == ["webhook.changed"]


def test_rotating_the_secret_replaces_it_and_is_recorded(personas: Personas, admin: Client) -> None:
    subscription = subscribe(personas.org_a, "https://cases.example.org/")
    old = subscription.secret
    rotate = f"{LIST}{subscription.pk}/secret/rotate/"
    assert admin.get(rotate).status_code == 405  # a change is a POST

    response = admin.post(rotate)

    assert response.status_code == 302
    subscription.refresh_from_db()
    assert subscription.secret != old and subscription.secret.startswith("whsec_")
    assert subscription.secret_rotated_at is not None
    page = admin.get(response["Location"]).content.decode()
    assert subscription.secret in page and old not in page
    assert actions() == ["webhook.secret_rotated", "webhook.secret_shown"]


def test_rotating_needs_the_csrf_token(personas: Personas) -> None:
    subscription = subscribe(personas.org_a, "https://cases.example.org/")
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(personas.admin_a)
    assert strict.post(f"{LIST}{subscription.pk}/secret/rotate/").status_code == 403
    assert strict.post(f"{LIST}{subscription.pk}/ping/").status_code == 403


def test_a_test_event_goes_to_that_subscription_and_reaches_the_receiver(
    personas: Personas, admin: Client, receiver: Receiver
) -> None:
    subscription = subscribe(personas.org_a, receiver.url)
    subscribe(personas.org_a, "https://other.example.org/")  # not pinged

    response = admin.post(f"{LIST}{subscription.pk}/ping/")

    assert response.status_code == 302
    [delivery] = Delivery.objects.all()
    assert delivery.subscription == subscription and delivery.event.type == "ping"
    services.deliver_due(now=timezone.now())
    [request] = receiver.received
    assert request.json["type"] == "ping" and request.json["organisation"] == "org-a"
    assert actions() == ["webhook.pinged"]
    page = admin.get(f"{LIST}{subscription.pk}/").content.decode()
    assert "<code>ping</code>" in page and "Delivered" in page


def test_a_switched_off_subscription_is_not_pinged_nor_replayed(
    personas: Personas, admin: Client
) -> None:
    subscription = subscribe(personas.org_a, "https://cases.example.org/", is_active=False)
    response = admin.post(f"{LIST}{subscription.pk}/ping/", follow=True)
    assert "switch it on first" in response.content.decode()
    assert not Event.objects.exists()


def test_the_delivery_page_lists_its_attempts_and_replay_sends_the_same_event(
    personas: Personas, admin: Client, receiver: Receiver
) -> None:
    from finestreta.integrations.tests.receiver import Answer

    subscription = subscribe(personas.org_a, receiver.url)
    receiver.answers = [Answer(500, b"try later")]
    event = services.emit(
        organisation=personas.org_a,
        event_type="data.deleted",
        data={"kind": "appointment", "ids": ["X1"]},
    )
    assert event is not None
    delivery = event.deliveries.get()
    now = timezone.now()
    services.deliver(delivery_id=delivery.pk, now=now)
    page = f"{LIST}{subscription.pk}/deliveries/{delivery.pk}/"

    shown = admin.get(page).content.decode()
    assert "HTTP 500" in shown and "try later" in shown and str(event.uid) in shown
    log = admin.get(f"{LIST}{subscription.pk}/").content.decode()
    assert "HTTP 500" in log and "Waiting to be sent" in log
    assert admin.get(page + "replay/").status_code == 405

    response = admin.post(page + "replay/")

    fresh = Delivery.objects.exclude(pk=delivery.pk).get()
    assert response["Location"] == f"{LIST}{subscription.pk}/deliveries/{fresh.pk}/"
    assert fresh.event == event and fresh.replay_of == delivery
    services.deliver(delivery_id=fresh.pk, now=now + dt.timedelta(seconds=1))
    assert receiver.event_ids() == [str(event.uid), str(event.uid)]
    assert actions() == ["webhook.replayed"]


def test_another_organisation_s_delivery_is_not_found_under_a_subscription(
    personas: Personas, admin: Client
) -> None:
    ours = subscribe(personas.org_a, "https://a.example.org/")
    theirs = subscribe(personas.org_b, "https://b.example.org/")
    event = services.emit(organisation=personas.org_b, event_type="call.ended", data={})
    assert event is not None
    delivery = event.deliveries.get(subscription=theirs)
    # Their delivery under our subscription's address, and their subscription itself.
    assert admin.get(f"{LIST}{ours.pk}/deliveries/{delivery.pk}/").status_code == 404
    assert admin.post(f"{LIST}{ours.pk}/deliveries/{delivery.pk}/replay/").status_code == 404
    assert admin.get(f"{LIST}{theirs.pk}/").status_code == 404
    assert admin.post(f"{LIST}{theirs.pk}/delete/").status_code == 404
    assert Subscription.objects.filter(pk=theirs.pk).exists()
    assert Delivery.objects.count() == 1


def test_deleting_asks_first_then_deletes_with_its_log(personas: Personas, admin: Client) -> None:
    subscription = subscribe(personas.org_a, "https://cases.example.org/")
    services.emit(organisation=personas.org_a, event_type="call.ended", data={})
    delete = f"{LIST}{subscription.pk}/delete/"
    assert "Delete the subscription" in admin.get(delete).content.decode()
    assert Subscription.objects.exists()

    assert admin.post(delete)["Location"] == LIST

    assert not Subscription.objects.exists() and not Delivery.objects.exists()
    assert actions() == ["webhook.deleted"]


def test_the_delivery_log_is_read_in_a_fixed_number_of_queries(
    personas: Personas, admin: Client, django_assert_max_num_queries
) -> None:  # type: ignore[no-untyped-def]
    subscription = subscribe(personas.org_a, "https://cases.example.org/")
    for _ in range(30):
        services.emit(organisation=personas.org_a, event_type="call.ended", data={})
    with django_assert_max_num_queries(12):
        response = admin.get(f"{LIST}{subscription.pk}/")
    assert response.content.decode().count("<code>call.ended</code><span") == 30
