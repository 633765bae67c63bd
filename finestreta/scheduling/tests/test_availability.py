"""The availability engine, by example and by property (hypothesis)."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from finestreta.scheduling.availability import (
    Interval,
    Resource,
    SlotQuery,
    WeeklyRule,
    first_available,
    merge,
    pooled_slots,
    resource_slots,
    subtract,
    working_intervals,
)

MADRID = ZoneInfo("Europe/Madrid")
MINUTE = dt.timedelta(minutes=1)


def local(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=MADRID)


def weekdays(opens: int = 9, closes: int = 14) -> list[WeeklyRule]:
    return [WeeklyRule(day, dt.time(opens), dt.time(closes)) for day in range(5)]


def query(start: dt.datetime, days: int = 7, minutes: int = 30, **kwargs: object) -> SlotQuery:
    return SlotQuery(
        duration=dt.timedelta(minutes=minutes),
        window_start=start,
        window_end=start + dt.timedelta(days=days),
        **kwargs,  # type: ignore[arg-type]
    )


# --- By example ------------------------------------------------------------------------------


def test_a_working_morning_gives_slots_every_duration() -> None:
    agent = Resource("a", weekdays())
    slots = [
        s
        for s in resource_slots(agent, query(local(2026, 12, 1, 0, 0), days=1, minutes=30))
        if s.start.astimezone(MADRID).date() == dt.date(2026, 12, 1)
    ]
    assert [s.start.astimezone(MADRID).strftime("%H:%M") for s in slots][:3] == [
        "09:00",
        "09:30",
        "10:00",
    ]
    assert slots[-1].end.astimezone(MADRID).strftime("%H:%M") == "14:00"
    assert len(slots) == 10


def test_buffers_keep_room_before_and_after_each_appointment() -> None:
    busy = Interval(local(2026, 12, 1, 10, 0), local(2026, 12, 1, 10, 30))
    agent = Resource("a", weekdays(), busy=[busy])
    q = query(
        local(2026, 12, 1, 0, 0),
        days=1,
        minutes=20,
        buffer_before=dt.timedelta(minutes=5),
        buffer_after=dt.timedelta(minutes=5),
    )
    for slot in resource_slots(agent, q):
        assert not q.occupied(slot.start).overlaps(busy)
        assert slot.start >= local(2026, 12, 1, 9, 5)  # the buffer before fits in the morning


def test_closed_days_absences_and_validity_dates_remove_time() -> None:
    rules = [WeeklyRule(1, dt.time(9), dt.time(14), valid_from=dt.date(2026, 12, 8))]
    agent = Resource(
        "a",
        rules,
        closed_days=frozenset({dt.date(2026, 12, 15)}),
        absences=[Interval(local(2026, 12, 22, 9), local(2026, 12, 22, 12))],
    )
    slots = resource_slots(agent, query(local(2026, 12, 1, 0, 0), days=29, minutes=60))
    days = sorted({s.start.astimezone(MADRID).date() for s in slots})
    assert days == [dt.date(2026, 12, 8), dt.date(2026, 12, 22), dt.date(2026, 12, 29)]
    assert min(s.start for s in slots if s.start.date() == dt.date(2026, 12, 22)) == local(
        2026, 12, 22, 12
    )


def test_the_booking_window_bounds_the_starts() -> None:
    agent = Resource("a", weekdays())
    q = query(local(2026, 12, 1, 11, 10), days=1, minutes=30)
    slots = resource_slots(agent, q)
    assert slots[0].start == local(2026, 12, 1, 11, 30)
    assert slots[-1].start <= q.window_end


def test_the_spring_daylight_saving_night_has_one_hour_less() -> None:
    night = [WeeklyRule(6, dt.time(0), dt.time(6))]  # Sunday 29 March 2026, 02:00 → 03:00
    [interval] = working_intervals(Resource("a", night), dt.date(2026, 3, 29), dt.date(2026, 3, 29))
    assert interval.end - interval.start == dt.timedelta(hours=5)


def test_the_autumn_daylight_saving_night_has_one_hour_more() -> None:
    night = [WeeklyRule(6, dt.time(0), dt.time(6))]  # Sunday 25 October 2026, 03:00 → 02:00
    [interval] = working_intervals(
        Resource("a", night), dt.date(2026, 10, 25), dt.date(2026, 10, 25)
    )
    assert interval.end - interval.start == dt.timedelta(hours=7)


def test_office_hours_keep_their_wall_clock_time_across_the_change() -> None:
    agent = Resource("a", [WeeklyRule(d, dt.time(9), dt.time(10)) for d in range(7)])
    slots = resource_slots(agent, query(local(2026, 3, 27, 0, 0), days=4, minutes=60))
    assert [s.start.astimezone(MADRID).hour for s in slots] == [9, 9, 9, 9]
    offsets = [s.start.astimezone(MADRID).utcoffset() for s in slots]
    assert offsets == [dt.timedelta(hours=1)] * 2 + [dt.timedelta(hours=2)] * 2


def test_any_office_pools_agents_wherever_they_sit() -> None:
    girona = Resource(
        "girona", weekdays(9, 10), busy=[Interval(local(2026, 12, 1, 9), local(2026, 12, 1, 10))]
    )
    tortosa = Resource("tortosa", weekdays(9, 10))
    canary = Resource("remote", weekdays(8, 9), time_zone="Atlantic/Canary")  # 09:00 in Madrid
    q = query(local(2026, 12, 1, 0, 0), days=1, minutes=30)
    slots = pooled_slots([girona, tortosa, canary], q)
    assert slots[0].start == local(2026, 12, 1, 9, 0)
    assert slots[0].resource_ids == ("remote", "tortosa")
    assert first_available([girona], q) is None


def test_subtract_and_merge() -> None:
    a = Interval(local(2026, 1, 5, 9), local(2026, 1, 5, 14))
    holes = [
        Interval(local(2026, 1, 5, 10), local(2026, 1, 5, 11)),
        Interval(local(2026, 1, 5, 13), local(2026, 1, 5, 15)),
    ]
    assert subtract([a], holes) == [
        Interval(local(2026, 1, 5, 9), local(2026, 1, 5, 10)),
        Interval(local(2026, 1, 5, 11), local(2026, 1, 5, 13)),
    ]
    assert merge([holes[1], a]) == [Interval(local(2026, 1, 5, 9), local(2026, 1, 5, 15))]


def test_bad_input_is_refused() -> None:
    with pytest.raises(ValueError):
        Interval(local(2026, 1, 5, 10), local(2026, 1, 5, 9))
    with pytest.raises(ValueError):
        Interval(dt.datetime(2026, 1, 5, 9), dt.datetime(2026, 1, 5, 10))  # noqa: DTZ001
    with pytest.raises(ValueError):
        WeeklyRule(7, dt.time(9), dt.time(10))
    with pytest.raises(ValueError):
        SlotQuery(dt.timedelta(0), local(2026, 1, 5, 9), local(2026, 1, 6, 9))


# --- By property ---------------------------------------------------------------------------------

BASE = local(2026, 3, 23, 0, 0)  # the week of the spring change, to exercise it too


@st.composite
def resources(draw: st.DrawFn, ident: str) -> Resource:
    rules = []
    for weekday in draw(st.sets(st.integers(0, 6), max_size=7)):
        opens = draw(st.integers(0, 22 * 4)) * 15
        length = draw(st.integers(1, 10 * 4)) * 15
        closes = min(opens + length, 24 * 60 - 1)
        rules.append(
            WeeklyRule(
                weekday, dt.time(opens // 60, opens % 60), dt.time(closes // 60, closes % 60)
            )
        )
    busy = []
    for _ in range(draw(st.integers(0, 6))):
        start = BASE + dt.timedelta(minutes=draw(st.integers(0, 7 * 24 * 60)))
        busy.append(Interval(start, start + dt.timedelta(minutes=draw(st.integers(5, 180)))))
    zone = draw(st.sampled_from(["Europe/Madrid", "Atlantic/Canary", "UTC"]))
    closed = frozenset(
        BASE.date() + dt.timedelta(days=d) for d in draw(st.sets(st.integers(0, 6), max_size=2))
    )
    return Resource(ident, rules, time_zone=zone, busy=busy, closed_days=closed)


queries = st.builds(
    lambda minutes, before, after, step, notice, days: SlotQuery(
        duration=dt.timedelta(minutes=minutes),
        buffer_before=dt.timedelta(minutes=before),
        buffer_after=dt.timedelta(minutes=after),
        step=dt.timedelta(minutes=step) if step else None,
        window_start=BASE + dt.timedelta(minutes=notice),
        window_end=BASE + dt.timedelta(minutes=notice, days=days),
    ),
    st.integers(5, 120),
    st.integers(0, 30),
    st.integers(0, 30),
    st.sampled_from([0, 5, 15, 30]),
    st.integers(0, 3 * 24 * 60),
    st.integers(0, 5),
)


@settings(max_examples=150, deadline=None)
@given(resource=resources("a"), q=queries)
def test_no_slot_overlaps_a_busy_interval_or_its_buffers_and_all_lie_in_working_hours(
    resource: Resource, q: SlotQuery
) -> None:
    first, last = BASE.date() - dt.timedelta(days=1), BASE.date() + dt.timedelta(days=12)
    working = working_intervals(resource, first, last)
    for slot in resource_slots(resource, q):
        occupied = q.occupied(slot.start)
        assert slot.end - slot.start == q.duration
        assert q.window_start <= slot.start <= q.window_end
        assert any(w.contains(occupied) for w in working), "outside working hours"
        assert not any(occupied.overlaps(b) for b in resource.busy), "overlaps a busy interval"
        local_day = slot.start.astimezone(ZoneInfo(resource.time_zone)).date()
        assert local_day not in resource.closed_days, "on a closed day"


@settings(max_examples=60, deadline=None)
@given(
    pool=st.lists(st.integers(0, 10**6), min_size=1, max_size=4, unique=True).flatmap(
        lambda ids: st.tuples(*[resources(str(i)) for i in ids])
    ),
    q=queries,
)
def test_booking_every_offered_slot_in_turn_never_exceeds_capacity(
    pool: tuple[Resource, ...], q: SlotQuery
) -> None:
    """Take the first offered time again and again, each time on the first free resource: no
    resource ever gets two overlapping appointments, and what is offered shrinks accordingly."""
    current = {r.id: r for r in pool}
    booked: dict[str, list[Interval]] = {r.id: [] for r in pool}
    for _ in range(40):
        slot = first_available(current.values(), q)
        if slot is None:
            break
        assert slot.capacity >= 1
        chosen = slot.resource_ids[0]
        occupied = q.occupied(slot.start)
        assert not any(occupied.overlaps(b) for b in booked[chosen])
        booked[chosen].append(occupied)
        r = current[chosen]
        current[chosen] = Resource(
            r.id, r.rules, r.time_zone, r.closed_days, r.absences, [*r.busy, occupied]
        )
    for intervals in booked.values():
        ordered = sorted(intervals)
        assert all(a.end <= b.start for a, b in zip(ordered, ordered[1:], strict=False))
