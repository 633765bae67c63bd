"""The dashboard's figures as files: CSV (one table, UTF-8 with a byte order mark so that
spreadsheets show accents) and XLSX (the table, the satisfaction scores, and a sheet saying
what was chosen and how the figures are computed). Texts that a spreadsheet could take for a
formula are written as plain text."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from typing import Any

from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

from finestreta.privacy.services import csv_safe
from finestreta.reports import kpis
from finestreta.reports.dashboard import COLUMNS, method_text
from finestreta.reports.models import SCORES

CSV_TYPE = "text/csv; charset=utf-8"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def table(report: kpis.Report) -> list[list[Any]]:
    """The header, one line per row of the breakdown, and the total."""
    group = kpis.GROUPS[report.group][1] if report.group else _("Total")
    lines: list[list[Any]] = [[str(group), *(str(c.label) for c in COLUMNS)]]
    for row in [*report.rows, report.total]:
        lines.append([row.label, *(c.value(row) for c in COLUMNS)])
    return lines


def scores_table(report: kpis.Report) -> list[list[Any]]:
    lines: list[list[Any]] = [[_("Score"), _("What it means"), _("Answers")]]
    for score, meaning in SCORES:
        lines.append([score, str(meaning), report.total.scores.get(score, 0)])
    return lines


def csv_bytes(report: kpis.Report) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    for line in table(report):
        writer.writerow(
            [csv_safe(v) if isinstance(v, str) else ("" if v is None else v) for v in line]
        )
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def _append(sheet: WriteOnlyWorksheet, line: Iterable[Any]) -> None:
    cells = []
    for value in line:
        cell = WriteOnlyCell(sheet, value=value)
        if isinstance(value, str):
            cell.data_type = "s"  # never a formula, whatever the text starts with
        cells.append(cell)
    sheet.append(cells)


def xlsx_bytes(
    report: kpis.Report, *, organisation: str, chosen: Sequence[tuple[str, str]], method: str
) -> bytes:
    book = Workbook(write_only=True)
    figures = book.create_sheet(_("Figures")[:31])
    for line in table(report):
        _append(figures, line)
    scores = book.create_sheet(_("Satisfaction")[:31])
    for line in scores_table(report):
        _append(scores, line)
    about = book.create_sheet(_("About these figures")[:31])
    _append(about, [_("Organisation"), organisation])
    for label, value in chosen:
        _append(about, [label, value])
    _append(about, [_("Method"), method])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def export_report(
    *, request: Any, organisation: Any, form: Any, fmt: str
) -> tuple[bytes, str, str]:
    """The file of the dashboard's figures for the form's filters, and an audit event saying
    who downloaded which figures. Returns (content, content type, file name)."""
    from finestreta.privacy.services import Action, record_event

    report = kpis.report(organisation, form.filters(), group=form.cleaned_data["group"])
    data = form.cleaned_data
    name = f"finestreta-{organisation.slug}-{data['start']}-{data['end']}-{data['group']}.{fmt}"
    if fmt == "csv":
        content, content_type = csv_bytes(report), CSV_TYPE
    elif fmt == "xlsx":
        chosen = [
            (str(form.fields[field].label), _choice_text(form, field))
            for field in form.fields
            if data.get(field) not in (None, "")
        ]
        content = xlsx_bytes(
            report, organisation=organisation.name, chosen=chosen, method=method_text()
        )
        content_type = XLSX_TYPE
    else:
        raise ValueError(f"unknown format {fmt!r}")
    record_event(
        action=Action.REPORT_EXPORTED,
        request=request,
        organisation=organisation,
        details={"format": fmt, **form.described()},
    )
    return content, content_type, name


def _choice_text(form: Any, field: str) -> str:
    value = form.cleaned_data[field]
    if hasattr(value, "pk"):
        return str(form.fields[field].label_from_instance(value))
    choices = dict(getattr(form.fields[field], "choices", []))
    return str(choices.get(value, value))
