"""The availability engine: working intervals minus busy intervals, then slots.

A pure module — no ORM, no request, no clock: callers pass plain dataclasses and the current time.
Times are aware datetimes; weekly schedules are in each resource's local wall-clock time (its time
zone, Europe/Madrid by default) and are turned into real instants day by day, so a working day
across a daylight-saving change has its true length (an hour less in March, an hour more in
October). Slots step in real elapsed time.

A *resource* is one thing that can attend one appointment at a time: an agent (video, phone) or a
desk (in person). Capacity is the number of free resources at a time: pooled search ("any office")
offers a time while at least one skilled resource is free, and says which ones.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo


@dataclass(frozen=True, order=True)
class Interval:
    """[start, end) between two aware instants."""

    start: dt.datetime
    end: dt.datetime

    def __post_init__(self) -> None:
        if self.start.tzinfo is None or self.end.tzinfo is None:
            raise ValueError("intervals need aware datetimes")
        if self.end <= self.start:
            raise ValueError(f"empty or reversed interval: {self.start} – {self.end}")

    def overlaps(self, other: Interval) -> bool:
        return self.start < other.end and other.start < self.end

    def contains(self, other: Interval) -> bool:
        return self.start <= other.start and other.end <= self.end


@dataclass(frozen=True)
class WeeklyRule:
    """Work on `weekday` (0 = Monday) from `opens` to `closes`, local time, between two dates."""

    weekday: int
    opens: dt.time
    closes: dt.time
    valid_from: dt.date = dt.date.min
    valid_until: dt.date = dt.date.max

    def __post_init__(self) -> None:
        if not 0 <= self.weekday <= 6:
            raise ValueError("weekday must be 0..6")
        if self.closes <= self.opens:
            raise ValueError("closes must be after opens")

    def applies_on(self, day: dt.date) -> bool:
        return day.weekday() == self.weekday and self.valid_from <= day <= self.valid_until


@dataclass(frozen=True)
class Resource:
    """An agent or desk: when it works, and when it cannot take an appointment."""

    id: str
    rules: Sequence[WeeklyRule]
    time_zone: str = "Europe/Madrid"
    closed_days: frozenset[dt.date] = frozenset()
    absences: Sequence[Interval] = ()
    # Existing appointments, each already widened by its own buffers.
    busy: Sequence[Interval] = ()


@dataclass(frozen=True)
class SlotQuery:
    """What is being booked, and when it may start."""

    duration: dt.timedelta
    window_start: dt.datetime  # now + minimum notice
    window_end: dt.datetime  # now + maximum days ahead: the latest start
    buffer_before: dt.timedelta = dt.timedelta(0)
    buffer_after: dt.timedelta = dt.timedelta(0)
    step: dt.timedelta | None = None  # between slot starts; the duration by default

    def __post_init__(self) -> None:
        if self.duration <= dt.timedelta(0):
            raise ValueError("duration must be positive")
        if self.buffer_before < dt.timedelta(0) or self.buffer_after < dt.timedelta(0):
            raise ValueError("buffers cannot be negative")
        if self.step is not None and self.step <= dt.timedelta(0):
            raise ValueError("step must be positive")

    @property
    def stride(self) -> dt.timedelta:
        return self.step or self.duration

    def occupied(self, start: dt.datetime) -> Interval:
        """The time an appointment starting at `start` keeps its resource busy."""
        return Interval(start - self.buffer_before, start + self.duration + self.buffer_after)


@dataclass(frozen=True, order=True)
class Slot:
    start: dt.datetime
    end: dt.datetime
    resource_ids: tuple[str, ...] = field(compare=False, default=())

    @property
    def capacity(self) -> int:
        return len(self.resource_ids)


def working_intervals(resource: Resource, first: dt.date, last: dt.date) -> list[Interval]:
    """The resource's working time between two local dates (inclusive), as real instants."""
    zone = ZoneInfo(resource.time_zone)
    found: list[Interval] = []
    day = first
    while day <= last:
        if day not in resource.closed_days:
            for rule in resource.rules:
                if rule.applies_on(day):
                    start = dt.datetime.combine(day, rule.opens, tzinfo=zone)
                    end = dt.datetime.combine(day, rule.closes, tzinfo=zone)
                    # Through UTC: a wall time in the spring gap moves forward, as clocks do.
                    start_utc, end_utc = start.astimezone(dt.UTC), end.astimezone(dt.UTC)
                    if end_utc > start_utc:
                        found.append(Interval(start_utc, end_utc))
        day += dt.timedelta(days=1)
    return merge(found)


def merge(intervals: Iterable[Interval]) -> list[Interval]:
    """Sorted, with overlapping or touching intervals joined."""
    merged: list[Interval] = []
    for interval in sorted(intervals):
        if merged and interval.start <= merged[-1].end:
            last = merged[-1]
            merged[-1] = Interval(last.start, max(last.end, interval.end))
        else:
            merged.append(interval)
    return merged


def subtract(intervals: Iterable[Interval], busy: Iterable[Interval]) -> list[Interval]:
    """`intervals` minus every `busy` interval (one sweep over both, sorted)."""
    blocks = merge(busy)
    remaining: list[Interval] = []
    i = 0
    for free in merge(intervals):
        start = free.start
        # Skip blocks that end before this free stretch starts.
        while i < len(blocks) and blocks[i].end <= start:
            i += 1
        j = i
        while j < len(blocks) and blocks[j].start < free.end:
            if blocks[j].start > start:
                remaining.append(Interval(start, blocks[j].start))
            start = max(start, blocks[j].end)
            j += 1
        if start < free.end:
            remaining.append(Interval(start, free.end))
    return remaining


def free_intervals(resource: Resource, first: dt.date, last: dt.date) -> list[Interval]:
    return subtract(working_intervals(resource, first, last), [*resource.absences, *resource.busy])


def _local_dates(query: SlotQuery, zone: str) -> tuple[dt.date, dt.date]:
    tz = ZoneInfo(zone)
    # One day of margin each side: buffers and time zones may cross midnight.
    first = (query.window_start - query.buffer_before).astimezone(tz).date()
    last = (query.window_end + query.duration + query.buffer_after).astimezone(tz).date()
    return first, last


def resource_slots(resource: Resource, query: SlotQuery) -> list[Slot]:
    """Every start at which this resource can take the appointment, buffers included.

    Starts are laid on a grid from the beginning of each free stretch, every `query.stride`.
    """
    first, last = _local_dates(query, resource.time_zone)
    slots: list[Slot] = []
    for free in free_intervals(resource, first, last):
        start = free.start + query.buffer_before
        while query.occupied(start).end <= free.end:
            if query.window_start <= start <= query.window_end:
                slots.append(Slot(start, start + query.duration, (resource.id,)))
            start += query.stride
    return slots


def pooled_slots(resources: Iterable[Resource], query: SlotQuery) -> list[Slot]:
    """Times at which at least one of the resources is free, with the ones that are.

    This is "any office" for video and phone: every skilled agent of the organisation, wherever
    they sit, so the earliest time is offered whatever office the citizen lives near.
    """
    by_start: dict[tuple[dt.datetime, dt.datetime], list[str]] = {}
    for resource in resources:
        for slot in resource_slots(resource, query):
            by_start.setdefault((slot.start, slot.end), []).append(resource.id)
    return [Slot(start, end, tuple(sorted(ids))) for (start, end), ids in sorted(by_start.items())]


def first_available(resources: Iterable[Resource], query: SlotQuery) -> Slot | None:
    slots = pooled_slots(resources, query)
    return slots[0] if slots else None
