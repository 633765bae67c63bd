"""The demo staff's working weeks, a couple of absences and a handful of appointments.

Split from `finestreta.lib.demo_data` (which says what exists); called by `load_demo_data`.
Every service of the demo can be booked in the coming weeks through each channel it offers: in
person at each office that provides it (not the virtual back-office), and by video or telephone
from agents in several offices and in the back-office, so that "any office" pools them.

Idempotent like the rest of the demo: each staff member's patterns are made exactly the ones
below; absences are keyed on their reason and appointments on their booking code. Dates are
relative to today, so a run on a later day moves absences and appointments along (in place).
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from django.db import IntegrityError, transaction
from django.utils import timezone

from finestreta.accounts.models import Membership
from finestreta.appointments.models import Appointment, CancelledBy
from finestreta.catalogue.models import Channel, Service
from finestreta.scheduling.models import Absence, WorkingPattern
from finestreta.tenants.models import Office, Organisation
from finestreta.tenants.services import ClosedDates, closed_dates

# Far enough back that every pattern is valid today, fixed so that reruns change nothing.
VALID_FROM = dt.date(2025, 1, 1)
WEEK = (0, 1, 2, 3, 4)
THURSDAY = (3,)
COUNTER = frozenset({Channel.IN_PERSON})
REMOTE = frozenset({Channel.VIDEO, Channel.PHONE})


@dataclass(frozen=True)
class ShiftSpec:
    username: str
    office: str
    weekdays: tuple[int, ...]
    starts: int  # hour, local time
    ends: int
    channels: frozenset[str]


def _counter_then_calls(username: str, office: str, *, thursday: bool = True) -> list[ShiftSpec]:
    """Mornings at the counter, the end of the morning on video and telephone calls, and the
    Thursday afternoon opening of citizen offices at the counter again."""
    shifts = [
        ShiftSpec(username, office, WEEK, 9, 12, COUNTER),
        ShiftSpec(username, office, WEEK, 12, 14, REMOTE),
    ]
    if thursday:
        shifts.append(ShiftSpec(username, office, THURSDAY, 16, 18, COUNTER))
    return shifts


SHIFTS: list[ShiftSpec] = [
    *_counter_then_calls("agent-girona", "oac-girona"),
    # The second Girona agent takes calls first and the counter later, so both are covered.
    ShiftSpec("agent-girona-2", "oac-girona", WEEK, 9, 11, REMOTE),
    ShiftSpec("agent-girona-2", "oac-girona", WEEK, 11, 14, COUNTER),
    *_counter_then_calls("agent-tortosa", "oac-terres-de-l-ebre"),
    # Marc sits at Aragó three days a week and works from home (the back-office) the other two.
    ShiftSpec("agent-arago", "politiques-digitals-arago", (0, 1, 2), 9, 14, COUNTER),
    ShiftSpec("agent-arago", "backoffice", (3, 4), 9, 14, REMOTE),
    *_counter_then_calls("agent-taulat", "accio-social-taulat", thursday=False),
    *_counter_then_calls("agent-albareda", "empresa-treball-albareda", thursday=False),
    ShiftSpec("agent-backoffice", "backoffice", WEEK, 8, 15, REMOTE),
    *_counter_then_calls("agent-ajuntament", "oac-vilanova"),
]


@dataclass(frozen=True)
class AbsenceSpec:
    username: str
    reason: str
    weeks_ahead: int
    weekday: int
    days: int  # whole local days, from midnight
    starts: int = 0
    ends: int = 24


ABSENCES = [
    AbsenceSpec("agent-girona", "Formació: la nova seu electrònica", 1, 2, 1, 9, 14),
    AbsenceSpec("agent-backoffice", "Vacances", 2, 0, 2),
]


@dataclass(frozen=True)
class AppointmentSpec:
    """`working_days` 0: today, at the next quarter hour at least five minutes away from the
    moment the demo is loaded (hour and minute unused) — a video call to try at once."""

    code: str
    org: str
    service: str
    channel: str
    username: str
    working_days: int  # from today: 1 is the next working day, -1 the previous one
    hour: int
    minute: int
    name: str
    email: str
    phone: str = ""
    language: str = "ca"
    office: str = ""  # in person only
    status: str = Appointment.Status.BOOKED
    notes: str = ""


BOOKED, ATTENDED, CANCELLED, NO_SHOW = (
    Appointment.Status.BOOKED,
    Appointment.Status.ATTENDED,
    Appointment.Status.CANCELLED,
    Appointment.Status.NO_SHOW,
)
VIDEO, PHONE, IN_PERSON = Channel.VIDEO, Channel.PHONE, Channel.IN_PERSON

# The video call of the README's "try a call" (its join link is printed by `make run`).
CALL_NOW = "DEMQ1VID"

APPOINTMENTS = [
    AppointmentSpec(
        CALL_NOW, "generalitat", "ajuts-subvencions", VIDEO, "agent-backoffice", 0, 0, 0,
        "Clara Ferrer Soler", "clara.ferrer@example.org", "+34644556677",
    ),
    AppointmentSpec(
        "DEMQ2KBA", "generalitat", "ajuts-subvencions", VIDEO, "agent-backoffice", 1, 9, 0,
        "Jordi Puig Serra", "jordi.puig@example.org", "+34600112233",
    ),
    AppointmentSpec(
        "DEMQ3LCB", "generalitat", "idcat-mobil", IN_PERSON, "agent-girona", 2, 10, 0,
        "Marta Vila Font", "marta.vila@example.org", office="oac-girona",
    ),
    AppointmentSpec(
        "DEMQ4MDC", "generalitat", "classes-catala", PHONE, "agent-tortosa", 1, 12, 30,
        "Youssef Benali Ferré", "youssef.benali@example.org", "+34611223344", "es",
    ),
    AppointmentSpec(
        "DEMQ5NEF", "generalitat", "prestacions-socials", IN_PERSON, "agent-taulat", 3, 9, 30,
        "Rosa Camps Miralles", "rosa.camps@example.org", office="accio-social-taulat",
        notes="Vindré acompanyada de la meva filla.",
    ),
    AppointmentSpec(
        "DEMQ6PFG", "generalitat", "familia-nombrosa", VIDEO, "agent-backoffice", 2, 11, 0,
        "Pere Bonet Arnau", "pere.bonet@example.org", language="oc", status=CANCELLED,
    ),
    AppointmentSpec(
        "DEMQ7QGH", "generalitat", "instancia-generica", IN_PERSON, "agent-girona-2", -1, 11, 30,
        "Anna Prats Coll", "anna.prats@example.org", office="oac-girona", status=ATTENDED,
    ),
    AppointmentSpec(
        "DEMQ8RHJ", "generalitat", "creacio-empresa", VIDEO, "agent-albareda", -2, 12, 0,
        "Gerard Sala Riba", "gerard.sala@example.org", "+34622334455", status=ATTENDED,
    ),
    AppointmentSpec(
        "DEMQ9SJK", "generalitat", "obligacions-tributaries", PHONE, "agent-backoffice", -1, 9, 0,
        "Núria Esteve Pla", "nuria.esteve@example.org", "+34633445566", status=NO_SHOW,
    ),
    AppointmentSpec(
        "DEMV2TKL", "vilanova", "certificat-empadronament", IN_PERSON, "agent-ajuntament", 1, 9,
        0, "Laura Mas Giralt", "laura.mas@example.org", office="oac-vilanova",
    ),
    AppointmentSpec(
        "DEMV3ULM", "vilanova", "obres-menors", VIDEO, "agent-ajuntament", 4, 12, 0,
        "Xavier Romeu Batlle", "xavier.romeu@example.org", status=CANCELLED,
    ),
]  # fmt: skip


@dataclass(frozen=True)
class ScheduleSummary:
    working_patterns: int
    absences: int
    appointments: int


def _memberships(organisations: dict[str, Organisation]) -> dict[str, Membership]:
    return {
        m.user.username: m
        for m in Membership.objects.filter(organisation__in=organisations.values()).select_related(
            "user", "organisation"
        )
    }


def _load_patterns(
    memberships: dict[str, Membership], offices: dict[tuple[str, str], Office]
) -> int:
    """Make each demo agent's patterns exactly the shifts above."""
    wanted: dict[str, set[tuple[int, int, int, dt.time, dt.time, bool, bool, bool]]] = {}
    for shift in SHIFTS:
        member = memberships[shift.username]
        office = offices[(member.organisation.slug, shift.office)]
        for weekday in shift.weekdays:
            wanted.setdefault(shift.username, set()).add(
                (
                    member.pk,
                    office.pk,
                    weekday,
                    dt.time(shift.starts),
                    dt.time(shift.ends),
                    Channel.VIDEO in shift.channels,
                    Channel.PHONE in shift.channels,
                    Channel.IN_PERSON in shift.channels,
                )
            )
    count = 0
    for username, rows in wanted.items():
        existing = {
            (p.membership_id, p.office_id, p.weekday, p.starts, p.ends, p.video, p.phone,
             p.in_person): p
            for p in WorkingPattern.objects.filter(membership=memberships[username])
            if p.valid_from == VALID_FROM and p.valid_until is None
        }  # fmt: skip
        WorkingPattern.objects.filter(membership=memberships[username]).exclude(
            pk__in=[p.pk for key, p in existing.items() if key in rows]
        ).delete()
        for member_id, office_id, weekday, starts, ends, video, phone, in_person in sorted(
            rows - existing.keys()
        ):
            pattern = WorkingPattern(
                membership_id=member_id,
                office_id=office_id,
                weekday=weekday,
                starts=starts,
                ends=ends,
                valid_from=VALID_FROM,
                video=video,
                phone=phone,
                in_person=in_person,
            )
            pattern.full_clean()
            pattern.save()
        count += len(rows)
    return count


def _local(day: dt.date, hour: int, minute: int, zone: str) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=ZoneInfo(zone))


def _load_absences(memberships: dict[str, Membership], today: dt.date) -> int:
    monday = today - dt.timedelta(days=today.weekday())
    for spec in ABSENCES:
        member = memberships[spec.username]
        zone = member.organisation.time_zone
        first = monday + dt.timedelta(weeks=spec.weeks_ahead, days=spec.weekday)
        last = first + dt.timedelta(days=spec.days - 1)
        ends = (
            _local(last + dt.timedelta(days=1), 0, 0, zone)
            if spec.ends == 24
            else _local(last, spec.ends, 0, zone)
        )
        Absence.objects.update_or_create(
            membership=member,
            reason=spec.reason,
            defaults={"starts_at": _local(first, spec.starts, 0, zone), "ends_at": ends},
        )
    return len(ABSENCES)


def _working_day(today: dt.date, offset: int, closed: frozenset[dt.date]) -> dt.date:
    """The `offset`-th working day after (or, negative, before) today: no weekends or closures."""
    step = dt.timedelta(days=1 if offset > 0 else -1)
    day, remaining = today, abs(offset)
    while remaining:
        day += step
        if day.weekday() < 5 and day not in closed:
            remaining -= 1
    return day


def _wanted_appointment(
    spec: AppointmentSpec,
    service: Service,
    member: Membership,
    office: Office | None,
    closures: ClosedDates,
    today: dt.date,
) -> dict[str, object]:
    if spec.working_days == 0:
        soon = timezone.now() + dt.timedelta(minutes=5)
        starts = (soon + dt.timedelta(minutes=-soon.minute % 15)).replace(second=0, microsecond=0)
    else:
        closed = closures.at(office.pk) if office else closures.everywhere
        day = _working_day(today, spec.working_days, closed)
        starts = _local(day, spec.hour, spec.minute, service.organisation.time_zone)
    ends = starts + dt.timedelta(minutes=service.duration_minutes)
    wanted: dict[str, object] = {
        "organisation": service.organisation,
        "service": service,
        "channel": spec.channel,
        "office": office,
        "agent": member,
        "starts_at": starts,
        "ends_at": ends,
        "occupied_from": starts - dt.timedelta(minutes=service.buffer_before_minutes),
        "occupied_until": ends + dt.timedelta(minutes=service.buffer_after_minutes),
        "status": spec.status,
        "name": spec.name,
        "email": spec.email,
        "phone": spec.phone,
        "language": spec.language,
        "notes": spec.notes,
        "booked_at": starts - dt.timedelta(days=6, hours=2),
        "cancelled_at": None,
        "cancelled_by": "",
        "cancellation_reason": "",
    }
    if spec.status == CANCELLED:
        wanted["cancelled_at"] = starts - dt.timedelta(days=1, hours=3)
        wanted["cancelled_by"] = CancelledBy.CITIZEN
        wanted["cancellation_reason"] = "Ja ho he pogut resoldre per internet."
    return wanted


def _load_appointments(
    organisations: dict[str, Organisation],
    offices: dict[tuple[str, str], Office],
    memberships: dict[str, Membership],
    today: dt.date,
) -> int:
    """Written as rows, not through `book_appointment`: the demo must not send anybody a
    confirmation, and the attended ones lie in the past, where nothing can be booked."""
    closures = {
        slug: closed_dates(
            organisation=org, start=today - dt.timedelta(days=30), end=today + dt.timedelta(days=60)
        )
        for slug, org in organisations.items()
    }
    services = {
        (s.organisation.slug, s.slug): s
        for s in Service.objects.filter(organisation__in=organisations.values()).select_related(
            "organisation"
        )
    }
    wanted = {
        spec.code: _wanted_appointment(
            spec,
            services[(spec.org, spec.service)],
            memberships[spec.username],
            offices[(spec.org, spec.office)] if spec.office else None,
            closures[spec.org],
            today,
        )
        for spec in APPOINTMENTS
    }
    existing = {a.code: a for a in Appointment.objects.filter(code__in=wanted)}
    moving = [
        code
        for code, appointment in existing.items()
        if any(getattr(appointment, field) != value for field, value in wanted[code].items())
    ]
    # Free the old times first, so that a demo appointment moving onto another's old time (on
    # a later day's run) never meets it in the no-double-booking constraint.
    Appointment.objects.filter(code__in=moving).update(status=CANCELLED)
    count = 0
    for code, values in wanted.items():
        try:
            with transaction.atomic():
                if code not in existing:
                    Appointment.objects.create(
                        code=code, manage_nonce=secrets.token_urlsafe(9)[:12], **values
                    )
                elif code in moving:
                    Appointment.objects.filter(code=code).update(**values)
        except IntegrityError:
            continue  # somebody booked that time by hand on this demo: leave theirs alone
        count += 1
    return count


def load_schedules(
    organisations: dict[str, Organisation],
    offices: dict[tuple[str, str], Office],
    today: dt.date,
) -> ScheduleSummary:
    memberships = _memberships(organisations)
    return ScheduleSummary(
        working_patterns=_load_patterns(memberships, offices),
        absences=_load_absences(memberships, today),
        appointments=_load_appointments(organisations, offices, memberships, today),
    )
