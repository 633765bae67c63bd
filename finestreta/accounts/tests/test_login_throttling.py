"""Repeated failed logins lock that username from that address for a while (django-axes)."""

from __future__ import annotations

import pytest
from django.contrib.auth import SESSION_KEY
from django.test import Client
from django.urls import reverse

from tests.personas import PASSWORD, Personas

LOGIN = reverse("accounts:login")


@pytest.fixture
def throttling(settings) -> None:  # type: ignore[no-untyped-def]
    settings.AXES_ENABLED = True
    settings.AXES_FAILURE_LIMIT = 5


def test_after_five_failures_even_the_right_password_is_refused(
    client: Client, personas: Personas, throttling: None
) -> None:
    for _ in range(5):
        assert client.post(LOGIN, {"username": "platform", "password": "wrong"}).status_code in {
            200,
            429,
        }
    response = client.post(LOGIN, {"username": "platform", "password": PASSWORD})
    assert response.status_code == 429
    assert SESSION_KEY not in client.session
    assert "accounts/locked_out.html" in [t.name for t in response.templates]


def test_a_lockout_does_not_block_another_username(
    client: Client, personas: Personas, throttling: None, settings
) -> None:
    for _ in range(5):
        client.post(LOGIN, {"username": "platform", "password": "wrong"})
    settings.DEBUG = True
    from tests.factories import UserFactory

    UserFactory(username="demo-y", is_demo=True)
    response = client.post(LOGIN, {"username": "demo-y", "password": PASSWORD})
    assert response.status_code == 302


def test_a_success_before_the_limit_resets_the_count(
    client: Client, personas: Personas, throttling: None
) -> None:
    for _ in range(4):
        client.post(LOGIN, {"username": "platform", "password": "wrong"})
    assert client.post(LOGIN, {"username": "platform", "password": PASSWORD}).status_code == 302
    client.post(reverse("accounts:logout"))
    for _ in range(4):
        client.post(LOGIN, {"username": "platform", "password": "wrong"})
    assert client.post(LOGIN, {"username": "platform", "password": PASSWORD}).status_code == 302
