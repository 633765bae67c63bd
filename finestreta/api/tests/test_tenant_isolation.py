"""Tokens and holds of one organisation are unknown under another's URL."""

from __future__ import annotations

from rest_framework.test import APIClient

from finestreta.api.tests.conftest import TEN, Bookable
from finestreta.appointments.models import Appointment


def test_a_manage_token_of_one_organisation_is_unknown_under_another(
    api: APIClient, bookable: Bookable
) -> None:
    made = api.post(f"{bookable.base}/bookings/", bookable.booking(), format="json").json()
    token = made["manage_token"]
    elsewhere = "/api/v1/org-b/appointments/" + token
    assert api.get(f"{elsewhere}/").status_code == 404
    assert api.delete(f"{elsewhere}/").status_code == 404
    moved = api.post(f"{elsewhere}/reschedule/", {"start": TEN.isoformat()}, format="json")
    assert moved.status_code == 404
    assert moved.json()["error"]["code"] == "invalid_token"
    assert Appointment.objects.get().status == "booked"


def test_a_hold_of_one_organisation_is_unknown_under_another(
    api: APIClient, bookable: Bookable
) -> None:
    body = {"service": bookable.service.slug, "channel": "video", "start": TEN.isoformat()}
    token = api.post(f"{bookable.base}/holds/", body, format="json").json()["hold"]
    contact = bookable.contact()
    booked = api.post("/api/v1/org-b/bookings/", {"hold": token, "contact": contact}, format="json")
    assert booked.status_code == 404
    assert booked.json()["error"]["code"] == "invalid_token"
    assert api.delete(f"/api/v1/org-b/holds/{token}/").status_code == 404
    assert Appointment.objects.get().status == "held"


def test_a_service_of_one_organisation_cannot_be_held_under_another(
    api: APIClient, bookable: Bookable
) -> None:
    body = {"service": bookable.service.slug, "channel": "video", "start": TEN.isoformat()}
    response = api.post("/api/v1/org-b/holds/", body, format="json")
    assert response.status_code == 400
    assert "service" in response.json()["error"]["fields"]
    url = f"/api/v1/org-b/services/{bookable.service.slug}/availability/"
    assert api.get(url, {"channel": "video"}).status_code == 404
    assert not Appointment.objects.exists()
