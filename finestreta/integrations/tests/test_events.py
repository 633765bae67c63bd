"""Events land in the outbox in the transaction of the change that causes them — one delivery
per active subscription that wants them, none when the change rolls back — and carry no
personal data."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.db import transaction

from finestreta.appointments import services as appointments
from finestreta.appointments.models import CancelledBy
from finestreta.appointments.services import Contact
from finestreta.appointments.tests.staff_setup import NOW, Bookable, bookable_service, madrid
from finestreta.catalogue.models import Channel, OutcomeCode
from finestreta.integrations import services
from finestreta.integrations.models import Delivery, Event, Subscription
from finestreta.integrations.tests.conftest import subscribe
from finestreta.queueing import services as queueing
from finestreta.queueing.tests.test_offers import make_agent
from tests.personas import Personas

pytestmark = pytest.mark.django_db

# Everything a person gave that must never leave in a webhook.
PERSONAL = {
    "name": "Núria Vidal i Puig",
    "email": "nuria.vidal@example.org",
    "phone": "+34612345678",
    "id_document": "12345678Z",
    "notes": "Vinc amb la meva filla Marta",
    "representative_name": "Marta Vidal",
}
REASON = "La Núria està malalta"
APPOINTMENT_KEYS = {
    "appointment",
    "service",
    "office",
    "channel",
    "start",
    "end",
    "status",
    "walk_in",
}


@pytest.fixture
def bookable(personas: Personas) -> Bookable:
    return bookable_service(personas)


@pytest.fixture
def integrator(personas: Personas) -> Subscription:
    # Never sent in these tests: the workers do that (test_delivery).
    return subscribe(personas.org_a, "https://cases.example.org/hooks")


def book(bookable: Bookable, *, start: dt.datetime | None = None):  # type: ignore[no-untyped-def]
    return appointments.book_appointment(
        service=bookable.service,
        channel=Channel.IN_PERSON,
        office=bookable.office,
        start=start or madrid(30, 10, month=11),
        now=NOW,
        contact=Contact(**PERSONAL),
        booked_by=bookable.agent,
    ).appointment


def payloads(event_type: str | None = None) -> list[dict]:
    events = Event.objects.order_by("pk")
    if event_type:
        events = events.filter(type=event_type)
    return [event.payload for event in events]


def test_a_booking_writes_an_appointment_created_event_and_its_delivery(
    personas: Personas, bookable: Bookable, integrator: Subscription
) -> None:
    appointment = book(bookable)

    [payload] = payloads()
    assert payload == {
        "version": 1,
        "id": payload["id"],
        "type": "appointment.created",
        "occurred_at": "2026-11-30T07:00:00Z",
        "organisation": "org-a",
        "data": {
            "appointment": appointment.code,
            "service": bookable.service.slug,
            "office": "oficina-a",
            "channel": "in_person",
            "start": "2026-11-30T10:00:00+01:00",
            "end": "2026-11-30T10:30:00+01:00",
            "status": "booked",
            "walk_in": False,
        },
    }
    [delivery] = Delivery.objects.all()
    assert (delivery.subscription, delivery.status, delivery.due_at) == (integrator, "queued", NOW)
    assert str(delivery.event.uid) == payload["id"]


def test_a_change_that_rolls_back_emits_nothing(
    bookable: Bookable, integrator: Subscription
) -> None:
    class Undone(Exception):
        pass

    with pytest.raises(Undone), transaction.atomic():
        appointment = book(bookable)
        assert Delivery.objects.count() == 1  # written in the same transaction …
        raise Undone
    assert not Event.objects.exists() and not Delivery.objects.exists()  # … and gone with it

    appointment = book(bookable)
    with pytest.raises(Undone), transaction.atomic():
        appointments.cancel_appointment(appointment=appointment, now=NOW, by=CancelledBy.OFFICE)
        raise Undone
    assert payloads("appointment.cancelled") == []


def test_moving_and_cancelling_say_when_it_was_and_who_cancelled(
    bookable: Bookable, integrator: Subscription
) -> None:
    appointment = book(bookable)
    appointments.reschedule_appointment(
        appointment=appointment, start=madrid(30, 11, month=11), now=NOW
    )
    appointments.cancel_appointment(
        appointment=appointment, now=NOW, by=CancelledBy.CITIZEN, reason=REASON
    )

    [moved] = payloads("appointment.changed")
    assert moved["data"]["start"] == "2026-11-30T11:00:00+01:00"
    assert moved["data"]["previous_start"] == "2026-11-30T10:00:00+01:00"
    assert set(moved["data"]) == APPOINTMENT_KEYS | {"previous_start"}
    [cancelled] = payloads("appointment.cancelled")
    assert cancelled["data"]["status"] == "cancelled"
    assert (cancelled["data"]["cancelled_by"], cancelled["data"]["reason_given"]) == (
        "citizen",
        True,
    )
    # Cancelling twice is harmless, and tells nobody twice.
    appointments.cancel_appointment(appointment=appointment, now=NOW, by=CancelledBy.CITIZEN)
    assert len(payloads("appointment.cancelled")) == 1


def test_attended_and_not_come_are_told_once_each_with_who_marked_them(
    personas: Personas, bookable: Bookable, integrator: Subscription
) -> None:
    first = book(bookable)
    second = book(bookable, start=madrid(30, 11, month=11))
    later = first.starts_at + dt.timedelta(minutes=5)
    outcome = OutcomeCode.objects.create(organisation=personas.org_a, code="resolt", label="R")
    first.outcome = outcome
    first.save(update_fields=["outcome"])

    appointments.record_outcome(appointment=first, attended=True, now=later, staff=bookable.agent)
    appointments.record_outcome(appointment=first, attended=True, now=later, staff=bookable.agent)
    appointments.record_outcome(
        appointment=second, attended=False, now=second.starts_at, staff=None
    )

    [attended] = payloads("appointment.attended")
    assert attended["data"]["appointment"] == first.code
    assert (attended["data"]["outcome"], attended["data"]["recorded_by"]) == ("resolt", "staff")
    [not_come] = payloads("appointment.no_show")
    assert (not_come["data"]["status"], not_come["data"]["recorded_by"]) == ("no_show", "platform")
    # A correction is a change, and is told.
    appointments.record_outcome(appointment=first, attended=False, now=later, staff=bookable.agent)
    assert [p["data"]["appointment"] for p in payloads("appointment.no_show")] == [
        second.code,
        first.code,
    ]


def test_a_call_that_ends_tells_its_outcome_codes(
    personas: Personas, integrator: Subscription
) -> None:
    now = dt.datetime(2026, 12, 1, 10, 0, tzinfo=dt.UTC)
    agent = make_agent(personas, since=now - dt.timedelta(minutes=5))
    entry = queueing.enter_queue(
        organisation=personas.org_a,
        service=personas.service_a,
        channel="video",
        name=PERSONAL["name"],
        phone=PERSONAL["phone"],
        now=now - dt.timedelta(minutes=2),
    )
    assert queueing.offer_next(membership=agent, now=now).pk == entry.pk
    queueing.accept_offer(membership=agent, entry_id=entry.pk, now=now)
    outcome = OutcomeCode.objects.create(organisation=personas.org_a, code="derivat", label="D")

    queueing.finish_call(
        membership=agent, entry_id=entry.pk, now=now + dt.timedelta(minutes=7), outcome=outcome
    )

    [ended] = payloads("call.ended")
    entry.refresh_from_db()
    assert ended["data"] == {
        "appointment": entry.appointment.code,
        "service": personas.service_a.slug,
        "channel": "video",
        "came": True,
        "outcomes": ["derivat"],
        "started_at": "2026-12-01T10:00:00Z",
        "ended_at": "2026-12-01T10:07:00Z",
    }
    [attended] = payloads("appointment.attended")
    assert attended["data"]["walk_in"] is True and attended["data"]["outcome"] == "derivat"
    assert PERSONAL["name"] not in json.dumps(payloads())


def test_each_event_goes_to_the_active_subscriptions_that_want_it_only(
    personas: Personas, bookable: Bookable
) -> None:
    wants_it = subscribe(personas.org_a, "https://a.example.org/", ["appointment.created"])
    subscribe(personas.org_a, "https://b.example.org/", ["appointment.cancelled"])
    subscribe(personas.org_a, "https://c.example.org/", is_active=False)
    subscribe(personas.org_b, "https://d.example.org/")  # another organisation's

    book(bookable)

    assert [d.subscription for d in Delivery.objects.all()] == [wants_it]
    assert all(d.organisation_id == personas.org_a.pk for d in Delivery.objects.all())


def test_without_a_subscription_nothing_is_written(bookable: Bookable) -> None:
    book(bookable)
    assert not Event.objects.exists()


def test_no_personal_data_leaves_in_any_payload(
    personas: Personas, bookable: Bookable, integrator: Subscription
) -> None:
    appointment = book(bookable)
    appointments.reschedule_appointment(
        appointment=appointment, start=madrid(30, 11, month=11), now=NOW
    )
    appointments.cancel_appointment(
        appointment=appointment, now=NOW, by=CancelledBy.OFFICE, reason=REASON
    )
    other = book(bookable)
    appointments.record_outcome(
        appointment=other, attended=True, now=other.starts_at, staff=bookable.agent
    )

    sent = payloads()
    assert [p["type"] for p in sent] == [
        "appointment.created",
        "appointment.changed",
        "appointment.cancelled",
        "appointment.created",
        "appointment.attended",
    ]
    text = json.dumps(sent, ensure_ascii=False)
    for value in [*PERSONAL.values(), REASON, "Núria", "612345678", "example.org"]:
        assert value not in text
    for payload in sent:
        assert set(payload) == {"version", "id", "type", "occurred_at", "organisation", "data"}
        assert set(payload["data"]) <= APPOINTMENT_KEYS | {
            "previous_start",
            "cancelled_by",
            "reason_given",
            "outcome",
            "recorded_by",
        }


def test_data_deleted_names_the_kind_and_the_ids_in_parts(
    personas: Personas, integrator: Subscription
) -> None:
    codes = [f"C{n:06d}" for n in range(services.MAX_IDS_PER_EVENT + 20)]
    with transaction.atomic():
        events = services.emit_data_deleted(
            organisation=personas.org_a, kind="appointment", ids=codes, now=NOW
        )

    assert [len(e.payload["data"]["ids"]) for e in events] == [services.MAX_IDS_PER_EVENT, 20]
    assert [i for e in events for i in e.payload["data"]["ids"]] == codes
    assert {e.payload["data"]["kind"] for e in events} == {"appointment"}
    assert {e.type for e in events} == {"data.deleted"}
    assert Delivery.objects.filter(subscription=integrator).count() == 2
    with pytest.raises(ValueError):
        services.emit_data_deleted(organisation=personas.org_a, kind="Appointments!", ids=[1])
    # Nobody listening in organisation B: nothing written for it.
    assert services.emit_data_deleted(organisation=personas.org_b, kind="recording", ids=[7]) == []


def test_an_unknown_event_type_is_a_programming_error(personas: Personas) -> None:
    with pytest.raises(ValueError):
        services.emit(organisation=personas.org_a, event_type="appointment.eaten", data={})
