"""The multi-process proof (production issue): PostgreSQL, Redis, two web processes (uvicorn, as
production runs them) and two task workers, all separate processes on this machine, and one
end-to-end scenario across them:

1. a booking storm: twelve citizens try the same time at once, half through each web process —
   exactly one is booked, the others get 409 `slot_taken`; nobody is booked twice;
2. the winner's confirmation and, when its time comes, their reminder reach a real SMTP server
   (aiosmtpd) exactly once, from whichever worker claimed them;
3. a video call whose citizen is on one web process and whose agent is on the other: real WebRTC
   peers (aiortc), media both ways, chat through Redis;
4. the virtual queue: a walk-in waits, an agent becomes available, a worker's routing loop
   offers them the citizen, and the agent's desk socket — on a web process, not the worker —
   hears of it through Redis.

It runs in the PostgreSQL pass (the engines production uses; on the SQLite pass it is skipped by
design: several writing processes are what SQLite is not for). Bounded: about half a minute.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import http.client
import json
import threading
import time
from collections import Counter
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone
from websockets.asyncio.client import connect

from finestreta.accounts.models import Membership
from finestreta.appointments.models import Appointment
from finestreta.appointments.services import join_token
from finestreta.notifications.models import Message, MessagingSettings
from finestreta.notifications.tests.test_worker_kill import smtp_server
from finestreta.queueing import services as queueing
from finestreta.queueing.models import QueueEntry
from finestreta.video import services as video
from finestreta.video.models import ChatLine
from finestreta.video.tests.test_real_peers import (
    chat_passes,
    closing,
    cookie,
    into_the_call,
    media_flows,
)
from tests.factories import AppointmentFactory, WorkingPatternFactory
from tests.personas import Personas
from tests.processes import child_env, free_port, running, wait_until
from tests.webrtc import Participant, asgi_server

pytestmark = pytest.mark.django_db(transaction=True)

CITIZENS = 12


@pytest.fixture(autouse=True)
def on_postgresql() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("the PostgreSQL pass runs it: several writing processes need PostgreSQL")


class Inbox:
    """aiosmtpd handler: every message received, by recipient and subject."""

    def __init__(self) -> None:
        self.received: list[tuple[str, str, str]] = []  # (recipient, Message-ID, subject)
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def] # noqa: N802
        from email.parser import BytesHeaderParser

        headers = BytesHeaderParser().parsebytes(envelope.content)
        with self.lock:
            for recipient in envelope.rcpt_tos:
                self.received.append((recipient, str(headers["Message-ID"]), headers["Subject"]))
        return "250 OK"

    def to(self, recipient: str) -> list[tuple[str, str, str]]:
        with self.lock:
            return [r for r in self.received if r[0] == recipient]


def post_json(port: int, path: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
    try:
        conn.request(
            "POST",
            path,
            body=json.dumps(body),
            headers={"Content-Type": "application/json", "Host": "127.0.0.1"},
        )
        answer = conn.getresponse()
        return answer.status, json.loads(answer.read() or b"{}")
    finally:
        conn.close()


def get_json(port: int, path: str) -> dict[str, Any]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
    try:
        conn.request("GET", path, headers={"Host": "127.0.0.1"})
        answer = conn.getresponse()
        assert answer.status == 200, answer.read()
        return json.loads(answer.read())
    finally:
        conn.close()


def open_all_week(membership: Membership, office: Any) -> None:
    """The agent works every day round the clock, so that the test finds times whenever it runs."""
    for weekday in range(7):
        WorkingPatternFactory(
            membership=membership,
            office=office,
            weekday=weekday,
            starts=dt.time(0),
            ends=dt.time(23, 59),
        )


def storm(ports: list[int], org: str, service: str, start: str) -> list[tuple[int, dict]]:
    """CITIZENS bookings of one time at once, alternating between the web processes."""
    answers: list[tuple[int, dict]] = [(0, {})] * CITIZENS
    barrier = threading.Barrier(CITIZENS)

    def book(n: int) -> None:
        barrier.wait()
        answers[n] = post_json(
            ports[n % 2],
            f"/api/v1/{org}/bookings/",
            {
                "service": service,
                "channel": "video",
                "start": start,
                "contact": {"name": f"Persona {n}", "email": f"persona{n}@example.org"},
            },
        )

    threads = [threading.Thread(target=book, args=(n,)) for n in range(CITIZENS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return answers


async def desk_hears_an_offer(url: str, agent_cookie: str, offered: Any) -> None:
    """The agent's desk socket (on a web process) receives `changed` once the worker routed."""
    async with connect(
        url,
        additional_headers={"Cookie": agent_cookie},
        origin="http://127.0.0.1",  # type: ignore[arg-type]
    ) as socket:
        welcome = json.loads(await asyncio.wait_for(socket.recv(), 10))
        assert welcome["type"] == "welcome"
        await asyncio.to_thread(offered)
        while True:
            message = json.loads(await asyncio.wait_for(socket.recv(), 15))
            if message["type"] == "changed":
                return


def test_booking_reminders_a_call_and_the_queue_work_across_two_web_processes_and_two_workers(
    personas: Personas, redis_url: str, tmp_path: Path
) -> None:
    started = time.monotonic()
    org, service = personas.org_a, personas.service_a
    agent = Membership.objects.get(user=personas.agent_a)
    agent.services.add(service)
    open_all_week(agent, personas.office_a)
    MessagingSettings.objects.update_or_create(organisation=org, defaults={"reminder_hours": "1"})
    inbox = Inbox()
    web = [free_port(), free_port()]
    with ExitStack() as stack:
        smtp_port = free_port()
        stack.enter_context(smtp_server(inbox, smtp_port))
        env = child_env(
            DEBUG="1",
            LOG_LEVEL="WARNING",
            REDIS_URL=redis_url,
            NOTIFICATIONS_EMAIL="smtp",
            EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
            EMAIL_HOST="127.0.0.1",
            EMAIL_PORT=str(smtp_port),
            QUEUE_POLL_SECONDS="1",
            API_WRITE_RATE="1000/min",
        )
        for n, port in enumerate(web):
            stack.enter_context(asgi_server(port, env=env, log=tmp_path / f"web-{n}.log"))
        workers = [
            stack.enter_context(
                running(
                    ["worker", "--no-reload", "--no-startup-delay", "--worker-id", f"w{n}"],
                    env=env,
                )
            )
            for n in range(2)
        ]

        # 1. The storm, on the first free time at least two hours ahead (so that its one-hour
        # reminder is still to come).
        free = get_json(
            web[0],
            f"/api/v1/{org.slug}/services/{service.slug}/availability/?channel=video&days=3",
        )
        later = timezone.now() + dt.timedelta(hours=2)
        start = next(
            slot["start"]
            for slot in free["slots"]
            if dt.datetime.fromisoformat(slot["start"]) > later
        )
        answers = storm(web, org.slug, service.slug, start)
        statuses = Counter(status for status, _body in answers)
        assert statuses == {201: 1, 409: CITIZENS - 1}, answers
        assert all(
            body["error"]["code"] == "slot_taken" for status, body in answers if status == 409
        )
        booked = Appointment.objects.get(status=Appointment.Status.BOOKED)
        winner = booked.email

        # 2. Its confirmation, once; then its reminder, once, when its time comes (brought
        # forward here: the one-hour reminder would leave an hour from now).
        assert wait_until(lambda: len(inbox.to(winner)) >= 1, timeout=20), inbox.received
        reminder = Message.objects.get(appointment=booked, kind="reminder", channel="email")
        Message.objects.filter(pk=reminder.pk).update(send_after=timezone.now())
        assert wait_until(lambda: len(inbox.to(winner)) >= 2, timeout=20), inbox.received
        time.sleep(2)  # time for a copy to show, were one sent
        assert len(inbox.to(winner)) == 2
        assert len({message_id for _to, message_id, _subject in inbox.to(winner)}) == 2
        assert {to for to, _id, _subject in inbox.received} == {winner}  # the others: nothing
        assert (
            not Message.objects.exclude(status__in=Message.TERMINAL)
            .exclude(send_after__gt=timezone.now())
            .exists()
        )

        # 3. A call with its two sides on the two web processes.
        now = timezone.now()
        appointment = AppointmentFactory(
            agent=agent, service=service, starts_at=now - dt.timedelta(minutes=5)
        )
        room = video.get_room(appointment)
        path = f"/ws/{org.slug}/video/{room.public_id}/"
        citizen = Participant(f"ws://127.0.0.1:{web[0]}{path}", token=join_token(appointment))
        staff = Participant(f"ws://127.0.0.1:{web[1]}{path}", cookie=cookie(personas.agent_a))

        async def call() -> None:
            async with closing(citizen, staff):
                await into_the_call(citizen, staff)
                await media_flows(citizen, staff)
                await chat_passes(citizen, staff, "M'escolta?")

        asyncio.run(asyncio.wait_for(call(), 40))
        connection.close()
        assert ChatLine.objects.filter(room=room, text="M'escolta?").count() == 1

        # 4. The queue: routed by a worker, heard on a web process's desk socket.
        entry = queueing.enter_queue(
            organisation=org,
            service=service,
            channel="video",
            name="Joana",
            phone="+34612345678",
            now=timezone.now(),
        )

        def available() -> None:
            queueing.set_desk_status(membership=agent, state="available", now=timezone.now())

        desk = f"ws://127.0.0.1:{web[1]}/ws/{org.slug}/desk/"
        asyncio.run(
            asyncio.wait_for(desk_hears_an_offer(desk, cookie(personas.agent_a), available), 30)
        )
        connection.close()
        entry.refresh_from_db()
        assert entry.state == QueueEntry.State.OFFERED and entry.offered_to == agent
        assert all(worker.poll() is None for worker in workers), "a worker stopped"
    assert time.monotonic() - started < 120
