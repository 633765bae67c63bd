"""Two workers purging at once on PostgreSQL take different rows (SKIP LOCKED): every row is
removed once, announced once and counted once. SQLite writes one transaction at a time."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from django.db import connection, connections
from django.utils import timezone

from finestreta.appointments.models import Appointment
from finestreta.integrations import services as integrations
from finestreta.integrations.models import Event, Subscription
from finestreta.privacy.purge import PurgeReport
from finestreta.privacy.services import purge_expired_data, verify_chain
from tests.factories import AppointmentFactory
from tests.personas import Personas


@pytest.mark.django_db(transaction=True)
def test_two_workers_purging_at_once_remove_each_row_once(personas: Personas) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("SQLite writes one transaction at a time")
    Subscription.objects.create(
        organisation=personas.org_a,
        url="https://cases.example.org/hooks",
        secret=integrations.new_secret(),
        event_types=["data.deleted"],
    )
    agent = personas.membership(personas.agent_a)
    start = timezone.now() - dt.timedelta(days=2000)
    codes = {
        AppointmentFactory(
            agent=agent,
            service=personas.service_a,
            status="attended",
            name="",
            email="",
            starts_at=start + dt.timedelta(hours=n),
        ).code
        for n in range(40)
    }
    workers = 2
    barrier = threading.Barrier(workers)
    reports: list[PurgeReport] = []
    failures: list[BaseException] = []

    def work() -> None:
        try:
            barrier.wait()
            reports.append(
                purge_expired_data(now=timezone.now(), organisation=personas.org_a, batch_size=3)
            )
        except BaseException as error:  # noqa: BLE001 - reported below
            failures.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=work) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not failures
    assert all(not report.failed for report in reports)
    assert not Appointment.objects.filter(organisation=personas.org_a).exists()
    assert sum(report.total("appointments") for report in reports) == 40
    announced = [
        code
        for event in Event.objects.filter(organisation=personas.org_a, type="data.deleted")
        for code in event.payload["data"]["ids"]
    ]
    assert sorted(announced) == sorted(codes)  # each once
    assert verify_chain(personas.org_a).ok
