"""The slot picker: free times grouped by the citizen's local day, one week at a time."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from finestreta.scheduling.availability import Slot

DAYS_PER_PAGE = 7


@dataclass(frozen=True)
class Day:
    date: dt.date
    slots: list[Slot]


@dataclass(frozen=True)
class Page:
    days: list[Day]
    first: Slot | None  # the earliest free time of all, for the "first available" shortcut
    previous: dt.date | None  # where the previous page starts, if there is one
    next: dt.date | None


def paginate(slots: list[Slot], *, zone: str, start: dt.date | None) -> Page:
    """Up to DAYS_PER_PAGE days that have free times, from `start` (the first free day when
    None). Days without a free time are left out: a list of empty days helps nobody."""
    tz = ZoneInfo(zone)
    by_day: dict[dt.date, list[Slot]] = {}
    for slot in slots:
        by_day.setdefault(slot.start.astimezone(tz).date(), []).append(slot)
    dates = sorted(by_day)
    if not dates:
        return Page([], None, None, None)
    begin = 0
    if start is not None:
        begin = next((i for i, d in enumerate(dates) if d >= start), len(dates))
    shown = dates[begin : begin + DAYS_PER_PAGE]
    previous = dates[max(0, begin - DAYS_PER_PAGE)] if begin > 0 else None
    following = dates[begin + DAYS_PER_PAGE] if begin + DAYS_PER_PAGE < len(dates) else None
    return Page(
        days=[Day(d, by_day[d]) for d in shown],
        first=slots[0],
        previous=previous,
        next=following,
    )


def parse_day(text: str | None) -> dt.date | None:
    try:
        return dt.date.fromisoformat(text) if text else None
    except ValueError:
        return None


def parse_start(text: str | None) -> dt.datetime | None:
    """An aware instant from the picker's button, or None for anything else."""
    try:
        value = dt.datetime.fromisoformat(text or "")
    except ValueError:
        return None
    return value if value.tzinfo is not None else None
