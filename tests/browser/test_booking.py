"""Booking in a real Chromium: a keyboard-only citizen books, moves and cancels an appointment;
axe-core finds no violation on any booking page in any of the four languages.

Assertions are on structure, ids and the database, not on translated texts."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator

import pytest
import time_machine
from django.utils import timezone
from playwright.sync_api import Page
from pytest_django.fixtures import Settings

from finestreta.appointments.models import Appointment, WaitingListEntry
from finestreta.catalogue.models import AttentionLevel
from tests.browser.conftest import Visit
from tests.browser.data import LANGUAGES, BrowserData
from tests.browser.test_accessibility import check_page
from tests.browser.test_keyboard import tab_to

pytestmark = pytest.mark.browser


@pytest.fixture(autouse=True)
def clear_of_slot_boundaries() -> Iterator[None]:
    """Each test starts a minute after a quarter hour, the clock running: the times offered
    move with the clock (minimum notice), and a test that crossed a quarter hour could see its
    first free time drop out between the page and the click. The live server runs in this
    process, so it sees the same clock."""
    now = timezone.now()
    start = now.replace(second=0, microsecond=0) + dt.timedelta(minutes=16 - now.minute % 15)
    with time_machine.travel(start, tick=True):
        yield


def press(page: Page, element_id: str, key: str = "Enter") -> None:
    """Tab to the control and press a key on it, waiting for the page it loads."""
    tab_to(page, element_id, limit=80)
    if key == "Enter":
        with page.expect_navigation():
            page.keyboard.press(key)
    else:
        page.keyboard.press(key)


def type_into(page: Page, element_id: str, text: str) -> None:
    tab_to(page, element_id, limit=80)
    page.keyboard.type(text)


def test_a_citizen_books_moves_and_cancels_with_the_keyboard_alone(
    browser_data: BrowserData, open_page: Callable[..., Visit], settings: Settings
) -> None:
    settings.DEBUG = False
    visit = open_page("ca")
    page = visit.page
    service = browser_data.services[AttentionLevel.ASSISTED]
    visit.goto(f"/{browser_data.organisation.slug}/book/")
    press(page, f"service-{service.slug}")
    press(page, "channel-video")
    press(page, "office-any")
    press(page, "first-available")
    type_into(page, "id_name", "Núria Vidal i Puig")
    type_into(page, "id_email", "nuria@example.org")
    type_into(page, "id_phone", "612345678")
    press(page, "id_needs_1", key="Space")  # captions
    press(page, "continue")
    press(page, "confirm")
    visit.assert_csp_respected()

    appointment = Appointment.objects.exclude(code=browser_data.appointment_code).get(
        status=Appointment.Status.BOOKED
    )
    assert page.locator(".booking-code").inner_text() == appointment.code
    assert appointment.needs_captions and appointment.email == "nuria@example.org"
    first_time = appointment.starts_at

    press(page, "move-link")
    press(page, "slot-1-2")  # the second time of the first day
    appointment.refresh_from_db()
    assert appointment.starts_at > first_time
    assert appointment.times_rescheduled == 1
    assert page.locator(".booking-code").inner_text() == appointment.code

    press(page, "cancel-link")
    type_into(page, "id_reason", "Ja ho he resolt")
    press(page, "cancel-confirm")
    appointment.refresh_from_db()
    assert appointment.status == Appointment.Status.CANCELLED
    assert appointment.cancellation_reason == "Ja ho he resolt"
    assert page.locator("#cancel-link").count() == 0


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_booking_page_is_accessible(
    language: str,
    browser_data: BrowserData,
    open_page: Callable[..., Visit],
    settings: Settings,
) -> None:
    settings.DEBUG = False
    visit = open_page(language)
    page = visit.page
    org = browser_data.organisation.slug
    service = browser_data.services[AttentionLevel.ATTENDED]  # video and in person
    problems: list[str] = []

    def check(name: str) -> None:
        problems.extend(f"{name}: {problem}" for problem in check_page(visit, language))

    def go(name: str, path: str, status: int = 200) -> None:
        assert visit.goto(path, check_csp=False) == status, name
        check(name)

    go("choose a service", f"/{org}/book/")
    go("choose a channel", f"/{org}/book/{service.slug}/")
    go("choose an office (in person)", f"/{org}/book/{service.slug}/in_person/")
    go("choose an office (video)", f"/{org}/book/{service.slug}/video/")
    go("choose a time", f"/{org}/book/{service.slug}/video/time/?office=any")
    with page.expect_navigation():
        page.click("#first-available")
    check("details")
    page.fill("#id_phone", "123")
    with page.expect_navigation():
        page.click("#continue")
    assert page.locator("#error-summary").count() == 1
    check("details with errors")
    page.fill("#id_name", "Pau Roca")
    page.fill("#id_phone", "")
    page.fill("#id_email", "pau@example.org")
    with page.expect_navigation():
        page.click("#continue")
    check("review")
    with page.expect_navigation():
        page.click("#confirm")
    check("confirmation")
    manage = page.url
    with page.expect_navigation():
        page.click("#move-link")
    check("move")
    page.goto(manage)
    check("manage")
    with page.expect_navigation():
        page.click("#cancel-link")
    check("cancel")
    with page.expect_navigation():
        page.click("#cancel-confirm")
    check("cancelled")
    go("waiting list", f"/{org}/book/{service.slug}/video/waiting-list/?office=any")
    page.fill("#id_name", "")
    with page.expect_navigation():
        page.click("main button[type=submit]")
    check("waiting list with errors")
    page.fill("#id_name", "Pau Roca")
    page.fill("#id_email", "pau@example.org")
    with page.expect_navigation():
        page.click("main button[type=submit]")
    assert WaitingListEntry.objects.count() == 1
    check("on the waiting list")
    assert not problems, "\n\n".join(problems)
