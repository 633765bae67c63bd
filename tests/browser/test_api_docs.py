"""The API's docs page (Swagger UI, served by the platform itself) in a real Chromium: it renders
the operations from the schema under the site's Content-Security-Policy, with no violation and
no error in the console — without relaxing the policy for this page."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import ConsoleMessage, Error

from tests.browser.conftest import Visit
from tests.browser.data import BrowserData

pytestmark = pytest.mark.browser


def test_the_api_docs_page_renders_the_operations_within_the_csp(
    browser_data: BrowserData, open_page: Callable[..., Visit]
) -> None:
    visit = open_page("en")
    page = visit.page
    errors: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            errors.append(message.text)

    def on_page_error(error: Error) -> None:
        errors.append(f"{error.name}: {error.message}")

    page.on("console", on_console)
    page.on("pageerror", on_page_error)
    response = page.goto(visit.base_url + "/api/docs/", wait_until="load")
    assert response is not None and response.status == 200
    # The site's policy as is: Swagger UI 5 needs no 'unsafe-eval', no blob: worker and no
    # inline script or style (the start-up script is a separate file: SpectacularSwaggerSplitView).
    header = response.headers["content-security-policy"]
    policy = dict(part.strip().split(" ", 1) for part in header.split(";") if part.strip())
    assert policy["script-src"] == policy["style-src"] == "'self'"
    assert "unsafe" not in header and "worker-src" not in policy
    page.locator(".opblock").first.wait_for(state="visible", timeout=15_000)
    assert page.locator(".opblock").count() > 10
    assert page.locator(".opblock-summary-path", has_text="/bookings/").count() >= 1
    # Expanding an operation renders its parameters and schemas (more of Swagger UI's code).
    page.locator(".opblock-summary", has_text="/bookings/").first.click()
    page.locator(".opblock-body").first.wait_for(state="visible")
    visit.assert_csp_respected()
    assert not errors, "Console errors:\n" + "\n".join(errors)
