"""Identity and consent in Chromium: the citizen answers before the call with the keyboard
alone, and the agent, in the call, identifies them by the code they read out and records a
document check — the panel changes in place (the call goes on) and hears the citizen's
withdrawal live. axe-core finds nothing on either page with the answers shown."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

import pytest
from allauth.socialaccount.models import SocialAccount
from playwright.sync_api import expect

from finestreta.appointments.models import Appointment
from finestreta.identity.models import Assurance, ConsentRecord, IdentityCheck, ServicePolicy
from finestreta.notifications.models import Message
from tests.browser.conftest import Visit
from tests.browser.data import BrowserData
from tests.browser.test_accessibility import check_page
from tests.browser.test_keyboard import tab_to
from tests.browser.test_video import (
    admitted_call,
    precall_path,
    room_path,
    video_appointment,
    wait_state,
)
from tests.factories import IdentityProviderFactory
from tests.idp.oidc import OidcClient, OidcProvider, OidcUser, run_oidc_provider
from tests.processes import wait_until

__all__ = ["video_appointment"]  # the fixture, shared with the video tests
CITIZEN = OidcUser("12345678Z", "marta-secret", "marta@example.net", "Marta", "Vidal")
SECRET = "a-client-secret-known-to-both"  # noqa: S105 - test provider only


def test_the_citizen_consents_by_keyboard_and_the_agent_identifies_them_in_the_call(
    browser_data: BrowserData, video_appointment: Appointment, open_call: Callable[..., Visit]
) -> None:
    problems: list[str] = []
    citizen = open_call("en")
    page = citizen.page
    citizen.goto(precall_path(video_appointment))
    expect(page.locator("#consent")).to_contain_text("Privacy notice")

    # The keyboard alone: the notice's box, the recording question, the button.
    tab_to(page, "id_privacy_notice")
    page.keyboard.press("Space")
    tab_to(page, "id_recording_0")
    page.keyboard.press("Space")
    tab_to(page, "consent-submit")
    page.keyboard.press("Enter")
    expect(page.locator(".messages")).to_contain_text("your answers are saved")
    expect(page.locator(".consent-answers")).to_contain_text("you agreed")
    assert ConsentRecord.objects.filter(kind="recording", granted=True).count() == 1
    problems += [f"check page with answers: {p}" for p in check_page(citizen, "en")]

    agent = open_call("en", user=browser_data.staff)
    agent.goto(room_path(video_appointment))
    staff = agent.page
    wait_state(staff, "admitted")
    panel = staff.locator("#identity-panel")
    expect(panel).to_contain_text("Not identified yet.")
    peer = staff.evaluate("() => window.finestretaCall.peerId")

    # A document that fails one check is recorded, and does not identify.
    staff.select_option("#id_document_type", "dni")
    staff.fill("#id_number", "12345678Z")
    staff.check("#id_number_checked")
    staff.check("#id_not_expired")
    staff.click("#identity-panel form[action$='/document/'] button[type=submit]")
    expect(staff.locator("#identity-result")).to_contain_text("did not pass every check")
    expect(staff.locator("#identity-result")).to_be_focused()

    # Then all of it: identified, in place.
    staff.select_option("#id_document_type", "dni")
    staff.fill("#id_number", "12345678Z")
    for box in ("#id_number_checked", "#id_photo_matches", "#id_not_expired"):
        staff.check(box)
    staff.click("#identity-panel form[action$='/document/'] button[type=submit]")
    expect(staff.locator("#identity-state")).to_contain_text("Identified with")
    assert IdentityCheck.objects.filter(verified=True).count() == 1
    assert staff.evaluate("() => window.finestretaCall.peerId") == peer  # not reloaded

    # The citizen withdraws their consent on their page: the agent's panel hears it.
    page.locator(".consent-answers button").click()
    expect(page.locator(".messages")).to_contain_text("withdrawn")
    expect(staff.locator("#consent-list")).to_contain_text("withdrawn at", timeout=15_000)
    problems += [f"staff call page with the panel: {p}" for p in check_page(agent, "en")]
    assert not problems, "\n\n".join(problems)


def test_the_agent_identifies_the_citizen_by_the_code_read_out(
    browser_data: BrowserData, video_appointment: Appointment, open_call: Callable[..., Visit]
) -> None:
    from finestreta.identity.models import ServicePolicy

    ServicePolicy.objects.create(service=video_appointment.service, identity="contact_code")
    agent = open_call("en", user=browser_data.staff)
    agent.goto(room_path(video_appointment))
    staff = agent.page
    wait_state(staff, "admitted")
    staff.click("#identity-panel form[action$='/code/'] button[type=submit]")
    expect(staff.locator("#identity-result")).to_contain_text("Code sent to •••• 678")
    assert wait_until(lambda: Message.objects.filter(kind="identity_code").exists())
    body = Message.objects.get(kind="identity_code").body
    code = re.search(r"\b(\d{6})\b", body)[1]  # type: ignore[index]
    staff.fill("#id_code", "000000" if code != "000000" else "111111")
    staff.keyboard.press("Enter")
    expect(staff.locator("#id_code")).to_have_attribute("aria-invalid", "true")
    expect(staff.locator("#id_code")).to_be_focused()
    expect(staff.locator("#code-error")).to_contain_text("4 tries left")
    staff.fill("#id_code", code)
    staff.keyboard.press("Enter")
    expect(staff.locator("#identity-result")).to_contain_text("Identified: the code is right.")
    expect(staff.locator("#identity-state")).to_contain_text("Identified by a code")


def test_the_citizen_signs_in_the_call_with_the_keyboard_and_downloads_the_receipt(
    browser_data: BrowserData, video_appointment: Appointment, open_call: Callable[..., Visit]
) -> None:
    from finestreta.identity.models import ServicePolicy, Signature

    ServicePolicy.objects.create(
        service=video_appointment.service, identity="none", signature="citizen_code"
    )
    video_appointment.email = "nuria@example.org"
    video_appointment.save(update_fields=["email"])
    problems: list[str] = []
    agent, visitor = admitted_call(open_call, browser_data.staff, video_appointment)
    staff, citizen = agent.page, visitor.page
    expect(citizen.locator("#signature-panel")).to_be_hidden()

    # The agent writes the summary and asks; the citizen's page shows it at once, focused.
    staff.fill("#id_title", "Summary of the video call")
    staff.fill("#id_body", "Application for the housing grant handed in.")
    staff.check("#identity-panel input[name=destination][value^='email:']")
    staff.click("#identity-panel form[action$='/signature/'] button[type=submit]")
    expect(staff.locator("#identity-result")).to_contain_text("Code sent to n•••@example.org")
    panel = citizen.locator("#signature-panel")
    expect(panel).to_be_visible(timeout=15_000)
    expect(citizen.locator("#signature-title")).to_be_focused()
    expect(panel).to_contain_text("Application for the housing grant handed in.")
    problems += [f"citizen asked to sign: {p}" for p in check_page(visitor, "en")]

    assert wait_until(lambda: Message.objects.filter(kind="signature_code").exists())
    code = re.search(r"\b(\d{6})\b", Message.objects.get(kind="signature_code").body)[1]  # type: ignore[index]
    # The keyboard alone: a wrong code first, then the right one.
    tab_to(citizen, "id_sign_code")
    citizen.keyboard.type("000000" if code != "000000" else "111111")
    citizen.keyboard.press("Enter")
    expect(citizen.locator("#sign-code-error")).to_contain_text("4 tries left")
    expect(citizen.locator("#id_sign_code")).to_be_focused()
    citizen.keyboard.type(code)
    citizen.keyboard.press("Enter")
    expect(citizen.locator("#signature-result")).to_contain_text("Signed.")
    expect(citizen.locator("#signature-result")).to_be_focused()
    signed = Signature.objects.get(status="signed")
    expect(panel).to_contain_text(signed.grouped_code)
    with citizen.expect_download() as download:
        citizen.locator("#signature-panel a[download]").click()
    path = download.value.path()
    assert path is not None and open(path, "rb").read() == bytes(signed.receipt)

    # The agent's panel hears it, and the call went on all along.
    expect(staff.locator("#signature-list")).to_contain_text(signed.grouped_code, timeout=15_000)
    wait_state(citizen, "admitted")
    problems += [f"citizen after signing: {p}" for p in check_page(visitor, "en")]
    problems += [f"agent after the signature: {p}" for p in check_page(agent, "en")]
    assert not problems, "\n\n".join(problems)


@pytest.fixture(scope="module")
def citizen_provider() -> Iterator[OidcProvider]:
    with run_oidc_provider(users=[CITIZEN]) as provider:
        yield provider


def test_the_citizen_identifies_with_their_electronic_identity_by_keyboard_and_the_agent_sees_it(
    browser_data: BrowserData,
    video_appointment: Appointment,
    open_call: Callable[..., Visit],
    asgi_server: str,
    citizen_provider: OidcProvider,
) -> None:
    problems: list[str] = []
    citizen_provider.add_client(
        OidcClient(
            client_id="finestreta-browser",
            client_secret=SECRET,
            redirect_uris=(f"{asgi_server}/auth/oidc/valid-browser/login/callback/",),
        )
    )
    IdentityProviderFactory(
        organisation=video_appointment.organisation,
        slug="valid-browser",
        citizens=True,
        issuer=citizen_provider.issuer,
        client_id="finestreta-browser",
        client_secret=SECRET,
    )
    ServicePolicy.objects.create(
        service=video_appointment.service, identity=Assurance.ELECTRONIC_ID
    )
    Appointment.objects.filter(pk=video_appointment.pk).update(id_document="12345678Z")

    agent = open_call("en", user=browser_data.staff)
    agent.goto(room_path(video_appointment))
    staff = agent.page
    expect(staff.locator("#identity-how")).to_contain_text("electronic identity (VÀLid)")
    staff.evaluate("() => { window.notReloaded = true; }")

    citizen = open_call("en")
    page = citizen.page
    citizen.goto(precall_path(video_appointment))
    expect(page.locator("#identity-why")).to_contain_text("needs you to identify yourself")
    problems += [f"page before the call, to identify: {p}" for p in check_page(citizen, "en")]
    tab_to(page, "identify-valid-browser")
    page.keyboard.press("Enter")
    page.wait_for_url(f"{citizen_provider.base_url}/**")  # at the provider
    page.fill("#id_username", CITIZEN.username)
    page.fill("#id_password", CITIZEN.password)
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(re.escape(precall_path(video_appointment)) + "#identity$"))
    expect(page.locator(".messages")).to_contain_text("you have identified yourself")
    expect(page.locator("#identity-done")).to_contain_text("You identified yourself with VÀLid")
    problems += [f"page before the call, identified: {p}" for p in check_page(citizen, "en")]

    # The agent's panel, in the call, changed in place.
    expect(staff.locator("#identity-state")).to_contain_text("as Marta Vidal", timeout=15_000)
    assert staff.evaluate("() => window.notReloaded === true")  # the page was not reloaded
    assert IdentityCheck.objects.get().verified
    assert not SocialAccount.objects.exists()
    assert not problems, "\n\n".join(problems)
