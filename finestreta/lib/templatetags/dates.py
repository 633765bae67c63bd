"""Dates written the way each language writes them, weekday first: "dimarts, 1 de desembre",
"martes, 1 de diciembre", "Tuesday, December 1". Django's `date` filter with a fixed pattern
such as "l j F" cannot do it (Spanish and Catalan need "de" between day and month).

Like `date`, they show aware datetimes in the current time zone (`expects_localtime`)."""

from __future__ import annotations

import datetime as dt

from django import template
from django.template.defaultfilters import date as date_filter
from django.template.defaultfilters import time as time_filter

register = template.Library()


@register.filter(expects_localtime=True)
def weekday_day(value: dt.date | dt.datetime | None) -> str:
    """Weekday, day and month: "dimarts, 1 de desembre"."""
    if value is None:
        return ""
    return f"{date_filter(value, 'l')}, {date_filter(value, 'MONTH_DAY_FORMAT')}"


@register.filter(expects_localtime=True)
def weekday_date(value: dt.date | dt.datetime | None) -> str:
    """Weekday and full date: "dimarts, 1 de desembre de 2026"."""
    if value is None:
        return ""
    return f"{date_filter(value, 'l')}, {date_filter(value, 'DATE_FORMAT')}"


@register.filter(expects_localtime=True)
def weekday_day_time(value: dt.datetime | None) -> str:
    """Weekday, day, month and time: "dimarts, 1 de desembre, 10:30"."""
    if value is None:
        return ""
    return f"{weekday_day(value)}, {time_filter(value, 'H:i')}"
