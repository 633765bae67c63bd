"""Staff reads of appointments: agendas, one appointment, and the free times to book or move to.

Every function takes the `StaffContext` that `accounts.services.get_membership_for_staff` returned,
so strangers and other organisations' staff are already refused. Within the organisation:

- An organisation administrator reaches every appointment of the organisation, and the agenda of
  every active office and every active staff member.
- Everyone else (agent, supervisor, office administrator) reaches the appointments they attend
  and the appointments of their offices. An appointment belongs to an office when it takes place
  there (in person) or, having no office (video and telephone appointments pooled across the
  organisation), when its agent works at that office.
- Agendas: an agent chooses their own or one of their offices'; supervisors and office
  administrators may also open the agenda of a staff member who shares an office with them (and
  see there only the appointments within their own reach).
- Whoever may open an appointment may also act on it (mark it attended or not come, cancel it,
  move it): a colleague of the same office stands in for an absent agent.

Times not yet booked (held while a citizen fills in a form) are nobody's appointment yet and stay
out of every staff view. Every read that shows citizens' personal data writes a
`personal_data.viewed` audit event.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Literal
from zoneinfo import ZoneInfo

from django.db.models import Q, QuerySet
from django.http import Http404
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from finestreta.accounts.models import Membership, Role
from finestreta.accounts.services import StaffContext
from finestreta.appointments.contact import format_phone
from finestreta.appointments.models import Appointment
from finestreta.appointments.services import can_be_changed
from finestreta.catalogue.models import Channel, Service
from finestreta.privacy.services import Action, record_event
from finestreta.scheduling.availability import Slot
from finestreta.scheduling.services import NotOffered, find_slots
from finestreta.tenants.models import Office

MINE = "mine"
# How early before its time an appointment may be marked attended (as record_outcome allows).
OUTCOME_EARLY = dt.timedelta(minutes=30)
SLOT_PAGE_DAYS = 7


# --- Whose agenda --------------------------------------------------------------------------


@dataclass(frozen=True)
class Whose:
    """One agenda a staff member may open: their own, an office's or a colleague's."""

    kind: Literal["mine", "office", "agent"]
    value: str  # what the ?whose= parameter carries
    label: str | Promise
    office: Office | None = None
    agent: Membership | None = None


def _office_ids(staff: StaffContext) -> list[int]:
    # Prefetched by get_membership_for_staff: no query.
    return [o.pk for o in staff.membership.offices.all()]


def _is_org_admin(staff: StaffContext) -> bool:
    return staff.membership.role == Role.ORG_ADMIN


def agenda_choices(staff: StaffContext) -> list[Whose]:
    """The agendas this staff member may open, their own first."""
    choices = [Whose(kind="mine", value=MINE, label=_("My appointments"))]
    if _is_org_admin(staff):
        offices = list(
            Office.objects.filter(organisation=staff.organisation, is_active=True).order_by("name")
        )
    else:
        offices = sorted(
            (
                o
                for o in staff.membership.offices.all()
                if o.organisation_id == staff.organisation.pk
            ),
            key=lambda o: o.name,
        )
    choices += [
        Whose(kind="office", value=f"office-{o.slug}", label=o.name, office=o) for o in offices
    ]
    if staff.membership.has_role(Role.SUPERVISOR):
        agents = Membership.objects.filter(
            organisation=staff.organisation, is_active=True
        ).select_related("user")
        if not _is_org_admin(staff):
            colleagues = Membership.objects.filter(offices__in=_office_ids(staff)).values("pk")
            agents = agents.filter(pk__in=colleagues)
        agents = agents.exclude(pk=staff.membership.pk).order_by(
            "user__first_name", "user__last_name", "user__username"
        )
        choices += [
            Whose(kind="agent", value=f"agent-{m.pk}", label=str(m.user), agent=m) for m in agents
        ]
    return choices


def default_whose(staff: StaffContext, choices: list[Whose]) -> Whose:
    """Agents start with their own agenda; supervisors and administrators with their office's."""
    if staff.membership.has_role(Role.SUPERVISOR):
        office = next((c for c in choices if c.kind == "office"), None)
        if office is not None:
            return office
    return choices[0]


# --- Reading appointments ------------------------------------------------------------------


def appointments_for_staff(staff: StaffContext) -> QuerySet[Appointment]:
    """The booked (and past, and cancelled) appointments this staff member may reach."""
    found = Appointment.objects.filter(organisation=staff.organisation).exclude(
        status=Appointment.Status.HELD
    )
    if _is_org_admin(staff):
        return found
    offices = _office_ids(staff)
    colleagues = Membership.objects.filter(
        organisation=staff.organisation, offices__in=offices
    ).values("pk")
    return found.filter(
        Q(agent=staff.membership)
        | Q(office__in=offices)
        | Q(office__isnull=True, agent__in=colleagues)
    )


def get_appointment_for_staff(staff: StaffContext, code: str) -> Appointment:
    """One appointment by its booking code, or 404 when it is not within this member's reach
    (another organisation's, another office's, or only held)."""
    found = (
        appointments_for_staff(staff)
        .select_related("service", "office", "agent__user", "booked_by__user", "municipality")
        .filter(code=code.strip().upper())
        .first()
    )
    if found is None:
        raise Http404("No such appointment within reach")
    return found


def record_appointment_viewed(staff: StaffContext, appointment: Appointment) -> None:
    """The staff member is shown a citizen's personal data: write it to the audit log."""
    record_event(
        action=Action.PERSONAL_DATA_VIEWED,
        actor=staff.user,
        # The appointment's organisation keeps the record (it is a host's, when the staff
        # member helps through a shared queue).
        organisation=appointment.organisation,
        target=appointment,
        details={"code": appointment.code},
    )


@dataclass(frozen=True)
class AgendaDay:
    date: dt.date
    appointments: list[Appointment]


def list_agenda(staff: StaffContext, *, whose: Whose, first: dt.date, days: int) -> list[AgendaDay]:
    """The appointments of `whose` agenda on `days` local days from `first`, day by day.

    A bounded number of queries however many appointments there are. Showing any writes one
    audit event (the list carries citizens' names and needs)."""
    zone = ZoneInfo(staff.organisation.time_zone)
    start = dt.datetime.combine(first, dt.time(), tzinfo=zone)
    end = dt.datetime.combine(first + dt.timedelta(days=days), dt.time(), tzinfo=zone)
    found = appointments_for_staff(staff).filter(starts_at__gte=start, starts_at__lt=end)
    if whose.kind == "mine":
        found = found.filter(agent=staff.membership)
    elif whose.kind == "office":
        workers = Membership.objects.filter(offices=whose.office).values("pk")
        found = found.filter(Q(office=whose.office) | Q(office__isnull=True, agent__in=workers))
    else:
        found = found.filter(agent=whose.agent)
    rows = list(
        found.select_related("service", "office", "agent__user").order_by("starts_at", "pk")
    )
    if rows:
        record_event(
            action=Action.PERSONAL_DATA_VIEWED,
            actor=staff.user,
            organisation=staff.organisation,
            target=Appointment,
            details={
                "list": "agenda",
                "whose": whose.value,
                "from": first.isoformat(),
                "days": days,
            },
        )
    by_day: dict[dt.date, list[Appointment]] = {
        first + dt.timedelta(days=n): [] for n in range(days)
    }
    for row in rows:
        by_day[timezone.localtime(row.starts_at, zone).date()].append(row)
    return [AgendaDay(date=day, appointments=items) for day, items in by_day.items()]


def today(staff: StaffContext) -> dt.date:
    return timezone.localdate(timezone=ZoneInfo(staff.organisation.time_zone))


def detail_facts(appointment: Appointment, *, now: dt.datetime) -> dict[str, Any]:
    """What the detail page shows beside the appointment itself, and which actions it offers."""
    outcome_possible = (
        appointment.status
        in (
            Appointment.Status.BOOKED,
            Appointment.Status.ATTENDED,
            Appointment.Status.NO_SHOW,
        )
        and appointment.starts_at <= now + OUTCOME_EARLY
    )
    return {
        "phone": format_phone(appointment.phone),
        "representative_phone": format_phone(appointment.representative_phone),
        "needs": appointment.accessibility_needs(),
        "can_mark": outcome_possible,
        "can_change": can_be_changed(appointment, now=now),
    }


# --- Booking and moving: services, offices, free times -------------------------------------


def bookable_services(staff: StaffContext) -> QuerySet[Service]:
    """Staff may book any active service of their organisation, not only those they attend."""
    return Service.objects.filter(organisation=staff.organisation, is_active=True).order_by("name")


def booking_offices(staff: StaffContext) -> QuerySet[Office]:
    return Office.objects.filter(organisation=staff.organisation, is_active=True).order_by("name")


def free_slots(
    *,
    service: Service,
    channel: Channel,
    office: Office | None,
    now: dt.datetime,
    moving: Appointment | None = None,
) -> list[Slot]:
    """The times `service` can be booked (or `moving` moved to); none when it is not offered
    that way any more."""
    try:
        slots = find_slots(
            service=service,
            channel=channel,
            now=now,
            office=office,
            ignoring=moving.pk if moving is not None else None,
        )
    except NotOffered:
        return []
    if moving is not None:
        slots = [s for s in slots if s.start != moving.starts_at]
    return slots


def slot_value(start: dt.datetime) -> str:
    """How a time travels in a form: UTC, to the second."""
    return start.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_slot_value(value: str) -> dt.datetime | None:
    try:
        found = dt.datetime.fromisoformat(value.strip())
    except (ValueError, AttributeError):
        return None
    return found if found.tzinfo is not None else None


@dataclass(frozen=True)
class SlotChoice:
    start: dt.datetime  # local to the organisation
    value: str


@dataclass(frozen=True)
class SlotDay:
    date: dt.date
    slots: list[SlotChoice]


@dataclass(frozen=True)
class SlotPage:
    """A week of free times grouped by local day, with the weeks before and after."""

    days: list[SlotDay]
    previous: dt.date | None
    next: dt.date | None


def slot_page(
    slots: list[Slot], *, zone_name: str, first: dt.date | None, days: int = SLOT_PAGE_DAYS
) -> SlotPage:
    """The free times from local day `first` (the first day with a free time when None) for
    `days` days. Empty days are left out; `next` jumps to the next day with a free time."""
    zone = ZoneInfo(zone_name)
    local = [(s.start.astimezone(zone), s) for s in slots]
    if not local:
        return SlotPage(days=[], previous=None, next=None)
    earliest = local[0][0].date()
    first = max(first or earliest, earliest)
    until = first + dt.timedelta(days=days)
    grouped: dict[dt.date, list[SlotChoice]] = {}
    for start, slot in local:
        if first <= start.date() < until:
            grouped.setdefault(start.date(), []).append(
                SlotChoice(start=start, value=slot_value(slot.start))
            )
    later = next((start.date() for start, _slot in local if start.date() >= until), None)
    return SlotPage(
        days=[SlotDay(date=day, slots=items) for day, items in grouped.items()],
        previous=max(first - dt.timedelta(days=days), earliest) if first > earliest else None,
        next=later,
    )
