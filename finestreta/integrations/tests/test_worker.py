"""The real task worker (`manage.py worker`, as in production) delivers webhooks by itself, and
one killed with SIGKILL in the middle of a request loses nothing: its successor sends the
delivery again once the claim times out, with the same event id for the receiver to drop."""

from __future__ import annotations

import subprocess
import threading

import pytest
from django.db import transaction

from finestreta.integrations import services
from finestreta.integrations.models import Delivery
from finestreta.integrations.tests.conftest import subscribe
from finestreta.integrations.tests.receiver import Answer, Receiver, verify
from tests.personas import Personas
from tests.processes import child_env, running, wait_until

pytestmark = pytest.mark.django_db(transaction=True)


def drain(process: subprocess.Popen) -> list[str]:
    lines: list[str] = []
    assert process.stdout is not None
    threading.Thread(target=lambda: lines.extend(process.stdout), daemon=True).start()
    return lines


def worker(worker_id: str) -> list[str]:
    return ["worker", "--no-reload", "--no-startup-delay", "--worker-id", worker_id]


def test_a_worker_killed_mid_delivery_loses_nothing(personas: Personas, receiver: Receiver) -> None:
    subscription = subscribe(personas.org_a, receiver.url)
    with transaction.atomic():
        event = services.emit(
            organisation=personas.org_a,
            event_type="data.deleted",
            data={"kind": "appointment", "ids": ["K1"]},
        )
    assert event is not None
    # The first request is held long enough for the kill to land before any answer.
    receiver.answers = [Answer(200, delay=30)]
    env = child_env(
        LOG_LEVEL="WARNING",
        WEBHOOKS_CLAIM_TIMEOUT_SECONDS="2",
        NOTIFICATIONS_SWEEP_SECONDS="1",
    )

    with running(worker("doomed"), env=env) as doomed:
        log = drain(doomed)
        assert wait_until(lambda: len(receiver.received) == 1, timeout=30), "".join(log)
        doomed.kill()  # no clean-up: the delivery stays claimed
        doomed.wait()
    delivery = Delivery.objects.get()
    assert (delivery.status, delivery.attempts) == ("sending", 0)

    with running(worker("successor"), env=env) as successor:
        log = drain(successor)
        assert wait_until(
            lambda: Delivery.objects.filter(status="delivered").exists(), timeout=30
        ), "".join(log)

    delivery.refresh_from_db()
    assert delivery.attempts == 1  # the killed attempt left no record: it never finished
    first, second = receiver.received
    assert first.event_id == second.event_id == str(event.uid)
    assert first.body == second.body
    assert verify(subscription.secret, second.headers, second.body)
