"""Bad input always gets a 4xx with a machine-readable body, in the request's language; too many
requests from one address get 429."""

from __future__ import annotations

import copy

from django.conf import settings
from django.test import override_settings
from rest_framework.test import APIClient

from finestreta.api.tests.conftest import Bookable
from finestreta.appointments.models import Appointment
from tests.personas import Personas


def rates(read: str, write: str) -> dict:
    changed = copy.deepcopy(settings.REST_FRAMEWORK)
    changed["DEFAULT_THROTTLE_RATES"] = {"api-read": read, "api-write": write}
    return changed


def test_validation_errors_are_in_the_requests_language(api: APIClient, bookable: Bookable) -> None:
    body = bookable.booking(contact={"email": "n@example.org"})
    response = api.post(
        f"{bookable.base}/bookings/", body, format="json", HTTP_ACCEPT_LANGUAGE="es"
    )
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid" and error["message"]
    assert error["fields"]["contact"]["name"] == ["Este campo es obligatorio."]


def test_a_body_that_is_not_json_is_refused(api: APIClient, bookable: Bookable) -> None:
    url = f"{bookable.base}/bookings/"
    broken = api.post(url, "{not json", content_type="application/json")
    assert broken.status_code == 400 and broken.json()["error"]["code"] == "parse_error"
    form = api.post(url, "a=b", content_type="application/x-www-form-urlencoded")
    assert form.status_code == 415
    assert form.json()["error"]["code"] == "unsupported_media_type"
    listed = api.post(url, [1, 2], format="json")
    assert listed.status_code == 400 and "non_field_errors" in listed.json()["error"]["fields"]
    assert not Appointment.objects.exists()


def test_an_undocumented_method_is_405_and_an_unknown_path_a_json_404(
    api: APIClient, personas: Personas
) -> None:
    response = api.put("/api/v1/org-a/services/", {}, format="json")
    assert response.status_code == 405
    assert response.json()["error"]["code"] == "method_not_allowed"
    for path in ("/api/v1/org-a/nothing/", "/api/v2/", "/api/v1/org-a/services"):
        missing = api.get(path)
        assert missing.status_code == 404, path
        assert missing.json()["error"]["code"] == "not_found"


def test_the_api_answers_json_whatever_the_client_accepts(
    api: APIClient, personas: Personas
) -> None:
    response = api.get("/api/v1/org-a/services/", HTTP_ACCEPT="text/html")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"


def test_too_many_reads_from_one_address_are_throttled(api: APIClient, personas: Personas) -> None:
    with override_settings(REST_FRAMEWORK=rates("3/minute", "1/minute")):
        statuses = [api.get("/api/v1/org-a/services/").status_code for _ in range(4)]
        other = APIClient(REMOTE_ADDR="192.0.2.7").get("/api/v1/org-a/services/")
        throttled = api.get("/api/v1/org-a/offices/")
    assert statuses == [200, 200, 200, 429]
    assert other.status_code == 200  # another address has its own count
    assert throttled.json()["error"]["code"] == "throttled"
    assert int(throttled["Retry-After"]) > 0


def test_writes_have_their_own_lower_rate(api: APIClient, bookable: Bookable) -> None:
    with override_settings(REST_FRAMEWORK=rates("100/minute", "1/minute")):
        url = f"{bookable.base}/bookings/"
        first = api.post(url, bookable.booking(), format="json")
        second = api.post(url, bookable.booking(), format="json")
        read = api.get("/api/v1/org-a/services/")
    assert (first.status_code, second.status_code, read.status_code) == (201, 429, 200)
    assert Appointment.objects.count() == 1


def test_a_forwarded_for_header_does_not_escape_the_throttle(
    api: APIClient, personas: Personas
) -> None:
    with override_settings(REST_FRAMEWORK=rates("1/minute", "1/minute")):
        api.get("/api/v1/org-a/services/")
        response = api.get("/api/v1/org-a/services/", HTTP_X_FORWARDED_FOR="198.51.100.9")
    assert response.status_code == 429
