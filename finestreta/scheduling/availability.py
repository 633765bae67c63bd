"""The availability engine: working intervals minus busy intervals, then slots.

A pure module — no ORM, no request, no clock: callers pass plain dataclasses and the current time.
Times are aware datetimes; weekly schedules are in each resource's local wall-clock time (its time
zone, Europe/Madrid by default) and are turned into real instants day by day, so a working day
across a daylight-saving change has its true length (an hour less in March, an hour more in
October). Slots step in real elapsed time.

A *resource* is one thing that can attend one appointment at a time: an agent (video, phone) or a
desk (in person). Capacity is the number of free resources at a time: pooled search ("any office")
offers a time while at least one skilled resource is free, and says which ones.

Inside, instants are whole microseconds since the Unix epoch (`Span`s of two integers), so a month
of five hundred agents is integer arithmetic rather than hundreds of thousands of datetime objects;
datetimes come back only in the slots returned. Callers with thousands of busy rows may pass them
in that form too (`Resource.busy_spans`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import chain
from zoneinfo import ZoneInfo

# [start, end) in whole microseconds since 1970-01-01T00:00:00Z.
Span = tuple[int, int]

EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_DAY_US = 86_400_000_000


def to_micros(moment: dt.datetime) -> int:
    """An aware datetime as microseconds since the Unix epoch (exact: no floating point)."""
    delta = moment - EPOCH
    return delta.days * _DAY_US + delta.seconds * 1_000_000 + delta.microseconds


def from_micros(micros: int) -> dt.datetime:
    """The UTC datetime `micros` microseconds after the Unix epoch."""
    return EPOCH + dt.timedelta(microseconds=micros)


def _duration_micros(duration: dt.timedelta) -> int:
    return duration.days * _DAY_US + duration.seconds * 1_000_000 + duration.microseconds


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

    @property
    def span(self) -> Span:
        return to_micros(self.start), to_micros(self.end)


@dataclass(frozen=True)
class WeeklyRule:
    """Work on `weekday` (0 = Monday) from `opens` to `closes`, local time, between two dates,
    except on `closed_days` (those of the office the rule is worked at)."""

    weekday: int
    opens: dt.time
    closes: dt.time
    valid_from: dt.date = dt.date.min
    valid_until: dt.date = dt.date.max
    closed_days: frozenset[dt.date] = frozenset()

    def __post_init__(self) -> None:
        if not 0 <= self.weekday <= 6:
            raise ValueError("weekday must be 0..6")
        if self.closes <= self.opens:
            raise ValueError("closes must be after opens")

    def applies_on(self, day: dt.date) -> bool:
        return (
            day.weekday() == self.weekday
            and self.valid_from <= day <= self.valid_until
            and day not in self.closed_days
        )


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
    # More time taken (appointments, absences) in the compact form: what database reads pass.
    busy_spans: Sequence[Span] = ()


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


# --- Working time ------------------------------------------------------------------------------


@lru_cache(maxsize=4096)
def _instant(day: dt.date, time: dt.time, zone: str) -> int:
    # Through UTC: a wall time in the spring gap moves forward, as clocks do.
    return to_micros(dt.datetime.combine(day, time, tzinfo=ZoneInfo(zone)))


@lru_cache(maxsize=2048)
def _working_spans(
    rules: tuple[WeeklyRule, ...],
    zone: str,
    closed_days: frozenset[dt.date],
    first: dt.date,
    last: dt.date,
) -> tuple[Span, ...]:
    """Merged working time between two local dates. Memoised: most staff share a few schedules,
    and the same month is asked for again and again."""
    by_weekday: dict[int, list[WeeklyRule]] = {}
    for rule in rules:
        by_weekday.setdefault(rule.weekday, []).append(rule)
    found: list[Span] = []
    day = first
    one_day = dt.timedelta(days=1)
    while day <= last:
        todays = by_weekday.get(day.weekday())
        if todays and day not in closed_days:
            for rule in todays:
                if rule.valid_from <= day <= rule.valid_until and day not in rule.closed_days:
                    start = _instant(day, rule.opens, zone)
                    end = _instant(day, rule.closes, zone)
                    if end > start:
                        found.append((start, end))
        day += one_day
    return tuple(_merge_spans(found))


def working_intervals(resource: Resource, first: dt.date, last: dt.date) -> list[Interval]:
    """The resource's working time between two local dates (inclusive), as real instants."""
    spans = _working_spans(
        tuple(resource.rules), resource.time_zone, resource.closed_days, first, last
    )
    return [Interval(from_micros(start), from_micros(end)) for start, end in spans]


# --- Interval arithmetic -----------------------------------------------------------------------


def _merge_spans(spans: Iterable[Span]) -> list[Span]:
    merged: list[Span] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            if end > merged[-1][1]:
                merged[-1] = (merged[-1][0], end)
        elif start < end:
            merged.append((start, end))
    return merged


def _subtract_spans(free: Sequence[Span], blocks: Sequence[Span]) -> list[Span]:
    """Merged `free` minus `blocks` sorted by start (they may overlap), in one sweep over both."""
    remaining: list[Span] = []
    i, count = 0, len(blocks)
    for start, end in free:
        # Skip blocks that end before this free stretch starts.
        while i < count and blocks[i][1] <= start:
            i += 1
        j = i
        while j < count and blocks[j][0] < end:
            block_start, block_end = blocks[j]
            if block_start > start:
                remaining.append((start, block_start))
            if block_end > start:
                start = block_end
            j += 1
        if start < end:
            remaining.append((start, end))
    return remaining


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
    return [
        Interval(from_micros(start), from_micros(end))
        for start, end in _subtract_spans(
            _merge_spans(i.span for i in intervals), _merge_spans(b.span for b in busy)
        )
    ]


def _free_spans(resource: Resource, first: dt.date, last: dt.date) -> Sequence[Span]:
    working = _working_spans(
        tuple(resource.rules), resource.time_zone, resource.closed_days, first, last
    )
    if not working:
        return working
    blocks = sorted(resource.busy_spans)
    if resource.absences or resource.busy:
        blocks.extend(i.span for i in resource.absences)
        blocks.extend(i.span for i in resource.busy)
        blocks.sort()
    return _subtract_spans(working, blocks) if blocks else working


def free_intervals(resource: Resource, first: dt.date, last: dt.date) -> list[Interval]:
    return [
        Interval(from_micros(start), from_micros(end))
        for start, end in _free_spans(resource, first, last)
    ]


# --- Slots -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Grid:
    """A SlotQuery in microseconds."""

    duration: int
    before: int
    after: int
    stride: int
    earliest: int
    latest: int
    zone_dates: dict[str, tuple[dt.date, dt.date]]

    @classmethod
    def of(cls, query: SlotQuery) -> _Grid:
        return cls(
            duration=_duration_micros(query.duration),
            before=_duration_micros(query.buffer_before),
            after=_duration_micros(query.buffer_after),
            stride=_duration_micros(query.stride),
            earliest=to_micros(query.window_start),
            latest=to_micros(query.window_end),
            zone_dates={},
        )

    def dates(self, query: SlotQuery, zone: str) -> tuple[dt.date, dt.date]:
        if zone not in self.zone_dates:
            self.zone_dates[zone] = _local_dates(query, zone)
        return self.zone_dates[zone]


def _local_dates(query: SlotQuery, zone: str) -> tuple[dt.date, dt.date]:
    tz = ZoneInfo(zone)
    # One day of margin each side: buffers and time zones may cross midnight.
    first = (query.window_start - query.buffer_before).astimezone(tz).date()
    last = (query.window_end + query.duration + query.buffer_after).astimezone(tz).date()
    return first, last


def _starts(resource: Resource, query: SlotQuery, grid: _Grid) -> list[range]:
    """The starts this resource can take, as one non-empty range per free stretch, in order.

    Starts are laid on a grid from the beginning of each free stretch, every `stride`."""
    first, last = grid.dates(query, resource.time_zone)
    before, tail, stride = grid.before, grid.duration + grid.after, grid.stride
    earliest, latest = grid.earliest, grid.latest
    found = []
    for free_start, free_end in _free_spans(resource, first, last):
        lo = free_start + before
        if lo < earliest:
            lo += (earliest - lo + stride - 1) // stride * stride  # first grid point in window
        hi = free_end - tail
        if hi > latest:
            hi = latest
        if lo <= hi:
            found.append(range(lo, hi + 1, stride))
    return found


def resource_slots(resource: Resource, query: SlotQuery) -> list[Slot]:
    """Every start at which this resource can take the appointment, buffers included.

    Starts are laid on a grid from the beginning of each free stretch, every `query.stride`.
    """
    grid = _Grid.of(query)
    ids = (resource.id,)
    return [
        Slot(from_micros(start), from_micros(start + grid.duration), ids)
        for starts in _starts(resource, query, grid)
        for start in starts
    ]


def pooled_slots(resources: Iterable[Resource], query: SlotQuery) -> list[Slot]:
    """Times at which at least one of the resources is free, with the ones that are.

    This is "any office" for video and phone: every skilled agent of the organisation, wherever
    they sit, so the earliest time is offered whatever office the citizen lives near.
    """
    grid = _Grid.of(query)
    ordered = sorted(resources, key=lambda r: r.id)
    # Staff free over the same stretch share one list (a month of a big office has a few dozen
    # distinct stretches for hundreds of agents), so the work per start is per stretch, not per
    # agent. Agents are numbered in id order: each slot's ids come out sorted.
    stretches: dict[tuple[int, int], list[int]] = {}
    for rank, resource in enumerate(ordered):
        for starts in _starts(resource, query, grid):
            key = (starts.start, starts.stop)
            sharing = stretches.get(key)
            if sharing is None:
                stretches[key] = [rank]
            else:
                sharing.append(rank)
    by_start: dict[int, list[list[int]]] = {}
    for (lo, stop), ranks in stretches.items():
        for start in range(lo, stop, grid.stride):
            parts = by_start.get(start)
            if parts is None:
                by_start[start] = [ranks]
            else:
                parts.append(ranks)
    name = [resource.id for resource in ordered].__getitem__
    slots = []
    for start in sorted(by_start):
        parts = by_start[start]
        if len(parts) == 1:
            ranks = parts[0]
        else:
            ranks = list(chain.from_iterable(parts))
            ranks.sort()
        slots.append(
            Slot(from_micros(start), from_micros(start + grid.duration), tuple(map(name, ranks)))
        )
    return slots


def first_available(resources: Iterable[Resource], query: SlotQuery) -> Slot | None:
    """The earliest pooled slot, without laying out the rest of the window."""
    grid = _Grid.of(query)
    best: int | None = None
    ids: list[str] = []
    for resource in sorted(resources, key=lambda r: r.id):
        ranges = _starts(resource, query, grid)
        if not ranges:
            continue
        start = ranges[0][0]
        if best is None or start < best:
            best, ids = start, [resource.id]
        elif start == best:
            ids.append(resource.id)
    if best is None:
        return None
    return Slot(from_micros(best), from_micros(best + grid.duration), tuple(ids))
