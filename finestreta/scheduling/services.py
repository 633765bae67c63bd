"""Public API of the scheduling app: the times a service can be booked.

Reads schedules from the database and hands plain data to the pure engine
(`scheduling.availability`). Appointments are read as the agents' busy times.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from zoneinfo import ZoneInfo

from django.db.models import Prefetch, Q

from finestreta.accounts.models import Membership
from finestreta.appointments.models import Appointment
from finestreta.catalogue.models import Channel, Service
from finestreta.scheduling.availability import (
    Interval,
    Resource,
    Slot,
    SlotQuery,
    WeeklyRule,
    pooled_slots,
)
from finestreta.scheduling.models import Absence, WorkingPattern
from finestreta.tenants.models import Office
from finestreta.tenants.services import list_closures

CHANNEL_FLAG = {Channel.VIDEO: "video", Channel.PHONE: "phone", Channel.IN_PERSON: "in_person"}


class NotOffered(ValueError):
    """The service is not offered that way (channel, or in person at that office)."""


def slot_query(*, service: Service, now: dt.datetime, days: int | None = None) -> SlotQuery:
    """The booking window and buffers of a service, from `now`."""
    ahead = min(days or service.max_days_ahead, service.max_days_ahead)
    return SlotQuery(
        duration=dt.timedelta(minutes=service.duration_minutes),
        buffer_before=dt.timedelta(minutes=service.buffer_before_minutes),
        buffer_after=dt.timedelta(minutes=service.buffer_after_minutes),
        window_start=now + dt.timedelta(hours=service.min_notice_hours),
        window_end=now + dt.timedelta(days=ahead),
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
    `ignoring` (the one being moved)."""
    flag = CHANNEL_FLAG[channel]
    window = Q(valid_until__isnull=True) | Q(valid_until__gte=query.window_start.date())
    patterns = WorkingPattern.objects.filter(window, **{flag: True}).select_related(
        "office__organisation"
    )
    if office is not None:
        patterns = patterns.filter(office=office)
    absences = Absence.objects.filter(
        starts_at__lt=query.window_end + query.duration + query.buffer_after,
        ends_at__gt=query.window_start - query.buffer_before,
    )
    # Plain tuples, not model instances: thousands of rows on a busy month.
    booked: dict[int, list[Interval]] = defaultdict(list)
    appointments = Appointment.objects.filter(
        agent__organisation=service.organisation,
        agent__services=service,
        status__in=Appointment.ACTIVE,
        occupied_from__lt=query.window_end + query.duration + query.buffer_after,
        occupied_until__gt=query.window_start - query.buffer_before,
    )
    if now is not None:
        appointments = appointments.exclude(
            status=Appointment.Status.HELD, hold_expires_at__lte=now
        )
    if ignoring is not None:
        appointments = appointments.exclude(pk=ignoring)
    for agent_id, occupied_from, occupied_until in appointments.values_list(
        "agent_id", "occupied_from", "occupied_until"
    ):
        booked[agent_id].append(Interval(occupied_from, occupied_until))
    members = (
        Membership.objects.filter(
            organisation=service.organisation, is_active=True, services=service
        )
        .prefetch_related(
            Prefetch("working_patterns", queryset=patterns, to_attr="patterns"),
            Prefetch("absences", queryset=absences, to_attr="absent"),
        )
        .order_by("pk")
    )
    zone = service.organisation.time_zone
    tz = ZoneInfo(zone)
    first = query.window_start.astimezone(tz).date() - dt.timedelta(days=1)
    last = query.window_end.astimezone(tz).date() + dt.timedelta(days=1)
    closures: dict[int, set[dt.date]] = {}
    resources = []
    for member in members:
        if not member.patterns:
            continue
        rules, blocked = [], [Interval(a.starts_at, a.ends_at) for a in member.absent]
        by_office: dict[Office, list[WorkingPattern]] = defaultdict(list)
        for pattern in member.patterns:
            by_office[pattern.office].append(pattern)
            rules.append(
                WeeklyRule(
                    pattern.weekday,
                    pattern.starts,
                    pattern.ends,
                    pattern.valid_from,
                    pattern.valid_until or dt.date.max,
                )
            )
        for where, where_patterns in by_office.items():
            if where.pk not in closures:
                closures[where.pk] = {
                    c.date for c in list_closures(office=where, start=first, end=last)
                }
            for day in closures[where.pk]:
                for pattern in where_patterns:
                    if pattern.weekday == day.weekday():
                        blocked.append(
                            Interval(
                                dt.datetime.combine(day, pattern.starts, tzinfo=tz),
                                dt.datetime.combine(day, pattern.ends, tzinfo=tz),
                            )
                        )
        resources.append(
            Resource(
                id=str(member.pk),
                rules=rules,
                time_zone=zone,
                absences=blocked,
                busy=booked.get(member.pk, []),
            )
        )
    return resources


def find_slots(
    *,
    service: Service,
    channel: Channel,
    now: dt.datetime,
    office: Office | None = None,
    days: int | None = None,
    ignoring: int | None = None,
) -> list[Slot]:
    """Times at which `service` can be booked through `channel`.

    Video and telephone with no office pool every skilled agent of the organisation wherever
    they sit ("any office"); in person is always at one office that provides the service.
    """
    if channel not in service.channels:
        raise NotOffered(f"{service} is not offered by {channel}")
    if channel == Channel.IN_PERSON:
        if office is None or not service.offices.filter(pk=office.pk).exists():
            raise NotOffered(f"{service} is not offered in person at {office}")
    query = slot_query(service=service, now=now, days=days)
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
