"""Shared set-up of the staff-side tests: a bookable service in organisation A, a frozen clock,
and appointments at given local times."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from finestreta.accounts.models import Membership
from finestreta.appointments.models import Appointment
from finestreta.catalogue.models import Service
from finestreta.scheduling.models import WorkingPattern
from finestreta.tenants.models import Office
from tests.factories import AppointmentFactory, OfficeFactory, ServiceFactory, weekly_schedule
from tests.personas import Personas

MADRID = ZoneInfo("Europe/Madrid")
NOW = dt.datetime(2026, 11, 30, 7, 0, tzinfo=dt.UTC)  # Monday 30 November, 08:00 in Madrid


def madrid(day: int, hour: int, minute: int = 0, month: int = 12, year: int = 2026) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, tzinfo=MADRID)


@dataclass
class Bookable:
    service: Service
    agent: Membership  # agent_a, the only one who attends `service`
    office: Office


def bookable_service(personas: Personas) -> Bookable:
    """A 30-minute service of organisation A, by video or in person at office A, attended by
    agent A from 9:00 to 12:00 on weekdays, bookable from two hours ahead for 14 days."""
    service = ServiceFactory(
        organisation=personas.org_a,
        name="Padró",
        name_ca="Padró",
        duration_minutes=30,
        offers_video=True,
        offers_in_person=True,
        min_notice_hours=2,
        max_days_ahead=14,
        offices=[personas.office_a],
    )
    agent = Membership.objects.get(user=personas.agent_a)
    agent.services.add(service)
    weekly_schedule(agent, personas.office_a, starts=dt.time(9), ends=dt.time(12))
    WorkingPattern.objects.filter(membership=agent).update(in_person=True)
    return Bookable(service=service, agent=agent, office=personas.office_a)


def other_office(personas: Personas) -> tuple[Office, Membership]:
    """A second office of organisation A, with its own agent who works nowhere else."""
    from tests.factories import MembershipFactory

    office = OfficeFactory(organisation=personas.org_a, slug="oficina-a2", name="Oficina A2")
    member = MembershipFactory(organisation=personas.org_a, user__username="agent-a2")
    member.offices.add(office)
    return office, member


def appointment(agent: Membership, start: dt.datetime, **fields: Any) -> Appointment:
    fields.setdefault("service", ServiceFactory(organisation=agent.organisation))
    return AppointmentFactory(agent=agent, starts_at=start, **fields)
