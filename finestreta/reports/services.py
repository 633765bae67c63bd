"""Public API of the reports app: the satisfaction survey, the KPIs (`report`), the dashboard's
context and its exports."""

from __future__ import annotations

from finestreta.reports.dashboard import dashboard_context
from finestreta.reports.exports import export_report
from finestreta.reports.kpis import Filters, Report, report
from finestreta.reports.rollup import refresh as refresh_figures
from finestreta.reports.rollup import refresh_due as refresh_figures_due
from finestreta.reports.survey import (
    OPEN_FOR,
    Closed,
    Survey,
    answer_survey,
    check_open,
    get_survey,
    survey_path,
    survey_token,
)

__all__ = [
    "OPEN_FOR",
    "Closed",
    "Filters",
    "Report",
    "Survey",
    "answer_survey",
    "check_open",
    "dashboard_context",
    "export_report",
    "get_survey",
    "refresh_figures",
    "refresh_figures_due",
    "report",
    "survey_path",
    "survey_token",
]
