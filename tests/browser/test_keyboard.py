"""Keyboard-only use: the skip link, the Tab sequence, visible focus, the language switcher and
the staff login, in a real Chromium.

Assertions are on structure, `lang` attributes and model content only: the translation
catalogues may not be translated yet.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest
from playwright.sync_api import Page
from pytest_django.fixtures import Settings

from finestreta.catalogue.models import AttentionLevel
from tests.browser.conftest import Visit
from tests.browser.data import BrowserData

pytestmark = pytest.mark.browser

FOCUSABLE = (
    'a[href], button, select, input:not([type="hidden"]), textarea, [tabindex]:not([tabindex="-1"])'
)

# Numbers every visible focusable element in document order (data-kbd) and describes it.
MARK_FOCUSABLES = """
(selector) => {
  const visible = (el) => {
    const style = getComputedStyle(el);
    return el.getClientRects().length > 0 && style.visibility !== "hidden" && !el.disabled;
  };
  return [...document.querySelectorAll(selector)].filter(visible).map((el, index) => {
    el.setAttribute("data-kbd", String(index));
    const text = el.tagName === "SELECT" ? el.name : el.textContent || el.name || "";
    return `<${el.tagName.toLowerCase()}${el.id ? "#" + el.id : ""}> "${text.trim().slice(0, 60)}"`;
  });
}
"""

# The focused element: its number, and whether it shows a focus indicator.
DESCRIBE_FOCUS = """
() => {
  const el = document.activeElement;
  if (!el || el === document.body || el === document.documentElement) return null;
  const style = getComputedStyle(el);
  const outline = style.outlineStyle !== "none" && parseFloat(style.outlineWidth) > 0;
  const shadow = style.boxShadow !== "none" && style.boxShadow !== "";
  return {
    kbd: el.getAttribute("data-kbd"),
    label: `${el.tagName.toLowerCase()}#${el.id}.${el.className}`,
    indicator: outline || shadow,
  };
}
"""


def focused(page: Page) -> dict | None:
    return page.evaluate(DESCRIBE_FOCUS)


def active_id(page: Page) -> str:
    return str(page.evaluate("() => document.activeElement ? document.activeElement.id : ''"))


def tab_to(page: Page, element_id: str, limit: int = 40) -> None:
    """Press Tab until the element with this id has focus (keyboard only, no clicking)."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if active_id(page) == element_id:
            return
    raise AssertionError(f"#{element_id} never received focus after {limit} presses of Tab")


def test_the_skip_link_comes_first_shows_when_focused_and_moves_focus_to_main(
    browser_data: BrowserData, open_page: Callable[..., Visit]
) -> None:
    visit = open_page()
    page = visit.page
    visit.goto(f"/{browser_data.organisation.slug}/")

    page.keyboard.press("Tab")
    skip = page.locator(".skip-link")
    assert page.evaluate("() => document.activeElement.classList.contains('skip-link')")
    box = skip.bounding_box()
    viewport = page.viewport_size
    assert box is not None and viewport is not None
    assert box["y"] >= 0 and box["x"] >= 0, f"the focused skip link is off screen: {box}"
    assert box["y"] + box["height"] <= viewport["height"]
    assert box["width"] > 1 and box["height"] > 1

    page.keyboard.press("Enter")
    assert page.evaluate("() => document.activeElement.tagName") == "MAIN"
    assert page.evaluate("() => document.activeElement.id") == "main"


@dataclass(frozen=True)
class TabPage:
    path: Callable[[BrowserData], str]
    logged_in: bool = False
    debug: bool = False  # the login page lists the demo logins only with DEBUG on


TAB_PAGES = {
    "organisation-home": TabPage(lambda d: f"/{d.organisation.slug}/"),
    "service": TabPage(
        lambda d: f"/{d.organisation.slug}/services/{d.services[AttentionLevel.ASSISTED].slug}/"
    ),
    "office": TabPage(lambda d: f"/{d.organisation.slug}/offices/{d.citizen_office.slug}/"),
    "staff-login": TabPage(lambda d: "/accounts/login/", debug=True),
    # Logged in as a demo account, which exists only while DEBUG is on.
    "staff-dashboard": TabPage(
        lambda d: f"/{d.organisation.slug}/staff/", logged_in=True, debug=True
    ),
    "staff-team": TabPage(
        lambda d: f"/{d.organisation.slug}/staff/team/", logged_in=True, debug=True
    ),
    "staff-agenda": TabPage(
        lambda d: f"/{d.organisation.slug}/staff/agenda/", logged_in=True, debug=True
    ),
}


@pytest.mark.parametrize("name", TAB_PAGES)
def test_tab_reaches_every_control_in_order_with_a_visible_focus_indicator(
    name: str, browser_data: BrowserData, open_page: Callable[..., Visit], settings: Settings
) -> None:
    target = TAB_PAGES[name]
    settings.DEBUG = target.debug
    visit = open_page(user=browser_data.staff if target.logged_in else None)
    page = visit.page
    path = target.path(browser_data)
    visit.goto(path)
    assert page.url == visit.base_url + path, f"not the page asked for: {page.url}"
    controls = page.evaluate(MARK_FOCUSABLES, FOCUSABLE)
    assert controls, "no focusable element found"

    order: list[int] = []
    without_indicator: list[str] = []
    for _ in range(2 * len(controls) + 5):
        page.keyboard.press("Tab")
        state = focused(page)
        if state is None:  # focus left the document (to the browser): the next Tab wraps
            continue
        assert state["kbd"] is not None, f"Tab focused an unexpected element: {state['label']}"
        index = int(state["kbd"])
        if order and index == order[0]:
            break  # wrapped around
        order.append(index)
        if not state["indicator"]:
            without_indicator.append(controls[index])
    else:
        raise AssertionError(f"focus never wrapped around; sequence: {order}")

    missed = [controls[i] for i in range(len(controls)) if i not in order]
    assert not missed, f"never reached with Tab: {missed}"
    assert order == sorted(order), f"Tab order differs from reading order: {order}"
    assert not without_indicator, f"no visible focus indicator on: {without_indicator}"
    visit.assert_csp_respected()


def test_the_language_switcher_works_with_the_keyboard_alone(
    browser_data: BrowserData, open_page: Callable[..., Visit]
) -> None:
    visit = open_page("ca")
    page = visit.page
    visit.goto(f"/{browser_data.organisation.slug}/")
    assert visit.lang == "ca"

    tab_to(page, "language-select")
    select = page.locator("#language-select")
    for _ in range(4):  # the options are in settings.LANGUAGES order: Català, Español, …
        if select.input_value() == "es":
            break
        page.keyboard.press("ArrowDown")
    assert select.input_value() == "es"

    page.keyboard.press("Tab")
    assert page.evaluate(
        "() => document.activeElement.matches('.language-form button[type=submit]')"
    )
    with page.expect_navigation():
        page.keyboard.press("Enter")

    assert visit.lang == "es"
    assert page.url.endswith(f"/{browser_data.organisation.slug}/")
    assert page.locator("#language-select").input_value() == "es"
    assert page.locator("h1").inner_text() == browser_data.organisation.name_es
    visit.assert_csp_respected()


def test_a_staff_member_logs_in_with_the_keyboard_alone(
    browser_data: BrowserData, open_page: Callable[..., Visit], settings
) -> None:
    settings.DEBUG = True  # the password login of a demo account
    visit = open_page("ca")
    page = visit.page
    visit.goto("/accounts/login/")

    tab_to(page, "id_username")
    page.keyboard.type(browser_data.staff.username)
    page.keyboard.press("Tab")
    assert active_id(page) == "id_password"
    page.keyboard.type(browser_data.password)
    with page.expect_navigation():
        page.keyboard.press("Enter")

    page.wait_for_url(f"**/{browser_data.organisation.slug}/staff/")
    assert browser_data.staff.get_full_name() in page.locator("h1").inner_text()
    visit.assert_csp_respected()


def test_the_satisfaction_survey_is_answered_with_the_keyboard_alone(
    browser_data: BrowserData, open_page: Callable[..., Visit]
) -> None:
    from tests.browser.test_accessibility import check_page

    visit = open_page("ca")
    page = visit.page
    assert visit.goto(browser_data.survey_path) == 200

    tab_to(page, "send-survey")  # sent without a score: the errors, accessible
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.locator("#error-summary").count() == 1
    assert not check_page(visit, "ca")

    tab_to(page, "id_score_0")  # the first choice; arrows move along the group
    for _ in range(3):
        page.keyboard.press("ArrowDown")
    assert active_id(page) == "id_score_3"
    tab_to(page, "id_comment")
    page.keyboard.type("Molt amable i clar.")
    tab_to(page, "send-survey")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.locator("#survey-thanks").count() == 1
    assert not check_page(visit, "ca")

    from finestreta.reports.models import SurveyAnswer

    answer = SurveyAnswer.objects.get()
    assert (answer.score, answer.comment, answer.language) == (4, "Molt amable i clar.", "ca")
