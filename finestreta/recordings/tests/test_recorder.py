"""The server records a real call: aiortc peers (tests/webrtc.py) in a call served by a real
ASGI server process, whose own recorder joins the call as a receive-only participant once the
agent asks and the citizen agreed; the files it kept play each participant for the time
recorded, are not readable media on disk, and the recording stops when the agent says, when the
call ends and when the citizen withdraws their consent (from another process, over Redis). No
consent: refused, and nobody is connected to a recorder."""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from django.conf import settings
from django.utils import timezone

from finestreta.accounts.models import Membership
from finestreta.appointments.models import Appointment
from finestreta.appointments.services import join_token
from finestreta.catalogue.models import AttentionLevel
from finestreta.identity import consent
from finestreta.identity.models import ConsentKind, ConsentMethod, ConsentRecord, ServicePolicy
from finestreta.privacy.models import AuditEvent
from finestreta.recordings import storage
from finestreta.recordings.models import Recording, Track
from finestreta.recordings.services import parts
from finestreta.video import services
from finestreta.video.models import Presence, Role
from finestreta.video.tests.test_real_peers import cookie, run, server_env
from tests.factories import AppointmentFactory, ServiceFactory
from tests.personas import Personas
from tests.processes import free_port
from tests.webrtc import Participant, asgi_server, until

pytestmark = pytest.mark.django_db(transaction=True)
EBML = b"\x1a\x45\xdf\xa3"


@dataclass(frozen=True)
class Call:
    path: str
    token: str
    agent: str
    appointment_id: int


@pytest.fixture
def key(settings: pytest.FixtureRequest) -> str:
    """The server's and this process's recording key (the server reads what it encrypted)."""
    value = Fernet.generate_key().decode()
    settings.RECORDING_KEYS = [value]  # type: ignore[attr-defined]
    return value


def booked(personas: Personas, *, agreed: bool | None, minutes_ago: int = 5) -> Call:
    service = ServiceFactory(
        organisation=personas.org_a,
        attention_level=AttentionLevel.ASSISTED,
        offices=[personas.office_a],
    )
    appointment = AppointmentFactory(
        agent=Membership.objects.get(user=personas.agent_a),
        service=service,
        office=personas.office_a,
        starts_at=timezone.now() - dt.timedelta(minutes=minutes_ago),
    )
    if agreed is not None:
        consent.record_consent(
            appointment=appointment,
            kind=ConsentKind.RECORDING,
            granted=agreed,
            method=ConsentMethod.CLICKED,
            now=timezone.now(),
        )
    room = services.get_room(appointment)
    return Call(
        path=f"/ws/{personas.org_a.slug}/video/{room.public_id}/",
        token=join_token(appointment),
        agent=cookie(personas.agent_a),
        appointment_id=appointment.pk,
    )


@pytest.fixture
def server(transactional_db, key: str, recordings_dir: Path, tmp_path: Path) -> Iterator[str]:  # type: ignore[no-untyped-def]
    port = free_port()
    env = server_env(
        RECORDING_KEYS=key, RECORDINGS_DIR=str(recordings_dir), RECORDING_CHUNK_SECONDS="1"
    )
    with asgi_server(port, env=env, log=tmp_path / "server.log", loopback=True):
        yield f"ws://127.0.0.1:{port}"


async def in_call(url: str, call: Call) -> tuple[Participant, Participant]:
    agent = Participant(url + call.path, cookie=call.agent, label="agent")
    citizen = Participant(url + call.path, token=call.token, label="citizen", tone=True)
    await agent.join()
    await citizen.join()
    await agent.admit(citizen.peer or "")
    await until(lambda: any(link.received["video"] > 10 for link in citizen.links.values()))
    return agent, citizen


def recorder_link(participant: Participant, recorder: str) -> int:
    link = participant.links.get(recorder)
    return 0 if link is None else int(link.pc.connectionState == "connected")


def test_the_server_records_each_participant_who_agreed_for_the_time_recorded(
    personas: Personas, server: str, recordings_dir: Path
) -> None:
    call = booked(personas, agreed=True)
    timings: dict[str, float] = {}

    async def scenario() -> None:
        agent, citizen = await in_call(server, call)
        try:
            mark = citizen.mark()
            await agent.send({"type": "record", "on": True})
            on = await citizen.expect("recording", lambda m: m["on"], since=mark)
            assert on["basis"] == "consent"
            joined = await citizen.expect(
                "peer-joined", lambda m: m["role"] == "recorder", since=mark
            )
            recorder = joined["peer"]
            await until(lambda: recorder_link(agent, recorder) and recorder_link(citizen, recorder))
            timings["start"] = time.monotonic()
            await asyncio.sleep(4)
            mark = agent.mark()
            await agent.send({"type": "record", "on": False})
            await agent.expect("recording", lambda m: not m["on"], since=mark)
            timings["stop"] = time.monotonic()
            await agent.expect("peer-left", lambda m: m["peer"] == recorder, since=mark)
            # The call itself goes on.
            assert all(link.connected for link in citizen.links.values() if link.peer != recorder)
        finally:
            await agent.close()
            await citizen.close()

    run(scenario, timeout=60)
    recording = Recording.objects.get(appointment_id=call.appointment_id)
    assert recording.state == Recording.State.STOPPED
    assert recording.stop_reason == Recording.Reason.STAFF
    assert recording.consent_ids == list(
        ConsentRecord.objects.filter(appointment_id=call.appointment_id).values_list(
            "pk", flat=True
        )
    )
    assert not Presence.objects.filter(role=Role.RECORDER).exists()
    found = parts(recording)
    assert sorted(part.role for part in found) == ["citizen", "staff"]
    recorded = timings["stop"] - timings["start"]
    for part in found:
        assert part.kinds == ["audio", "video"]
        media = storage.participant_temporary_file(part.tracks).read()
        assert media.startswith(EBML)
        assert storage.duration_of(media) == pytest.approx(recorded, abs=1.5)
        for track in part.tracks:
            assert track.chunks >= 2  # sealed as it went (about a chunk a second; fewer under load)
    for path in recordings_dir.rglob("*.bin"):
        assert EBML not in path.read_bytes()
    actions = set(AuditEvent.objects.values_list("action", flat=True))
    assert {AuditEvent.Action.RECORDING_STARTED, AuditEvent.Action.RECORDING_STOPPED} <= actions


def test_without_the_citizens_consent_the_call_is_not_recorded(
    personas: Personas, server: str
) -> None:
    call = booked(personas, agreed=False)

    async def scenario() -> None:
        agent, citizen = await in_call(server, call)
        try:
            mark = agent.mark()
            await agent.send({"type": "record", "on": True})
            error = await agent.expect("error", since=mark)
            assert error["code"] == "no_consent"
            await asyncio.sleep(0.5)
            assert not any(m.get("role") == "recorder" for m in citizen.received)
        finally:
            await agent.close()
            await citizen.close()

    run(scenario, timeout=40)
    assert not Recording.objects.exists()


def test_a_procedure_never_recorded_refuses_and_ending_the_call_stops_a_recording(
    personas: Personas, server: str
) -> None:
    never = booked(personas, agreed=None)
    appointment = Appointment.objects.get(pk=never.appointment_id)
    ServicePolicy.objects.create(service=appointment.service, recording="never")
    legal = booked(personas, agreed=None, minutes_ago=45)
    appointment = Appointment.objects.get(pk=legal.appointment_id)
    ServicePolicy.objects.create(
        service=appointment.service, recording="legal_basis", legal_basis="Llei 19/2014, art. 5"
    )

    async def scenario() -> None:
        agent, citizen = await in_call(server, never)
        try:
            mark = agent.mark()
            await agent.send({"type": "record", "on": True})
            assert (await agent.expect("error", since=mark))["code"] == "never"
        finally:
            await agent.close()
            await citizen.close()
        agent, citizen = await in_call(server, legal)
        try:
            mark = citizen.mark()
            await agent.send({"type": "record", "on": True})
            on = await citizen.expect("recording", lambda m: m["on"], since=mark)
            assert on["basis"] == "legal_basis" and on["legal_basis"] == "Llei 19/2014, art. 5"
            await citizen.expect("peer-joined", lambda m: m["role"] == "recorder", since=mark)
            await asyncio.sleep(1.5)
            await agent.send({"type": "end"})
            await citizen.expect("ended", since=mark)
        finally:
            await agent.close()
            await citizen.close()

    run(scenario, timeout=60)
    recording = Recording.objects.get()
    assert recording.appointment_id == legal.appointment_id
    assert recording.basis == Recording.Basis.LEGAL_BASIS
    await_until_stopped(recording)
    assert Recording.objects.get().stop_reason == Recording.Reason.ENDED


def await_until_stopped(recording: Recording, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while Recording.objects.get(pk=recording.pk).live:
        assert time.monotonic() < deadline, "the recording did not stop"
        time.sleep(0.1)


def test_withdrawing_consent_in_another_process_stops_the_recording_at_once(
    personas: Personas, key: str, recordings_dir: Path, redis_url: str, tmp_path: Path
) -> None:
    call = booked(personas, agreed=True)
    port = free_port()
    env = server_env(
        RECORDING_KEYS=key,
        RECORDINGS_DIR=str(recordings_dir),
        RECORDING_CHUNK_SECONDS="1",
        REDIS_URL=redis_url,
    )
    from channels.layers import channel_layers
    from django.test import override_settings

    redis_layers = {
        "default": {
            "BACKEND": "finestreta.lib.channel_layer.LocalFirstPubSubChannelLayer",
            "CONFIG": {"hosts": [{"address": redis_url}], "prefix": settings.CHANNEL_PREFIX},
        }
    }
    with (
        asgi_server(port, env=env, log=tmp_path / "server.log", loopback=True),
        override_settings(CHANNEL_LAYERS=redis_layers),
    ):
        channel_layers.backends = {}
        url = f"ws://127.0.0.1:{port}"
        try:

            async def scenario() -> None:
                from asgiref.sync import sync_to_async

                agent, citizen = await in_call(url, call)
                try:
                    mark = citizen.mark()
                    await agent.send({"type": "record", "on": True})
                    await citizen.expect(
                        "peer-joined", lambda m: m["role"] == "recorder", since=mark
                    )
                    await asyncio.sleep(2)
                    mark = citizen.mark()
                    await sync_to_async(withdraw)(call.appointment_id)
                    await citizen.expect("recording", lambda m: not m["on"], since=mark, timeout=5)
                finally:
                    await agent.close()
                    await citizen.close()

            run(scenario, timeout=60)
        finally:
            channel_layers.backends = {}
    recording = Recording.objects.get()
    assert recording.stop_reason == Recording.Reason.WITHDRAWN
    assert Track.objects.filter(recording=recording).exists()  # what was recorded is kept


def withdraw(appointment_id: int) -> None:
    """As the citizen's page does, in this process (run in a thread of its own: its database
    connection is closed after, or PostgreSQL keeps the test database busy)."""
    from django.db import connection

    try:
        record = ConsentRecord.objects.get(
            appointment_id=appointment_id, kind=ConsentKind.RECORDING
        )
        consent.withdraw_consent(record=record, method=ConsentMethod.CLICKED, now=timezone.now())
    finally:
        connection.close()
