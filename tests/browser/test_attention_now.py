"""Attention now in a real Chromium against the real ASGI server and worker (`manage.py serve`,
as `make run` starts them): a citizen on a phone-sized screen gets in the queue of a service
without an appointment and sees their ticket; an agent of another office, with the keyboard
alone, says they are available at their desk, is offered the citizen live and accepts; the
citizen's ticket says it is their turn and leads into the video call, where the agent admits
them and both connect; the agent finishes the attention at the desk with its outcome. axe-core
finds nothing on the ticket (waiting and "your turn") nor on the desk with an offer."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest
from playwright.sync_api import expect

from finestreta.accounts.models import Membership, User
from finestreta.appointments.models import Appointment
from finestreta.catalogue.models import AttentionLevel, OutcomeCode
from finestreta.queueing.models import QueueEntry
from finestreta.tenants.models import OpeningHours
from tests.browser.conftest import MOBILE, Visit
from tests.browser.data import BrowserData
from tests.browser.test_accessibility import check_page
from tests.browser.test_keyboard import active_id, tab_to
from tests.browser.test_video import CONNECT_TIMEOUT, run_checks, wait_state
from tests.factories import MembershipFactory, UserFactory

pytestmark = pytest.mark.browser


@pytest.fixture
def open_all_day(browser_data: BrowserData) -> None:
    """The back-office open every day, all day, with no public holidays: the queue is open
    whenever the suite runs."""
    organisation = browser_data.organisation
    organisation.holiday_country = ""
    organisation.save(update_fields=["holiday_country"])
    for weekday in range(7):
        OpeningHours.objects.create(
            office=browser_data.back_office,
            weekday=weekday,
            opens=dt.time(0),
            closes=dt.time(23, 59, 59),
        )


@pytest.fixture
def back_office_agent(browser_data: BrowserData) -> User:
    """An agent of the back-office (the service's citizen is booked at no office of theirs)."""
    user = UserFactory(
        username="agent-backoffice", first_name="Pere", last_name="Soler", is_demo=True
    )
    member = MembershipFactory(
        user=user, organisation=browser_data.organisation, languages=["ca", "es"]
    )
    member.offices.set([browser_data.back_office])
    member.services.set([browser_data.services[AttentionLevel.INFORMATIVE]])
    OutcomeCode.objects.create(
        organisation=browser_data.organisation,
        code="informed",
        label="Informat",
        label_ca="Informat",
    )
    return user


def test_a_citizen_on_a_phone_gets_in_the_queue_and_an_agent_of_another_office_takes_them_into_a_call(
    browser_data: BrowserData,
    open_all_day: None,
    back_office_agent: User,
    open_call: Callable[..., Visit],
) -> None:
    org = browser_data.organisation.slug
    service = browser_data.services[AttentionLevel.INFORMATIVE]

    # The citizen, on a phone-sized screen, in Catalan.
    visitor = open_call("ca")
    citizen = visitor.page
    citizen.set_viewport_size(MOBILE)
    visitor.goto(f"/{org}/now/")
    with citizen.expect_navigation():
        citizen.click(f"#queue-{service.slug}")
    citizen.check("#id_channel_0")
    citizen.fill("#id_name", "Laia Ferrer")
    citizen.fill("#id_phone", "612 345 678")
    with citizen.expect_navigation():
        citizen.click("#join-queue")
    expect(citizen.locator("#ticket-ahead")).to_have_text("Sou el següent.")
    assert not check_page(visitor, "ca")
    citizen.set_viewport_size(MOBILE)

    # The agent, with the keyboard alone, says they are available at the desk.
    staff = open_call("ca", user=back_office_agent)
    agent = staff.page
    staff.goto(f"/{org}/staff/desk/")
    expect(agent.locator("#live-page")).to_have_attribute("data-live", "on", timeout=15_000)
    tab_to(agent, "go-available", limit=60)
    with agent.expect_navigation():
        agent.keyboard.press("Enter")
    expect(agent.locator("#offer")).to_be_visible(timeout=15_000)
    expect(agent.locator("#offer-text")).to_contain_text("Laia Ferrer")
    assert not check_page(staff, "ca")
    tab_to(agent, "accept-offer", limit=60)
    assert active_id(agent) == "accept-offer"
    with agent.expect_navigation():
        agent.keyboard.press("Enter")
    wait_state(agent, "admitted")

    # The citizen's ticket says it is their turn, by itself, and leads into the call.
    turn = citizen.locator("#ticket-turn")
    expect(turn).to_be_visible(timeout=15_000)
    expect(turn.locator("h2")).to_have_text("És el vostre torn")
    assert not check_page(visitor, "ca")
    citizen.set_viewport_size(MOBILE)
    with citizen.expect_navigation():
        citizen.click("#join-call")
    run_checks(citizen)
    with citizen.expect_navigation():
        citizen.click("#go-to-call")
    wait_state(citizen, "waiting")

    admit = agent.locator("#waiting-people button.admit")
    expect(admit).to_be_visible(timeout=15_000)
    admit.click()
    wait_state(citizen, "admitted")
    for page in (citizen, agent):
        expect(page.locator("#call")).to_have_attribute(
            "data-connection", "connected", timeout=CONNECT_TIMEOUT
        )
    entry = QueueEntry.objects.get()
    assert entry.state == QueueEntry.State.SERVING
    assert entry.served_by == Membership.objects.get(user=back_office_agent)
    assert entry.appointment is not None and entry.appointment.walk_in

    # Back at the desk, the agent finishes the attention with its outcome.
    staff.goto(f"/{org}/staff/desk/")
    agent.select_option("#id_outcome", label="Informat")
    agent.fill("#id_notes", "Informada dels ajuts de 2027.")
    with agent.expect_navigation():
        agent.click("#finish-pause")
    entry.refresh_from_db()
    assert entry.state == QueueEntry.State.SERVED
    appointment = Appointment.objects.get(pk=entry.appointment_id)
    assert appointment.status == Appointment.Status.ATTENDED
    assert appointment.outcome is not None and appointment.outcome.code == "informed"
    expect(citizen.locator("#call")).to_have_attribute("data-state", "ended", timeout=15_000)
