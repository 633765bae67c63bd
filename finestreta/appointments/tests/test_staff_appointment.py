"""One appointment for staff: what it shows (and that showing it is logged), who may open it,
and what staff do with it: mark it attended or not come, cancel it, move it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
import time_machine
from django.test import Client

from finestreta.accounts.models import Membership
from finestreta.appointments.agenda import slot_value
from finestreta.appointments.models import Appointment
from finestreta.appointments.services import book_appointment
from finestreta.appointments.tests.staff_setup import (
    NOW,
    Bookable,
    appointment,
    bookable_service,
    madrid,
    other_office,
)
from finestreta.catalogue.models import Channel
from finestreta.privacy.models import AuditEvent
from tests.factories import AppointmentFactory
from tests.personas import Personas

Action = AuditEvent.Action


@pytest.fixture(autouse=True)
def frozen() -> Iterator[None]:
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def setup(personas: Personas) -> Bookable:
    return bookable_service(personas)


def url(item: Appointment, action: str = "") -> str:
    return f"/org-a/staff/appointments/{item.code}/" + (f"{action}/" if action else "")


def booked(setup: Bookable, start: dt.datetime, **fields) -> Appointment:  # type: ignore[no-untyped-def]
    return appointment(setup.agent, start, service=setup.service, **fields)


def test_the_detail_shows_the_person_their_needs_the_representative_and_the_history(
    client: Client, personas: Personas, setup: Bookable
) -> None:
    item = booked(
        setup,
        madrid(1, 10),
        name="Núria Vidal",
        email="nuria@example.org",
        phone="+34612345678",
        id_document="12345678Z",
        needs_captions=True,
        notes="Porta el DNI caducat.",
        representative_name="Pere Vidal",
        representative_relation="fill",
        representative_phone="+34655555555",
        booked_at=NOW,
        booked_by=Membership.objects.get(user=personas.supervisor_a),
    )
    client.force_login(personas.agent_a)

    response = client.get(url(item))

    assert response.status_code == 200
    page = response.content.decode()
    for text in (
        "Núria Vidal",
        "nuria@example.org",
        "612 34 56 78",
        "12345678Z",
        "Porta el DNI caducat.",
        "Pere Vidal",
        "fill",
        "655 55 55 55",
        item.code,
        str(personas.supervisor_a),
    ):
        assert text in page, text
    assert "captions" in page.lower() or "subt" in page.lower()
    assert f'action="{url(item, "cancel")}"' in page
    assert f'href="{url(item, "move")}"' in page
    assert f'action="{url(item, "outcome")}"' not in page  # not yet its time


def test_opening_an_appointment_is_written_to_the_audit_log(
    client: Client, personas: Personas, setup: Bookable
) -> None:
    item = booked(setup, madrid(1, 10))
    client.force_login(personas.supervisor_a)

    client.get(url(item))

    event = AuditEvent.objects.get(action=Action.PERSONAL_DATA_VIEWED)
    assert event.actor == personas.supervisor_a and event.organisation == personas.org_a
    assert event.target_id == str(item.pk) and event.details == {"code": item.code}


def test_a_booking_code_typed_in_lower_case_still_opens_the_appointment(
    client: Client, personas: Personas, setup: Bookable
) -> None:
    item = booked(setup, madrid(1, 10))
    client.force_login(personas.agent_a)
    assert client.get(url(item).replace(item.code, item.code.lower())).status_code == 200


def test_an_agent_of_another_organisation_gets_404_for_an_appointment(
    client: Client, personas: Personas, setup: Bookable
) -> None:
    item = booked(setup, madrid(1, 10))
    for intruder in (personas.agent_b, personas.admin_b):
        client.force_login(intruder)
        assert client.get(url(item)).status_code == 404
        assert client.post(url(item, "cancel"), {"reason": "x"}).status_code == 404
    # Nor through their own organisation's address.
    client.force_login(personas.admin_b)
    assert client.get(f"/org-b/staff/appointments/{item.code}/").status_code == 404
    assert not AuditEvent.objects.filter(action=Action.PERSONAL_DATA_VIEWED).exists()


def test_an_agent_gets_404_for_an_appointment_of_another_office(
    client: Client, personas: Personas
) -> None:
    office_2, agent_2 = other_office(personas)
    at_office = appointment(agent_2, madrid(1, 10), office=office_2, channel="in_person")
    by_video = appointment(agent_2, madrid(1, 11))
    for user in (personas.agent_a, personas.supervisor_a):
        client.force_login(user)
        assert client.get(url(at_office)).status_code == 404
        assert client.get(url(by_video)).status_code == 404
    client.force_login(personas.admin_a)
    assert client.get(url(at_office)).status_code == 200
    assert client.get(url(by_video)).status_code == 200


def test_an_agent_opens_a_video_call_of_a_colleague_of_their_office(
    client: Client, personas: Personas
) -> None:
    item = appointment(Membership.objects.get(user=personas.supervisor_a), madrid(1, 10))
    client.force_login(personas.agent_a)
    assert client.get(url(item)).status_code == 200


def test_a_time_only_held_is_nobodys_appointment_yet(
    client: Client, personas: Personas, setup: Bookable
) -> None:
    item = booked(setup, madrid(1, 10), held=True)
    client.force_login(personas.admin_a)
    assert client.get(url(item)).status_code == 404


@pytest.mark.parametrize("action", ["outcome", "cancel"])
def test_the_actions_take_only_posts(
    client: Client, personas: Personas, setup: Bookable, action: str
) -> None:
    item = booked(setup, madrid(1, 10))
    client.force_login(personas.agent_a)
    assert client.get(url(item, action)).status_code == 405
    assert client.post(url(item)).status_code == 405


def test_a_post_without_the_csrf_token_is_refused(personas: Personas, setup: Bookable) -> None:
    item = booked(setup, madrid(1, 10))
    client = Client(enforce_csrf_checks=True)
    client.force_login(personas.agent_a)
    assert client.post(url(item, "cancel"), {"reason": "Tancat"}).status_code == 403
    item.refresh_from_db()
    assert item.status == Appointment.Status.BOOKED


@pytest.mark.parametrize(
    ("outcome", "status", "action"),
    [
        ("attended", Appointment.Status.ATTENDED, Action.APPOINTMENT_ATTENDED),
        ("no_show", Appointment.Status.NO_SHOW, Action.APPOINTMENT_NO_SHOW),
    ],
)
def test_staff_mark_an_appointment_attended_or_not_come(
    client: Client,
    personas: Personas,
    setup: Bookable,
    outcome: str,
    status: str,
    action: str,
) -> None:
    item = booked(setup, NOW + dt.timedelta(minutes=10))
    client.force_login(personas.agent_a)
    assert f'action="{url(item, "outcome")}"' in client.get(url(item)).content.decode()

    response = client.post(url(item, "outcome"), {"outcome": outcome}, follow=True)

    item.refresh_from_db()
    assert item.status == status
    assert response.redirect_chain == [(url(item), 302)]
    assert "Marked as" in response.content.decode()
    assert AuditEvent.objects.get(action=action).actor == personas.agent_a


def test_an_appointment_cannot_be_marked_before_its_time(
    client: Client, personas: Personas, setup: Bookable
) -> None:
    item = booked(setup, madrid(2, 10))
    client.force_login(personas.agent_a)

    response = client.post(url(item, "outcome"), {"outcome": "attended"}, follow=True)

    item.refresh_from_db()
    assert item.status == Appointment.Status.BOOKED
    assert "only once its time has come" in response.content.decode()


def test_an_outcome_that_makes_no_sense_gets_a_message(
    client: Client, personas: Personas, setup: Bookable
) -> None:
    item = booked(setup, NOW)
    client.force_login(personas.agent_a)

    response = client.post(url(item, "outcome"), {"outcome": "maybe"}, follow=True)

    assert "Choose whether the person came." in response.content.decode()
    item.refresh_from_db()
    assert item.status == Appointment.Status.BOOKED


def test_the_office_cancels_an_appointment_with_a_reason(
    client: Client, personas: Personas, setup: Bookable
) -> None:
    item = booked(setup, madrid(1, 10))
    client.force_login(personas.agent_a)

    response = client.post(url(item, "cancel"), {"reason": "L'oficina tanca."}, follow=True)

    item.refresh_from_db()
    assert item.status == Appointment.Status.CANCELLED
    assert item.cancelled_by == "office" and item.cancellation_reason == "L'oficina tanca."
    assert "The appointment is cancelled." in response.content.decode()
    event = AuditEvent.objects.get(action=Action.APPOINTMENT_CANCELLED)
    assert event.actor == personas.agent_a and event.details["reason"] == "L'oficina tanca."


def test_cancelling_without_a_reason_says_what_to_fix(
    client: Client, personas: Personas, setup: Bookable
) -> None:
    item = booked(setup, madrid(1, 10))
    client.force_login(personas.agent_a)

    response = client.post(url(item, "cancel"), {"reason": "  "})

    assert response.status_code == 400
    page = response.content.decode()
    assert 'href="#id_reason"' in page and 'aria-invalid="true"' in page
    assert "Write why the appointment is cancelled." in page
    item.refresh_from_db()
    assert item.status == Appointment.Status.BOOKED


def test_a_past_appointment_cannot_be_cancelled_or_moved(
    client: Client, personas: Personas, setup: Bookable
) -> None:
    item = booked(setup, NOW - dt.timedelta(hours=1))
    client.force_login(personas.agent_a)

    response = client.post(url(item, "cancel"), {"reason": "Tard"}, follow=True)
    assert "can no longer be changed" in response.content.decode()
    response = client.get(url(item, "move"), follow=True)
    assert response.redirect_chain == [(url(item), 302)]
    item.refresh_from_db()
    assert item.status == Appointment.Status.BOOKED


def test_staff_move_an_appointment_to_a_free_time_shown_by_day(
    client: Client, personas: Personas, setup: Bookable
) -> None:
    item = booked(setup, madrid(1, 10))
    client.force_login(personas.agent_a)

    page = client.get(url(item, "move")).content.decode()

    assert f'value="{slot_value(madrid(1, 10, 30))}"' in page
    assert f'value="{slot_value(madrid(1, 10))}"' not in page  # its own time
    assert "<h3" in page and 'type="submit" name="start"' in page
    response = client.post(url(item, "move"), {"start": slot_value(madrid(2, 11))}, follow=True)

    item.refresh_from_db()
    assert item.starts_at == madrid(2, 11) and item.times_rescheduled == 1
    assert response.redirect_chain == [(url(item), 302)]
    event = AuditEvent.objects.get(action=Action.APPOINTMENT_MOVED)
    assert event.actor == personas.agent_a


def test_moving_to_a_time_just_taken_offers_the_next_free_times(
    client: Client, personas: Personas, setup: Bookable
) -> None:
    item = booked(setup, madrid(1, 10))
    client.force_login(personas.agent_a)
    client.get(url(item, "move"))
    book_appointment(  # someone else takes 11:00 meanwhile
        service=setup.service, channel=Channel.VIDEO, start=madrid(2, 11), now=NOW
    )

    response = client.post(url(item, "move"), {"start": slot_value(madrid(2, 11))})

    assert response.status_code == 409
    page = response.content.decode()
    assert "This time was just taken" in page
    assert f'value="{slot_value(madrid(2, 11, 30))}"' in page
    item.refresh_from_db()
    assert item.starts_at == madrid(1, 10)


@pytest.mark.parametrize("start", ["", "tomorrow", "2026-12-02T11:00:00"])
def test_moving_to_a_time_that_makes_no_sense_says_so(
    client: Client, personas: Personas, setup: Bookable, start: str
) -> None:
    item = booked(setup, madrid(1, 10))
    client.force_login(personas.agent_a)

    response = client.post(url(item, "move"), {"start": start})

    assert response.status_code == 400
    assert "Choose a time from the list." in response.content.decode()


def test_the_move_page_pages_through_later_weeks(
    client: Client, personas: Personas, setup: Bookable
) -> None:
    item = booked(setup, madrid(1, 10))
    client.force_login(personas.agent_a)

    first = client.get(url(item, "move"))
    later = client.get(url(item, "move"), {"week": "2026-12-10"})
    nonsense = client.get(url(item, "move"), {"week": "never"})

    assert first.context["page"].days[0].date == dt.date(2026, 11, 30)
    assert later.context["page"].days[0].date == dt.date(2026, 12, 10)
    assert 'href="?week=2026-12-07"' in first.content.decode()
    assert nonsense.status_code == 200


def test_factory_appointments_are_reachable_by_the_organisation_admin(
    client: Client, personas: Personas
) -> None:
    item = AppointmentFactory(agent=Membership.objects.get(user=personas.agent_a))
    client.force_login(personas.admin_a)
    assert client.get(url(item)).status_code == 200
