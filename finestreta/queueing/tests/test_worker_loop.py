"""The worker's queue loop, in a real worker process: a citizen waiting and a free agent get an
offer without anybody asking, and an offer nobody accepts goes back to the queue."""

from __future__ import annotations

import pytest
from django.utils import timezone

from finestreta.queueing import services
from finestreta.queueing.models import DeskStatus, Lapse, QueueEntry
from tests.factories import MembershipFactory
from tests.processes import child_env, running, wait_until


@pytest.mark.django_db(transaction=True)
def test_the_worker_offers_waiting_citizens_to_free_agents_and_takes_back_lapsed_offers(
    personas,
) -> None:
    agent = MembershipFactory(organisation=personas.org_a)
    agent.services.set([personas.service_a])
    services.set_desk_status(membership=agent, state="available", now=timezone.now())
    citizen = services.enter_queue(
        organisation=personas.org_a,
        service=personas.service_a,
        channel="video",
        name="Núria",
        now=timezone.now(),
    )
    env = child_env(QUEUE_POLL_SECONDS="1", QUEUE_OFFER_SECONDS="2")
    with running(["worker", "--no-reload", "--worker-id", "queue-worker"], env=env) as worker:
        offered = wait_until(
            lambda: QueueEntry.objects.filter(
                pk=citizen.pk, state="offered", offered_to=agent
            ).exists(),
            timeout=20,
        )
        assert offered, worker.stdout
        lapsed = wait_until(
            lambda: Lapse.objects.filter(entry=citizen, membership=agent).exists(), timeout=20
        )
        assert lapsed, worker.stdout
    assert QueueEntry.objects.get(pk=citizen.pk).state == "waiting"
    assert DeskStatus.objects.get(membership=agent).state == "paused"
