"""The public pages of the platform and of each organisation (no login)."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import pytest
import time_machine
from django.conf import settings
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import translation
from django.utils.html import escape

from finestreta.catalogue.models import ATTENTION_LEVEL_EXPLANATIONS, AttentionLevel
from tests.factories import (
    ClosedDayFactory,
    OfficeFactory,
    OrganisationFactory,
    ServiceFactory,
)
from tests.personas import Personas

pytestmark = pytest.mark.django_db

MADRID = zoneinfo.ZoneInfo("Europe/Madrid")


def org_url(name: str, personas: Personas, **kwargs: str) -> str:
    return reverse(f"public:{name}", kwargs={"org": personas.org_a.slug, **kwargs})


def test_the_platform_home_lists_active_organisations_only(client: Client, personas) -> None:
    OrganisationFactory(slug="tancat", name="Organisme Tancat", is_active=False)
    response = client.get(reverse("public:platform-home"))
    assert response.status_code == 200
    assert set(response.context["organisations"]) == {personas.org_a, personas.org_b}
    assert "Organisme Tancat" not in response.content.decode()


def test_public_pages_refuse_post(client: Client, personas) -> None:
    assert client.post(reverse("public:platform-home")).status_code == 405
    assert client.post(org_url("org-home", personas)).status_code == 405


def test_the_organisation_home_groups_services_by_attention_level(client: Client, personas):
    org = personas.org_a
    ServiceFactory(organisation=org, name="Certificat", name_ca="Certificat", attended=True)
    ServiceFactory(organisation=org, name="Ajuda", name_ca="Ajuda", assisted=True)
    ServiceFactory(organisation=org, name="Amagat", name_ca="Amagat", inactive=True)
    ServiceFactory(organisation=personas.org_b, name="Aliè", name_ca="Aliè")
    response = client.get(org_url("org-home", personas))
    assert response.status_code == 200
    levels = response.context["levels"]
    assert [group.level for group in levels] == list(AttentionLevel)
    body = response.content.decode()
    positions = [body.index(f'id="level-{level}"') for level in AttentionLevel]
    assert positions == sorted(positions)
    with translation.override("ca"):
        for level in AttentionLevel:
            assert escape(str(ATTENTION_LEVEL_EXPLANATIONS[level])) in body
    assert "Certificat" in body and "Ajuda" in body
    assert "Amagat" not in body
    assert "Aliè" not in body
    assert personas.office_a.name in body
    assert personas.office_b.name not in body


def test_the_organisation_home_is_404_for_an_inactive_organisation(client: Client) -> None:
    OrganisationFactory(slug="tancat", is_active=False)
    assert client.get(reverse("public:org-home", args=["tancat"])).status_code == 404


def test_the_organisation_home_is_404_for_an_unknown_organisation(client: Client) -> None:
    assert client.get(reverse("public:org-home", args=["no-existeix"])).status_code == 404


def test_the_organisation_home_makes_the_same_queries_for_3_or_10_services(
    client: Client, personas, django_assert_num_queries
) -> None:
    org = personas.org_a
    for index in range(2):
        ServiceFactory(organisation=org, offices=[personas.office_a], attended=index % 2 == 0)
    with CaptureQueriesContext(connection) as three:
        assert client.get(org_url("org-home", personas)).status_code == 200
    for index in range(7):
        ServiceFactory(organisation=org, offices=[personas.office_a], assisted=index % 2 == 0)
        OfficeFactory(organisation=org)
    with django_assert_num_queries(len(three.captured_queries)):
        response = client.get(org_url("org-home", personas))
    assert sum(len(group.services) for group in response.context["levels"]) == 10


def test_a_service_page_shows_the_service(client: Client, personas) -> None:
    service = personas.service_a
    service.documents_to_prepare_ca = "DNI\n\nFactura"
    service.save()
    response = client.get(org_url("service", personas, service=service.slug))
    assert response.status_code == 200
    body = response.content.decode()
    assert service.name in body
    assert "<li>DNI</li>" in body and "<li>Factura</li>" in body
    assert personas.office_a.name in body


def test_a_service_of_another_organisation_is_404(client: Client, personas) -> None:
    url = org_url("service", personas, service=personas.service_b.slug)
    assert client.get(url).status_code == 404


def test_an_inactive_service_is_404(client: Client, personas) -> None:
    hidden = ServiceFactory(organisation=personas.org_a, inactive=True)
    assert client.get(org_url("service", personas, service=hidden.slug)).status_code == 404


def test_an_office_of_another_organisation_is_404(client: Client, personas) -> None:
    url = org_url("office", personas, office=personas.office_b.slug)
    assert client.get(url).status_code == 404


def test_an_inactive_office_is_404(client: Client, personas) -> None:
    closed = OfficeFactory(organisation=personas.org_a, is_active=False)
    assert client.get(org_url("office", personas, office=closed.slug)).status_code == 404


@time_machine.travel(dt.datetime(2026, 9, 1, 10, tzinfo=MADRID), tick=False)
def test_the_office_page_shows_opening_hours_and_upcoming_closures(client: Client, personas):
    office = personas.office_a
    ClosedDayFactory(
        organisation=personas.org_a,
        office=office,
        date=dt.date(2026, 10, 5),
        reason="Obres a la façana",
    )
    ClosedDayFactory(
        organisation=personas.org_a,
        office=None,
        date=dt.date(2026, 8, 20),
        reason="Tancament passat",
    )
    ClosedDayFactory(
        organisation=personas.org_a, office=None, date=dt.date(2027, 1, 20), reason="Massa lluny"
    )
    response = client.get(org_url("office", personas, office=office.slug))
    assert response.status_code == 200
    body = response.content.decode()
    assert "09:00–14:00" in body
    assert 'datetime="2026-09-11"' in body  # La Diada
    assert 'datetime="2026-10-12"' in body
    assert "Obres a la façana" in body
    assert "Tancament passat" not in body
    assert "Massa lluny" not in body
    assert personas.service_a.name in body


def test_brand_css_is_a_stylesheet_with_the_organisations_colour(client: Client, personas):
    personas.org_a.brand_colour = "#8a1538"
    personas.org_a.save()
    response = client.get(org_url("brand-css", personas))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/css")
    assert "--brand: #8a1538;" in response.content.decode()
    assert "<" not in response.content.decode()


def test_brand_css_is_404_for_an_inactive_organisation(client: Client) -> None:
    OrganisationFactory(slug="tancat", is_active=False)
    assert client.get(reverse("public:brand-css", args=["tancat"])).status_code == 404


@pytest.mark.parametrize(
    ("page", "field", "default_words"),
    [
        ("accessibility", "accessibility_statement", "is committed to making this website"),
        ("privacy", "privacy_notice", "is responsible for the personal data"),
    ],
)
def test_the_statement_pages_show_the_organisations_own_text_or_a_default(
    client: Client, personas, page: str, field: str, default_words: str
) -> None:
    own_text = "Text propi de l'organisme."
    setattr(personas.org_a, f"{field}_ca", own_text)
    personas.org_a.save()
    own = client.get(org_url(page, personas), HTTP_ACCEPT_LANGUAGE="ca").content.decode()
    assert own_text.replace("'", "&#x27;") in own
    assert default_words not in own
    other = client.get(
        reverse(f"public:{page}", args=[personas.org_b.slug]), HTTP_ACCEPT_LANGUAGE="en"
    ).content.decode()
    assert default_words in other
    assert personas.org_b.name in other
    assert "Text propi" not in other


def test_the_statement_pages_are_404_for_an_unknown_organisation(client: Client) -> None:
    for page in ("accessibility", "privacy"):
        assert client.get(reverse(f"public:{page}", args=["no-existeix"])).status_code == 404


def test_the_language_switcher_sets_the_cookie_and_later_pages_are_in_spanish(
    client: Client, personas
) -> None:
    personas.org_a.name_es = "Organismo A"
    personas.org_a.save()
    personas.service_a.name_es = "Trámite A"
    personas.service_a.save()
    home = org_url("org-home", personas)
    assert '<html lang="ca">' in client.get(home).content.decode()
    response = client.post("/i18n/setlang/", {"language": "es", "next": home})
    assert response.status_code == 302
    assert response["Location"] == home
    assert client.cookies[settings.LANGUAGE_COOKIE_NAME].value == "es"
    body = client.get(home).content.decode()
    assert '<html lang="es">' in body
    assert "<h1>Organismo A</h1>" in body
    assert "Trámite A" in body


def test_the_language_switcher_ignores_an_unknown_language(client: Client, personas) -> None:
    client.post("/i18n/setlang/", {"language": "xx"})
    assert settings.LANGUAGE_COOKIE_NAME not in client.cookies
    assert '<html lang="ca">' in client.get(org_url("org-home", personas)).content.decode()


def test_the_language_switcher_does_not_redirect_to_another_site(client: Client) -> None:
    response = client.post("/i18n/setlang/", {"language": "es", "next": "https://evil.example/"})
    assert "evil.example" not in response["Location"]


PAGES = [
    ("platform-home", {}),
    ("org-home", {"org": "org-a"}),
    ("brand-css", {"org": "org-a"}),
    ("service", {"org": "org-a", "service": "servei-a"}),
    ("office", {"org": "org-a", "office": "oficina-a"}),
    ("accessibility", {"org": "org-a"}),
    ("privacy", {"org": "org-a"}),
    ("org-home", {"org": "no-existeix"}),  # the 404 page too
]


@pytest.mark.parametrize(("name", "kwargs"), PAGES, ids=lambda value: str(value))
def test_every_page_sends_the_security_headers(client: Client, personas, name, kwargs) -> None:
    response = client.get(reverse(f"public:{name}", kwargs=kwargs))
    assert response.status_code in {200, 404}
    csp = response["Content-Security-Policy"]
    assert "default-src 'self'" in csp
    assert "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp
    assert "unsafe-eval" not in csp
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert "camera=(self)" in response["Permissions-Policy"]
    assert "geolocation=()" in response["Permissions-Policy"]
