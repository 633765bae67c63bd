"""Services and offices, in the request's language; unknown or inactive organisations are 404."""

from __future__ import annotations

from rest_framework.test import APIClient

from finestreta.api.tests.conftest import Bookable
from tests.factories import ServiceFactory
from tests.personas import Personas


def test_it_lists_the_active_services_of_an_organisation(
    api: APIClient, personas: Personas
) -> None:
    ServiceFactory(organisation=personas.org_a, inactive=True, slug="closed")
    response = api.get("/api/v1/org-a/services/")
    assert response.status_code == 200
    assert [s["slug"] for s in response.json()] == ["servei-a"]
    service = response.json()[0]
    assert service["attention_level"]["code"] == "informative"
    assert service["attention_level"]["explanation"]
    assert service["channels"] == [{"code": "video", "label": "Videotrucada"}]
    assert service["offices"] == [{"slug": "oficina-a", "name": "Oficina A"}]


def test_it_names_a_service_in_the_accept_language_language(
    api: APIClient, personas: Personas
) -> None:
    spanish = api.get("/api/v1/org-a/services/servei-a/", HTTP_ACCEPT_LANGUAGE="es")
    english = api.get("/api/v1/org-a/services/servei-a/", HTTP_ACCEPT_LANGUAGE="en")
    assert spanish.json()["name"] == personas.service_a.name_es
    assert english.json()["name"] == personas.service_a.name_en
    assert english["Content-Language"] == "en"


def test_an_unknown_service_is_a_404_with_a_machine_readable_body(
    api: APIClient, personas: Personas
) -> None:
    response = api.get("/api/v1/org-a/services/nope/")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    assert response.json()["error"]["message"]


def test_another_organisations_service_is_not_found_under_this_one(
    api: APIClient, personas: Personas
) -> None:
    assert api.get("/api/v1/org-a/services/servei-b/").status_code == 404


def test_an_unknown_or_inactive_organisation_is_a_json_404(
    api: APIClient, personas: Personas
) -> None:
    personas.org_b.is_active = False
    personas.org_b.save()
    for path in ("/api/v1/nobody/services/", "/api/v1/org-b/offices/"):
        response = api.get(path)
        assert response.status_code == 404
        assert response["Content-Type"] == "application/json"
        assert response.json()["error"]["code"] == "not_found"


def test_it_lists_offices_with_their_opening_hours(api: APIClient, personas: Personas) -> None:
    response = api.get("/api/v1/org-a/offices/")
    assert response.status_code == 200
    (office,) = response.json()
    assert office["slug"] == "oficina-a"
    assert office["time_zone"] == "Europe/Madrid"
    assert office["opening_hours"][0] == {"weekday": 0, "opens": "09:00", "closes": "14:00"}


def test_listing_services_takes_a_fixed_number_of_queries(
    api: APIClient, bookable: Bookable, django_assert_max_num_queries
) -> None:
    for _n in range(5):
        ServiceFactory(organisation=bookable.personas.org_a, offices=[bookable.personas.office_a])
    with django_assert_max_num_queries(4):
        assert api.get("/api/v1/org-a/services/").status_code == 200
