from __future__ import annotations

from django.test import Client
from django.urls import reverse

from tests.personas import Personas


def test_the_admin_login_sends_staff_to_the_one_staff_login(
    client: Client, personas: Personas
) -> None:
    response = client.get("/admin/login/?next=/admin/tenants/office/")
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))
    assert "next=/admin/tenants/office/" in response["Location"]


def test_an_organisation_admin_without_is_staff_reaches_the_admin_once_signed_in(
    client: Client, personas: Personas
) -> None:
    # Organisation admins sign in through their organisation's provider (as force_login here).
    assert not personas.admin_a.is_staff
    client.force_login(personas.admin_a)
    assert client.get("/admin/").status_code == 200


def test_an_agent_is_turned_away_from_the_admin(client: Client, personas: Personas) -> None:
    client.force_login(personas.agent_a)
    response = client.get("/admin/")
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")
