"""An organisation cannot point its SMS gateway (and so the gateway's key) at the platform's own
network: https on public addresses only, checked on save and again at send time."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from finestreta.notifications.gateways import Outgoing, PermanentFailure, SmsHttpGateway
from finestreta.notifications.safety import check_gateway_url


@pytest.fixture
def production(settings):  # type: ignore[no-untyped-def]
    settings.NOTIFICATIONS_ALLOW_PRIVATE_GATEWAYS = False


@pytest.mark.parametrize(
    "url",
    [
        "http://8.8.8.8/sms",
        "https://127.0.0.1/sms",
        "https://localhost:8443/sms",
        "https://10.0.0.5/sms",
        "https://169.254.169.254/latest/",
        "https://[::1]/sms",
    ],
)
def test_a_private_or_plain_http_gateway_is_refused(production, url: str) -> None:
    with pytest.raises(ValidationError):
        check_gateway_url(url)


def test_a_public_https_gateway_is_accepted(production) -> None:
    check_gateway_url("https://8.8.8.8/sms")  # an address literal: no DNS needed


def test_sending_to_a_private_gateway_fails_for_good_without_a_request(production) -> None:
    gateway = SmsHttpGateway(
        url="https://127.0.0.1:9/sms", api_key="k", sender="", callback_url="", timeout=1
    )
    message = Outgoing(
        channel="sms",
        recipient="+34612345678",
        subject="",
        body="Hola",
        html="",
        sender_name="Org",
        reply_to="",
        idempotency_key="finestreta-1-1",
    )
    with pytest.raises(PermanentFailure):
        gateway.send(message)
