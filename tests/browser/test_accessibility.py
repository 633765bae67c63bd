"""axe-core in a real Chromium on every kind of page, in the four interface languages.

Zero violations of any impact for the WCAG 2.0/2.1 A and AA rules plus axe's best practices; no
horizontal scrolling at 360 px; `<html lang>` follows the chosen language; and the Content Security
Policy is never violated (no inline script or style sneaks in).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest
from axe_playwright_python.sync_playwright import Axe
from pytest_django.fixtures import Settings

from finestreta.catalogue.models import AttentionLevel
from tests.browser.conftest import DESKTOP, MOBILE, Visit
from tests.browser.data import LANGUAGES, BrowserData

pytestmark = pytest.mark.browser

AXE = Axe()
AXE_OPTIONS = {
    "runOnly": {
        "type": "tag",
        "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"],
    },
    "resultTypes": ["violations"],
}


def axe_report(violations: list[dict]) -> str:
    lines = [f"{len(violations)} axe violation(s):"]
    for violation in violations:
        lines.append(
            f"\n[{violation['impact']}] {violation['id']}: {violation['help']}\n"
            f"  {violation['helpUrl']}"
        )
        for node in violation["nodes"]:
            lines.append(f"  - {' '.join(map(str, node['target']))}")
            lines.append(f"    {node['html'][:200]}")
            for summary_line in (node.get("failureSummary") or "").splitlines():
                lines.append(f"    {summary_line}")
    return "\n".join(lines)


def check_page(visit: Visit, language: str) -> list[str]:
    """Every problem on the current page, as readable text (empty when it passes)."""
    page = visit.page
    problems = []
    if visit.lang != language:
        problems.append(f"<html lang> is {visit.lang!r}, expected {language!r}")
    violations = AXE.run(page, options=AXE_OPTIONS).response["violations"]
    if violations:
        problems.append(axe_report(violations))
    if visit.csp_messages:
        problems.append("Content Security Policy violations:\n" + "\n".join(visit.csp_messages))
        visit.csp_messages.clear()

    page.set_viewport_size(MOBILE)
    widths = page.evaluate(
        "() => ({scroll: document.documentElement.scrollWidth, inner: window.innerWidth})"
    )
    page.set_viewport_size(DESKTOP)
    if widths["scroll"] > widths["inner"]:
        problems.append(f"scrolls sideways at {MOBILE['width']} px: {widths}")
    return [f"{page.url} [{language}] {problem}" for problem in problems]


@dataclass(frozen=True)
class Scenario:
    """How to reach one page: a path, and optionally DEBUG on, a failed login or a login first.

    Logged-in pages run with DEBUG on: the staff member of these tests is a demo account, and
    demo accounts exist only while DEBUG is on (outside it their sessions are refused)."""

    name: str
    path: Callable[[BrowserData], str]
    debug: bool = False
    failed_login: bool = False
    logged_in: bool = False
    status: int = 200
    # Pages reached by a form (POST): the fields to fill on the page at `path`, then buttons to
    # press in turn, each loading the next page.
    fill: Callable[[BrowserData], dict[str, str]] | None = None
    press: tuple[str, ...] = ()


def citizen_email(data: BrowserData) -> dict[str, str]:
    """The e-mail of the demo appointment's citizen, to find their data."""
    from finestreta.appointments.models import Appointment

    return {"#id_email": Appointment.objects.get(code=data.appointment_code).email}


SEARCH_BUTTON = "main form.stack button[type=submit]"


def webhooks(data: BrowserData, page: str = "") -> str:
    """A page of the organisation's webhooks, about a subscription whose one delivery failed
    once (so that the log and the attempts have rows): made on first use."""
    from django.utils import timezone

    from finestreta.integrations import services as integrations
    from finestreta.integrations.models import Attempt, Delivery, Subscription

    base = f"/{data.organisation.slug}/staff/webhooks/"
    subscription = Subscription.objects.filter(organisation=data.organisation).first()
    if subscription is None:
        subscription = Subscription.objects.create(
            organisation=data.organisation,
            url="https://expedients.example.cat/hooks/finestreta",
            secret=integrations.new_secret(),
            event_types=["appointment.created", "appointment.cancelled", "call.ended"],
            description="Gestor d'expedients",
        )
        event = integrations.emit(
            organisation=data.organisation, event_type="call.ended", data={"outcomes": []}
        )
        assert event is not None
        delivery = event.deliveries.get()
        Attempt.objects.create(
            delivery=delivery,
            started_at=timezone.now(),
            duration_ms=42,
            status_code=503,
            response_excerpt="Service unavailable",
        )
        Delivery.objects.filter(pk=delivery.pk).update(
            attempts=1, last_status_code=503, last_error="HTTP 503"
        )
    delivery = Delivery.objects.filter(subscription=subscription).first()
    assert delivery is not None
    paths = {
        "": base,
        "new": base + "new/",
        "detail": f"{base}{subscription.pk}/",
        "secret": f"{base}{subscription.pk}/secret/",
        "delivery": f"{base}{subscription.pk}/deliveries/{delivery.pk}/",
    }
    return paths[page]


def received_webhooks(data: BrowserData) -> str:
    """The development receiver's page, with a request it accepted and one it refused."""
    import time

    from django.utils import timezone

    from finestreta.integrations import dev_receiver
    from finestreta.integrations.delivery import body_of, signature
    from finestreta.integrations.models import ReceivedRequest, Subscription

    webhooks(data)
    if not ReceivedRequest.objects.exists():
        subscription = Subscription.objects.filter(organisation=data.organisation).get()
        path = "/hooks/finestreta"
        body = body_of({"type": "ping", "data": {"subscription": subscription.pk}})
        sent_at = int(time.time())
        for secret in (subscription.secret, "not the secret"):
            headers = {
                "finestreta-event-id": "5d0c8a8e-0b8c-4b76-9a53-2e8f5f0c7f0e",
                "finestreta-event-type": "ping",
                "finestreta-timestamp": str(sent_at),
                "finestreta-signature": signature(secret, sent_at, body),
            }
            dev_receiver.receive(
                org=data.organisation.slug,
                path=path,
                headers=headers,
                body=body,
                now=timezone.now(),
            )
    return "/dev/webhooks/"


# In visiting order: the logged-in pages come last, as logging in changes the context.
SCENARIOS = [
    Scenario("platform home", lambda d: "/"),
    Scenario("organisation home", lambda d: f"/{d.organisation.slug}/"),
    Scenario(
        "service",
        lambda d: f"/{d.organisation.slug}/services/{d.services[AttentionLevel.ATTENDED].slug}/",
    ),
    Scenario("office", lambda d: f"/{d.organisation.slug}/offices/{d.citizen_office.slug}/"),
    Scenario("attention now", lambda d: f"/{d.organisation.slug}/now/"),
    Scenario(
        "attention now, join",
        lambda d: f"/{d.organisation.slug}/now/{d.services[AttentionLevel.INFORMATIVE].slug}/",
    ),
    Scenario("satisfaction survey", lambda d: d.survey_path),
    Scenario("accessibility statement", lambda d: f"/{d.organisation.slug}/accessibility/"),
    Scenario("privacy notice", lambda d: f"/{d.organisation.slug}/privacy/"),
    Scenario(
        "not found", lambda d: f"/{d.organisation.slug}/services/no-such-service/", status=404
    ),
    Scenario("staff login with demo logins", lambda d: "/accounts/login/", debug=True),
    Scenario("failed staff login", lambda d: "/accounts/login/", debug=True, failed_login=True),
    Scenario(
        "staff dashboard", lambda d: f"/{d.organisation.slug}/staff/", logged_in=True, debug=True
    ),
    Scenario("desk", lambda d: f"/{d.organisation.slug}/staff/desk/", logged_in=True, debug=True),
    Scenario(
        "live view of the queue",
        lambda d: f"/{d.organisation.slug}/staff/supervisor/",
        logged_in=True,
        debug=True,
    ),
    Scenario(
        "staff team", lambda d: f"/{d.organisation.slug}/staff/team/", logged_in=True, debug=True
    ),
    Scenario("staff sessions", lambda d: "/accounts/sessions/", logged_in=True, debug=True),
    Scenario(
        "audit log", lambda d: f"/{d.organisation.slug}/staff/audit/", logged_in=True, debug=True
    ),
    Scenario(
        "figures", lambda d: f"/{d.organisation.slug}/staff/reports/", logged_in=True, debug=True
    ),
    Scenario(
        "figures, wrong dates",
        lambda d: f"/{d.organisation.slug}/staff/reports/?start=2026-02-01&end=2026-01-01",
        logged_in=True,
        debug=True,
        status=400,
    ),
    Scenario(
        "retention of data",
        lambda d: f"/{d.organisation.slug}/staff/retention/",
        logged_in=True,
        debug=True,
    ),
    Scenario("webhooks", lambda d: webhooks(d), logged_in=True, debug=True),
    Scenario("new webhook", lambda d: webhooks(d, "new"), logged_in=True, debug=True),
    Scenario("webhook and its log", lambda d: webhooks(d, "detail"), logged_in=True, debug=True),
    Scenario("webhook secret", lambda d: webhooks(d, "secret"), logged_in=True, debug=True),
    Scenario("webhook delivery", lambda d: webhooks(d, "delivery"), logged_in=True, debug=True),
    Scenario("webhooks received (development)", received_webhooks, logged_in=True, debug=True),
    Scenario(
        "people's data: search",
        lambda d: f"/{d.organisation.slug}/staff/privacy/subjects/",
        logged_in=True,
        debug=True,
    ),
    Scenario(
        "people's data: a bad identifier",
        lambda d: f"/{d.organisation.slug}/staff/privacy/subjects/",
        logged_in=True,
        debug=True,
        fill=lambda d: {"#id_phone": "12"},
        press=(SEARCH_BUTTON,),
    ),
    Scenario(
        "people's data: what is held",
        lambda d: f"/{d.organisation.slug}/staff/privacy/subjects/",
        logged_in=True,
        debug=True,
        fill=citizen_email,
        press=(SEARCH_BUTTON,),
    ),
    Scenario(
        "people's data: the erasure's plan",
        lambda d: f"/{d.organisation.slug}/staff/privacy/subjects/",
        logged_in=True,
        debug=True,
        fill=citizen_email,
        press=(SEARCH_BUTTON, "main form[action$='/erasure/'] button"),
    ),
    Scenario(
        "record of processing activities",
        lambda d: f"/{d.organisation.slug}/staff/privacy/processing/",
        logged_in=True,
        debug=True,
    ),
    Scenario(
        "agenda (day)",
        lambda d: f"/{d.organisation.slug}/staff/agenda/",
        logged_in=True,
        debug=True,
    ),
    Scenario(
        "agenda (week)",
        lambda d: f"/{d.organisation.slug}/staff/agenda/?view=week&whose=office-oac-girona",
        logged_in=True,
        debug=True,
    ),
    Scenario(
        "appointment (staff)",
        lambda d: f"/{d.organisation.slug}/staff/appointments/{d.appointment_code}/",
        logged_in=True,
        debug=True,
    ),
    Scenario(
        "move an appointment (staff)",
        lambda d: f"/{d.organisation.slug}/staff/appointments/{d.appointment_code}/move/",
        logged_in=True,
        debug=True,
    ),
    Scenario(
        "book by phone, step 1",
        lambda d: f"/{d.organisation.slug}/staff/appointments/new/",
        logged_in=True,
        debug=True,
    ),
    Scenario(
        "book by phone, step 2",
        lambda d: (
            f"/{d.organisation.slug}/staff/appointments/new/?service="
            f"{d.services[AttentionLevel.ATTENDED].pk}&channel=video"
        ),
        logged_in=True,
        debug=True,
    ),
]


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_page_is_accessible(
    language: str,
    browser_data: BrowserData,
    open_page: Callable[..., Visit],
    settings: Settings,
) -> None:
    """One context per language; all problems of all pages are reported together."""
    visit = open_page(language)
    page = visit.page
    problems: list[str] = []
    logged_in = False
    for scenario in SCENARIOS:
        # The demo logins only show with DEBUG on (and the 404 page must not be Django's
        # technical one): the live server's thread reads these same settings.
        settings.DEBUG = scenario.debug
        if scenario.logged_in and not logged_in:
            visit.log_in(browser_data.staff)
            logged_in = True
        path = scenario.path(browser_data)
        status = visit.goto(path, check_csp=False)
        assert status == scenario.status, f"{scenario.name}: HTTP {status}"
        if scenario.debug and not scenario.logged_in:
            assert page.locator(".demo table").count() == 1, "the demo logins are not shown"
        if scenario.failed_login:
            page.fill("#id_username", browser_data.staff.username)
            page.fill("#id_password", "not the password")
            with page.expect_navigation():
                page.press("#id_password", "Enter")
            assert page.locator("#error-summary").count() == 1, "no error summary"
        if scenario.logged_in:
            # The whole address: a login page's ?next= also ends with the path asked for.
            assert page.url == visit.base_url + path, f"not logged in: {page.url}"
        for selector, value in (scenario.fill(browser_data) if scenario.fill else {}).items():
            page.fill(selector, value)
        for button in scenario.press:
            with page.expect_navigation():
                page.click(button)
        problems += [f"{scenario.name}: {problem}" for problem in check_page(visit, language)]
    assert not problems, "\n\n".join(problems)


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_second_factor_set_up_page_is_accessible(
    language: str,
    browser_data: BrowserData,
    open_page: Callable[..., Visit],
    settings: Settings,
) -> None:
    from tests.factories import UserFactory

    settings.DEBUG = False
    admin = UserFactory(username=f"platform-{language}", is_staff=True, is_superuser=True)
    visit = open_page(language)
    visit.log_in(admin)
    status = visit.goto("/admin/", check_csp=False)
    assert status == 200
    assert "/accounts/2fa/" in visit.page.url, "a platform admin must give a second factor first"
    assert visit.page.locator("img.qr-code").count() == 1
    problems = check_page(visit, language)
    assert not problems, "\n\n".join(problems)
