"""Delivery receipts posted by an organisation's SMS gateway: recorded only when signed with
that organisation's secret, recently, and about one of its own messages."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
from collections.abc import Iterator

import pytest
import time_machine
from django.core.cache import cache
from django.test import Client

from finestreta.notifications.models import Message, MessagingSettings
from finestreta.tenants.models import Organisation
from tests.personas import Personas

NOW = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC)
SECRET_A = "receipt-secret-of-a"  # noqa: S105 - test value
SECRET_B = "receipt-secret-of-b"  # noqa: S105 - test value


@pytest.fixture(autouse=True)
def frozen() -> Iterator[None]:
    cache.clear()  # the receipts' rate limit counts in the cache
    with time_machine.travel(NOW, tick=False):
        yield
    cache.clear()


@pytest.fixture
def secrets(personas: Personas) -> None:
    for organisation, secret in ((personas.org_a, SECRET_A), (personas.org_b, SECRET_B)):
        MessagingSettings.objects.create(
            organisation=organisation,
            sms_gateway_url="https://sms.example.net/v1/messages",
            sms_api_key="key",
            sms_receipt_secret=secret,
        )


def sent_sms(organisation: Organisation, n: int = 1) -> Message:
    return Message.objects.create(
        organisation=organisation,
        kind="booking_confirmed",
        channel="sms",
        recipient="+34612345678",
        language="ca",
        body="Cita confirmada.",
        dedup_key=f"test:{n}",
        status=Message.Status.DELIVERED,
        attempts=1,
        sent_at=NOW,
    )


def reference(message: Message) -> str:
    return f"finestreta-{message.organisation_id}-{message.pk}"


def post(
    client: Client,
    org: str,
    body: object,
    *,
    secret: str = SECRET_A,
    at: dt.datetime = NOW,
    signature: str | None = None,
    raw: bytes | None = None,
) -> int:
    data = raw if raw is not None else json.dumps(body).encode()
    timestamp = str(int(at.timestamp()))
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + data, hashlib.sha256)
    response = client.post(
        f"/hooks/sms/{org}/receipts/",
        data,
        content_type="application/json",
        headers={
            "X-Finestreta-Timestamp": timestamp,
            "X-Finestreta-Signature": signature or f"sha256={digest.hexdigest()}",
        },
    )
    return response.status_code


def test_a_signed_receipt_is_recorded_on_the_message(personas: Personas, secrets: None) -> None:
    message = sent_sms(personas.org_a)
    # A gateway does not send our CSRF token: the endpoint needs none.
    client = Client(enforce_csrf_checks=True)

    status = post(client, "org-a", {"reference": reference(message), "status": "delivered"})

    assert status == 204
    message.refresh_from_db()
    assert message.receipt_status == "delivered"
    assert message.receipt_at == NOW
    assert message.status == Message.Status.DELIVERED and message.last_error == ""


def test_a_failed_receipt_records_its_reason(
    client: Client, personas: Personas, secrets: None
) -> None:
    message = sent_sms(personas.org_a)
    body = {"reference": reference(message), "status": "expired", "reason": "phone switched off"}

    assert post(client, "org-a", body) == 204

    message.refresh_from_db()
    assert message.receipt_status == "expired"
    assert message.last_error == "Receipt: phone switched off"


@pytest.mark.parametrize(
    "signature",
    [
        "sha256=" + "0" * 64,
        "sha256=",
        "md5=abc",
        "",
    ],
)
def test_a_receipt_with_a_wrong_signature_is_refused(
    client: Client, personas: Personas, secrets: None, signature: str
) -> None:
    message = sent_sms(personas.org_a)
    body = {"reference": reference(message), "status": "delivered"}

    assert post(client, "org-a", body, signature=signature or " ") == 401

    message.refresh_from_db()
    assert message.receipt_status == ""


def test_a_receipt_signed_with_another_organisations_secret_is_refused(
    client: Client, personas: Personas, secrets: None
) -> None:
    message = sent_sms(personas.org_a)
    body = {"reference": reference(message), "status": "delivered"}

    assert post(client, "org-a", body, secret=SECRET_B) == 401


def test_a_receipt_without_signature_headers_is_refused(
    client: Client, personas: Personas, secrets: None
) -> None:
    message = sent_sms(personas.org_a)
    response = client.post(
        "/hooks/sms/org-a/receipts/",
        {"reference": reference(message), "status": "delivered"},
        content_type="application/json",
    )
    assert response.status_code == 401


@pytest.mark.parametrize("minutes", [-6, 6])
def test_a_receipt_signed_more_than_five_minutes_away_is_refused(
    client: Client, personas: Personas, secrets: None, minutes: int
) -> None:
    message = sent_sms(personas.org_a)
    body = {"reference": reference(message), "status": "delivered"}

    assert post(client, "org-a", body, at=NOW + dt.timedelta(minutes=minutes)) == 401
    assert post(client, "org-a", body, at=NOW - dt.timedelta(minutes=4)) == 204


@pytest.mark.parametrize("timestamp", ["", "abc", "²³", "-1", "9" * 40, "1.5"])
def test_a_malformed_timestamp_is_refused_not_an_error(
    client: Client, personas: Personas, secrets: None, timestamp: str
) -> None:
    response = client.post(
        "/hooks/sms/org-a/receipts/",
        b"{}",
        content_type="application/json",
        headers={"X-Finestreta-Timestamp": timestamp, "X-Finestreta-Signature": "sha256=00"},
    )
    assert response.status_code == 401


def test_an_organisation_without_a_receipt_secret_accepts_no_receipt(
    client: Client, personas: Personas
) -> None:
    message = sent_sms(personas.org_a)
    body = {"reference": reference(message), "status": "delivered"}

    assert post(client, "org-a", body, secret="") == 401


@pytest.mark.parametrize(
    "raw",
    [
        b"not json",
        b"\xff\xfe",
        b"[]",
        b'{"status": "delivered"}',
        b'{"reference": 12, "status": "delivered"}',
        b'{"reference": "finestreta-1-1", "status": "read"}',
        b'{"reference": "finestreta-1-1", "status": "failed", "reason": 3}',
    ],
)
def test_a_signed_body_that_is_not_a_receipt_is_a_bad_request(
    client: Client, personas: Personas, secrets: None, raw: bytes
) -> None:
    assert post(client, "org-a", None, raw=raw) == 400


def test_a_receipt_for_an_unknown_reference_or_organisation_is_not_found(
    client: Client, personas: Personas, secrets: None
) -> None:
    message = sent_sms(personas.org_a)
    unknown = f"finestreta-{personas.org_a.pk}-{message.pk + 1000}"

    assert post(client, "org-a", {"reference": unknown, "status": "delivered"}) == 404
    assert post(client, "org-a", {"reference": "someone-else", "status": "delivered"}) == 404
    body = {"reference": reference(message), "status": "delivered"}
    assert post(client, "no-such-org", body) == 404


def test_a_receipt_cannot_touch_another_organisations_message(
    client: Client, personas: Personas, secrets: None
) -> None:
    theirs = sent_sms(personas.org_b)
    body = {"reference": reference(theirs), "status": "failed", "reason": "x"}

    # Under A's address with A's signature, or with A's id in the reference: the same answer
    # as for a message that does not exist.
    assert post(client, "org-a", body) == 404
    forged = {"reference": f"finestreta-{personas.org_a.pk}-{theirs.pk}", "status": "failed"}
    response_status = post(client, "org-a", forged)
    assert response_status == 404

    theirs.refresh_from_db()
    assert theirs.receipt_status == "" and theirs.last_error == ""


def test_only_an_sms_takes_a_receipt(client: Client, personas: Personas, secrets: None) -> None:
    message = sent_sms(personas.org_a)
    Message.objects.filter(pk=message.pk).update(channel="email")

    assert post(client, "org-a", {"reference": reference(message), "status": "delivered"}) == 404


def test_receipts_take_only_post(client: Client, personas: Personas, secrets: None) -> None:
    assert client.get("/hooks/sms/org-a/receipts/").status_code == 405


def test_too_many_receipts_from_one_address_are_refused(
    client: Client, personas: Personas, secrets: None, settings
) -> None:  # type: ignore[no-untyped-def]
    settings.NOTIFICATIONS_RECEIPT_RATE_LIMIT = "2/m"
    message = sent_sms(personas.org_a)
    body = {"reference": reference(message), "status": "delivered"}

    assert [post(client, "org-a", body) for _ in range(3)] == [204, 204, 429]


def test_hooks_is_not_an_organisation_slug() -> None:
    from finestreta.tenants.validators import RESERVED_SLUGS

    assert "hooks" in RESERVED_SLUGS
