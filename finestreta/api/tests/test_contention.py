"""Fifty citizens press "book" on the same time at once, over real HTTP against the real server
(`manage.py serve`, as `make run` starts it), several times: exactly one gets it; every other one gets a clear 409 "slot_taken" with the next
free times; nobody gets a server error; and a retry with the winner's Idempotency-Key returns
the same appointment."""

from __future__ import annotations

import datetime as dt
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from django.db import connection
from django.utils import timezone

from finestreta.accounts.models import Membership
from finestreta.appointments.models import Appointment
from finestreta.catalogue.models import Channel
from finestreta.scheduling.models import WorkingPattern
from finestreta.scheduling.services import find_slots
from tests.factories import ServiceFactory
from tests.processes import child_env, free_port, running, wait_until

PARALLEL = 50


@pytest.fixture
def bookable(personas):  # type: ignore[no-untyped-def]
    service = ServiceFactory(
        organisation=personas.org_a,
        slug="contended",
        offers_video=True,
        duration_minutes=30,
        min_notice_hours=0,
        max_days_ahead=7,
    )
    agent = Membership.objects.get(user=personas.agent_a)
    agent.services.add(service)
    for weekday in range(7):  # every day, all day: free times whenever the suite runs
        WorkingPattern.objects.create(
            membership=agent,
            office=personas.office_a,
            weekday=weekday,
            starts=dt.time(0),
            ends=dt.time(23, 30),
            valid_from=dt.date(2026, 1, 1),
        )
    return service


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("many_connections")
def test_fifty_parallel_http_bookings_of_one_time_have_one_winner_and_no_server_error(
    bookable,
) -> None:
    port = free_port()
    env = child_env(DEBUG="1", API_WRITE_RATE="10000/minute", API_READ_RATE="10000/minute")
    with running(["serve", "--port", str(port)], env=env) as server:
        base = f"http://127.0.0.1:{port}"
        assert wait_until(lambda: _up(base), timeout=60), server
        _contend(f"{base}/api/v1/org-a/bookings/", bookable)
    connection.close()


def _up(base: str) -> bool:
    try:
        return requests.get(f"{base}/healthz", timeout=2).status_code == 200
    except requests.ConnectionError:
        return False


def _contend(url: str, bookable) -> None:  # type: ignore[no-untyped-def]
    starts = [
        s.start for s in find_slots(service=bookable, channel=Channel.VIDEO, now=timezone.now())
    ]
    for round_, start in enumerate(starts[2:5]):  # three rounds, three different times
        barrier = threading.Barrier(PARALLEL)

        def attempt(
            i: int,
            start: dt.datetime = start,
            round_: int = round_,
            barrier: threading.Barrier = barrier,
        ) -> requests.Response:
            body = {
                "service": "contended",
                "channel": "video",
                "start": start.isoformat(),
                "contact": {"name": f"Persona {i}", "email": f"p{round_}-{i}@example.org"},
            }
            barrier.wait(timeout=30)
            return requests.post(
                url, json=body, headers={"Idempotency-Key": f"r{round_}-{i}"}, timeout=60
            )

        with ThreadPoolExecutor(max_workers=PARALLEL) as pool:
            responses = list(pool.map(attempt, range(PARALLEL)))
        statuses = sorted(r.status_code for r in responses)
        assert statuses.count(201) == 1, statuses
        assert statuses.count(409) == PARALLEL - 1, statuses
        for response in responses:
            if response.status_code == 409:
                error = response.json()["error"]
                assert error["code"] == "slot_taken" and error["alternatives"], error
        winner = next(r for r in responses if r.status_code == 201)
        assert Appointment.objects.filter(starts_at=start, status="booked").count() == 1
        index = responses.index(winner)
        again = requests.post(
            url,
            json={
                "service": "contended",
                "channel": "video",
                "start": start.isoformat(),
                "contact": {"name": f"Persona {index}", "email": f"p{round_}-{index}@example.org"},
            },
            headers={"Idempotency-Key": f"r{round_}-{index}"},
            timeout=60,
        )
        assert again.status_code == 200
        assert again.json()["code"] == winner.json()["code"]
