"""Recording in Chromium: once the citizen has agreed, the agent starts the recording with the
keyboard; both pages say so in words (a status region) and show no tile for the recorder; the
server's recorder (aiortc) receives both browsers' camera and microphone; the agent stops it and
the pages say that too. axe-core finds nothing on either page while it records.

The web server here is the ASGI server alone, in a process whose aioice offers 127.0.0.1 only
(tests/loopback_asgi.py), as Chromium does with `--allow-loopback-in-peer-connection`: the
recorder's media stay on this machine. No task worker is needed."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from django.utils import timezone
from playwright.sync_api import expect

from finestreta.appointments.models import Appointment
from finestreta.identity import consent
from finestreta.identity.models import ConsentKind, ConsentMethod
from finestreta.recordings import storage
from finestreta.recordings.models import Recording, Track
from finestreta.recordings.services import parts
from tests.browser.conftest import Visit
from tests.browser.data import BrowserData
from tests.browser.test_accessibility import check_page
from tests.browser.test_keyboard import tab_to
from tests.browser.test_video import (
    admitted_call,
    video_appointment,
    wait_state,
)
from tests.processes import child_env, free_port, wait_until
from tests.webrtc import asgi_server as loopback_server

__all__ = ["video_appointment"]

KEY = Fernet.generate_key().decode()


@pytest.fixture
def asgi_server(
    transactional_db: None, tmp_path: Path, settings: pytest.FixtureRequest
) -> Iterator[str]:
    """Replaces the browser tests' server for this module: the ASGI server alone, with its
    recorder's ICE on loopback, and recordings in a temporary directory under a known key."""
    directory = tmp_path / "recordings"
    settings.RECORDINGS_DIR = directory  # type: ignore[attr-defined]
    settings.RECORDING_KEYS = [KEY]  # type: ignore[attr-defined]
    port = free_port()
    env = child_env(
        DEBUG="1",
        REDIS_URL="",
        LOG_LEVEL="WARNING",
        RECORDINGS_DIR=str(directory),
        RECORDING_KEYS=KEY,
        RECORDING_CHUNK_SECONDS="1",
    )
    with loopback_server(port, env=env, log=tmp_path / "server.log", loopback=True):
        yield f"http://127.0.0.1:{port}"


def visible_tiles(visit: Visit) -> int:
    return int(visit.page.locator("#tiles > li:not([hidden])").count())


def test_the_agent_records_a_call_the_citizen_agreed_to_and_everyone_is_told(
    browser_data: BrowserData, video_appointment: Appointment, open_call: Callable[..., Visit]
) -> None:
    consent.record_consent(
        appointment=video_appointment,
        kind=ConsentKind.RECORDING,
        granted=True,
        method=ConsentMethod.CLICKED,
        now=timezone.now(),
    )
    problems: list[str] = []
    agent, visitor = admitted_call(open_call, browser_data.staff, video_appointment)
    staff, citizen = agent.page, visitor.page
    expect(citizen.locator("#call")).to_have_attribute(
        "data-connection", "connected", timeout=20_000
    )
    expect(staff.locator("#recording-state")).to_contain_text("Everyone in the call has agreed")
    expect(citizen.locator("#recording-banner")).to_be_hidden()

    # The keyboard alone starts it.
    tab_to(staff, "toggle-recording")
    staff.keyboard.press("Enter")
    banner = citizen.locator("#recording-banner")
    expect(banner).to_have_attribute("role", "status")
    expect(banner).to_contain_text("This call is being recorded", timeout=15_000)
    expect(staff.locator("#recording-banner")).to_contain_text("This call is being recorded")
    button = staff.locator("#toggle-recording")
    expect(button).to_have_attribute("aria-pressed", "true")
    expect(button).to_have_text("Stop recording")
    # The recorder has no tile: each page shows the one other person.
    assert wait_until(
        lambda: Track.objects.filter(chunks__gt=0).values("peer").distinct().count() == 2,
        timeout=20,
    ), "the recorder did not receive both browsers"
    assert visible_tiles(visitor) == 1 and visible_tiles(agent) == 1
    problems += [f"citizen, recorded: {p}" for p in check_page(visitor, "en")]
    problems += [f"agent, recording: {p}" for p in check_page(agent, "en")]

    button.focus()
    staff.keyboard.press("Enter")
    expect(banner).to_contain_text("no longer being recorded", timeout=15_000)
    expect(button).to_have_attribute("aria-pressed", "false")
    wait_state(citizen, "admitted")  # the call went on

    assert wait_until(lambda: not Recording.objects.get().live, timeout=10)
    recording = Recording.objects.get()
    assert recording.stop_reason == Recording.Reason.STAFF
    found = parts(recording)
    assert sorted(part.role for part in found) == ["citizen", "staff"]
    for part in found:
        assert part.kinds == ["audio", "video"]
        assert storage.duration_of(storage.participant_temporary_file(part.tracks).read()) > 0.5
    assert not problems, "\n\n".join(problems)
