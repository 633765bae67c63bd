"""The organisation's figures over a date range: appointments booked, attended, not come and
cancelled (by whom), waiting in the video lobby and in the "attention now" queue, handling time,
resolved at first contact, satisfaction, and the mission's own figures — office visits and
citizen travel avoided — in total and per office, service, attention level, channel, agent, day
or month.

Each figure is one aggregate query over the appointments that start in the range (in the
organisation's time zone), with their one-to-one call room, queue entry and survey answer
joined, so the totals and the rows of a breakdown come from the same rules. Travel avoided is
computed in Python from the few (municipality, service) pairs of the attentions at a distance
(METHOD says how, and the dashboard shows it).
"""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from django.db.models import (
    Count,
    DurationField,
    ExpressionWrapper,
    F,
    Min,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
)
from django.db.models.functions import TruncDate, TruncMonth
from django.utils.translation import gettext_lazy as _

from finestreta.appointments.models import Appointment
from finestreta.catalogue.models import Channel, Service
from finestreta.tenants.models import Office, Organisation

Status = Appointment.Status

# The breakdowns a dashboard offers: name → (the appointment's field, its label).
GROUPS: dict[str, tuple[str, Any]] = {
    "office": ("office", _("Office")),
    "service": ("service", _("Procedure")),
    "level": ("service__attention_level", _("Attention level")),
    "channel": ("channel", _("Channel")),
    "agent": ("agent", _("Agent")),
    "day": ("day", _("Day")),
    "month": ("month", _("Month")),
}
REMOTE = (Channel.VIDEO, Channel.PHONE)

# How travel avoided is estimated (shown on the dashboard with the figures).
ROAD_FACTOR = 1.3  # road distance over straight-line distance, a usual detour index
SPEED_KMH = 40.0  # average door-to-door speed, by car or public transport
METHOD = _(
    "Office visits avoided: attentions by video or telephone that took place. Travel avoided: "
    "for each of them, the return trip from the centre of the citizen's municipality to the "
    "nearest office of the organisation that offers the procedure in person — the straight-line "
    "distance times %(factor)s for roads, at %(speed)s km/h. Attentions without a municipality, "
    "or for procedures no office offers in person, count as visits avoided but add no travel."
)


@dataclass(frozen=True)
class Filters:
    start: dt.date
    end: dt.date  # included
    office_id: int | None = None
    service_id: int | None = None
    level: str = ""
    channel: str = ""
    agent_id: int | None = None

    def lookups(self, *, level: str) -> dict[str, Any]:
        """The chosen filters (dates aside) as queryset lookups; `level` names the field that
        holds the attention level (the appointments reach it through their service)."""
        chosen = {
            "office_id": self.office_id,
            "service_id": self.service_id,
            level: self.level,
            "channel": self.channel,
            "agent_id": self.agent_id,
        }
        return {name: value for name, value in chosen.items() if value}


@dataclass
class Figures:
    """One row of the dashboard (the total, or one office, service, …). Times in seconds."""

    key: Any = None
    booked: int = 0
    attended: int = 0
    no_show: int = 0
    cancelled_by_citizen: int = 0
    cancelled_by_office: int = 0
    with_outcome: int = 0
    resolved: int = 0
    lobby_wait: float | None = None
    queue_wait: float | None = None
    handling: float | None = None
    answers: int = 0
    satisfaction: float | None = None
    visits_avoided: int = 0
    travel_km: float = 0.0
    travel_minutes: float = 0.0
    label: str = ""
    scores: dict[int, int] = field(default_factory=dict)
    # (sum of seconds, how many) behind each average: rows add up into a total exactly.
    sums: dict[str, tuple[float, int]] = field(default_factory=dict, repr=False)

    COUNTS = (
        "booked",
        "attended",
        "no_show",
        "cancelled_by_citizen",
        "cancelled_by_office",
        "with_outcome",
        "resolved",
        "answers",
        "visits_avoided",
    )
    AVERAGES = ("lobby_wait", "queue_wait", "handling", "satisfaction")

    def set_average(self, name: str, total: float, count: int) -> None:
        self.sums[name] = (total, count)
        setattr(self, name, total / count if count else None)

    def add(self, other: Figures) -> None:
        """Add another row's attentions to this one (a total from its breakdown)."""
        for name in self.COUNTS:
            setattr(self, name, getattr(self, name) + getattr(other, name))
        for name, (total, count) in other.sums.items():
            mine = self.sums.get(name, (0.0, 0))
            self.set_average(name, mine[0] + total, mine[1] + count)
        for score, n in other.scores.items():
            self.scores[score] = self.scores.get(score, 0) + n
        self.travel_km += other.travel_km
        self.travel_minutes += other.travel_minutes

    @property
    def cancelled(self) -> int:
        return self.cancelled_by_citizen + self.cancelled_by_office

    @property
    def resolved_rate(self) -> float | None:
        """Share of the attentions with an outcome that were resolved at first contact."""
        return self.resolved / self.with_outcome if self.with_outcome else None

    @property
    def no_show_rate(self) -> float | None:
        done = self.attended + self.no_show
        return self.no_show / done if done else None


def appointments_in(organisation: Organisation, filters: Filters) -> QuerySet[Appointment]:
    """The appointments the figures are about: the organisation's, starting within the dates
    (its time zone), held times left out, narrowed by the filters."""
    zone = ZoneInfo(organisation.time_zone)
    start = dt.datetime.combine(filters.start, dt.time(0), tzinfo=zone)
    end = dt.datetime.combine(filters.end + dt.timedelta(days=1), dt.time(0), tzinfo=zone)
    found = Appointment.objects.filter(
        organisation=organisation, starts_at__gte=start, starts_at__lt=end
    ).exclude(status=Status.HELD)
    return found.filter(**filters.lookups(level="service__attention_level"))


def _seconds(value: dt.timedelta | float | None) -> float | None:
    if value is None:
        return None
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    return float(value) / 1_000_000  # SQLite averages the microseconds


# The daily roll-up's breakdown (reports.rollup): one row per day, office, procedure, level,
# channel and agent. Not one of GROUPS: no dashboard shows it.
CUBE = "cube"
CUBE_KEYS = ("k_day", "k_office", "k_service", "k_level", "k_channel", "k_agent")


def _names(group: str | None) -> tuple[str, ...]:
    return CUBE_KEYS if group == CUBE else ("key",)


def _key(values: dict[str, Any], group: str | None) -> Any:
    """The row's key out of a values() dict (removed from it): a tuple for the cube, a date
    (not a datetime) for days and months."""
    if group == CUBE:
        return tuple(values.pop(name) for name in CUBE_KEYS)
    key = values.pop("key")
    if group in ("day", "month") and isinstance(key, dt.datetime):
        key = key.date()
    return key


def _grouped(found: QuerySet[Appointment], group: str | None, zone: ZoneInfo) -> QuerySet[Any]:
    if group == CUBE:
        return found.annotate(
            k_day=TruncDate("starts_at", tzinfo=zone),
            k_office=F("office"),
            k_service=F("service"),
            k_level=F("service__attention_level"),
            k_channel=F("channel"),
            k_agent=F("agent"),
        )
    if group is None:
        return found.annotate(key=F("organisation_id"))
    if group == "day":
        return found.annotate(key=TruncDate("starts_at", tzinfo=zone))
    if group == "month":
        return found.annotate(key=TruncMonth("starts_at", tzinfo=zone))
    return found.annotate(key=F(GROUPS[group][0]))


@dataclass
class Report:
    """The figures of a dashboard: the total and one row per value of the breakdown."""

    total: Figures
    rows: list[Figures]
    group: str | None


def figures(
    organisation: Organisation, filters: Filters, *, group: str | None = None
) -> list[Figures]:
    """The figures in total (group None: one row) or per value of `group` (one of GROUPS),
    in the group's order, each row labelled."""
    found = report(organisation, filters, group=group)
    return found.rows if group is not None else [found.total]


def report(organisation: Organisation, filters: Filters, *, group: str | None = None) -> Report:
    """The total and the breakdown by `group`. The days the daily roll-up holds come from it
    (reports.rollup: a few thousand narrow rows instead of the appointments and their calls,
    queue entries and answers); the others, today always among them, from the appointments
    themselves. The total is the sum of the rows (each average kept as its sum and count)."""
    if group is not None and group not in GROUPS:
        raise ValueError(f"unknown group {group!r}")
    from finestreta.reports import rollup

    rolled, live = rollup.split(organisation, filters)
    rows: dict[Any, Figures] = {}
    if rolled is not None:
        rows = rollup.rows(organisation, rolled, group)
    if live is not None:
        for key, row in live_rows(organisation, live, group).items():
            if key in rows:
                rows[key].add(row)
            else:
                rows[key] = row
    result = [rows[key] for key in sorted(rows, key=_order)]
    _label(result, group)
    total = Figures(key=organisation.pk)
    for row in result:
        total.add(row)
    for name in Figures.AVERAGES:  # an average of nothing stays "none", not 0
        if name not in total.sums:
            total.set_average(name, 0.0, 0)
    _label([total], None)
    return Report(total=total, rows=result, group=group)


def _order(key: Any) -> tuple[bool, Any]:
    return (key is None, key if key is not None else 0)


def live_rows(
    organisation: Organisation, filters: Filters, group: str | None
) -> dict[Any, Figures]:
    """The figures per key computed from the appointments (and their calls, queue entries and
    survey answers) themselves."""
    zone = ZoneInfo(organisation.time_zone)
    found = appointments_in(organisation, filters)
    counts = aggregate_query(found, group, zone)
    rows: dict[Any, Figures] = {}
    for values in counts:
        key = _key(values, group)
        sums = {name: values.pop(f"{name}_sum") for name in ("queue_wait", "handling")}
        ns = {name: values.pop(f"{name}_n") for name in ("queue_wait", "handling")}
        score_sum = values.pop("score_sum")
        row = Figures(key=key, **values)
        for name in ("queue_wait", "handling"):
            row.set_average(name, _seconds(sums[name]) or 0.0, ns[name])
        row.set_average("satisfaction", float(score_sum or 0), row.answers)
        rows[key] = row
    _add_lobby_waits(found, group, zone, rows)
    _add_scores(found, group, zone, rows)
    _add_travel(organisation, found, group, zone, rows)
    return rows


def aggregate_query(
    found: QuerySet[Appointment], group: str | None, zone: ZoneInfo
) -> QuerySet[Any]:
    """The dashboard's main aggregate: the counts, sums and how-manys per value of `group`
    (one row for None). The figures' other queries (lobby waits, scores, travel) are small
    beside it; the benchmark times the dashboard against this query alone."""
    attended = Q(status=Status.ATTENDED)
    duration: DurationField = DurationField()
    queue_wait = ExpressionWrapper(
        F("queue_entry__served_at") - F("queue_entry__joined_at"), output_field=duration
    )
    handling = ExpressionWrapper(
        F("room__ended_at") - F("room__citizen_admitted_at"), output_field=duration
    )
    return (
        _grouped(found, group, zone)
        .values(*_names(group))
        .order_by(*_names(group))
        .annotate(
            booked=Count("pk"),
            attended=Count("pk", filter=attended),
            no_show=Count("pk", filter=Q(status=Status.NO_SHOW)),
            cancelled_by_citizen=Count(
                "pk", filter=Q(status=Status.CANCELLED, cancelled_by="citizen")
            ),
            cancelled_by_office=Count(
                "pk", filter=Q(status=Status.CANCELLED) & ~Q(cancelled_by="citizen")
            ),
            with_outcome=Count("pk", filter=attended & Q(outcome__isnull=False)),
            resolved=Count("pk", filter=attended & Q(outcome__resolves=True)),
            queue_wait_sum=Sum(queue_wait, filter=attended),
            queue_wait_n=Count(queue_wait, filter=attended),
            handling_sum=Sum(handling, filter=attended),
            handling_n=Count(handling, filter=attended),
            answers=Count("survey_answer"),
            score_sum=Sum("survey_answer__score"),
            visits_avoided=Count("pk", filter=attended & Q(channel__in=REMOTE)),
        )
    )


def _add_lobby_waits(
    found: QuerySet[Appointment], group: str | None, zone: ZoneInfo, rows: dict[Any, Figures]
) -> None:
    """The time from the citizen's first arrival in the video lobby to being let in, for the
    attended appointments whose call let them in."""
    from finestreta.video.models import Role, RoomEvent

    first_arrival = (
        RoomEvent.objects.filter(
            room__appointment=OuterRef("pk"), kind=RoomEvent.Kind.JOINED, role=Role.CITIZEN
        )
        .order_by()
        .values("room")
        .annotate(first=Min("at"))
        .values("first")
    )
    waits = (
        _grouped(
            found.filter(status=Status.ATTENDED, room__citizen_admitted_at__isnull=False),
            group,
            zone,
        )
        .annotate(arrived=Subquery(first_arrival))
        .values(*_names(group))
        .order_by(*_names(group))
        .annotate(
            wait=Sum(
                ExpressionWrapper(
                    F("room__citizen_admitted_at") - F("arrived"), output_field=DurationField()
                )
            ),
            n=Count("pk", filter=Q(arrived__isnull=False)),
        )
    )
    for values in waits:
        key = _key(values, group)
        if key in rows:
            rows[key].set_average("lobby_wait", _seconds(values["wait"]) or 0.0, values["n"])


def _add_scores(
    found: QuerySet[Appointment], group: str | None, zone: ZoneInfo, rows: dict[Any, Figures]
) -> None:
    """How many answered 1, 2, … 5 (the distribution the dashboard charts)."""
    for values in (
        _grouped(found.filter(survey_answer__isnull=False), group, zone)
        .values(*_names(group), "survey_answer__score")
        .order_by()
        .annotate(n=Count("pk"))
    ):
        key = _key(values, group)
        if key in rows:
            rows[key].scores[values["survey_answer__score"]] = values["n"]


def _distance_km(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Great-circle distance (haversine), in kilometres."""
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * 6371.0 * math.asin(math.sqrt(h))


def _add_travel(
    organisation: Organisation,
    found: QuerySet[Appointment],
    group: str | None,
    zone: ZoneInfo,
    rows: dict[Any, Figures],
) -> None:
    """Travel avoided by the attentions at a distance (METHOD)."""
    pairs = (
        _grouped(
            found.filter(status=Status.ATTENDED, channel__in=REMOTE, municipality__isnull=False),
            group,
            zone,
        )
        .values(*_names(group), "municipality_id", "service_id")
        .order_by()
        .annotate(n=Count("pk"))
    )
    pairs = list(pairs)
    if not pairs:
        return
    from finestreta.tenants.models import Municipality

    wanted = {p["municipality_id"] for p in pairs}
    places = {m.pk: (m.latitude, m.longitude) for m in Municipality.objects.filter(pk__in=wanted)}
    offices_of: dict[int, list[tuple[float, float]]] = defaultdict(list)
    in_person = Service.objects.filter(
        organisation=organisation, offers_in_person=True, pk__in={p["service_id"] for p in pairs}
    )
    for service_id, lat, lon in Office.objects.filter(
        services__in=in_person, organisation=organisation, municipality__isnull=False
    ).values_list("services", "municipality__latitude", "municipality__longitude"):
        offices_of[service_id].append((lat, lon))
    nearest: dict[tuple[int, int], float | None] = {}
    for p in pairs:
        pair = (p["municipality_id"], p["service_id"])
        if pair not in nearest:
            here, offices = places.get(pair[0]), offices_of.get(pair[1])
            nearest[pair] = (
                min(_distance_km(here, office) for office in offices) if here and offices else None
            )
        km = nearest[pair]
        key = _key(p, group)
        if km is None or key not in rows:
            continue
        trip = 2 * km * ROAD_FACTOR * p["n"]
        row = rows[key]
        row.travel_km += trip
        row.travel_minutes += trip / SPEED_KMH * 60


def _label(rows: list[Figures], group: str | None) -> None:
    from finestreta.accounts.models import Membership
    from finestreta.catalogue.models import AttentionLevel

    keys = [row.key for row in rows]
    names: dict[Any, str] = {}
    if group == "office":
        names = dict(Office.objects.filter(pk__in=keys).values_list("pk", "name"))
    elif group == "service":
        names = {s.pk: str(s.name) for s in Service.objects.filter(pk__in=keys)}
    elif group == "level":
        names = {value: str(label) for value, label in AttentionLevel.choices}
    elif group == "channel":
        names = {value: str(label) for value, label in Channel.choices}
    elif group == "agent":
        names = {
            m.pk: m.user.get_full_name() or m.user.username
            for m in Membership.objects.filter(pk__in=keys).select_related("user")
        }
    for row in rows:
        if group in ("day", "month") and row.key is not None:
            key = row.key.date() if isinstance(row.key, dt.datetime) else row.key
            row.key = key
            row.label = key.strftime("%Y-%m") if group == "month" else key.isoformat()
        elif group is None:
            row.label = str(_("Total"))
        else:
            row.label = names.get(row.key, str(_("None")) if row.key is None else str(row.key))
