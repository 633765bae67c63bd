"""Public API of the reports app: the satisfaction survey (and, with them, the KPIs and exports)."""

from __future__ import annotations

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
    "Survey",
    "answer_survey",
    "check_open",
    "get_survey",
    "survey_path",
    "survey_token",
]
