"""Local accounts are for platform administrators only, and they give a TOTP second factor."""

from __future__ import annotations

from django.test import Client
from django.urls import reverse
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from tests.personas import PASSWORD, Personas

LOGIN = reverse("accounts:login")
SECOND_FACTOR = reverse("accounts:second-factor")


def code_for(device: TOTPDevice, *, offset: int = 0) -> str:
    return f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits, drift=offset):06d}"


def password_login(client: Client) -> None:
    response = client.post(LOGIN, {"username": "platform", "password": PASSWORD})
    assert response.status_code == 302


def test_a_platform_admin_without_a_device_must_set_one_up_before_anything_else(
    client: Client, personas: Personas
) -> None:
    password_login(client)
    response = client.get("/admin/")
    assert response["Location"].startswith(SECOND_FACTOR)
    page = client.get(SECOND_FACTOR)
    assert page.context["setting_up"] is True
    assert page.context["qr_code"].startswith("data:image/svg+xml;base64,")
    device = TOTPDevice.objects.get(user=personas.platform_admin, confirmed=False)
    assert page.context["secret"] and page.context["secret"] in page.content.decode()
    right = client.post(SECOND_FACTOR, {"code": code_for(device), "next": "/admin/"})
    assert right.status_code == 302 and right["Location"] == "/admin/"
    device.refresh_from_db()
    assert device.confirmed
    assert client.get("/admin/").status_code == 200


def test_a_platform_admin_with_a_device_gives_a_code_at_each_login(
    client: Client, personas: Personas
) -> None:
    device = TOTPDevice.objects.create(user=personas.platform_admin, name="phone", confirmed=True)
    password_login(client)
    page = client.get(SECOND_FACTOR)
    assert page.context["setting_up"] is False
    assert "secret" not in page.context  # the key is never shown again
    assert client.get("/admin/").status_code == 302
    assert client.post(SECOND_FACTOR, {"code": code_for(device)}).status_code == 302
    assert client.get("/admin/").status_code == 200


def test_a_used_code_cannot_be_used_again(client: Client, personas: Personas) -> None:
    device = TOTPDevice.objects.create(user=personas.platform_admin, name="phone", confirmed=True)
    password_login(client)
    code = code_for(device)
    assert client.post(SECOND_FACTOR, {"code": code}).status_code == 302
    other = Client()
    password_login(other)
    refused = other.post(SECOND_FACTOR, {"code": code})
    assert refused.status_code == 200 and refused.context["form"].errors


def test_the_second_factor_page_refuses_to_redirect_to_another_site(
    client: Client, personas: Personas
) -> None:
    device = TOTPDevice.objects.create(user=personas.platform_admin, name="phone", confirmed=True)
    password_login(client)
    response = client.post(
        SECOND_FACTOR, {"code": code_for(device), "next": "https://evil.example/"}
    )
    assert response["Location"] == reverse("admin:index")


def test_bad_input_gets_a_clear_error(client: Client, personas: Personas) -> None:
    password_login(client)
    response = client.post(SECOND_FACTOR, {"code": "abc"})
    assert response.status_code == 200
    assert response.context["form"].errors["code"]


def test_a_wrong_code_is_refused_and_slows_down_the_next_attempts(
    client: Client, personas: Personas
) -> None:
    device = TOTPDevice.objects.create(user=personas.platform_admin, name="phone", confirmed=True)
    password_login(client)
    wrong = client.post(
        SECOND_FACTOR, {"code": "000000" if code_for(device) != "000000" else "111111"}
    )
    assert wrong.status_code == 200 and wrong.context["form"].errors["code"]
    # django-otp throttles the device after a failure: even the right code waits a moment.
    assert client.post(SECOND_FACTOR, {"code": code_for(device)}).status_code == 200
    assert client.get("/admin/").status_code == 302
