"""The audit log viewer and its CSV export, for organisation administrators only."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterator

import pytest
import time_machine
from django.conf import settings
from django.db import connection
from django.test import Client, RequestFactory
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import translation
from django.utils.html import escape

from finestreta.accounts.models import User
from finestreta.privacy.models import AuditEvent
from finestreta.privacy.services import csv_safe, record_event
from finestreta.tenants.models import Organisation
from tests.personas import Personas

pytestmark = pytest.mark.django_db

Action = AuditEvent.Action


@pytest.fixture(autouse=True)
def _in_english() -> Iterator[None]:
    """The assertions read the English texts (the catalogues translate them)."""
    with translation.override("en"):
        yield


def logged_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def viewer(org: Organisation) -> str:
    return reverse("privacy:audit-log", kwargs={"org": org.slug})


def export(org: Organisation) -> str:
    return reverse("privacy:audit-export", kwargs={"org": org.slug})


def at(moment: dt.datetime, **kwargs: object) -> AuditEvent:
    with time_machine.travel(moment, tick=False):
        return record_event(**kwargs)  # type: ignore[arg-type]


def shown(response: object) -> list[AuditEvent]:
    return list(response.context["page"])  # type: ignore[attr-defined]


def read_csv(response: object) -> list[list[str]]:
    body = b"".join(response.streaming_content).decode("utf-8")  # type: ignore[attr-defined]
    assert body.startswith("\ufeff")
    return list(csv.reader(io.StringIO(body[1:])))


@pytest.fixture
def admin_a(personas: Personas) -> Client:
    """Organisation A's administrator (logging in records one event of organisation A, now)."""
    return logged_in(personas.admin_a)


# --- Who may see it -------------------------------------------------------------------------


def test_the_organisation_admin_sees_only_their_organisations_events(
    personas: Personas, admin_a: Client
) -> None:
    mine = record_event(
        action=Action.ROLE_GRANTED, actor=personas.admin_a, organisation=personas.org_a
    )
    theirs = record_event(
        action=Action.ROLE_GRANTED, actor=personas.admin_b, organisation=personas.org_b
    )
    platform = record_event(action=Action.LOGIN_FAILED)
    response = admin_a.get(viewer(personas.org_a))
    assert response.status_code == 200
    events = shown(response)
    assert mine in events
    assert theirs not in events and platform not in events
    assert {e.organisation_id for e in events} == {personas.org_a.pk}
    assert "admin-b" not in response.content.decode()


@pytest.mark.parametrize("role", ["agent_a", "supervisor_a"])
def test_agents_and_supervisors_are_refused(personas: Personas, role: str) -> None:
    client = logged_in(getattr(personas, role))
    assert client.get(viewer(personas.org_a)).status_code == 403
    assert client.get(export(personas.org_a)).status_code == 403


@pytest.mark.parametrize("intruder", ["agent_b", "supervisor_b", "admin_b"])
def test_another_organisations_staff_get_404(personas: Personas, intruder: str) -> None:
    client = logged_in(getattr(personas, intruder))
    assert client.get(viewer(personas.org_a)).status_code == 404
    assert client.get(export(personas.org_a)).status_code == 404


def test_anonymous_visitors_are_sent_to_log_in(personas: Personas) -> None:
    response = Client().get(viewer(personas.org_a))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))


def test_the_viewer_takes_no_posts(personas: Personas, admin_a: Client) -> None:
    assert admin_a.post(viewer(personas.org_a)).status_code == 405


def test_the_dashboard_links_to_the_viewer_for_organisation_admins_only(
    personas: Personas, admin_a: Client
) -> None:
    dashboard = reverse("accounts:dashboard", kwargs={"org": personas.org_a.slug})
    assert viewer(personas.org_a) in admin_a.get(dashboard).content.decode()
    supervisor = logged_in(personas.supervisor_a)
    assert viewer(personas.org_a) not in supervisor.get(dashboard).content.decode()


# --- What it shows --------------------------------------------------------------------------


def test_each_row_says_when_who_what_which_record_and_from_where(
    personas: Personas, admin_a: Client
) -> None:
    request = RequestFactory().get("/", REMOTE_ADDR="203.0.113.9")
    event = at(
        dt.datetime(2026, 7, 1, 8, 5, 9, tzinfo=dt.UTC),
        action=Action.ADMIN_CHANGED,
        request=request,
        actor=personas.admin_a,
        organisation=personas.org_a,
        target=personas.office_a,
    )
    response = admin_a.get(viewer(personas.org_a), {"action": Action.ADMIN_CHANGED})
    assert shown(response) == [event]
    html = response.content.decode()
    assert '<caption id="audit-caption">' in html and html.count('scope="col"') == 5
    assert "01/07/2026 10:05:09" in html  # Madrid time in summer (UTC+2)
    assert 'datetime="2026-07-01T10:05:09+02:00"' in html
    assert "admin-a" in html
    assert escape(str(event.action_label)) in html
    assert "Oficina A" in html
    assert "203.0.113.9" in html


# --- Filters --------------------------------------------------------------------------------


def test_the_filters_narrow_the_events(personas: Personas, admin_a: Client) -> None:
    org = personas.org_a
    early = at(
        dt.datetime(2026, 3, 1, 12, tzinfo=dt.UTC),
        action=Action.LOGOUT,
        actor=personas.agent_a,
        organisation=org,
    )
    late = at(
        dt.datetime(2026, 3, 20, 12, tzinfo=dt.UTC),
        action=Action.ROLE_GRANTED,
        actor=personas.supervisor_a,
        organisation=org,
    )
    url = viewer(org)
    since = shown(admin_a.get(url, {"date_from": "2026-03-10"}))
    assert late in since and early not in since
    assert shown(admin_a.get(url, {"date_to": "2026-03-01"})) == [early]
    assert shown(admin_a.get(url, {"action": Action.ROLE_GRANTED})) == [late]
    assert shown(admin_a.get(url, {"actor": "SUPERVISOR"})) == [late]
    both_ends = {"date_from": "2026-03-01", "date_to": "2026-03-20", "action": Action.LOGOUT}
    assert shown(admin_a.get(url, both_ends)) == [early]


def test_dates_are_days_in_the_organisations_time_zone(personas: Personas, admin_a: Client) -> None:
    # 23:30 UTC on 31 March is already 1 April in Madrid.
    event = at(
        dt.datetime(2026, 3, 31, 23, 30, tzinfo=dt.UTC),
        action=Action.LOGOUT,
        organisation=personas.org_a,
    )
    url = viewer(personas.org_a)
    assert shown(admin_a.get(url, {"date_from": "2026-04-01", "date_to": "2026-04-01"})) == [event]
    assert event not in shown(admin_a.get(url, {"date_to": "2026-03-31"}))


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"date_from": "31/02/2026"}, "date_from"),
        ({"date_to": "yesterday"}, "date_to"),
        ({"date_from": "2026-03-10", "date_to": "2026-03-01"}, "date_to"),
        ({"date_to": "9999-12-31"}, "date_to"),
        ({"action": "drop.table"}, "action"),
        ({"actor": "x" * 151}, "actor"),
    ],
)
def test_bad_filters_show_what_to_fix_instead_of_failing(
    personas: Personas, admin_a: Client, params: dict[str, str], field: str
) -> None:
    response = admin_a.get(viewer(personas.org_a), params)
    assert response.status_code == 400
    assert response.context["form"].errors[field]
    html = response.content.decode()
    assert 'class="error-summary"' in html
    assert f'id="id_{field}_error"' in html
    assert 'aria-invalid="true"' in html
    assert response.context["page"] is None


def test_an_export_with_bad_filters_shows_the_form_with_the_errors(
    personas: Personas, admin_a: Client
) -> None:
    response = admin_a.get(export(personas.org_a), {"date_from": "nonsense"})
    assert response.status_code == 400
    assert response.context["form"].errors["date_from"]


# --- Pagination and queries -----------------------------------------------------------------


def make_events(personas: Personas, count: int) -> None:
    # One at a time: each event is sealed to the one before it.
    for _ in range(count):
        record_event(
            action=Action.PERSONAL_DATA_VIEWED,
            organisation=personas.org_a,
            actor=personas.supervisor_a,
        )


def test_the_log_is_shown_50_events_a_page_with_links_between_pages(
    personas: Personas, admin_a: Client
) -> None:
    make_events(personas, 120)
    url = viewer(personas.org_a)
    first = admin_a.get(url, {"action": Action.PERSONAL_DATA_VIEWED})
    assert len(shown(first)) == 50
    html = first.content.decode()
    assert 'rel="next"' in html and 'rel="prev"' not in html
    assert "page=2" in html and "action=personal_data.viewed" in html  # filters kept
    last = admin_a.get(url, {"action": Action.PERSONAL_DATA_VIEWED, "page": "3"})
    assert len(shown(last)) == 20
    assert 'rel="prev"' in last.content.decode()
    # A page number that is not one shows a page rather than an error.
    assert admin_a.get(url, {"page": "many"}).status_code == 200


def test_the_viewer_makes_the_same_queries_for_5_or_60_events(
    personas: Personas, admin_a: Client, django_assert_max_num_queries
) -> None:
    make_events(personas, 5)
    url = viewer(personas.org_a)
    admin_a.get(url)  # warm the caches (content types, session bookkeeping)
    with CaptureQueriesContext(connection) as few:
        admin_a.get(url)
    make_events(personas, 55)
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = admin_a.get(url)
    assert len(shown(response)) == 50


# --- CSV export -----------------------------------------------------------------------------


def test_the_csv_export_has_the_filtered_events_as_an_attachment(
    personas: Personas, admin_a: Client
) -> None:
    at(
        dt.datetime(2026, 1, 15, 9, 0, tzinfo=dt.UTC),
        action=Action.ADMIN_CHANGED,
        actor=personas.admin_a,
        organisation=personas.org_a,
        target=personas.office_a,
        details={"change_message": [{"changed": {"fields": ["Telephone"]}}]},
    )
    record_event(action=Action.LOGOUT, organisation=personas.org_b)
    response = admin_a.get(export(personas.org_a), {"action": Action.ADMIN_CHANGED})
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="audit-org-a-')
    header, *rows = read_csv(response)
    assert len(header) == 10
    assert len(rows) == 1
    [row] = rows
    assert row[0] == "2026-01-15T10:00:00+01:00"  # the organisation's time
    assert row[1:3] == ["admin-a", "admin.changed"]
    assert row[4:7] == ["tenants.office", str(personas.office_a.pk), "Oficina A"]
    assert "Telephone" in row[9]


def test_the_export_itself_is_recorded(personas: Personas, admin_a: Client) -> None:
    response = admin_a.get(export(personas.org_a), {"actor": "admin"})
    b"".join(response.streaming_content)
    event = AuditEvent.objects.get(action=Action.AUDIT_LOG_EXPORTED)
    assert event.actor == personas.admin_a
    assert event.organisation == personas.org_a
    assert event.details == {"filters": {"actor_contains": "admin"}}


def test_the_csv_export_defuses_spreadsheet_formulas(personas: Personas, admin_a: Client) -> None:
    request = RequestFactory().get("/", HTTP_USER_AGENT="@SUM(1+1)*cmd|' /C calc'!A0")
    evil = personas.office_a
    evil.name = '=HYPERLINK("http://evil.example","click")'
    evil.name_ca = evil.name
    record_event(
        action=Action.ADMIN_CHANGED, request=request, organisation=personas.org_a, target=evil
    )
    rows = read_csv(admin_a.get(export(personas.org_a), {"action": Action.ADMIN_CHANGED}))
    [row] = rows[1:]
    assert row[6] == "'" + evil.name
    assert row[8].startswith("'@SUM")
    for cell in row:
        assert not cell.startswith(("=", "+", "-", "@", "\t", "\r"))


@pytest.mark.parametrize("value", ["=1+1", "+1", "-1", "@x", "\tx", "\rx"])
def test_a_cell_that_a_spreadsheet_would_run_gets_a_leading_quote(value: str) -> None:
    assert csv_safe(value) == "'" + value


def test_a_plain_cell_stays_as_it_is() -> None:
    assert csv_safe("Oficina A - Girona") == "Oficina A - Girona"


# --- The chain's check --------------------------------------------------------------------


def test_the_viewer_tells_the_admin_that_the_log_is_intact(
    personas: Personas, admin_a: Client
) -> None:
    admin_a.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    for _ in range(3):
        record_event(action=Action.LOGOUT, organisation=personas.org_a)
    html = admin_a.get(viewer(personas.org_a)).content.decode()
    # Logging in recorded one event too.
    assert '<p id="audit-chain">The log is intact (4 events checked).</p>' in html


def test_the_viewer_tells_the_admin_what_is_wrong(personas: Personas, admin_a: Client) -> None:
    from finestreta.privacy.tests.tampering import tamper

    admin_a.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    victim = record_event(action=Action.LOGOUT, organisation=personas.org_a)
    tamper("UPDATE privacy_auditevent SET actor_label = 'x' WHERE id = %s", [victim.pk])
    response = admin_a.get(viewer(personas.org_a))
    assert response.status_code == 200
    html = response.content.decode()
    assert '<p id="audit-chain" class="field-error">The log is not intact: ' in html
    assert f"Event {victim.pk} (number 2 in the chain) is not as it was sealed" in html
    # The line stands above the filters, whatever they are.
    bad = admin_a.get(viewer(personas.org_a), {"date_from": "nonsense"}).content.decode()
    assert "The log is not intact" in bad


def test_another_organisations_admin_never_sees_this_organisations_chain(
    personas: Personas, admin_a: Client
) -> None:
    from finestreta.privacy.tests.tampering import tamper

    victim = record_event(action=Action.LOGOUT, organisation=personas.org_a)
    tamper("UPDATE privacy_auditevent SET actor_label = 'x' WHERE id = %s", [victim.pk])
    record_event(action=Action.LOGOUT, organisation=personas.org_b)
    admin_b = logged_in(personas.admin_b)
    admin_b.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    admin_b.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    admin_b.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    html = admin_b.get(viewer(personas.org_b)).content.decode()
    # Their own chain only: their event and their login, intact.
    assert '<p id="audit-chain">The log is intact (2 events checked).</p>' in html
    assert "not intact" not in html and f"Event {victim.pk}" not in html
    assert admin_b.get(viewer(personas.org_a)).status_code == 404
