"""The organisation's dashboard: the filters people choose, the columns of its table and its
exports, and the geometry of its charts (SVG drawn by the template, each chart followed by the
table of the same figures). No queries of its own beyond the form's choices: the figures come
from `kpis.report`."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.utils.formats import number_format
from django.utils.translation import gettext_lazy as _

from finestreta.accounts.models import Membership
from finestreta.appointments.forms import AccessibleForm
from finestreta.catalogue.models import AttentionLevel, Channel, Service
from finestreta.reports import kpis
from finestreta.tenants.models import Office, Organisation

DEFAULT_DAYS = 90  # what the dashboard shows before anyone chooses: the last three months
MAX_DAYS = 3 * 366 + 1  # a longer range is a question for the data warehouse, not this page
DEFAULT_GROUP = "month"


@dataclass(frozen=True)
class Column:
    name: str
    label: Any
    kind: str  # count, percent, minutes, score, km, hours

    def value(self, row: kpis.Figures) -> float | int | None:
        """The cell as a number (minutes and hours rounded to one decimal, percentages to
        whole numbers), None where there is nothing to measure."""
        if self.name == "travel_hours":
            return round(row.travel_minutes / 60, 1)
        raw = getattr(row, self.name)
        if raw is None:
            return None
        if self.kind == "minutes":
            return round(raw / 60, 1)
        if self.kind == "percent":
            return round(raw * 100)
        if self.kind in ("score", "km"):
            return round(raw, 1 if self.kind == "km" else 2)
        return int(raw)

    def text(self, row: kpis.Figures) -> str:
        value = self.value(row)
        if value is None:
            return "—"
        places = 0 if isinstance(value, int) else (2 if self.kind == "score" else 1)
        return number_format(value, decimal_pos=places, force_grouping=True)


COLUMNS = (
    Column("booked", _("Appointments"), "count"),
    Column("attended", _("Attended"), "count"),
    Column("no_show", _("Did not come"), "count"),
    Column("no_show_rate", _("Did not come (%)"), "percent"),
    Column("cancelled_by_citizen", _("Cancelled by the citizen"), "count"),
    Column("cancelled_by_office", _("Cancelled by the office"), "count"),
    Column("lobby_wait", _("Average wait in the video lobby (minutes)"), "minutes"),
    Column("queue_wait", _("Average wait in the queue (minutes)"), "minutes"),
    Column("handling", _("Average length of the attention (minutes)"), "minutes"),
    Column("resolved_rate", _("Resolved at the first contact (%)"), "percent"),
    Column("satisfaction", _("Satisfaction (1 to 5)"), "score"),
    Column("answers", _("Survey answers"), "count"),
    Column("visits_avoided", _("Office visits avoided"), "count"),
    Column("travel_km", _("Travel avoided (km)"), "km"),
    Column("travel_hours", _("Travel time avoided (hours)"), "hours"),
)


def method_text() -> str:
    return str(kpis.METHOD) % {
        "factor": number_format(kpis.ROAD_FACTOR, decimal_pos=1),
        "speed": number_format(kpis.SPEED_KMH, decimal_pos=0),
    }


class DashboardForm(AccessibleForm):
    """The dashboard's filters, read from the query string. Without any, the defaults apply
    (the last DEFAULT_DAYS days, by month) and the form is valid."""

    start = forms.DateField(
        label=_("From"),
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        error_messages={
            "required": _("Enter the first day."),
            "invalid": _("Enter the first day as a date, for example 2026-01-31."),
        },
    )
    end = forms.DateField(
        label=_("To (included)"),
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        error_messages={
            "required": _("Enter the last day."),
            "invalid": _("Enter the last day as a date, for example 2026-01-31."),
        },
    )
    group = forms.ChoiceField(
        label=_("Figures per"),
        choices=[(name, label) for name, (_field, label) in kpis.GROUPS.items()],
        error_messages={"invalid_choice": _("Choose one of the breakdowns in the list.")},
    )
    office: forms.ModelChoiceField[Office] = forms.ModelChoiceField(
        label=_("Office"),
        queryset=Office.objects.none(),
        required=False,
        empty_label=_("All offices"),
        error_messages={"invalid_choice": _("Choose one of the offices in the list.")},
    )
    service: forms.ModelChoiceField[Service] = forms.ModelChoiceField(
        label=_("Procedure"),
        queryset=Service.objects.none(),
        required=False,
        empty_label=_("All procedures"),
        error_messages={"invalid_choice": _("Choose one of the procedures in the list.")},
    )
    level = forms.ChoiceField(
        label=_("Attention level"),
        choices=[("", _("All levels")), *AttentionLevel.choices],
        required=False,
        error_messages={"invalid_choice": _("Choose one of the levels in the list.")},
    )
    channel = forms.ChoiceField(
        label=_("Channel"),
        choices=[("", _("All channels")), *Channel.choices],
        required=False,
        error_messages={"invalid_choice": _("Choose one of the channels in the list.")},
    )
    agent = forms.ModelChoiceField(
        label=_("Agent"),
        queryset=Membership.objects.none(),
        required=False,
        empty_label=_("All agents"),
        error_messages={"invalid_choice": _("Choose one of the agents in the list.")},
    )

    def __init__(
        self, data: Any, *, organisation: Organisation, today: dt.date, **kwargs: Any
    ) -> None:
        wanted = {key: data.get(key, "") for key in self.base_fields} if data else {}
        if not any(wanted.values()):
            wanted = {}
        defaults = {
            "start": (today - dt.timedelta(days=DEFAULT_DAYS - 1)).isoformat(),
            "end": today.isoformat(),
            "group": DEFAULT_GROUP,
        }
        for key, value in defaults.items():
            if not wanted.get(key):
                wanted[key] = value
        super().__init__(wanted, **kwargs)
        self.fields["office"].queryset = Office.objects.filter(  # type: ignore[attr-defined]
            organisation=organisation
        ).order_by("name")
        self.fields["service"].queryset = Service.objects.filter(  # type: ignore[attr-defined]
            organisation=organisation
        ).order_by("pk")
        self.fields["agent"].queryset = agents_of(organisation)  # type: ignore[attr-defined]
        self.fields["agent"].label_from_instance = (  # type: ignore[attr-defined]
            lambda m: m.user.get_full_name() or m.user.username
        )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("start"), data.get("end")
        if start and end:
            if end < start:
                self.add_error("end", ValidationError(_("The last day comes before the first.")))
            elif (end - start).days + 1 > MAX_DAYS:
                self.add_error(
                    "end",
                    ValidationError(
                        _("Choose at most three years."),
                    ),
                )
        return data

    def filters(self) -> kpis.Filters:
        data = self.cleaned_data
        return kpis.Filters(
            start=data["start"],
            end=data["end"],
            office_id=data["office"].pk if data.get("office") else None,
            service_id=data["service"].pk if data.get("service") else None,
            level=data.get("level", ""),
            channel=data.get("channel", ""),
            agent_id=data["agent"].pk if data.get("agent") else None,
        )

    def described(self) -> dict[str, str]:
        """The chosen filters as plain values (for the audit log and the spreadsheet)."""
        data = self.cleaned_data
        return {
            name: str(data[name].pk if hasattr(data[name], "pk") else data[name])
            for name in self.fields
            if data.get(name) not in (None, "")
        }


def agents_of(organisation: Organisation) -> QuerySet[Membership]:
    return (
        Membership.objects.filter(organisation=organisation)
        .select_related("user")
        .order_by("user__first_name", "user__last_name", "user__username")
    )


# Charts: horizontal bars, one row per label, a bar per series, drawn on a fixed grid that the
# SVG's viewBox scales. Colours come from CSS classes (series-0, series-1, …), never inline.
WIDTH = 640
LABEL_WIDTH = 210
VALUE_WIDTH = 70
BAR = 14
GAP = 10
LABEL_CHARS = 30


@dataclass(frozen=True)
class Bar:
    series: int
    x: float
    y: float
    width: float
    value_text: str
    value_x: float
    text_y: float


@dataclass(frozen=True)
class ChartRow:
    label: str
    short_label: str
    label_y: float
    bars: list[Bar]


@dataclass(frozen=True)
class Chart:
    id: str
    title: str
    series: list[str]
    rows: list[ChartRow]
    height: float
    width: int = WIDTH
    label_width: int = LABEL_WIDTH


def bar_chart(
    id: str, title: str, series: list[str], rows: list[tuple[str, list[float | int | None]]]
) -> Chart:
    """The geometry of a horizontal bar chart: each row's bars scaled to the largest value,
    a value written after each bar."""
    largest = max((v for _label, values in rows for v in values if v), default=0) or 1
    span = WIDTH - LABEL_WIDTH - VALUE_WIDTH
    per_row = BAR * len(series) + GAP
    drawn = []
    for i, (label, values) in enumerate(rows):
        top = GAP + i * per_row
        bars = []
        for j, value in enumerate(values):
            width = span * (value or 0) / largest
            y = top + j * BAR
            text = "—" if value is None else number_format(value, force_grouping=True)
            bars.append(
                Bar(
                    series=j,
                    x=LABEL_WIDTH,
                    y=y,
                    width=round(width, 1),
                    value_text=text,
                    value_x=round(LABEL_WIDTH + width + 4, 1),
                    text_y=y + BAR - 3,
                )
            )
        short = label if len(label) <= LABEL_CHARS else label[: LABEL_CHARS - 1] + "…"
        drawn.append(
            ChartRow(
                label=label,
                short_label=short,
                label_y=top + BAR * len(series) / 2 + 4,
                bars=bars,
            )
        )
    return Chart(
        id=id,
        title=title,
        series=series,
        rows=drawn,
        height=GAP + len(rows) * per_row,
    )


def dashboard_context(report: kpis.Report, *, query: str) -> dict[str, Any]:
    """What the dashboard's template shows: the key figures, the charts and their tables."""
    from finestreta.reports.models import SCORES

    total = report.total
    group_label = kpis.GROUPS[report.group][1] if report.group else _("Total")
    per_group = bar_chart(
        "chart-appointments",
        str(_("Appointments and attentions per %(group)s") % {"group": str(group_label).lower()}),
        [str(_("Appointments")), str(_("Attended"))],
        [(row.label, [row.booked, row.attended]) for row in report.rows],
    )
    still_booked = total.booked - total.attended - total.no_show - total.cancelled
    endings = bar_chart(
        "chart-endings",
        str(_("How the appointments ended")),
        [str(_("Appointments"))],
        [
            (str(_("Attended")), [total.attended]),
            (str(_("Did not come")), [total.no_show]),
            (str(_("Cancelled by the citizen")), [total.cancelled_by_citizen]),
            (str(_("Cancelled by the office")), [total.cancelled_by_office]),
            (str(_("Still to come")), [still_booked]),
        ],
    )
    scores = bar_chart(
        "chart-scores",
        str(_("Satisfaction: answers per score")),
        [str(_("Answers"))],
        [(f"{score} — {meaning}", [total.scores.get(score, 0)]) for score, meaning in SCORES],
    )
    return {
        "report": report,
        "total": total,
        "group_label": group_label,
        "columns": COLUMNS,
        "cells": [(row, [c.text(row) for c in COLUMNS]) for row in report.rows],
        "total_cells": [c.text(total) for c in COLUMNS],
        "key_figures": [(c, c.text(total)) for c in COLUMNS if c.name != "no_show_rate"],
        "per_group": per_group,
        "endings": endings,
        "scores": scores,
        "method": method_text(),
        "query": query,
    }
