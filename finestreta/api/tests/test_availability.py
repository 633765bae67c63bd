"""Free times: validated parameters, aware ISO 8601 times, in person only at an office."""

from __future__ import annotations

import datetime as dt

from rest_framework.test import APIClient

from finestreta.api.tests.conftest import TEN, Bookable


def availability(api: APIClient, bookable: Bookable, **params: object):  # type: ignore[no-untyped-def]
    return api.get(f"{bookable.base}/services/{bookable.service.slug}/availability/", params)


def test_it_lists_free_times_with_their_offset(api: APIClient, bookable: Bookable) -> None:
    response = availability(api, bookable, channel="video", days=3)
    assert response.status_code == 200
    body = response.json()
    assert body["time_zone"] == "Europe/Madrid" and body["office"] is None
    starts = [dt.datetime.fromisoformat(slot["start"]) for slot in body["slots"]]
    assert TEN in starts
    assert body["slots"][0]["start"].endswith("+01:00")
    # Minimum notice and the three-day window bound the answer.
    assert min(starts) >= dt.datetime(2026, 11, 30, 9, tzinfo=dt.UTC)
    assert max(starts) < dt.datetime(2026, 12, 3, 8, tzinfo=dt.UTC)


def test_in_person_times_are_at_an_office(api: APIClient, bookable: Bookable) -> None:
    refused = availability(api, bookable, channel="in_person")
    assert refused.status_code == 400
    assert "office" in refused.json()["error"]["fields"]
    response = availability(api, bookable, channel="in_person", office="oficina-a", days=2)
    assert response.status_code == 200
    assert response.json()["office"] == "oficina-a" and response.json()["slots"]


def test_a_channel_the_service_does_not_offer_is_refused(
    api: APIClient, bookable: Bookable
) -> None:
    response = availability(api, bookable, channel="phone")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid"
    assert "channel" in response.json()["error"]["fields"]


def test_bad_parameters_get_field_errors(api: APIClient, bookable: Bookable) -> None:
    for params, field in [
        ({}, "channel"),
        ({"channel": "fax"}, "channel"),
        ({"channel": "video", "days": 0}, "days"),
        ({"channel": "video", "days": "many"}, "days"),
        ({"channel": "video", "office": "oficina-b"}, "office"),  # another organisation's
    ]:
        response = availability(api, bookable, **params)
        assert response.status_code == 400, params
        assert field in response.json()["error"]["fields"], params


def test_an_unknown_service_has_no_availability(api: APIClient, bookable: Bookable) -> None:
    response = api.get(f"{bookable.base}/services/nope/availability/", {"channel": "video"})
    assert response.status_code == 404
