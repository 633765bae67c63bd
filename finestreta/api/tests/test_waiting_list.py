"""Joining the waiting list through the API."""

from __future__ import annotations

from rest_framework.test import APIClient

from finestreta.api.tests.conftest import Bookable
from finestreta.appointments.models import WaitingListEntry


def join(api: APIClient, bookable: Bookable, **changes: object):  # type: ignore[no-untyped-def]
    body = {
        "service": bookable.service.slug,
        "channel": "video",
        "earliest": "2026-12-01",
        "latest": "2026-12-04",
        "contact": {"name": "Pere", "phone": "612345678", "language": "es"},
    }
    return api.post(f"{bookable.base}/waiting-list/", {**body, **changes}, format="json")


def test_a_citizen_joins_the_waiting_list(api: APIClient, bookable: Bookable) -> None:
    response = join(api, bookable)
    assert response.status_code == 201
    assert response.json() == {
        "service": bookable.service.slug,
        "channel": "video",
        "office": None,
        "earliest": "2026-12-01",
        "latest": "2026-12-04",
        "status": "waiting",
    }
    entry = WaitingListEntry.objects.get()
    assert (entry.phone, entry.language) == ("+34612345678", "es")


def test_dates_out_of_order_or_beyond_the_window_are_refused(
    api: APIClient, bookable: Bookable
) -> None:
    for earliest, latest in [
        ("2026-12-04", "2026-12-01"),
        ("2026-11-01", "2026-12-01"),
        ("2026-12-01", "2027-06-01"),
    ]:
        response = join(api, bookable, earliest=earliest, latest=latest)
        assert response.status_code == 400, (earliest, latest)
        assert response.json()["error"]["code"] == "booking_error"
    assert not WaitingListEntry.objects.exists()


def test_a_waiting_contact_needs_a_way_to_be_told(api: APIClient, bookable: Bookable) -> None:
    response = join(api, bookable, contact={"name": "Pere"})
    assert response.status_code == 400
    assert "email" in response.json()["error"]["fields"]["contact"]
