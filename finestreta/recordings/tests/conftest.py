from __future__ import annotations

import datetime as dt
import itertools
from pathlib import Path

import pytest
from django.utils import timezone

from finestreta.accounts.models import Membership
from finestreta.catalogue.models import AttentionLevel
from finestreta.recordings.models import Recording
from finestreta.video import services
from tests.factories import AppointmentFactory, ServiceFactory
from tests.personas import Personas


@pytest.fixture(autouse=True)
def recordings_dir(settings: pytest.FixtureRequest, tmp_path: Path) -> Path:
    settings.RECORDINGS_DIR = tmp_path / "recordings"  # type: ignore[attr-defined]
    settings.RECORDING_KEYS = []  # type: ignore[attr-defined]
    return tmp_path / "recordings"


HOURS = itertools.count()  # each recording's appointment an hour after the last one's


def make_recording(personas: Personas, **fields: object) -> Recording:
    service = ServiceFactory(
        organisation=personas.org_a,
        attention_level=AttentionLevel.ASSISTED,
        offices=[personas.office_a],
    )
    appointment = AppointmentFactory(
        agent=Membership.objects.get(user=personas.agent_a),
        service=service,
        office=personas.office_a,
        channel="video",
        starts_at=dt.datetime(2026, 12, 1, 9, tzinfo=dt.UTC) + dt.timedelta(hours=next(HOURS)),
    )
    room = services.get_room(appointment)
    now = timezone.now()
    values: dict[str, object] = {
        "organisation": personas.org_a,
        "appointment": appointment,
        "room": room,
        "basis": Recording.Basis.CONSENT,
        "started_by": personas.agent_a,
        "started_at": now,
        "state": Recording.State.RECORDING,
        "delete_after": now + dt.timedelta(days=30),
    }
    values.update(fields)
    return Recording.objects.create(**values)
