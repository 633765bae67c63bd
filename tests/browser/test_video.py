"""The video pages in a real Chromium against the real ASGI server (`manage.py serve`: uvicorn
and a worker, as `make run` starts them), since the pages need the signaling WebSocket:

- axe-core finds nothing on the check page, the waiting room, the staff's waiting room, the
  staff's call page (with its files and invitations, and a guest's link just made), an invited
  guest's call page (nor on the call itself), and nothing breaks the Content Security Policy;
- the check page and the chat work with the keyboard alone;
- a whole call: the citizen checks their devices and waits; the agent, alerted live in the
  waiting room, opens the call and admits them; both peer connections reach "connected" (the
  fake camera's video arrives), a chat line passes each way, the citizen shares a PDF that the
  agent downloads (and a file of the wrong kind is refused, in words), the agent shares their
  screen and the citizen sees it, and ending the call leads the agent to record the outcome;
- Chromium with an aiortc peer (two WebRTC implementations): the citizen's page and an agent
  speaking the documented protocol from Python exchange audio, video and chat, and the
  citizen's shared screen reaches the agent as a second video;
- a network change under a call: the citizen's Chromium, in a network namespace the test makes,
  changes address mid-call; the page reconnects its socket and restarts ICE by itself.

Chromium gets fake camera and microphone (`--use-fake-device-for-media-stream`, permission
granted by `--use-fake-ui-for-media-stream`) and may use host candidates on this machine for
WebRTC (`--allow-loopback-in-peer-connection`, no mDNS hiding): traffic stays on this host.
The relay check of the check page runs against a real TURN server (Debian's coturn, on
127.0.0.1): found with the server's credentials, and reported as a blocked network when coturn
refuses them.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import os
import re
import tempfile
import threading
import time
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlparse

import aioice.ice
import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone
from playwright.sync_api import Browser, Page, expect

from finestreta.accounts.models import Membership, User
from finestreta.accounts.services import StaffContext
from finestreta.appointments.models import Appointment
from finestreta.appointments.services import join_token
from finestreta.catalogue.models import AttentionLevel
from finestreta.video import invitations, services
from finestreta.video.models import RoomEvent
from tests.browser.conftest import CALL_ARGS, CHROMIUM, CHROMIUM_ARGS, DESKTOP, Visit, server_up
from tests.browser.data import BrowserData
from tests.browser.test_accessibility import check_page
from tests.browser.test_keyboard import active_id, tab_to
from tests.factories import AppointmentFactory, MembershipFactory, UserFactory
from tests.processes import (
    child_env,
    free_port,
    network_namespace,
    running,
    wait_until,
)
from tests.webrtc import Participant, until, use_loopback

T = TypeVar("T")

pytestmark = pytest.mark.browser

CONNECT_TIMEOUT = 30_000  # ms
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@pytest.fixture
def video_appointment(browser_data: BrowserData) -> Appointment:
    """A video appointment in a few minutes: its waiting room is open."""
    membership = Membership.objects.get(user=browser_data.staff)
    Membership.objects.filter(pk=membership.pk).update(staff_number="A-1042")
    return AppointmentFactory(
        agent=membership,
        service=browser_data.services[AttentionLevel.ATTENDED],
        channel="video",
        starts_at=timezone.now() + dt.timedelta(minutes=10),
        name="Núria Vidal",
        phone="+34612345678",
    )


def precall_path(item: Appointment) -> str:
    return f"/{item.organisation.slug}/video/{join_token(item)}/"


def room_path(item: Appointment) -> str:
    return f"/{item.organisation.slug}/staff/video/{services.get_room(item).public_id}/"


def wait_state(page: Page, state: str, timeout: int = 15_000) -> None:
    expect(page.locator("#call")).to_have_attribute("data-state", state, timeout=timeout)


def admitted_call(
    open_call: Callable[..., Visit], staff: User, item: Appointment, language: str = "en"
) -> tuple[Visit, Visit]:
    """The agent in the room, then the citizen, let in from the waiting room: both pages."""
    agent = open_call(language, user=staff)
    agent.goto(room_path(item))
    wait_state(agent.page, "admitted")
    visitor = open_call(language)
    visitor.goto(precall_path(item) + "call/")
    wait_state(visitor.page, "waiting")
    admit = agent.page.locator("#waiting-people button.admit")
    expect(admit).to_be_visible(timeout=15_000)
    admit.click()
    wait_state(visitor.page, "admitted")
    return agent, visitor


def run_checks(page: Page) -> None:
    page.click("#check-devices")
    expect_check(page, "camera", "ok")
    expect_check(page, "microphone", "ok")
    expect_check(page, "signaling", "ok")


def expect_check(page: Page, name: str, state: str) -> None:
    expect(page.locator(f"#check-{name}")).to_have_attribute("data-state", state, timeout=15_000)


def invite_guest(item: Appointment, user: User, name: str) -> str:
    """A guest invited into the appointment's call by `user`; the path of their link."""
    membership = Membership.objects.select_related("organisation").get(user=user)
    staff = StaffContext(user=user, organisation=membership.organisation, membership=membership)
    invited = invitations.invite_guest(
        staff=staff, room=services.get_room(item), name=name, kind="specialist", now=timezone.now()
    )
    return urlparse(invited.link).path


# --- (a) axe-core ----------------------------------------------------------------------------


def test_the_video_pages_are_accessible(
    browser_data: BrowserData, video_appointment: Appointment, open_call: Callable[..., Visit]
) -> None:
    problems: list[str] = []
    citizen = open_call("ca")
    citizen.goto(precall_path(video_appointment))
    run_checks(citizen.page)
    expect(citizen.page.locator("#check-summary")).not_to_be_empty()
    problems += [f"check page: {p}" for p in check_page(citizen, "ca")]

    staff = open_call("ca", user=browser_data.staff)
    staff.goto("/generalitat/staff/video/")
    expect(staff.page.locator("#lobby")).to_have_attribute("data-live", "on", timeout=15_000)

    citizen.goto(f"{precall_path(video_appointment)}call/")
    wait_state(citizen.page, "waiting")
    expect(citizen.page.locator("#waiting-room")).to_be_visible()
    problems += [f"waiting room: {p}" for p in check_page(citizen, "ca")]

    expect(staff.page.locator("#waiting-list li")).to_have_count(1, timeout=15_000)
    expect(staff.page.locator("#lobby-alert")).to_contain_text("Núria Vidal")
    problems += [f"staff waiting room: {p}" for p in check_page(staff, "ca")]

    # The staff's call page, with an invitation listed: revoking it (with the keyboard) and
    # making a guest's link update the panel in place (the call goes on), and the long link
    # wraps on a phone.
    invite_guest(video_appointment, browser_data.staff, "Jordi Pla")
    staff.goto(room_path(video_appointment))
    agent = staff.page
    wait_state(agent, "admitted")
    expect(agent.locator("#files")).to_be_visible()
    peer_id = agent.evaluate("() => window.finestretaCall.peerId")
    agent.locator("#invitations li[data-state=live] button").focus()
    agent.keyboard.press("Enter")
    expect(agent.locator("#invitations li[data-state=revoked]")).to_contain_text(
        "Jordi Pla", timeout=10_000
    )
    result = agent.locator("#invite-result")
    expect(result.locator(".message-success")).to_have_count(1)
    expect(result).to_be_focused()

    agent.fill("#id_guest-name", "Anna Puig")
    agent.select_option("#id_guest-kind", "interpreter")
    agent.click("#invite-guest button[type=submit]")
    expect(result).to_contain_text("/guest/", timeout=10_000)
    expect(result).to_be_focused()
    expect(agent.locator("#invitations li[data-state=live]")).to_contain_text("Anna Puig")
    assert agent.evaluate("() => window.finestretaCall.peerId") == peer_id  # not reloaded
    link = next(word for word in result.inner_text().split() if "/guest/" in word)

    # The guest joins at once; the others see as what they take part.
    guest = open_call("ca")
    guest.goto(urlparse(link).path)
    wait_state(guest.page, "admitted")
    expect(guest.page.locator("#files")).to_have_count(0)  # guests share no files
    guest_tile = agent.locator(".tile", has_text="Anna Puig")
    expected = agent.locator('#video-texts [data-key="as-interpreter"]').inner_text()
    expect(guest_tile.locator(".tile-number")).to_have_text(f"({expected})", timeout=15_000)
    expect(agent.locator("#waiting-people li")).to_have_count(1, timeout=15_000)
    problems += [f"staff call page: {p}" for p in check_page(staff, "ca")]
    problems += [f"guest's call page: {p}" for p in check_page(guest, "ca")]
    assert not problems, "\n\n".join(problems)


# --- (b) the keyboard ------------------------------------------------------------------------


def test_the_check_page_works_with_the_keyboard_alone(
    browser_data: BrowserData, video_appointment: Appointment, open_call: Callable[..., Visit]
) -> None:
    citizen = open_call("en")
    page = citizen.page
    citizen.goto(precall_path(video_appointment))

    tab_to(page, "check-devices")
    page.keyboard.press("Enter")
    expect_check(page, "camera", "ok")
    expect_check(page, "microphone", "ok")
    expect_check(page, "signaling", "ok")
    page.wait_for_function(
        "() => document.getElementById('preview').videoWidth > 0", timeout=10_000
    )
    page.wait_for_function("() => document.getElementById('mic-level').value > 0", timeout=10_000)

    tab_to(page, "play-sound")
    page.keyboard.press("Enter")
    expect(page.locator("#sound-note")).not_to_be_empty()
    if page.locator("#speaker-choice").is_visible():  # where the browser can choose an output
        tab_to(page, "speaker-select")

    tab_to(page, "go-to-call")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.url.endswith(f"{precall_path(video_appointment)}call/")
    wait_state(page, "waiting")


# --- (c) a whole call ------------------------------------------------------------------------


def test_a_citizen_waits_the_agent_admits_them_they_connect_and_chat_and_the_agent_ends(
    browser_data: BrowserData,
    video_appointment: Appointment,
    open_call: Callable[..., Visit],
    tmp_path: Path,
) -> None:
    staff = open_call("en", user=browser_data.staff)
    agent = staff.page
    staff.goto("/generalitat/staff/video/")
    expect(agent.locator("#lobby")).to_have_attribute("data-live", "on", timeout=15_000)
    expect(agent.locator("#nobody-waiting")).to_be_visible()

    # The citizen opens the join link, passes the check and goes to the waiting room.
    visitor = open_call("en")
    citizen = visitor.page
    visitor.goto(precall_path(video_appointment))
    run_checks(citizen)
    expect(citizen.locator("#check-summary")).to_have_text(
        "Everything works. You can go to the waiting room."
    )
    with citizen.expect_navigation():
        citizen.click("#go-to-call")
    wait_state(citizen, "waiting")
    expect(citizen.locator("#call-status")).to_have_text(
        "Waiting for Government of Catalonia to let you in."
    )

    # The agent is alerted live and opens the call.
    expect(agent.locator("#lobby-alert")).to_have_text(
        "Núria Vidal is waiting to join a video call.", timeout=15_000
    )
    with agent.expect_navigation():
        agent.click("#waiting-list .waiting-link")
    wait_state(agent, "admitted")
    agent.fill("#notice-text", "I will be with you in a minute.")
    agent.click("#notice-form button")
    expect(citizen.locator("#notices")).to_contain_text("I will be with you in a minute.")

    admit = agent.locator("#waiting-people button.admit")
    expect(admit).to_have_text("Admit Núria Vidal", timeout=15_000)
    admit.click()

    # Both connect, and the fake camera's video arrives on each side.
    wait_state(citizen, "admitted")
    for page in (citizen, agent):
        expect(page.locator("#call")).to_have_attribute(
            "data-connection", "connected", timeout=CONNECT_TIMEOUT
        )
        page.wait_for_function(
            "() => [...document.querySelectorAll('.tile-video')].some(v => v.videoWidth > 0)",
            timeout=CONNECT_TIMEOUT,
        )
    expect(citizen.locator(".tile .tile-name")).to_have_text("Marta Vidal")
    expect(citizen.locator(".tile .tile-number")).to_have_text("(staff number A-1042)")
    expect(agent.locator(".tile .tile-name")).to_have_text("Núria Vidal")
    expect(agent.locator("#waiting-people li")).to_have_count(0)

    # Chat: the citizen with the keyboard alone; the line is acknowledged and reaches the agent.
    tab_to(citizen, "chat-text", limit=60)  # from the top of the page
    citizen.keyboard.type("Bon dia, tinc el DNI a punt.")
    citizen.keyboard.press("Enter")
    assert active_id(citizen) == "chat-text"
    mine = citizen.locator("#chat-lines li:not(.chat-pending)")
    expect(mine).to_have_count(1, timeout=10_000)
    expect(mine).to_contain_text("Bon dia, tinc el DNI a punt.")
    expect(citizen.locator("#chat-lines .chat-pending")).to_have_count(0)
    expect(agent.locator("#chat-lines li")).to_contain_text("Bon dia, tinc el DNI a punt.")
    agent.fill("#chat-text", "Perfecte, comencem.")
    agent.press("#chat-text", "Enter")
    expect(citizen.locator("#chat-lines li").nth(1)).to_contain_text("Perfecte, comencem.")
    assert citizen.locator("#chat-lines li").nth(0).get_attribute("data-seq") == "1"
    assert citizen.locator("#chat-lines li").nth(1).get_attribute("data-seq") == "2"

    # The signaling socket drops while the citizen sends a line: the page reconnects with
    # `resume` (same peer id), the media keep flowing, and the line, never acknowledged, is
    # sent again and arrives once.
    peer_id = citizen.evaluate("() => window.finestretaCall.peerId")
    pending = citizen.evaluate(
        """() => {
          window.finestretaCall.signaling.socket.close();
          document.getElementById('chat-text').value = 'Em sentiu?';
          document.getElementById('chat-form').requestSubmit();
          return document.querySelectorAll('#chat-lines .chat-pending').length;
        }"""
    )
    assert pending == 1
    expect(citizen.locator("#chat-lines li:not(.chat-pending)")).to_have_count(3, timeout=15_000)
    expect(citizen.locator("#chat-lines .chat-pending")).to_have_count(0)
    expect(agent.locator("#chat-lines li")).to_have_count(3)
    expect(agent.locator("#chat-lines li").nth(2)).to_contain_text("Em sentiu?")
    assert citizen.evaluate("() => window.finestretaCall.peerId") == peer_id
    expect(citizen.locator("#call")).to_have_attribute("data-connection", "connected")
    wait_state(citizen, "admitted")

    # Markup typed into the chat is text on the other side: no element, no script run.
    dialogs: list[str] = []
    agent.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    attack = "<img src=x onerror=alert(1)><svg onload=alert(2)>"
    citizen.fill("#chat-text", attack)
    citizen.press("#chat-text", "Enter")
    expect(agent.locator("#chat-lines li")).to_have_count(4)
    expect(agent.locator("#chat-lines li").nth(3)).to_contain_text(attack)
    assert agent.locator("#chat-lines img, #chat-lines svg").count() == 0
    assert not dialogs

    # The citizen mutes the microphone: the agent's tile says so.
    citizen.click("#toggle-mic")
    expect(citizen.locator("#toggle-mic")).to_have_attribute("aria-pressed", "true")
    expect(agent.locator(".tile .media-state")).to_have_text("Microphone off")

    # The agent shares their screen: the citizen sees it beside the agent's camera, named.
    agent.click("#toggle-screen")
    expect(agent.locator("#toggle-screen")).to_have_attribute("aria-pressed", "true")
    screen = citizen.locator(".tile-screen")
    expect(screen).to_be_visible(timeout=CONNECT_TIMEOUT)
    expect(screen).to_have_attribute("aria-label", "Screen shared by Marta Vidal")
    citizen.wait_for_function(
        "() => document.querySelector('.tile-screen').videoWidth === 1280", timeout=CONNECT_TIMEOUT
    )
    expect(citizen.locator(".tile .media-state")).to_contain_text("Sharing the screen")
    agent.click("#toggle-screen")
    expect(screen).to_be_hidden(timeout=15_000)

    # The citizen shares a PDF: the agent sees it listed and downloads the same bytes.
    pdf = tmp_path / "justificant.pdf"
    pdf.write_bytes(PDF)
    citizen.set_input_files("#files-input", str(pdf))
    citizen.focus("#files-share")
    citizen.keyboard.press("Enter")
    expect(citizen.locator("#files-status")).to_have_text(
        "justificant.pdf is shared: everyone in the call can download it.", timeout=10_000
    )
    expect(citizen.locator("#files-list li")).to_have_count(1)  # its own, once
    shared = agent.locator("#files-list li")
    expect(shared).to_have_count(1, timeout=10_000)
    expect(shared).to_contain_text("justificant.pdf")
    expect(shared).to_contain_text("1 KB · shared by Núria Vidal at")
    href = shared.locator("a").get_attribute("href")
    assert href is not None and href.startswith(room_path(video_appointment))
    download = agent.request.get(href)
    assert download.status == 200
    assert download.body() == PDF
    assert download.headers["content-disposition"].startswith("attachment")

    # A text file named .pdf is refused, and the server's reason is shown.
    fake = tmp_path / "notes.pdf"
    fake.write_bytes(b"Just some notes, not a PDF.\n")
    citizen.set_input_files("#files-input", str(fake))
    citizen.click("#files-share")
    status = citizen.locator("#files-status")
    expect(status).to_have_text(
        "Only PDF documents and pictures (JPEG, PNG or WebP) can be shared.", timeout=10_000
    )
    expect(status).to_have_class("files-status files-problem")
    expect(agent.locator("#files-list li")).to_have_count(1)

    # The agent reloads the page: back as the same participant, they offer afresh, the citizen
    # answers on a new connection (one tile still), and the chat so far is there.
    agent.reload()
    wait_state(agent, "admitted")
    for page in (agent, citizen):
        expect(page.locator("#call")).to_have_attribute(
            "data-connection", "connected", timeout=CONNECT_TIMEOUT
        )
    agent.wait_for_function(
        "() => [...document.querySelectorAll('.tile-video')].some(v => v.videoWidth > 0)",
        timeout=CONNECT_TIMEOUT,
    )
    expect(citizen.locator(".tile")).to_have_count(1)
    expect(agent.locator(".tile")).to_have_count(1)
    expect(agent.locator("#chat-lines li")).to_have_count(4)
    expect(agent.locator("#files-list li")).to_have_count(1)  # from welcome

    # The call itself, with its tiles and chat shown, passes axe-core too.
    problems = check_page(visitor, "en")
    assert not problems, "\n\n".join(problems)

    # The agent ends the call and is led to record the outcome.
    agent.click("#end-call")
    wait_state(agent, "ended")
    wait_state(citizen, "ended")
    expect(citizen.locator("#ended-panel")).to_be_visible()
    outcome = agent.locator("#record-outcome")
    expect(outcome).to_be_visible()
    assert outcome.get_attribute("href") == (
        f"/generalitat/staff/appointments/{video_appointment.code}/"
    )


def test_a_supervisor_listens_silently_the_citizen_is_told_and_nothing_of_theirs_is_sent(
    browser_data: BrowserData,
    video_appointment: Appointment,
    open_call: Callable[..., Visit],
) -> None:
    organisation = browser_data.organisation
    organisation.allows_silent_coaching = True
    organisation.save(update_fields=["allows_silent_coaching"])
    supervisor_user = UserFactory(
        username="supervisora-proves", first_name="Anna", last_name="Puig", is_demo=True
    )
    MembershipFactory(user=supervisor_user, organisation=organisation, supervisor=True)

    # The citizen is told before the call that a supervisor may listen, and joins.
    visitor = open_call("en")
    citizen = visitor.page
    visitor.goto(precall_path(video_appointment))
    expect(citizen.locator("#coaching-notice")).to_contain_text("a supervisor may listen")
    visitor.goto(precall_path(video_appointment) + "call/")
    wait_state(citizen, "waiting")
    staff = open_call("en", user=browser_data.staff)
    agent = staff.page
    staff.goto(room_path(video_appointment))
    admit = agent.locator("#waiting-people button.admit")
    expect(admit).to_be_visible(timeout=15_000)
    admit.click()
    for page in (citizen, agent):
        expect(page.locator("#call")).to_have_attribute(
            "data-connection", "connected", timeout=CONNECT_TIMEOUT
        )
    expect(citizen.locator("#listeners")).to_have_text("")

    # The supervisor finds the call in the live view and listens.
    coach = open_call("en", user=supervisor_user)
    listener = coach.page
    coach.goto(f"/{organisation.slug}/staff/supervisor/")
    row = listener.locator("#calls-table tbody tr")
    expect(row).to_have_count(1, timeout=15_000)
    expect(row).to_contain_text("Marta Vidal")
    with listener.expect_navigation():
        row.get_by_role("button", name="Listen silently").click()
    wait_state(listener, "admitted")
    expect(listener.locator("#listening-note")).to_be_visible()
    # No chat, sharing of files or screen, nor ending the call.
    for absent in ("#end-call", "#files-input"):
        expect(listener.locator(absent)).to_have_count(0)
    for hidden in ("#chat-form", "#toggle-screen"):
        expect(listener.locator(hidden)).to_be_hidden()
    # They hear and see the call: the others' video arrives on their page.
    listener.wait_for_function(
        "() => [...document.querySelectorAll('.tile-video')].filter(v => v.videoWidth > 0)"
        ".length === 2",
        timeout=CONNECT_TIMEOUT,
    )
    assert listener.evaluate("() => window.finestretaCall.local.getTracks().length") == 0
    assert not check_page(coach, "en")

    # The citizen and the agent are told, in words and in a status region.
    told = "Anna Puig, a supervisor, is listening to this call for coaching."
    for page in (citizen, agent):
        banner = page.locator("#listeners")
        expect(banner).to_contain_text(told, timeout=15_000)
        assert banner.get_attribute("role") == "status"
        expect(page.locator(".tile", has_text="Anna Puig")).to_contain_text(
            "supervisor, listening silently for coaching"
        )
    # Nothing of the listener's plays anywhere: their tile has no video.
    assert citizen.evaluate(
        """() => [...document.querySelectorAll('.tile')]
             .filter(t => t.textContent.includes('Anna Puig'))
             .every(t => [...t.querySelectorAll('video')].every(v => v.videoWidth === 0))"""
    )
    assert not check_page(visitor, "en")

    # When the supervisor leaves, the banner goes.
    listener.click("#leave")
    expect(citizen.locator("#listeners")).to_have_text("", timeout=15_000)


# --- (c) the relay check against a real TURN server ------------------------------------------


@pytest.mark.turn
def test_the_check_page_finds_the_relay_of_a_real_turn_server(
    video_appointment: Appointment, open_call: Callable[..., Visit]
) -> None:
    visitor = open_call("en")
    visitor.goto(precall_path(video_appointment))
    run_checks(visitor.page)
    expect_check(visitor.page, "relay", "ok")
    expect(visitor.page.locator("#check-summary")).to_have_text(
        "Everything works. You can go to the waiting room."
    )


@pytest.mark.turn(secret="not-coturn-s-secret")
def test_the_check_page_says_the_network_blocks_calls_when_the_relay_refuses(
    video_appointment: Appointment, open_call: Callable[..., Visit]
) -> None:
    visitor = open_call("en")
    visitor.goto(precall_path(video_appointment))
    run_checks(visitor.page)
    expect_check(visitor.page, "relay", "failed")
    expect(visitor.page.locator("#help-network")).to_be_visible()


# --- (e) Chromium with an aiortc peer --------------------------------------------------------


class Loop:
    """An asyncio loop in a thread of its own, for an aiortc participant: Playwright's sync API
    keeps this thread's loop busy."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def run(self, coroutine: Coroutine[Any, Any, T], timeout: float = 30) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


async def frames_stop(link: Any, track: str, *, timeout: float = 10) -> None:
    """Wait until no new frame arrives on `track` for a whole second."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        first = link.video_tracks[track][0]
        await asyncio.sleep(1)
        if link.video_tracks[track][0] == first:
            return
    raise TimeoutError(f"the frames of {track} did not stop: {link}")


def session_cookie(user: User) -> str:
    client = Client()
    client.force_login(user)
    return f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"


def test_a_citizen_in_chromium_and_an_agent_on_aiortc_see_hear_and_write_to_each_other(
    browser_data: BrowserData,
    video_appointment: Appointment,
    open_call: Callable[..., Visit],
    asgi_server: str,
) -> None:
    """Two WebRTC implementations through the server: the citizen's page in Chromium (fake
    camera and microphone) and the agent as an aiortc client of the documented protocol
    (tests/webrtc.py), each receiving the other's audio and video; then the citizen shares
    their screen and the agent receives it as a second video, the size of the fake screen; the
    agent's voice (a tone) lights the speaking indicator; camera off and sound only stop the
    citizen's video and not the sound, and undoing them brings it back."""
    room = services.get_room(video_appointment)
    url = asgi_server.replace("http://", "ws://") + services.room_socket_path(room)
    loop = Loop()

    async def make_agent() -> Participant:
        return Participant(url, cookie=session_cookie(browser_data.staff), tone=True, label="agent")

    agent = loop.run(make_agent())
    try:
        welcome = loop.run(agent.join())
        assert (welcome["role"], welcome["state"]) == ("staff", "admitted")

        visitor = open_call("en")
        citizen = visitor.page
        visitor.goto(f"{precall_path(video_appointment)}call/")
        wait_state(citizen, "waiting")
        waiting = loop.run(agent.expect("waiting"))
        loop.run(agent.admit(waiting["peer"]))
        wait_state(citizen, "admitted")

        # Chromium, the newcomer, offers; aiortc answers; media flow both ways.
        expect(citizen.locator("#call")).to_have_attribute(
            "data-connection", "connected", timeout=CONNECT_TIMEOUT
        )
        citizen.wait_for_function(
            "() => [...document.querySelectorAll('.tile-video')].some(v => v.videoWidth > 0)",
            timeout=CONNECT_TIMEOUT,
        )
        link = agent.links[waiting["peer"]]
        assert not link.offerer

        def frames() -> bool:
            return link.connected and link.received["audio"] > 50 and link.received["video"] > 15

        loop.run(until(frames, timeout=20, what="Chromium's audio and video at aiortc"))
        expect(citizen.locator(".tile .tile-name")).to_have_text("Marta Vidal")

        # Chat both ways.
        citizen.fill("#chat-text", "Bon dia")
        citizen.press("#chat-text", "Enter")
        line = loop.run(agent.expect("chat", lambda m: m["text"] == "Bon dia"))
        assert line["seq"] == 1
        loop.run(agent.say("Bon dia, digui'm"))
        expect(citizen.locator("#chat-lines li").nth(1)).to_contain_text("Bon dia, digui'm")

        # The citizen shares the screen: a second video reaches aiortc, 1280×720 (Chromium's
        # fake screen), while the camera's keeps coming; the agent is told by `media`.
        citizen.click("#toggle-screen")
        expect(citizen.locator("#toggle-screen")).to_have_attribute("aria-pressed", "true")
        media = loop.run(agent.expect("media", lambda m: m.get("screen") is True))
        assert media["peer"] == waiting["peer"]

        def screen_arrives() -> bool:
            return any(
                (width, height) == (1280, 720) and count > 10
                for count, width, height in link.video_tracks.values()
            )

        loop.run(until(screen_arrives, timeout=20, what=f"the screen at aiortc: {link}"))
        assert len(link.video_tracks) == 2

        def camera_frames() -> int:
            return max(n for n, w, h in link.video_tracks.values() if (w, h) != (1280, 720))

        before = camera_frames()
        loop.run(until(lambda: camera_frames() > before + 10, timeout=10, what="the camera"))

        # The citizen stops sharing: the agent is told.
        citizen.click("#toggle-screen")
        expect(citizen.locator("#toggle-screen")).to_have_attribute("aria-pressed", "false")
        loop.run(agent.expect("media", lambda m: m.get("screen") is False))

        # The agent's tone is someone speaking: the citizen's page shows and announces it.
        tile = citizen.locator(".tile").first
        expect(tile).to_have_class(re.compile(r"\bspeaking\b"), timeout=15_000)
        expect(tile.locator(".speaking-badge")).to_be_visible()
        expect(citizen.locator("#speaking-announcer")).to_have_text("Marta Vidal is speaking")

        # Camera off: the agent is told and the camera's frames stop; on again, they come back.
        camera = next(i for i, (n, w, h) in link.video_tracks.items() if (w, h) != (1280, 720))
        citizen.click("#toggle-camera")
        expect(citizen.locator("#toggle-camera")).to_have_attribute("aria-pressed", "true")
        loop.run(agent.expect("media", lambda m: m.get("video") is False))
        loop.run(frames_stop(link, camera))
        citizen.click("#toggle-camera")
        loop.run(agent.expect("media", lambda m: m.get("video") is True))
        stopped_at = link.video_tracks[camera][0]
        loop.run(until(lambda: link.video_tracks[camera][0] > stopped_at + 10, timeout=15))

        # Sound only: the citizen sends no video, the sound goes on; back to video, both
        # pictures return.
        citizen.click("#toggle-audio-only")
        expect(citizen.locator("#toggle-audio-only")).to_have_attribute("aria-pressed", "true")
        loop.run(agent.expect("media", lambda m: m.get("video") is False))
        loop.run(frames_stop(link, camera))
        audio = link.received["audio"]
        loop.run(until(lambda: link.received["audio"] > audio + 25, timeout=10, what="sound"))
        citizen.click("#toggle-audio-only")
        expect(citizen.locator("#toggle-audio-only")).to_have_attribute("aria-pressed", "false")
        stopped_at = link.video_tracks[camera][0]
        loop.run(until(lambda: link.video_tracks[camera][0] > stopped_at + 10, timeout=15))
        citizen.wait_for_function(
            "() => [...document.querySelectorAll('.tile-video')].some(v => v.videoWidth > 0)",
            timeout=CONNECT_TIMEOUT,
        )
    finally:
        loop.run(agent.close())
        loop.close()
    assert not agent.failures, agent.failures


# --- (f) a network change under a call --------------------------------------------------------


def test_when_the_citizen_s_network_changes_the_call_comes_back_by_itself(
    browser: Browser,
    browser_data: BrowserData,
    video_appointment: Appointment,
    tmp_path: Path,
) -> None:
    """The citizen's Chromium runs in a network namespace of its own (a veth pair to this one);
    the agent is an aiortc client here. Mid-call the citizen's address changes, as a phone
    moving from Wi-Fi to mobile data: the signaling socket and the ICE candidates of the old
    address are dead. The page notices (the media stop, a ping goes unanswered), reconnects its
    socket with `resume` and restarts ICE; the agent answers on a new connection, and the media
    flow again — nobody clicked anything."""
    room = services.get_room(video_appointment)
    with contextlib.ExitStack() as stack:
        net = stack.enter_context(network_namespace())
        port = free_port()
        base = f"http://{net.host_ip}:{port}"
        files = tmp_path / "video-files"
        files.mkdir()
        env = child_env(DEBUG="1", ALLOWED_HOSTS=net.host_ip, VIDEO_FILES_DIR=str(files))
        stack.enter_context(running(["serve", "--host", net.host_ip, "--port", str(port)], env=env))
        assert wait_until(lambda: server_up(base), timeout=60), "the server did not start"

        # Chromium inside the namespace: Playwright starts it through `ip netns exec`.
        wrapper = tmp_path / "chromium-in-namespace"
        wrapper.write_text(f'#!/bin/sh\nexec ip netns exec {net.name} {CHROMIUM} "$@"\n')
        wrapper.chmod(0o755)
        home = stack.enter_context(tempfile.TemporaryDirectory(prefix="finestreta-chromium-ns-"))
        chromium = browser.browser_type.launch(
            executable_path=str(wrapper),
            # Not a secure origin by its address: allow the camera there, as HTTPS would.
            args=[*CHROMIUM_ARGS, *CALL_ARGS, f"--unsafely-treat-insecure-origin-as-secure={base}"],
            env={**os.environ, "HOME": home},
        )
        stack.callback(chromium.close)
        context = chromium.new_context(viewport=DESKTOP, base_url=base)
        stack.callback(context.close)
        errors: list[str] = []
        citizen = context.new_page()
        citizen.on("pageerror", lambda error: errors.append(str(error)))

        loop = Loop()
        stack.callback(loop.close)

        async def make_agent() -> Participant:
            agent = Participant(
                f"ws://{net.host_ip}:{port}{services.room_socket_path(room)}",
                cookie=session_cookie(browser_data.staff),
                origin=base,
                label="agent",
            )
            # The agent's only host candidate is this end of the veth pair.
            aioice.ice.get_host_addresses = lambda use_ipv4, use_ipv6: [net.host_ip]
            return agent

        agent = loop.run(make_agent())
        stack.callback(use_loopback)
        stack.callback(lambda: loop.run(agent.close()))
        loop.run(agent.join())

        citizen.goto(f"{base}{precall_path(video_appointment)}call/")
        wait_state(citizen, "waiting")
        waiting = loop.run(agent.expect("waiting"))
        loop.run(agent.admit(waiting["peer"]))
        expect(citizen.locator("#call")).to_have_attribute(
            "data-connection", "connected", timeout=CONNECT_TIMEOUT
        )
        link = agent.links[waiting["peer"]]
        loop.run(until(lambda: link.connected and link.received["video"] > 15, timeout=20))
        peer_id = citizen.evaluate("() => window.finestretaCall.peerId")

        net.move(3)
        before = link.received["video"]

        def flowing_again() -> bool:
            return link.replaced >= 1 and link.connected and link.received["video"] > before + 15

        loop.run(until(flowing_again, timeout=60, what=f"media after the move: {link}"), 70)
        expect(citizen.locator("#call")).to_have_attribute(
            "data-connection", "connected", timeout=CONNECT_TIMEOUT
        )
        citizen.wait_for_function(
            "() => [...document.querySelectorAll('.tile-video')].some(v => v.videoWidth > 0)",
            timeout=CONNECT_TIMEOUT,
        )
        assert citizen.evaluate("() => window.finestretaCall.peerId") == peer_id
        assert RoomEvent.objects.filter(
            room=room, kind=RoomEvent.Kind.JOINED, peer=peer_id, details__resumed=True
        ).exists()
        assert not errors, errors
        assert not agent.failures, agent.failures
