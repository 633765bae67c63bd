"""Booking by staff for a citizen on the telephone: service, how and where; a free time; the
person's details; and every way it can go wrong."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import time_machine
from django.test import Client

from finestreta.accounts.models import Membership
from finestreta.appointments.agenda import slot_value
from finestreta.appointments.models import Appointment
from finestreta.appointments.services import book_appointment
from finestreta.appointments.tests.staff_setup import NOW, Bookable, bookable_service, madrid
from finestreta.catalogue.models import Channel
from finestreta.privacy.models import AuditEvent
from finestreta.tenants.models import Municipality
from tests.personas import Personas

NEW = "/org-a/staff/appointments/new/"
TEN = madrid(1, 10)  # Tuesday 1 December, 10:00 in Madrid


@pytest.fixture(autouse=True)
def frozen() -> Iterator[None]:
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def setup(personas: Personas) -> Bookable:
    return bookable_service(personas)


def choice(setup: Bookable, **extra: Any) -> dict[str, Any]:
    return {"service": setup.service.pk, "channel": "video", "office": "", **extra}


def details(**extra: Any) -> dict[str, Any]:
    return {
        "name": "Núria Vidal",
        "email": "nuria@example.org",
        "phone": "612 345 678",
        "language": "es",
        "key": "a-unique-key-1",
        **extra,
    }


def test_step_one_offers_the_organisations_active_services_only(
    client: Client, personas: Personas, setup: Bookable
) -> None:
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "ca"  # the services' names are Catalan
    client.force_login(personas.agent_a)

    response = client.get(NEW)

    assert response.status_code == 200
    page = response.content.decode()
    assert "Padró" in page and personas.service_a.name in page
    assert personas.service_b.name not in page
    assert 'type="radio" name="service"' in page and 'method="get"' in page


def test_an_agent_books_for_a_caller_from_the_first_step_to_the_appointment(
    client: Client, personas: Personas, setup: Bookable
) -> None:
    girona, _created = Municipality.objects.get_or_create(
        ine_code="170792", defaults={"name": "Girona", "latitude": 41.98, "longitude": 2.82}
    )
    client.force_login(personas.supervisor_a)  # books a service they do not attend themselves

    times = client.get(NEW, choice(setup))
    assert times.status_code == 200
    assert f'value="{slot_value(TEN)}"' in times.content.decode()
    form = client.get(NEW, choice(setup, start=slot_value(TEN)))
    assert form.status_code == 200
    assert 'method="post"' in form.content.decode()
    key = form.context["contact"].initial["key"]
    response = client.post(
        NEW,
        {
            **choice(setup, start=slot_value(TEN)),
            **details(key=key),
            "municipality": "girona",
            "id_document": "12345678-z",
            "needs": ["needs_sign_language", "needs_extra_time"],
            "notes": "Parla poc català.",
            "representative_name": "Pere Vidal",
            "representative_relation": "fill",
            "representative_phone": "655 555 555",
        },
        follow=True,
    )

    item = Appointment.objects.get(status=Appointment.Status.BOOKED)
    assert response.redirect_chain == [(f"/org-a/staff/appointments/{item.code}/", 302)]
    assert item.code in response.content.decode()
    assert item.booked_by == Membership.objects.get(user=personas.supervisor_a)
    assert item.agent == setup.agent and item.starts_at == TEN
    assert (item.name, item.email, item.phone, item.language) == (
        "Núria Vidal",
        "nuria@example.org",
        "+34612345678",
        "es",
    )
    assert item.municipality == girona and item.id_document == "12345678Z"
    assert item.needs_sign_language and item.needs_extra_time and not item.needs_captions
    assert item.representative_name == "Pere Vidal" and item.representative_phone == "+34655555555"
    event = AuditEvent.objects.get(action=AuditEvent.Action.APPOINTMENT_BOOKED)
    assert event.actor == personas.supervisor_a and event.details == {"code": item.code}


def test_an_in_person_booking_happens_at_the_chosen_office(
    client: Client, personas: Personas, setup: Bookable
) -> None:
    client.force_login(personas.agent_a)
    chosen = choice(setup, channel="in_person", office=setup.office.pk, start=slot_value(TEN))

    client.post(NEW, {**chosen, **details()})

    item = Appointment.objects.get()
    assert item.channel == "in_person" and item.office == setup.office


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"channel": "phone"}, "This service is not offered that way."),
        ({"channel": "in_person"}, "Choose the office where the person will go."),
        ({"channel": "carrier-pigeon"}, "Choose video call, telephone or in person."),
        ({"service": ""}, "Choose the service the person needs."),
        ({"service": "nonsense"}, "Choose a service from the list."),
        ({"office": "999999"}, "Choose an office from the list."),
        ({"week": "soon"}, "2026-03-31"),
        ({"start": "at ten"}, "Choose a time from the list."),
    ],
)
def test_a_first_step_that_makes_no_sense_says_what_to_fix(
    client: Client, personas: Personas, setup: Bookable, changes: dict[str, str], message: str
) -> None:
    client.force_login(personas.agent_a)

    response = client.get(NEW, choice(setup, **changes))

    assert response.status_code == 400
    page = response.content.decode()
    assert message in page and 'class="error-summary"' in page


def test_an_office_that_does_not_provide_the_service_is_refused(
    client: Client, personas: Personas, setup: Bookable
) -> None:
    from tests.factories import OfficeFactory

    elsewhere = OfficeFactory(organisation=personas.org_a)
    client.force_login(personas.agent_a)

    response = client.get(NEW, choice(setup, channel="in_person", office=elsewhere.pk))

    assert response.status_code == 400
    assert "This office does not provide this service." in response.content.decode()


def test_another_organisations_service_or_office_cannot_be_chosen(
    client: Client, personas: Personas, setup: Bookable
) -> None:
    client.force_login(personas.agent_a)

    other_service = client.get(NEW, {"service": personas.service_b.pk, "channel": "video"})
    other_office = client.get(NEW, choice(setup, office=personas.office_b.pk))

    assert other_service.status_code == 400 and other_office.status_code == 400


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"name": ""}, "name", "Give the name of the person"),
        ({"email": "", "phone": ""}, "email", "Give an e-mail address or a mobile number"),
        ({"email": "not an address"}, "email", "like name@example.org"),
        ({"phone": "12"}, "phone", "phone number"),
        ({"phone": "972 00 00 00"}, "phone", "Give a mobile number"),
        ({"id_document": "12345678A"}, "id_document", "does not match its number"),
        ({"municipality": "Atlantis"}, "municipality", "We do not know this municipality."),
        ({"representative_phone": "655 555 555"}, "representative_name", "Give the name"),
        ({"needs": ["needs_telepathy"]}, "needs", "Choose the needs from the list."),
        ({"language": "xx"}, "language", "Choose a language from the list."),
    ],
)
def test_the_persons_details_that_make_no_sense_say_what_to_fix(
    client: Client,
    personas: Personas,
    setup: Bookable,
    changes: dict[str, Any],
    field: str,
    message: str,
) -> None:
    client.force_login(personas.agent_a)

    response = client.post(NEW, {**choice(setup, start=slot_value(TEN)), **details(**changes)})

    assert response.status_code == 400
    page = response.content.decode()
    assert message.lower() in page.lower()
    assert f'href="#id_{field}' in page
    assert not Appointment.objects.exists()


def test_a_time_taken_meanwhile_offers_the_next_ones_and_keeps_what_was_typed(
    client: Client, personas: Personas, setup: Bookable
) -> None:
    book_appointment(service=setup.service, channel=Channel.VIDEO, start=TEN, now=NOW)
    client.force_login(personas.agent_a)

    response = client.post(NEW, {**choice(setup, start=slot_value(TEN)), **details()})

    assert response.status_code == 409
    page = response.content.decode()
    assert "This time was just taken" in page
    assert 'value="Núria Vidal"' in page
    later = slot_value(madrid(1, 10, 30))
    assert f'name="start" value="{later}"' in page
    assert 'type="hidden" name="start"' not in page
    response = client.post(NEW, {**choice(setup, start=later), **details()})
    assert response.status_code == 302
    assert Appointment.objects.filter(starts_at=madrid(1, 10, 30), name="Núria Vidal").exists()


def test_a_form_sent_twice_books_once(client: Client, personas: Personas, setup: Bookable) -> None:
    client.force_login(personas.agent_a)
    data = {**choice(setup, start=slot_value(TEN)), **details()}

    first = client.post(NEW, data)
    second = client.post(NEW, data)

    assert first.status_code == second.status_code == 302
    assert first["Location"] == second["Location"]
    assert Appointment.objects.count() == 1


def test_a_booking_without_a_time_goes_back_to_the_first_step(
    client: Client, personas: Personas, setup: Bookable
) -> None:
    client.force_login(personas.agent_a)

    response = client.post(NEW, {**choice(setup), **details()})

    assert response.status_code == 400
    assert "Choose the service and a time again." in response.content.decode()
    assert not Appointment.objects.exists()


def test_a_service_nobody_attends_shows_no_free_times(
    client: Client, personas: Personas, setup: Bookable
) -> None:
    client.force_login(personas.agent_a)

    response = client.get(NEW, {"service": personas.service_a.pk, "channel": "video"})

    assert response.status_code == 200
    assert response.context["page"].days == []
    assert "There are no free times" in response.content.decode()


def test_another_organisations_staff_gets_404_and_a_visitor_is_sent_to_log_in(
    client: Client, personas: Personas, setup: Bookable
) -> None:
    client.force_login(personas.agent_b)
    assert client.get(NEW).status_code == 404
    assert (
        client.post(NEW, {**choice(setup, start=slot_value(TEN)), **details()}).status_code == 404
    )
    client.logout()
    assert client.get(NEW).status_code == 302
    assert not Appointment.objects.exists()


def test_an_inactive_member_is_refused(client: Client, personas: Personas, setup: Bookable) -> None:
    Membership.objects.filter(user=personas.agent_a).update(is_active=False)
    client.force_login(personas.agent_a)
    assert client.get(NEW).status_code == 404
