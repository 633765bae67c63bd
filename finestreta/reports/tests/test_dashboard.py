"""The staff's dashboard of figures: who may see it, what it shows, its filters' errors, and its
CSV and XLSX exports (their figures are kpis.report's, checked in test_kpis)."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
import time_machine
from django.conf import settings
from django.test import Client
from django.urls import reverse
from openpyxl import load_workbook

from finestreta.privacy.models import AuditEvent
from finestreta.reports import dashboard, kpis
from finestreta.reports.models import SurveyAnswer
from tests.factories import AppointmentFactory, OfficeFactory
from tests.personas import Personas, log_in

NOW = dt.datetime(2026, 12, 3, 12, 0, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def _at_a_fixed_time():  # type: ignore[no-untyped-def]
    with time_machine.travel(NOW, tick=False):
        yield


def english(client: Client) -> Client:
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


def seed(personas: Personas) -> None:
    """Org A: three attended (one with a survey answer of 4), one not come and one cancelled,
    in November and early December; org B: two attended that must never show."""
    agent = personas.membership(personas.agent_a)
    days = [dt.datetime(2026, 11, d, 9, tzinfo=dt.UTC) for d in (3, 10, 17)]
    for when in days:
        AppointmentFactory(agent=agent, service=personas.service_a, starts_at=when, attended=True)
    answered = AppointmentFactory(
        agent=agent,
        service=personas.service_a,
        starts_at=dt.datetime(2026, 12, 1, 9, tzinfo=dt.UTC),
        attended=True,
    )
    SurveyAnswer.objects.create(
        organisation=personas.org_a, appointment=answered, score=4, language="ca", answered_at=NOW
    )
    AppointmentFactory(
        agent=agent,
        service=personas.service_a,
        starts_at=days[0] + dt.timedelta(hours=2),
        no_show=True,
    )
    AppointmentFactory(
        agent=agent,
        service=personas.service_a,
        starts_at=days[1] + dt.timedelta(hours=2),
        cancelled=True,
    )
    other = personas.membership(personas.agent_b)
    for when in days[:2]:
        AppointmentFactory(agent=other, service=personas.service_b, starts_at=when, attended=True)


def url(personas: Personas, **query: str) -> str:
    path = reverse("staff-reports:dashboard", args=[personas.org_a.slug])
    return path + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else "")


def export_url(personas: Personas, fmt: str, **query: str) -> str:
    path = reverse("staff-reports:export", args=[personas.org_a.slug, fmt])
    return path + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else "")


@pytest.mark.django_db
def test_a_supervisor_sees_the_last_three_months_by_month_with_charts_and_tables(
    personas: Personas,
) -> None:
    seed(personas)
    response = english(log_in(personas.supervisor_a)).get(url(personas))
    assert response.status_code == 200
    page = response.content.decode()
    report = response.context["report"]
    assert report.group == "month"
    assert [row.label for row in report.rows] == ["2026-11", "2026-12"]
    assert (report.total.booked, report.total.attended, report.total.no_show) == (6, 4, 1)
    assert report.total.cancelled_by_citizen == 1 and report.total.satisfaction == 4
    form = response.context["form"]
    assert form.cleaned_data["start"] == dt.date(2026, 9, 5)  # 90 days up to today, included
    assert form.cleaned_data["end"] == dt.date(2026, 12, 3)
    # Each chart is an image with a name, followed by the table of its figures.
    assert page.count('role="img"') == 3
    for table in ("table-breakdown", "table-endings", "table-scores"):
        assert f'id="{table}"' in page
    assert "Organisme B" not in page
    assert str(kpis.ROAD_FACTOR) in page and "40 km/h" in page  # the method, with its numbers


@pytest.mark.django_db
def test_an_organisation_administrator_sees_it_too_and_an_agent_is_refused(
    personas: Personas,
) -> None:
    assert log_in(personas.admin_a).get(url(personas)).status_code == 200
    assert log_in(personas.agent_a).get(url(personas)).status_code == 403
    assert log_in(personas.agent_a).get(export_url(personas, "csv")).status_code == 403


@pytest.mark.django_db
def test_another_organisations_supervisor_finds_no_dashboard_here(personas: Personas) -> None:
    client = log_in(personas.supervisor_b)
    assert client.get(url(personas)).status_code == 404
    assert client.get(export_url(personas, "xlsx")).status_code == 404


@pytest.mark.django_db
def test_a_signed_out_visitor_is_sent_to_log_in(personas: Personas) -> None:
    response = Client().get(url(personas))
    assert response.status_code == 302 and "login" in response["Location"]


@pytest.mark.django_db
def test_a_last_day_before_the_first_is_refused_in_the_persons_language(
    personas: Personas,
) -> None:
    client = log_in(personas.supervisor_a)
    response = english(client).get(url(personas, start="2026-11-10", end="2026-11-01"))
    assert response.status_code == 400
    assert "The last day comes before the first." in response.content.decode()
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "ca"
    response = client.get(url(personas, start="2026-11-10", end="2026-11-01"))
    assert response.status_code == 400
    assert "The last day comes before the first." not in response.content.decode()


@pytest.mark.django_db
def test_more_than_three_years_and_dates_that_are_not_dates_are_refused(
    personas: Personas,
) -> None:
    client = english(log_in(personas.supervisor_a))
    response = client.get(url(personas, start="2020-01-01", end="2026-12-01"))
    assert response.status_code == 400 and "at most three years" in response.content.decode()
    response = client.get(url(personas, start="yesterday", end="2026-12-01"))
    assert response.status_code == 400 and "as a date" in response.content.decode()
    response = client.get(export_url(personas, "csv", start="yesterday"))
    assert response.status_code == 400 and response.json()["error"] == "invalid_filters"


@pytest.mark.django_db
def test_an_office_of_another_organisation_is_not_a_filter_here(personas: Personas) -> None:
    client = english(log_in(personas.supervisor_a))
    response = client.get(url(personas, office=str(personas.office_b.pk)))
    assert response.status_code == 400
    assert "Choose one of the offices in the list." in response.content.decode()


@pytest.mark.django_db
def test_filters_and_another_breakdown_narrow_the_figures(personas: Personas) -> None:
    seed(personas)
    client = log_in(personas.supervisor_a)
    response = client.get(
        url(personas, start="2026-11-01", end="2026-11-30", group="day", channel="video")
    )
    report = response.context["report"]
    assert [row.label for row in report.rows] == ["2026-11-03", "2026-11-10", "2026-11-17"]
    assert report.total.booked == 5 and report.total.answers == 0


@pytest.mark.django_db
def test_nothing_in_the_dates_says_so_instead_of_drawing_empty_charts(
    personas: Personas,
) -> None:
    response = english(log_in(personas.supervisor_a)).get(url(personas))
    page = response.content.decode()
    assert response.status_code == 200
    assert "No appointments in these dates" in page and 'role="img"' not in page


@pytest.mark.django_db
def test_the_csv_has_a_row_per_month_and_the_total_and_is_logged(personas: Personas) -> None:
    seed(personas)
    response = english(log_in(personas.supervisor_a)).get(export_url(personas, "csv"))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert (
        'filename="finestreta-org-a-2026-09-05-2026-12-03-month.csv"'
        in response["Content-Disposition"]
    )
    text = response.content.decode("utf-8")
    assert text.startswith("\ufeff")
    lines = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    header = lines[0]
    assert header[0] == "Month" and header[1:] == [str(c.label) for c in dashboard.COLUMNS]
    rows = {line[0]: dict(zip(header, line, strict=True)) for line in lines[1:]}
    assert set(rows) == {"2026-11", "2026-12", "Total"}
    assert rows["Total"]["Appointments"] == "6" and rows["2026-11"]["Attended"] == "3"
    assert rows["2026-12"]["Satisfaction (1 to 5)"] == "4.0"
    event = AuditEvent.objects.get(action=AuditEvent.Action.REPORT_EXPORTED)
    assert event.organisation == personas.org_a and event.details["format"] == "csv"
    assert event.details["group"] == "month"


@pytest.mark.django_db
def test_the_spreadsheet_has_the_figures_the_scores_and_what_was_chosen(
    personas: Personas,
) -> None:
    seed(personas)
    client = english(log_in(personas.supervisor_a))
    response = client.get(export_url(personas, "xlsx", group="service"))
    assert response.status_code == 200
    book = load_workbook(io.BytesIO(response.content))
    assert book.sheetnames == ["Figures", "Satisfaction", "About these figures"]
    figures = [[cell.value for cell in row] for row in book["Figures"].iter_rows()]
    assert figures[0][0] == "Procedure"
    assert figures[-1][0] == "Total" and figures[-1][1] == 6  # numbers, not texts
    scores = [[cell.value for cell in row] for row in book["Satisfaction"].iter_rows()]
    assert scores[4] == [4, "Satisfied", 1]
    about = {row[0].value: row[1].value for row in book["About these figures"].iter_rows()}
    assert about["Organisation"] == "Organisme A" and about["Figures per"] == "Procedure"
    assert "km/h" in about["Method"]


@pytest.mark.django_db
def test_a_name_that_looks_like_a_formula_stays_text_in_both_files(personas: Personas) -> None:
    office = OfficeFactory(organisation=personas.org_a, name='=HYPERLINK("http://x","y")')
    AppointmentFactory(
        agent=personas.membership(personas.agent_a),
        service=personas.service_a,
        office=office,
        starts_at=dt.datetime(2026, 11, 3, 9, tzinfo=dt.UTC),
    )
    client = log_in(personas.supervisor_a)
    text = client.get(export_url(personas, "csv", group="office")).content.decode("utf-8")
    assert "'=HYPERLINK" in text
    book = load_workbook(
        io.BytesIO(client.get(export_url(personas, "xlsx", group="office")).content)
    )
    cell = book.worksheets[0]["A2"]
    assert cell.value.startswith("=HYPERLINK") and cell.data_type == "s"


def test_bars_are_scaled_to_the_largest_value_and_keep_their_order() -> None:
    chart = dashboard.bar_chart(
        "c", "Title", ["a", "b"], [("first", [10, 5]), ("second", [0, None])]
    )
    span = dashboard.WIDTH - dashboard.LABEL_WIDTH - dashboard.VALUE_WIDTH
    first, second = chart.rows
    assert [bar.width for bar in first.bars] == [span, span / 2]
    assert [bar.width for bar in second.bars] == [0, 0]
    assert second.bars[1].value_text == "—"
    assert first.bars[0].y < first.bars[1].y < second.bars[0].y
    assert chart.height == dashboard.GAP + 2 * (2 * dashboard.BAR + dashboard.GAP)


def test_a_long_label_is_shortened_on_the_chart_but_whole_in_its_title() -> None:
    label = "A procedure with a name much longer than the chart has room for"
    [row] = dashboard.bar_chart("c", "T", ["a"], [(label, [1])]).rows
    assert row.label == label and len(row.short_label) == dashboard.LABEL_CHARS
    assert row.short_label.endswith("…")
