"""Recording in Chromium: once the citizen has agreed, the agent starts the recording with the
keyboard; both pages say so in words (a status region) and show no tile for the recorder; the
server's recorder (aiortc) receives both browsers' camera and microphone; the agent stops it and
the pages say that too. axe-core finds nothing on either page while it records.

Then the issue's whole journey for attended processing: identified, recorded with consent, a
habilitated official signing on the citizen's spoken consent, the receipt received by e-mail.

The web server here is the ASGI server alone, in a process whose aioice offers 127.0.0.1 only
(tests/loopback_asgi.py), as Chromium does with `--allow-loopback-in-peer-connection`: the
recorder's media stay on this machine. No task worker is needed."""

from __future__ import annotations

import datetime as dt
import email
import io
from collections.abc import Callable, Iterator
from email import policy
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from cryptography.fernet import Fernet
from django.utils import timezone
from playwright.sync_api import expect
from pypdf import PdfReader

from finestreta.appointments.models import Appointment
from finestreta.identity import consent
from finestreta.identity.models import ConsentKind, ConsentMethod, HabilitatedOfficial, Signature
from finestreta.notifications.models import Message
from finestreta.notifications.services import deliver_due
from finestreta.recordings import storage
from finestreta.recordings.models import Recording, Track
from finestreta.recordings.services import parts
from tests.browser.conftest import Visit
from tests.browser.data import BrowserData
from tests.browser.test_accessibility import check_page
from tests.browser.test_keyboard import tab_to
from tests.browser.test_video import (
    admitted_call,
    precall_path,
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


def receipt_text(data: bytes) -> str:
    reader = PdfReader(io.BytesIO(data))
    return " ".join(" ".join(page.extract_text().split()) for page in reader.pages)


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


class Inbox:
    """A real SMTP server's mailbox (aiosmtpd)."""

    def __init__(self) -> None:
        self.received: list[email.message.EmailMessage] = []

    async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]  # noqa: N802
        self.received.append(email.message_from_bytes(envelope.content, policy=policy.default))
        return "250 OK"


def test_an_attended_call_identifies_records_with_consent_and_ends_with_a_receipt_received(
    browser_data: BrowserData,
    video_appointment: Appointment,
    open_call: Callable[..., Visit],
    settings: pytest.FixtureRequest,
) -> None:
    """The issue's whole journey for attended processing, with its default rules (a document
    on camera, recording only with consent, a habilitated official acting with express
    consent): the citizen agrees before the call, the agent checks their document, records,
    asks the citizen aloud and signs for them; the receipt reaches a real SMTP server."""
    HabilitatedOfficial.objects.create(
        organisation=video_appointment.organisation,
        user=browser_data.staff,
        reference="Resolució 12/2026",
        valid_from=timezone.localdate() - dt.timedelta(days=1),
    )
    problems: list[str] = []

    # Before the call, the citizen reads the notice and agrees to the recording.
    before = open_call("en")
    before.goto(precall_path(video_appointment))
    before.page.check("#id_privacy_notice")
    before.page.check("#id_recording_0")
    before.page.click("#consent-submit")
    expect(before.page.locator(".messages")).to_contain_text("your answers are saved")
    before.page.close()

    agent, visitor = admitted_call(open_call, browser_data.staff, video_appointment)
    staff, citizen = agent.page, visitor.page
    expect(citizen.locator("#call")).to_have_attribute(
        "data-connection", "connected", timeout=20_000
    )

    # The agent checks the identity document shown on camera.
    staff.select_option("#id_document_type", "dni")
    staff.fill("#id_number", "12345678Z")
    for box in ("#id_number_checked", "#id_photo_matches", "#id_not_expired"):
        staff.check(box)
    staff.click("#identity-panel form[action$='/document/'] button[type=submit]")
    expect(staff.locator("#identity-state")).to_contain_text("Identified with")

    # Everyone agreed: the agent records; the citizen is told.
    expect(staff.locator("#recording-state")).to_contain_text("Everyone in the call has agreed")
    staff.click("#toggle-recording")
    expect(citizen.locator("#recording-banner")).to_contain_text("This call is being recorded")
    assert wait_until(
        lambda: Track.objects.filter(role="citizen", kind="audio", chunks__gt=0).exists(),
        timeout=20,
    ), "the recorder did not receive the citizen's sound"

    # The official writes the summary, reads it out, and signs on the citizen's spoken yes.
    staff.fill("#id_title", "Application for the large-family card")
    staff.fill("#id_body", "Application handed in for the citizen, with their documents.")
    staff.click("#identity-panel form[action$='/signature/'] button[type=submit]")
    expect(staff.locator("#signature-pending")).to_be_visible()
    staff.get_by_role("button", name="They said yes aloud: sign for them").click()
    expect(staff.locator("#signature-list")).to_contain_text(": signed (", timeout=15_000)
    signed = Signature.objects.get(status=Signature.Status.SIGNED)
    assert signed.route == "habilitated" and signed.identity_check is not None
    problems += [f"agent after signing: {p}" for p in check_page(agent, "en")]

    staff.click("#toggle-recording")
    expect(citizen.locator("#recording-banner")).to_contain_text("no longer being recorded")

    # The receipt leaves the outbox for a real SMTP server, with the PDF as stored.
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        settings.NOTIFICATIONS_EMAIL = "smtp"  # type: ignore[attr-defined]
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"  # type: ignore[attr-defined]
        settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", controller.port  # type: ignore[attr-defined]
        assert wait_until(lambda: Message.objects.filter(kind="receipt").exists(), timeout=10)
        deliver_due(now=timezone.now() + dt.timedelta(minutes=1))
    finally:
        controller.stop()
    (received,) = inbox.received
    assert received["To"] == video_appointment.email
    (pdf,) = [part for part in received.iter_attachments()]
    assert pdf.get_content_type() == "application/pdf"
    assert pdf.get_content() == bytes(signed.receipt)
    assert signed.grouped_code in receipt_text(bytes(signed.receipt))
    spoken = signed.consent
    assert spoken is not None and spoken.method == ConsentMethod.SPOKEN
    assert spoken.recording_id == Recording.objects.get().pk  # the yes is in the recording
    assert not problems, "\n\n".join(problems)
