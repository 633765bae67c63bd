"""Closed days in the admin: office administrators close only their own offices."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from finestreta.tenants.models import ClosedDay, Office
from tests.factories import ClosedDayFactory, MembershipFactory, OfficeFactory, UserFactory
from tests.personas import Personas

pytestmark = pytest.mark.django_db


def logged_in(user: object) -> Client:
    client = Client()
    client.force_login(user)  # type: ignore[arg-type]
    return client


@pytest.fixture
def office_admin(personas: Personas) -> Any:
    own = OfficeFactory(organisation=personas.org_a, slug="oficina-propia")
    user = UserFactory(username="office-admin-a")
    MembershipFactory(user=user, organisation=personas.org_a, office_admin=True).offices.add(own)
    return user


def closed_day_post(personas: Personas, office: Office | None, day: str) -> dict[str, Any]:
    return {
        "organisation": personas.org_a.pk,
        "office": office.pk if office else "",
        "date": day,
        "reason": "Obres",
    }


def test_an_office_admin_can_close_only_their_own_office(personas, office_admin) -> None:
    client = logged_in(office_admin)
    add = reverse("admin:tenants_closedday_add")
    own = Office.objects.get(slug="oficina-propia")
    fields = client.get(add).context["adminform"].form.fields
    assert list(fields["office"].queryset) == [own]
    refused = client.post(add, closed_day_post(personas, personas.office_a, "2026-03-05"))
    assert refused.status_code == 200
    assert refused.context["adminform"].form.errors["office"]
    accepted = client.post(add, closed_day_post(personas, own, "2026-03-06"))
    assert accepted.status_code == 302
    assert list(ClosedDay.objects.values_list("office__slug", flat=True)) == ["oficina-propia"]


def test_an_office_admin_cannot_close_every_office(personas, office_admin) -> None:
    client = logged_in(office_admin)
    response = client.post(
        reverse("admin:tenants_closedday_add"), closed_day_post(personas, None, "2026-03-05")
    )
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["office"]
    assert not ClosedDay.objects.exists()


def test_an_office_admin_can_see_but_not_change_an_organisation_wide_closure(
    personas, office_admin
) -> None:
    wide = ClosedDayFactory(organisation=personas.org_a, office=None, date=dt.date(2026, 3, 2))
    client = logged_in(office_admin)
    change = reverse("admin:tenants_closedday_change", args=[wide.pk])
    response = client.get(change)
    assert response.status_code == 200
    assert response.context["has_change_permission"] is False
    posted = client.post(change, closed_day_post(personas, None, "2026-03-09"))
    assert posted.status_code == 403
    delete = reverse("admin:tenants_closedday_delete", args=[wide.pk])
    assert client.post(delete, {"post": "yes"}).status_code == 403
    wide.refresh_from_db()
    assert wide.date == dt.date(2026, 3, 2)


def test_an_organisation_admin_can_close_every_office(personas) -> None:
    client = logged_in(personas.admin_a)
    response = client.post(
        reverse("admin:tenants_closedday_add"), closed_day_post(personas, None, "2026-03-05")
    )
    assert response.status_code == 302
    wide = ClosedDay.objects.get()
    assert wide.office is None
    delete = reverse("admin:tenants_closedday_delete", args=[wide.pk])
    assert client.post(delete, {"post": "yes"}).status_code == 302
    assert not ClosedDay.objects.exists()
