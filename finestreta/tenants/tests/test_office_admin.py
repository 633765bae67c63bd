"""Office administrators run their office; opening or closing offices is the organisation's call."""

from __future__ import annotations

import datetime as dt

import time_machine
from django.test import Client
from django.urls import reverse
from django.utils import translation

from finestreta.tenants import services
from tests.factories import MembershipFactory, OfficeFactory, UserFactory
from tests.personas import Personas


def office_admin_of(personas: Personas) -> Client:
    user = UserFactory(username="cap-oficina")
    membership = MembershipFactory(user=user, organisation=personas.org_a, office_admin=True)
    membership.offices.add(personas.office_a)
    client = Client()
    client.force_login(user)
    return client


def test_an_office_admin_can_edit_their_office_but_not_add_or_delete_offices(
    personas: Personas,
) -> None:
    client = office_admin_of(personas)
    change = reverse("admin:tenants_office_change", args=[personas.office_a.pk])
    assert client.get(change).status_code == 200
    assert client.get(reverse("admin:tenants_office_add")).status_code == 403
    delete = reverse("admin:tenants_office_delete", args=[personas.office_a.pk])
    assert client.get(delete).status_code == 403


def test_an_organisation_admin_can_add_offices(personas: Personas) -> None:
    client = Client()
    client.force_login(personas.admin_a)
    assert client.get(reverse("admin:tenants_office_add")).status_code == 200


def test_the_admin_asks_for_the_users_organisations_once_per_request(
    personas: Personas, django_assert_max_num_queries
) -> None:
    client = Client()
    client.force_login(personas.admin_a)
    client.get(reverse("admin:catalogue_service_changelist"))  # warm caches (content types…)
    with django_assert_max_num_queries(20):
        assert client.get(reverse("admin:catalogue_service_changelist")).status_code == 200


def test_today_is_the_offices_date_not_the_servers(personas: Personas) -> None:
    # 23:30 UTC on 31 December is already 1 January in Madrid (UTC+1).
    with time_machine.travel(dt.datetime(2026, 12, 31, 23, 30, tzinfo=dt.UTC), tick=False):
        assert services.office_today(personas.office_a) == dt.date(2027, 1, 1)
        office = OfficeFactory(organisation=personas.org_a, time_zone="Atlantic/Canary")
        assert services.office_today(office) == dt.date(2026, 12, 31)


def test_public_holiday_names_follow_the_readers_language(personas: Personas) -> None:
    day = dt.date(2026, 12, 25)
    names = {}
    for language in ("ca", "es", "en", "oc"):
        with translation.override(language):
            [closure] = services.list_closures(office=personas.office_a, start=day, end=day)
            names[language] = closure.reason
    assert names["ca"] == "Nativitat del Senyor"
    assert names["es"] == "Natividad del Señor"
    assert names["en"] == "Christmas Day"
    assert names["oc"] == names["ca"]  # the library has no Aranese; Catalan is the closest
