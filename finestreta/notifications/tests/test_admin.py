"""Messaging settings and message templates in the administration: the gateway's key and the
receipt secret are never shown again, and an empty box keeps them."""

from __future__ import annotations

import pytest
from django.test import Client

from finestreta.notifications.models import MessageTemplate, MessagingSettings
from tests.personas import Personas

KEY = "key-that-must-not-be-echoed"
SECRET = "secret-that-must-not-be-echoed"  # noqa: S105 - test value


@pytest.fixture
def own_settings(personas: Personas) -> MessagingSettings:
    return MessagingSettings.objects.create(
        organisation=personas.org_a,
        sms_gateway_url="https://sms.example.net/v1/messages",
        sms_api_key=KEY,
        sms_receipt_secret=SECRET,
    )


def change_url(obj: MessagingSettings) -> str:
    return f"/admin/notifications/messagingsettings/{obj.pk}/change/"


def form_data(**overrides: str) -> dict[str, str]:
    data = {
        "sender_name": "OAC",
        "sender_email": "cita@org-a.example.cat",
        "sms_gateway_url": "https://sms.example.net/v1/messages",
        "sms_api_key": "",
        "sms_receipt_secret": "",
        "sms_sender": "AjuntA",
        "quiet_from": "21:00",
        "quiet_until": "09:00",
        "reminder_hours": "24,1",
    }
    data.update(overrides)
    return data


def test_the_key_and_the_secret_are_password_boxes_never_filled_in(
    client: Client, personas: Personas, own_settings: MessagingSettings
) -> None:
    client.force_login(personas.admin_a)

    page = client.get(change_url(own_settings)).content.decode()

    assert KEY not in page and SECRET not in page
    assert 'type="password" name="sms_api_key"' in page
    assert 'type="password" name="sms_receipt_secret"' in page


def test_saving_with_empty_boxes_keeps_the_key_and_the_secret(
    client: Client, personas: Personas, own_settings: MessagingSettings
) -> None:
    client.force_login(personas.admin_a)

    response = client.post(change_url(own_settings), form_data())

    assert response.status_code == 302
    own_settings.refresh_from_db()
    assert (own_settings.sms_api_key, own_settings.sms_receipt_secret) == (KEY, SECRET)
    assert own_settings.sender_email == "cita@org-a.example.cat"


def test_a_new_key_replaces_the_old_one(
    client: Client, personas: Personas, own_settings: MessagingSettings
) -> None:
    client.force_login(personas.admin_a)

    client.post(change_url(own_settings), form_data(sms_api_key="new-key"))

    own_settings.refresh_from_db()
    assert own_settings.sms_api_key == "new-key"
    assert own_settings.sms_receipt_secret == SECRET


def test_a_supervisor_has_no_messaging_administration(
    client: Client, personas: Personas, own_settings: MessagingSettings
) -> None:
    client.force_login(personas.supervisor_a)
    assert client.get(change_url(own_settings)).status_code in {302, 403, 404}


def test_a_template_that_is_not_valid_is_not_saved(client: Client, personas: Personas) -> None:
    client.force_login(personas.admin_a)

    response = client.post(
        "/admin/notifications/messagetemplate/add/",
        {
            "organisation": personas.org_a.pk,
            "kind": "booking_confirmed",
            "channel": "email",
            "language": "ca",
            "subject": "Cita",
            "body": "{% if %}",
        },
    )

    assert response.status_code == 200
    assert response.context["adminform"].form.errors
    assert not MessageTemplate.objects.exists()
