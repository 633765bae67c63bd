"""Fixtures for the browser tests: one Chromium for the package, a fresh context per test.

Playwright's sync API keeps an asyncio event loop marked as running in the main thread while it is
started, and Django then refuses ORM calls from that thread (SynchronousOnlyOperation) — including
pytest-django's own flush after each transactional test. Setting DJANGO_ALLOW_ASYNC_UNSAFE while
Playwright runs is the accepted approach for Playwright + Django tests: the ORM calls really are
synchronous and made from one thread. We set it only while the browser is up and remove it when
it closes.

The browser is scoped to this package rather than to the whole session so that the event loop, and
the relaxed check, stop before any other test runs. In a normal run the package runs once, so
there is still exactly one browser per session.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests
from django.conf import settings
from django.test import Client
from playwright.sync_api import Browser, ConsoleMessage, Page, sync_playwright
from pytest_django.live_server_helper import LiveServer

from finestreta.accounts.models import User
from tests.browser.data import BrowserData, create_browser_data
from tests.processes import child_env, coturn, free_port, running, wait_until

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
DESKTOP = {"width": 1280, "height": 900}
MOBILE = {"width": 360, "height": 740}


@pytest.fixture(scope="package")
def browser() -> Iterator[Browser]:
    if not os.path.exists(CHROMIUM):
        # Never a skip: CI must run the browser tests. `make system-deps` installs Chromium.
        pytest.fail(f"Chromium is not installed at {CHROMIUM} (run `make system-deps`)")
    with (
        pytest.MonkeyPatch.context() as mp,
        tempfile.TemporaryDirectory(prefix="finestreta-chromium-") as home,
    ):
        mp.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        with sync_playwright() as playwright:
            # Chromium writes ~/.config: keep it out of the real home directory.
            chromium = playwright.chromium.launch(
                executable_path=CHROMIUM,
                args=CHROMIUM_ARGS,
                env={**os.environ, "HOME": home},
            )
            yield chromium
            chromium.close()


@pytest.fixture
def browser_data(transactional_db: None) -> BrowserData:
    """The tenant, committed, so that the live server's thread sees it."""
    return create_browser_data()


@dataclass
class Visit:
    """A page in a fresh context that records Content-Security-Policy reports from the console."""

    page: Page
    base_url: str
    csp_messages: list[str] = field(default_factory=list)

    def goto(self, path: str, *, check_csp: bool = True) -> int:
        """Load the page and return its HTTP status."""
        response = self.page.goto(self.base_url + path, wait_until="load")
        assert response is not None
        if check_csp:
            self.assert_csp_respected()
        return response.status

    def set_language(self, language: str) -> None:
        self._set_cookie(settings.LANGUAGE_COOKIE_NAME, language)

    def log_in(self, user: User) -> None:
        """A real session for the user, without going through the login form."""
        client = Client()
        client.force_login(user)
        self._set_cookie(
            settings.SESSION_COOKIE_NAME, client.cookies[settings.SESSION_COOKIE_NAME].value
        )

    def _set_cookie(self, name: str, value: str) -> None:
        self.page.context.add_cookies([{"name": name, "value": value, "url": self.base_url}])

    def assert_csp_respected(self) -> None:
        assert not self.csp_messages, "Content Security Policy violations:\n" + "\n".join(
            self.csp_messages
        )

    @property
    def lang(self) -> str | None:
        return self.page.locator("html").get_attribute("lang")


@pytest.fixture
def open_page(browser: Browser, live_server: LiveServer) -> Iterator[Callable[..., Visit]]:
    """Open a page in a new browser context with the given interface language (set through
    its cookie, as the language switcher does), optionally logged in as a staff member."""
    base_url = live_server.url
    visits: list[Visit] = []

    def factory(language: str = "ca", *, user: User | None = None) -> Visit:
        context = browser.new_context(viewport=DESKTOP, base_url=base_url)
        page = context.new_page()
        visit = Visit(page=page, base_url=base_url)
        visits.append(visit)

        def on_console(message: ConsoleMessage) -> None:
            if "Content Security Policy" in message.text:
                visit.csp_messages.append(f"{page.url}: {message.text}")

        page.on("console", on_console)
        visit.set_language(language)
        if user is not None:
            visit.log_in(user)
        return visit

    yield factory
    for visit in visits:
        visit.page.context.close()
    for visit in visits:
        visit.assert_csp_respected()


# --- Calls: a Chromium with fake devices, the real ASGI server and worker -------------------

# Fake camera and microphone, granted; host candidates on this machine for WebRTC (traffic
# stays on this host).
CALL_ARGS = [
    "--use-fake-ui-for-media-stream",
    "--use-fake-device-for-media-stream",
    "--allow-loopback-in-peer-connection",
    "--disable-features=WebRtcHideLocalIpsWithMdns",
]


@pytest.fixture(scope="module")
def call_browser(browser: Browser) -> Iterator[Browser]:
    """A second Chromium of the package's Playwright, with fake devices: only these tests
    need them, so the shared browser stays as it is."""
    with tempfile.TemporaryDirectory(prefix="finestreta-chromium-call-") as home:
        chromium = browser.browser_type.launch(
            executable_path=CHROMIUM,
            args=[*CHROMIUM_ARGS, *CALL_ARGS],
            env={**os.environ, "HOME": home},
        )
        yield chromium
        chromium.close()


@pytest.fixture
def asgi_server(
    transactional_db: None, tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[str]:
    """The real web server on the test database. DEBUG on: the staff member of the browser
    data is a demo account, and demo accounts exist only while DEBUG is on. Files shared in
    calls go to a temporary directory. A test marked `turn` gets a real TURN server (coturn)
    configured; `turn(secret="…")` gives the web server another secret than coturn's.

    One server per test, stopped (and waited for) before the test's database is flushed: a
    server left running between tests can still be writing (a socket's `leave` after its page
    closed) while the flush truncates, which deadlocks on PostgreSQL."""
    port = free_port()
    files = tmp_path / "video-files"
    files.mkdir()
    extra = {"DEBUG": "1", "VIDEO_FILES_DIR": str(files)}
    with contextlib.ExitStack() as stack:
        marker = request.node.get_closest_marker("turn")
        if marker is not None:
            secret = secrets.token_urlsafe(24)
            turn = stack.enter_context(coturn(secret))
            extra["VIDEO_TURN_URLS"] = f"turn:127.0.0.1:{turn}?transport=udp"
            extra["VIDEO_TURN_SECRET"] = marker.kwargs.get("secret", secret)
        server = stack.enter_context(
            running(["serve", "--port", str(port)], env=child_env(**extra))
        )
        base = f"http://127.0.0.1:{port}"
        if not wait_until(lambda: server_up(base), timeout=60):
            server.terminate()
            output = server.communicate(timeout=15)[0]
            pytest.fail(f"the server did not start:\n{output}")
        yield base


def server_up(base: str) -> bool:
    try:
        return requests.get(f"{base}/healthz", timeout=2).status_code == 200
    except requests.RequestException:  # not listening yet, or still starting (a read timeout)
        return False


@pytest.fixture
def open_call(call_browser: Browser, asgi_server: str) -> Iterator[Callable[..., Visit]]:
    """A page in a new context of the fake-device Chromium, on the ASGI server. Script errors
    fail the test, as do breaches of the Content Security Policy."""
    visits: list[Visit] = []
    errors: list[str] = []

    def factory(language: str = "ca", *, user: User | None = None) -> Visit:
        context = call_browser.new_context(viewport=DESKTOP, base_url=asgi_server)
        page = context.new_page()
        visit = Visit(page=page, base_url=asgi_server)
        visits.append(visit)

        def on_console(message: ConsoleMessage) -> None:
            if "Content Security Policy" in message.text:
                visit.csp_messages.append(f"{page.url}: {message.text}")

        page.on("console", on_console)
        page.on("pageerror", lambda error: errors.append(f"{page.url}: {error}"))
        visit.set_language(language)
        if user is not None:
            visit.log_in(user)
        return visit

    yield factory
    for visit in visits:
        visit.page.context.close()
    for visit in visits:
        visit.assert_csp_respected()
    assert not errors, "Script errors:\n" + "\n".join(errors)
