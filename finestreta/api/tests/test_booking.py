"""Holding and booking through the API: the same rules as the web pages, idempotent retries,
clear refusals, and nothing half-written."""

from __future__ import annotations

import datetime as dt

import time_machine
from rest_framework.test import APIClient

from finestreta.api.tests.conftest import NOW, TEN, Bookable
from finestreta.appointments.models import Appointment
from finestreta.appointments.services import MAX_HOLDS_PER_CLIENT


def hold(api: APIClient, bookable: Bookable, start: dt.datetime = TEN, **changes: object):  # type: ignore[no-untyped-def]
    body = {"service": bookable.service.slug, "channel": "video", "start": start.isoformat()}
    return api.post(f"{bookable.base}/holds/", {**body, **changes}, format="json")


def book(api: APIClient, bookable: Bookable, body: dict, **headers: str):  # type: ignore[no-untyped-def]
    return api.post(f"{bookable.base}/bookings/", body, format="json", headers=headers)


def test_a_held_time_is_booked_with_the_contact(api: APIClient, bookable: Bookable) -> None:
    held = hold(api, bookable)
    assert held.status_code == 201
    assert dt.datetime.fromisoformat(held.json()["start"]) == TEN
    assert dt.datetime.fromisoformat(held.json()["expires_at"]) == NOW + dt.timedelta(minutes=10)
    response = book(api, bookable, {"hold": held.json()["hold"], "contact": bookable.contact()})
    assert response.status_code == 201
    body = response.json()
    assert body["status"] == "booked" and body["changeable"] is True
    assert body["contact"]["email"] == "nuria@example.org"
    assert len(body["code"]) == 8 and body["manage_token"]
    assert Appointment.objects.get().status == Appointment.Status.BOOKED


def test_a_held_time_is_out_of_the_offer_until_released(api: APIClient, bookable: Bookable) -> None:
    token = hold(api, bookable).json()["hold"]
    again = hold(api, bookable)
    assert again.status_code == 409 and again.json()["error"]["code"] == "slot_taken"
    released = api.delete(f"{bookable.base}/holds/{token}/")
    assert released.status_code == 204
    assert api.delete(f"{bookable.base}/holds/{token}/").status_code == 204  # harmless twice
    assert hold(api, bookable).status_code == 201


def test_an_expired_hold_taken_by_someone_else_cannot_be_booked(
    api: APIClient, bookable: Bookable
) -> None:
    token = hold(api, bookable).json()["hold"]
    with time_machine.travel(NOW + dt.timedelta(minutes=11), tick=False):
        assert hold(api, bookable).status_code == 201  # the lapsed hold is released first
        response = book(api, bookable, {"hold": token, "contact": bookable.contact()})
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "hold_expired"


def test_a_time_is_booked_in_one_step(api: APIClient, bookable: Bookable) -> None:
    response = book(api, bookable, bookable.booking(contact=bookable.contact(needs=["captions"])))
    assert response.status_code == 201
    assert response.json()["contact"]["needs"] == ["captions"]
    assert Appointment.objects.get().needs_captions


def test_a_retry_with_the_same_idempotency_key_returns_the_same_appointment(
    api: APIClient, bookable: Bookable
) -> None:
    first = book(api, bookable, bookable.booking(), **{"Idempotency-Key": "retry-1"})
    again = book(api, bookable, bookable.booking(), **{"Idempotency-Key": "retry-1"})
    assert first.status_code == 201 and again.status_code == 200
    assert again.json()["code"] == first.json()["code"]
    assert Appointment.objects.count() == 1


def test_a_retry_of_a_hold_booking_with_the_same_key_returns_the_same_appointment(
    api: APIClient, bookable: Bookable
) -> None:
    body = {"hold": hold(api, bookable).json()["hold"], "contact": bookable.contact()}
    first = book(api, bookable, body, **{"Idempotency-Key": "k"})
    again = book(api, bookable, body, **{"Idempotency-Key": "k"})
    without_key = book(api, bookable, body)
    assert (first.status_code, again.status_code, without_key.status_code) == (201, 200, 200)
    assert first.json()["code"] == again.json()["code"] == without_key.json()["code"]


def test_an_unusable_idempotency_key_is_refused(api: APIClient, bookable: Bookable) -> None:
    for key in ("x" * 101, "with space", ""):
        response = book(api, bookable, bookable.booking(), **{"Idempotency-Key": key})
        assert response.status_code == 400, key
        assert "Idempotency-Key" in response.json()["error"]["fields"]
    assert not Appointment.objects.exists()


def test_a_taken_time_is_refused_with_the_next_free_times(
    api: APIClient, bookable: Bookable
) -> None:
    assert book(api, bookable, bookable.booking()).status_code == 201
    other = bookable.booking(contact={"name": "Pere", "phone": "612345678"})
    response = book(api, bookable, other)
    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "slot_taken" and error["message"]
    starts = [dt.datetime.fromisoformat(a["start"]) for a in error["alternatives"]]
    assert starts and all(start > TEN for start in starts)
    assert Appointment.objects.count() == 1


def test_a_person_with_as_many_appointments_as_allowed_is_refused(
    api: APIClient, bookable: Bookable
) -> None:
    org = bookable.personas.org_a
    org.max_active_appointments = 1
    org.save()
    assert book(api, bookable, bookable.booking()).status_code == 201
    later = bookable.booking(TEN + dt.timedelta(hours=1))
    response = book(api, bookable, later)
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "too_many_appointments"
    assert Appointment.objects.count() == 1


def test_one_address_cannot_hoard_holds(api: APIClient, bookable: Bookable) -> None:
    for n in range(MAX_HOLDS_PER_CLIENT):
        assert hold(api, bookable, TEN + dt.timedelta(minutes=30 * n)).status_code == 201
    response = hold(api, bookable, TEN + dt.timedelta(hours=3))
    assert response.status_code == 429
    assert response.json()["error"]["code"] == "too_many_holds"


def test_contact_details_are_checked_like_on_the_web(api: APIClient, bookable: Bookable) -> None:
    cases = [
        ({"name": "Núria"}, ["email"]),
        ({"name": "Núria", "phone": "12"}, ["phone"]),
        (
            {"name": "Núria", "email": "nuria@", "id_document": "12345678A"},
            ["email", "id_document"],
        ),
        ({"name": "Núria", "email": "n@example.org", "municipality": "99999"}, ["municipality"]),
        ({"name": "", "email": "n@example.org", "needs": ["telepathy"]}, ["name", "needs"]),
        (
            {"name": "Avi", "representative": {"name": "Filla", "email": "f@example.org"}},
            ["representative"],
        ),
    ]
    for contact, fields in cases:
        response = book(api, bookable, bookable.booking(contact=contact))
        assert response.status_code == 400, contact
        assert sorted(response.json()["error"]["fields"]["contact"]) == fields, contact
    assert not Appointment.objects.exists()


def test_a_representative_who_declares_it_may_book_for_someone_without_contact_details(
    api: APIClient, bookable: Bookable
) -> None:
    representative = {"name": "Filla", "phone": "+34 612 345 678", "declaration": True}
    contact = {"name": "Avi", "representative": representative, "id_document": "12345678z"}
    response = book(api, bookable, bookable.booking(contact=contact))
    assert response.status_code == 201, response.json()
    appointment = Appointment.objects.get()
    assert appointment.representative_phone == "+34612345678"
    assert appointment.id_document == "12345678Z"


def test_a_time_without_an_offset_is_refused(api: APIClient, bookable: Bookable) -> None:
    response = book(api, bookable, bookable.booking() | {"start": "2026-12-01T10:00:00"})
    assert response.status_code == 400
    assert "start" in response.json()["error"]["fields"]


def test_a_booking_needs_either_a_hold_or_a_time_but_not_both(
    api: APIClient, bookable: Bookable
) -> None:
    neither = book(api, bookable, {"contact": bookable.contact()})
    assert neither.status_code == 400
    assert {"service", "channel", "start"} <= set(neither.json()["error"]["fields"])
    token = hold(api, bookable).json()["hold"]
    both = book(api, bookable, bookable.booking(hold=token))
    assert both.status_code == 400
    assert Appointment.objects.filter(status=Appointment.Status.BOOKED).count() == 0


def test_a_forged_hold_token_is_unknown(api: APIClient, bookable: Bookable) -> None:
    token = hold(api, bookable).json()["hold"]
    for forged in (token[:-2] + "xx", "not-a-token"):
        response = book(api, bookable, {"hold": forged, "contact": bookable.contact()})
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "invalid_token"
        assert api.delete(f"{bookable.base}/holds/{forged}/").status_code == 404


def test_in_person_booking_needs_an_office_that_provides_the_service(
    api: APIClient, bookable: Bookable
) -> None:
    no_office = book(api, bookable, bookable.booking(channel="in_person"))
    assert no_office.status_code == 400
    assert "office" in no_office.json()["error"]["fields"]
    at_office = book(api, bookable, bookable.booking(channel="in_person", office="oficina-a"))
    assert at_office.status_code == 201
    assert at_office.json()["office"]["slug"] == "oficina-a"


def test_an_unknown_service_in_the_body_is_a_field_error(
    api: APIClient, bookable: Bookable
) -> None:
    response = hold(api, bookable, service="servei-b")  # organisation B's
    assert response.status_code == 400
    assert "service" in response.json()["error"]["fields"]
