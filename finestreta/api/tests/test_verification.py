"""Services that ask for a code before confirming: the API keeps the web flow's rules (a code
to the contact's address, five tries, three codes per hold, no booking in one step)."""

from __future__ import annotations

import datetime as dt
import re

import pytest
import time_machine
from rest_framework.test import APIClient

from finestreta.api.tests.conftest import NOW, Bookable
from finestreta.appointments.models import Appointment
from finestreta.appointments.services import MAX_CODES_PER_HOLD, MAX_TRIES_PER_CODE
from finestreta.notifications.models import Message


@pytest.fixture
def verified(bookable: Bookable) -> Bookable:
    bookable.service.requires_verification = True
    bookable.service.save()
    return bookable


def hold(api: APIClient, bookable: Bookable) -> str:
    body = {"service": bookable.service.slug, "channel": "video", "start": "2026-12-01T10:00+01:00"}
    response = api.post(f"{bookable.base}/holds/", body, format="json")
    assert response.status_code == 201
    return str(response.json()["hold"])


def ask_code(api: APIClient, bookable: Bookable, token: str, **contact: object):  # type: ignore[no-untyped-def]
    return api.post(
        f"{bookable.base}/holds/{token}/verification-code/",
        {"contact": bookable.contact(**contact)},
        format="json",
    )


def book(
    api: APIClient, bookable: Bookable, token: str, code: str | None = None, **contact: object
):  # type: ignore[no-untyped-def]
    body: dict[str, object] = {"hold": token, "contact": bookable.contact(**contact)}
    if code is not None:
        body["code"] = code
    return api.post(f"{bookable.base}/bookings/", body, format="json")


def sent_code() -> str:
    message = Message.objects.filter(kind="verification_code").latest("pk")
    found = re.search(r"\b(\d{6})\b", message.body)
    assert found is not None
    return found[1]


def other_than(code: str, step: int = 1) -> str:
    return f"{(int(code) + step) % 10**6:06d}"


def error(response) -> str:  # type: ignore[no-untyped-def]
    return str(response.json()["error"]["code"])


def test_the_service_says_whether_it_asks_for_a_code(api: APIClient, verified: Bookable) -> None:
    answer = api.get(f"{verified.base}/services/{verified.service.slug}/").json()
    assert answer["requires_verification"] is True


def test_a_code_is_sent_to_the_contacts_email(api: APIClient, verified: Bookable) -> None:
    response = ask_code(api, verified, hold(api, verified))
    assert response.status_code == 202
    assert response.json()["sent_to"] == "n•••@example.org"
    assert response.json()["channel"] == "email"
    assert dt.datetime.fromisoformat(response.json()["expires_at"]) == NOW + dt.timedelta(
        minutes=15
    )
    message = Message.objects.get(kind="verification_code")
    assert message.channel == "email" and message.recipient == "nuria@example.org"
    assert re.search(r"\b\d{6}\b", message.body)


def test_a_code_goes_by_sms_when_there_is_no_email(api: APIClient, verified: Bookable) -> None:
    response = ask_code(api, verified, hold(api, verified), email="", phone="612345678")
    assert response.status_code == 202
    assert response.json() | {"expires_at": None} == {
        "sent_to": "•••• 678",
        "channel": "sms",
        "expires_at": None,
    }
    assert Message.objects.get(kind="verification_code").recipient == "+34612345678"


def test_a_hold_is_booked_with_the_right_code(api: APIClient, verified: Bookable) -> None:
    token = hold(api, verified)
    ask_code(api, verified, token)
    response = book(api, verified, token, sent_code())
    assert response.status_code == 201
    assert response.json()["status"] == "booked"
    assert Appointment.objects.get().status == Appointment.Status.BOOKED
    again = book(api, verified, token)  # the same hold answers with its appointment
    assert again.status_code == 200 and again.json()["code"] == response.json()["code"]
    booked = ask_code(api, verified, token)  # nothing left to verify
    assert booked.status_code == 409 and error(booked) == "hold_expired"


def test_a_wrong_code_books_nothing(api: APIClient, verified: Bookable) -> None:
    token = hold(api, verified)
    ask_code(api, verified, token)
    response = book(api, verified, token, other_than(sent_code()))
    assert response.status_code == 400
    assert error(response) == "wrong_code"
    assert Appointment.objects.get().status == Appointment.Status.HELD


def test_the_right_code_no_longer_works_after_five_wrong_tries(
    api: APIClient, verified: Bookable
) -> None:
    token = hold(api, verified)
    ask_code(api, verified, token)
    code = sent_code()
    for step in range(1, MAX_TRIES_PER_CODE + 1):
        assert error(book(api, verified, token, other_than(code, step))) == "wrong_code"
    response = book(api, verified, token, code)
    assert response.status_code == 400 and error(response) == "wrong_code"
    assert Appointment.objects.get().status == Appointment.Status.HELD
    ask_code(api, verified, token)  # a new code starts again
    assert book(api, verified, token, sent_code()).status_code == 201


def test_an_expired_code_does_not_work(api: APIClient, verified: Bookable) -> None:
    token = hold(api, verified)
    ask_code(api, verified, token)
    with time_machine.travel(NOW + dt.timedelta(minutes=16), tick=False):
        response = book(api, verified, token, sent_code())
    assert error(response) == "wrong_code"


def test_a_booking_without_the_code_is_refused(api: APIClient, verified: Bookable) -> None:
    token = hold(api, verified)
    not_asked = book(api, verified, token)
    assert not_asked.status_code == 409
    assert error(not_asked) == "verification_required"
    ask_code(api, verified, token)
    missing = book(api, verified, token)
    assert missing.status_code == 409
    assert error(missing) == "verification_required"
    assert Appointment.objects.get().status == Appointment.Status.HELD


def test_a_code_sent_to_another_address_does_not_book_for_this_contact(
    api: APIClient, verified: Bookable
) -> None:
    token = hold(api, verified)
    ask_code(api, verified, token, email="mine@example.org")
    response = book(api, verified, token, sent_code(), email="someone.else@example.org")
    assert response.status_code == 409
    assert error(response) == "verification_required"
    assert Appointment.objects.get().status == Appointment.Status.HELD


def test_a_malformed_code_is_invalid_input(api: APIClient, verified: Bookable) -> None:
    token = hold(api, verified)
    ask_code(api, verified, token)
    response = book(api, verified, token, "12ab56")
    assert response.status_code == 400
    assert error(response) == "invalid" and "code" in response.json()["error"]["fields"]


def test_a_service_that_asks_for_a_code_is_not_booked_in_one_step(
    api: APIClient, verified: Bookable
) -> None:
    response = api.post(
        f"{verified.base}/bookings/",
        verified.booking(),
        format="json",
        headers={"Accept-Language": "en"},
    )
    assert response.status_code == 409
    assert error(response) == "verification_required"
    assert "hold" in response.json()["error"]["message"]
    assert not Appointment.objects.exists()
    assert not Message.objects.exists()


def test_a_hold_of_another_organisation_is_unknown(api: APIClient, verified: Bookable) -> None:
    token = hold(api, verified)
    response = api.post(
        f"/api/v1/org-b/holds/{token}/verification-code/",
        {"contact": verified.contact()},
        format="json",
    )
    assert response.status_code == 404
    assert error(response) == "invalid_token"
    assert not Message.objects.filter(kind="verification_code").exists()


def test_an_expired_hold_gets_no_code(api: APIClient, verified: Bookable) -> None:
    token = hold(api, verified)
    Appointment.objects.all().delete()  # released, or taken back after it lapsed
    response = ask_code(api, verified, token)
    assert response.status_code == 409 and error(response) == "hold_expired"


def test_no_more_than_three_codes_are_sent_for_a_hold(api: APIClient, verified: Bookable) -> None:
    token = hold(api, verified)
    for _attempt in range(MAX_CODES_PER_HOLD):
        assert ask_code(api, verified, token).status_code == 202
    response = ask_code(api, verified, token)
    assert response.status_code == 429
    assert error(response) == "too_many_codes"
    assert Message.objects.filter(kind="verification_code").count() == MAX_CODES_PER_HOLD
    assert book(api, verified, token, sent_code()).status_code == 201  # the latest still works


def test_a_code_needs_an_email_or_a_mobile(api: APIClient, verified: Bookable) -> None:
    response = ask_code(api, verified, hold(api, verified), email="", phone="")
    assert response.status_code == 400
    assert error(response) == "invalid" and "contact" in response.json()["error"]["fields"]
    assert not Message.objects.exists()


def test_a_service_without_verification_sends_no_code(api: APIClient, bookable: Bookable) -> None:
    response = ask_code(api, bookable, hold(api, bookable))
    assert response.status_code == 409
    assert error(response) == "verification_not_required"
    assert not Message.objects.exists()
