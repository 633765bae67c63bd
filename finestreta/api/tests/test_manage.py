"""Reading, cancelling and moving an appointment with its manage token."""

from __future__ import annotations

import datetime as dt

import time_machine
from rest_framework.test import APIClient

from finestreta.api.tests.conftest import NOW, TEN, Bookable
from finestreta.appointments.models import Appointment


def booked(api: APIClient, bookable: Bookable, start: dt.datetime = TEN) -> dict:
    response = api.post(f"{bookable.base}/bookings/", bookable.booking(start), format="json")
    assert response.status_code == 201
    return response.json()


def test_an_appointment_is_read_with_its_manage_token(api: APIClient, bookable: Bookable) -> None:
    made = booked(api, bookable)
    response = api.get(f"{bookable.base}/appointments/{made['manage_token']}/")
    assert response.status_code == 200
    assert response.json() == made


def test_an_appointment_is_cancelled_once_with_its_reason(
    api: APIClient, bookable: Bookable
) -> None:
    url = f"{bookable.base}/appointments/{booked(api, bookable)['manage_token']}/"
    response = api.delete(url, {"reason": "Ja està resolt"}, format="json")
    assert response.status_code == 200
    assert response.json()["status"] == "cancelled" and response.json()["cancelled_at"]
    assert api.delete(url).status_code == 200  # twice is harmless
    appointment = Appointment.objects.get()
    assert appointment.cancellation_reason == "Ja està resolt"
    assert appointment.cancelled_by == "citizen"
    # The freed time can be booked again.
    assert (
        api.post(f"{bookable.base}/bookings/", bookable.booking(), format="json").status_code == 201
    )


def test_an_appointment_is_moved_keeping_its_code_and_token(
    api: APIClient, bookable: Bookable
) -> None:
    made = booked(api, bookable)
    later = TEN + dt.timedelta(hours=1)
    url = f"{bookable.base}/appointments/{made['manage_token']}/reschedule/"
    response = api.post(url, {"start": later.isoformat()}, format="json")
    assert response.status_code == 200
    assert dt.datetime.fromisoformat(response.json()["start"]) == later
    assert response.json()["code"] == made["code"]
    assert response.json()["manage_token"] == made["manage_token"]


def test_moving_to_a_taken_time_is_refused_with_alternatives(
    api: APIClient, bookable: Bookable
) -> None:
    booked(api, bookable, TEN + dt.timedelta(hours=1))
    made = booked(api, bookable.__class__(bookable.personas, bookable.service, bookable.agent))
    url = f"{bookable.base}/appointments/{made['manage_token']}/reschedule/"
    response = api.post(url, {"start": (TEN + dt.timedelta(hours=1)).isoformat()}, format="json")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "slot_taken"
    assert response.json()["error"]["alternatives"]
    assert Appointment.objects.get(code=made["code"]).starts_at == TEN


def test_a_cancelled_or_past_appointment_cannot_be_moved(
    api: APIClient, bookable: Bookable
) -> None:
    made = booked(api, bookable)
    token = made["manage_token"]
    later = {"start": (TEN + dt.timedelta(hours=1)).isoformat()}
    with time_machine.travel(TEN + dt.timedelta(minutes=5), tick=False):
        past = api.post(f"{bookable.base}/appointments/{token}/reschedule/", later, format="json")
        cancel = api.delete(f"{bookable.base}/appointments/{token}/")
    assert past.status_code == 409 and past.json()["error"]["code"] == "not_changeable"
    assert cancel.status_code == 409 and cancel.json()["error"]["code"] == "not_changeable"
    assert api.delete(f"{bookable.base}/appointments/{token}/").status_code == 200
    moved = api.post(f"{bookable.base}/appointments/{token}/reschedule/", later, format="json")
    assert moved.status_code == 409 and moved.json()["error"]["code"] == "not_changeable"


def test_a_bad_reschedule_body_gets_field_errors(api: APIClient, bookable: Bookable) -> None:
    token = booked(api, bookable)["manage_token"]
    url = f"{bookable.base}/appointments/{token}/reschedule/"
    for body in ({}, {"start": "tomorrow"}, {"start": "2026-12-01T11:00:00"}):
        response = api.post(url, body, format="json")
        assert response.status_code == 400, body
        assert "start" in response.json()["error"]["fields"]


def test_a_wrong_manage_token_is_not_found(api: APIClient, bookable: Bookable) -> None:
    token = booked(api, bookable)["manage_token"]
    for wrong in (token[:-3] + "abc", "garbage"):
        url = f"{bookable.base}/appointments/{wrong}/"
        assert api.get(url).status_code == 404
        assert api.get(url).json()["error"]["code"] == "invalid_token"
        assert api.delete(url).status_code == 404
    assert Appointment.objects.get().status == "booked"


def test_a_manage_token_stops_working_a_month_after_the_appointment(
    api: APIClient, bookable: Bookable
) -> None:
    token = booked(api, bookable)["manage_token"]
    with time_machine.travel(NOW + dt.timedelta(days=40), tick=False):
        assert api.get(f"{bookable.base}/appointments/{token}/").status_code == 404
