"""A bookable service for organisation A: agent A works at office A 9:00-14:00 on weekdays, by
video and in person, and time stands still on Monday 30 November 2026 at 8:00 in Madrid."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.cache import cache
from rest_framework.test import APIClient

from finestreta.accounts.models import Membership
from finestreta.catalogue.models import Service
from tests.factories import weekly_schedule
from tests.personas import Personas

MADRID = ZoneInfo("Europe/Madrid")
NOW = dt.datetime(2026, 11, 30, 7, 0, tzinfo=dt.UTC)  # Monday 08:00 in Madrid
TEN = dt.datetime(2026, 12, 1, 10, 0, tzinfo=MADRID)  # Tuesday 10:00


@dataclass
class Bookable:
    personas: Personas
    service: Service
    agent: Membership

    @property
    def base(self) -> str:
        return f"/api/v1/{self.personas.org_a.slug}"

    def contact(self, **changes: object) -> dict[str, object]:
        return {"name": "Núria Vidal", "email": "nuria@example.org", **changes}

    def booking(self, start: dt.datetime = TEN, **changes: object) -> dict[str, object]:
        return {
            "service": self.service.slug,
            "channel": "video",
            "start": start.isoformat(),
            "contact": self.contact(),
            **changes,
        }


@pytest.fixture(autouse=True)
def fresh_throttles() -> Iterator[None]:
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def frozen() -> Iterator[None]:
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def bookable(personas: Personas, frozen: None) -> Bookable:
    service = personas.service_a
    service.offers_in_person = True
    service.duration_minutes = 30
    service.max_days_ahead = 14
    service.save()
    agent = Membership.objects.get(user=personas.agent_a)
    agent.services.add(service)
    for pattern in weekly_schedule(agent, personas.office_a):
        pattern.in_person = True
        pattern.save()
    return Bookable(personas=personas, service=service, agent=agent)


@pytest.fixture
def api() -> APIClient:
    return APIClient()
