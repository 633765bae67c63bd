"""Public API of the scheduling app: the times a service can be booked.

Reads schedules from the database and hands plain data to the pure engine
(`scheduling.availability`). Appointments are read as the agents' busy times.

A month of a large organisation is tens of thousands of appointments, so this module reads only
the columns it needs, one query per kind of row, and date-times as whole microseconds computed by
the database (`EpochMicros`): no model instance and no datetime object per row.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from typing import Any
from zoneinfo import ZoneInfo

from django.db import NotSupportedError
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import BigIntegerField, Func, Q
from django.db.models.sql.compiler import SQLCompiler

from finestreta.appointments.models import Appointment
from finestreta.catalogue.models import Channel, Service
from finestreta.scheduling.availability import (
    Resource,
    Slot,
    SlotQuery,
    Span,
    WeeklyRule,
    pooled_slots,
)
from finestreta.scheduling.models import Absence, WorkingPattern
from finestreta.tenants.models import Office
from finestreta.tenants.services import closed_dates

CHANNEL_FLAG = {Channel.VIDEO: "video", Channel.PHONE: "phone", Channel.IN_PERSON: "in_person"}


class NotOffered(ValueError):
    """The service is not offered that way (channel, or in person at that office)."""


class EpochMicros(Func):
    """A date-time column as whole microseconds since the Unix epoch (the engine's `Span`
    unit), computed by the database: exact, and no datetime built per row in Python."""

    arity = 1
    output_field = BigIntegerField()

    def get_db_converters(self, connection: BaseDatabaseWrapper) -> list[Any]:
        return []  # the database returns integers already: no int() call per value

    def as_sql(self, *args: Any, **kwargs: Any) -> Any:
        raise NotSupportedError("EpochMicros needs PostgreSQL or SQLite")

    def as_postgresql(
        self, compiler: SQLCompiler, connection: BaseDatabaseWrapper, **extra: Any
    ) -> tuple[str, list[Any]]:
        sql, params = compiler.compile(self.source_expressions[0])
        # date_part() is a float8, much faster than EXTRACT's numeric; rounded to the nearest
        # microsecond it is exact until 2106 (53 bits of mantissa).
        return f"(date_part('epoch', {sql}) * 1000000)::bigint", list(params)

    def as_sqlite(
        self, compiler: SQLCompiler, connection: BaseDatabaseWrapper, **extra: Any
    ) -> tuple[str, list[Any]]:
        sql, params = compiler.compile(self.source_expressions[0])
        # Django stores "YYYY-MM-DD HH:MM:SS[.ffffff]" in UTC: whole seconds, then the fraction
        # (characters 21 to 26, absent when zero). unixepoch() is SQLite 3.38 or later.
        if sqlite3.sqlite_version_info >= (3, 38):
            whole = f"unixepoch({sql})"
        else:
            whole = f"strftime('%%s', {sql})"
        return (
            f"(CAST({whole} AS INTEGER) * 1000000 + CAST(substr({sql}, 21) AS INTEGER))",
            [*params, *params],
        )


def slot_query(
    *,
    service: Service,
    now: dt.datetime,
    days: int | None = None,
    at: dt.datetime | None = None,
) -> SlotQuery:
    """The booking window and buffers of a service, from `now`; only the start `at`, when
    given (an empty window if `at` lies outside the booking window)."""
    ahead = min(days or service.max_days_ahead, service.max_days_ahead)
    window_start = now + dt.timedelta(hours=service.min_notice_hours)
    window_end = now + dt.timedelta(days=ahead)
    if at is not None:
        window_start, window_end = max(window_start, at), min(window_end, at)
    return SlotQuery(
        duration=dt.timedelta(minutes=service.duration_minutes),
        buffer_before=dt.timedelta(minutes=service.buffer_before_minutes),
        buffer_after=dt.timedelta(minutes=service.buffer_after_minutes),
        window_start=window_start,
        window_end=window_end,
    )


def build_resources(
    *,
    service: Service,
    channel: Channel,
    office: Office | None,
    query: SlotQuery,
    now: dt.datetime | None = None,
    ignoring: int | None = None,
) -> list[Resource]:
    """One resource per skilled, active staff member, with the patterns that serve `channel`
    (at `office`, or anywhere when it is None), minus office closures and absences.

    Holds that expired before `now` do not count as busy; neither does the appointment
    `ignoring` (the one being moved). Four queries, however many staff and appointments."""
    organisation = service.organisation
    zone = organisation.time_zone
    tz = ZoneInfo(zone)
    first = query.window_start.astimezone(tz).date() - dt.timedelta(days=1)
    last = query.window_end.astimezone(tz).date() + dt.timedelta(days=1)
    reach_from = query.window_start - query.buffer_before
    reach_until = query.window_end + query.duration + query.buffer_after
    patterns = WorkingPattern.objects.filter(
        Q(valid_until__isnull=True) | Q(valid_until__gte=first),
        valid_from__lte=last,
        membership__organisation=organisation,
        membership__is_active=True,
        membership__services=service,
        **{CHANNEL_FLAG[channel]: True},
    )
    if office is not None:
        patterns = patterns.filter(office=office)
    closures = closed_dates(organisation=organisation, start=first, end=last)
    rules: dict[int, list[WeeklyRule]] = {}
    # Staff share a few schedules: one rule object per distinct row (cheaper to build and hash).
    shared: dict[tuple[Any, ...], WeeklyRule] = {}
    for (
        member,
        office_id,
        weekday,
        starts,
        ends,
        valid_from,
        valid_until,
    ) in patterns.order_by().values_list(
        "membership_id", "office_id", "weekday", "starts", "ends", "valid_from", "valid_until"
    ):
        key = (office_id, weekday, starts, ends, valid_from, valid_until)
        rule = shared.get(key)
        if rule is None:
            rule = shared[key] = WeeklyRule(
                weekday,
                starts,
                ends,
                valid_from,
                valid_until or dt.date.max,
                closures.at(office_id),
            )
        rules.setdefault(member, []).append(rule)
    if not rules:
        return []

    members = list(rules)
    busy: dict[int, list[Span]] = {member: [] for member in members}
    absences = Absence.objects.filter(
        membership_id__in=members, starts_at__lt=reach_until, ends_at__gt=reach_from
    ).values_list("membership_id", EpochMicros("starts_at"), EpochMicros("ends_at"))
    # By the agents' ids found above (skilled, active, with a pattern for this channel): only
    # their rows, with no join.
    appointments = Appointment.objects.filter(
        agent_id__in=members,
        status__in=Appointment.ACTIVE,
        occupied_from__lt=reach_until,
        occupied_until__gt=reach_from,
    )
    if now is not None:
        appointments = appointments.exclude(
            status=Appointment.Status.HELD, hold_expires_at__lte=now
        )
    if ignoring is not None:
        appointments = appointments.exclude(pk=ignoring)
    booked = appointments.order_by().values_list(
        "agent_id", EpochMicros("occupied_from"), EpochMicros("occupied_until")
    )
    for rows in (absences.order_by(), booked):
        for member, start, end in rows:
            busy[member].append((start, end))
    return [
        Resource(id=str(member), rules=tuple(member_rules), time_zone=zone, busy_spans=busy[member])
        for member, member_rules in sorted(rules.items())
    ]


def find_slots(
    *,
    service: Service,
    channel: Channel,
    now: dt.datetime,
    office: Office | None = None,
    days: int | None = None,
    ignoring: int | None = None,
    at: dt.datetime | None = None,
) -> list[Slot]:
    """Times at which `service` can be booked through `channel` (only the start `at`, when
    given: checking one time before booking it reads one day, not the whole month).

    Video and telephone with no office pool every skilled agent of the organisation wherever
    they sit ("any office"); in person is always at one office that provides the service.
    """
    if channel not in service.channels:
        raise NotOffered(f"{service} is not offered by {channel}")
    if channel == Channel.IN_PERSON:
        if office is None or not service.offices.filter(pk=office.pk).exists():
            raise NotOffered(f"{service} is not offered in person at {office}")
    query = slot_query(service=service, now=now, days=days, at=at)
    if query.window_end < query.window_start:
        return []
    return pooled_slots(
        build_resources(
            service=service,
            channel=channel,
            office=office,
            query=query,
            now=now,
            ignoring=ignoring,
        ),
        query,
    )
