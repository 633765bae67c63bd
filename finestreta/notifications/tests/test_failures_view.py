"""What staff see of deliveries: the organisation's page of messages not delivered (for
supervisors and administrators, logged as a view of personal data), and the messages of one
appointment on its staff page."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
import time_machine
from django.test import Client

from finestreta.accounts.models import Membership
from finestreta.notifications.models import Message
from finestreta.notifications.status import mask_recipient
from finestreta.privacy.models import AuditEvent
from finestreta.tenants.models import Organisation
from tests.factories import AppointmentFactory
from tests.personas import Personas

NOW = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC)
URL = "/org-a/staff/messages/"


@pytest.fixture(autouse=True)
def frozen() -> Iterator[None]:
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture(autouse=True)
def english(client: Client) -> None:
    """The texts these tests check are the English ones (the catalogues translate them)."""
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"


def message(organisation: Organisation, n: int, **fields: object) -> Message:
    values: dict[str, object] = {
        "kind": "booking_confirmed",
        "channel": "email",
        "recipient": f"person{n}@example.org",
        "language": "ca",
        "body": "Text",
        "status": Message.Status.DELIVERED,
        "attempts": 1,
        **fields,
    }
    created = Message.objects.create(organisation=organisation, dedup_key=f"test:{n}", **values)
    # created_at is set on creation: spread them out so that "newest first" means something.
    Message.objects.filter(pk=created.pk).update(created_at=NOW - dt.timedelta(hours=100 - n))
    return created


@pytest.fixture
def failures(personas: Personas) -> dict[str, Message]:
    return {
        "failed_email": message(
            personas.org_a,
            1,
            status=Message.Status.FAILED,
            attempts=7,
            last_error="SMTP relay unreachable",
        ),
        "undelivered_sms": message(
            personas.org_a,
            2,
            kind="reminder",
            channel="sms",
            recipient="+34612345678",
            receipt_status="expired",
            receipt_at=NOW,
            last_error="Receipt: phone switched off",
        ),
        "delivered": message(personas.org_a, 3, recipient="arrived@example.org"),
        "queued": message(personas.org_a, 4, status=Message.Status.QUEUED, recipient="q@x.org"),
        "received_sms": message(
            personas.org_a, 5, channel="sms", recipient="+34699999999", receipt_status="delivered"
        ),
        "other_tenant": message(
            personas.org_b,
            6,
            status=Message.Status.FAILED,
            recipient="secret-b@example.org",
            last_error="B's error",
        ),
    }


def test_the_page_lists_the_organisations_failures_newest_first_with_masked_recipients(
    client: Client, personas: Personas, failures: dict[str, Message]
) -> None:
    client.force_login(personas.admin_a)

    response = client.get(URL)

    assert response.status_code == 200
    page = response.content.decode()
    for text in (
        "p•••@example.org",
        "+34•••••••78",
        "SMTP relay unreachable",
        "Receipt: phone switched off",
        "Not delivered in time",
        "Reminder before the appointment",
        "Appointment booked",
    ):
        assert text in page
    for hidden in (
        "person1@example.org",
        "+34612345678",
        "arrived@example.org",
        "q@x.org",
        "+34699999999",
        "secret-b@example.org",
        "B's error",
    ):
        assert hidden not in page
    rows = [row.pk for row in response.context["rows"]]
    assert rows == [failures["undelivered_sms"].pk, failures["failed_email"].pk]


def test_reading_the_failures_is_written_to_the_audit_log(
    client: Client, personas: Personas, failures: dict[str, Message]
) -> None:
    client.force_login(personas.supervisor_a)

    assert client.get(URL).status_code == 200

    event = AuditEvent.objects.get(action=AuditEvent.Action.PERSONAL_DATA_VIEWED)
    assert event.organisation == personas.org_a
    assert event.actor == personas.supervisor_a


def test_the_failures_are_paginated_in_a_bounded_number_of_queries(
    client: Client, personas: Personas, django_assert_max_num_queries
) -> None:  # type: ignore[no-untyped-def]
    for n in range(60):
        message(personas.org_a, n, status=Message.Status.FAILED, last_error=f"error {n}")
    client.force_login(personas.admin_a)

    with django_assert_max_num_queries(15):
        first = client.get(URL)
    second = client.get(URL + "?page=2")

    assert len(first.context["rows"]) == 50 and len(second.context["rows"]) == 10
    assert "error 59" in first.content.decode() and "error 0" in second.content.decode()


def test_an_agent_may_not_read_the_failures(
    client: Client, personas: Personas, failures: dict[str, Message]
) -> None:
    client.force_login(personas.agent_a)
    assert client.get(URL).status_code == 403
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.PERSONAL_DATA_VIEWED).exists()


@pytest.mark.parametrize("intruder", ["supervisor_b", "admin_b"])
def test_another_organisations_staff_do_not_find_the_page(
    client: Client, personas: Personas, failures: dict[str, Message], intruder: str
) -> None:
    client.force_login(getattr(personas, intruder))
    assert client.get(URL).status_code == 404


def test_anonymous_visitors_are_sent_to_log_in(client: Client, personas: Personas) -> None:
    response = client.get(URL)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_the_dashboard_links_supervisors_to_the_failures(
    client: Client, personas: Personas
) -> None:
    client.force_login(personas.supervisor_a)
    assert URL in client.get("/org-a/staff/").content.decode()
    client.force_login(personas.agent_a)
    assert URL not in client.get("/org-a/staff/").content.decode()


@pytest.mark.parametrize(
    ("recipient", "masked"),
    [
        ("nuria@example.org", "n•••@example.org"),
        ("+34612345678", "+34•••••••78"),
        ("612", "•••"),
    ],
)
def test_recipients_are_masked(recipient: str, masked: str) -> None:
    assert mask_recipient(recipient) == masked


def test_the_staff_appointment_page_shows_the_delivery_of_its_messages(
    client: Client, personas: Personas
) -> None:
    appointment = AppointmentFactory(
        agent=Membership.objects.get(user=personas.agent_a),
        service=personas.service_a,
        office=personas.office_a,
    )
    message(personas.org_a, 1, appointment=appointment, sent_at=NOW)
    message(
        personas.org_a,
        2,
        appointment=appointment,
        channel="sms",
        kind="reminder",
        receipt_status="delivered",
        sent_at=NOW,
    )
    message(
        personas.org_a,
        3,
        appointment=appointment,
        kind="booking_cancelled",
        status=Message.Status.FAILED,
        last_error="Address refused",
    )
    message(personas.org_a, 4, kind="verification_code", last_error="not this appointment's")
    client.force_login(personas.agent_a)

    response = client.get(f"/org-a/staff/appointments/{appointment.code}/")

    assert response.status_code == 200
    page = response.content.decode()
    for text in (
        "Messages sent",
        "Appointment booked",
        "Reminder before the appointment",
        "Delivered to the phone",
        "Appointment cancelled",
        "Failed — Address refused",
    ):
        assert text in page
    assert "not this appointment&#x27;s" not in page
    assert [row.kind for row in response.context["delivery"]] == [
        "Appointment booked",
        "Reminder before the appointment",
        "Appointment cancelled",
    ]
