"""Real WebRTC peers (aiortc, tests/webrtc.py) through the real server, running as separate ASGI
processes (uvicorn), using only the documented protocol (docs/signaling.md): a call with audio,
video and chat (one side trickling its ICE candidates as a browser does, the other sending one
complete SDP as aiortc does); a refused cross-tenant join; a call whose two sides sit on two
server processes joined by the Redis channel layer; and a call that survives the server being
killed mid-call (media flow peer to peer meanwhile; both sides resume, then renegotiate and
restart ICE).

The clients run in this process on one event loop; the server processes read the test database.
Each scenario is bounded by a timeout; the whole file takes well under a minute.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from aiortc import RTCConfiguration, RTCIceServer, RTCPeerConnection
from django.conf import settings
from django.db import connection
from django.test import override_settings
from django.utils import timezone

from finestreta.accounts.models import Membership
from finestreta.appointments.services import join_token
from finestreta.video import services
from finestreta.video.models import ChatLine, Presence, RoomEvent
from tests.factories import AppointmentFactory
from tests.personas import log_in
from tests.processes import child_env, coturn, free_port
from tests.webrtc import (
    Participant,
    Refused,
    asgi_server,
    start_asgi_server,
    stop,
    until,
    use_loopback,
    use_relay_only,
)

pytestmark = pytest.mark.django_db(transaction=True)

AUDIO_FRAMES, VIDEO_FRAMES = 25, 15  # more than this must arrive each way (≈0.5 s of media)
FAST = (0.2, 1.0)  # reconnection backoff in these tests: first delay and cap, in seconds


@dataclass(frozen=True)
class Call:
    """What the async part of a test needs, made before it (it cannot use the ORM)."""

    path: str
    token: str
    agent: str  # the agent's session cookie
    stranger: str  # the session cookie of another organisation's agent


@pytest.fixture
def call(personas) -> Call:  # type: ignore[no-untyped-def]
    # The join window is open now: a subprocess cannot share a frozen clock.
    appointment = AppointmentFactory(
        agent=Membership.objects.get(user=personas.agent_a),
        service=personas.service_a,
        starts_at=timezone.now() - dt.timedelta(minutes=5),
    )
    room = services.get_room(appointment)
    return Call(
        path=f"/ws/{personas.org_a.slug}/video/{room.public_id}/",
        token=join_token(appointment),
        agent=cookie(personas.agent_a),
        stranger=cookie(personas.agent_b),
    )


def cookie(user) -> str:  # type: ignore[no-untyped-def]
    client = log_in(user)
    return f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"


def server_env(**extra: str) -> dict[str, str]:
    return child_env(**{"DEBUG": "1", "LOG_LEVEL": "WARNING", "REDIS_URL": "", **extra})


@pytest.fixture(scope="module")
def logs(tmp_path_factory) -> Path:  # type: ignore[no-untyped-def]
    return tmp_path_factory.mktemp("servers")


@pytest.fixture
def server(transactional_db, logs: Path) -> Iterator[str]:  # type: ignore[no-untyped-def]
    """An ASGI server with the in-memory channel layer, for the single-process tests. One per
    test, stopped before the test's database is flushed: a server still recording a closed
    socket's `leave` while PostgreSQL truncates the tables deadlocks the flush."""
    port = free_port()
    with asgi_server(port, env=server_env(), log=logs / f"server-{port}.log"):
        yield f"ws://127.0.0.1:{port}"


def run(scenario: Callable[[], Awaitable[None]], *, timeout: float = 30) -> None:
    async def bounded() -> None:
        await asyncio.wait_for(scenario(), timeout)

    asyncio.run(bounded())
    connection.close()


@asynccontextmanager
async def closing(*participants: Participant) -> AsyncIterator[None]:
    try:
        yield
    finally:
        await asyncio.gather(*(p.close() for p in participants))
    for participant in participants:
        assert not participant.failures, (participant, participant.failures)


async def into_the_call(citizen: Participant, agent: Participant) -> None:
    """The documented way in: the citizen waits, the agent admits, the citizen offers."""
    welcome = await citizen.join()
    assert (welcome["role"], welcome["state"], welcome["peers"]) == ("citizen", "waiting", [])
    staff = await agent.join()
    assert (staff["role"], staff["state"]) == ("staff", "admitted")
    assert [w["peer"] for w in staff["waiting"]] == [citizen.peer]
    await agent.admit(citizen.peer)
    admitted = await citizen.expect("admitted")
    assert [p["peer"] for p in admitted["peers"]] == [agent.peer]
    joined = await agent.expect("peer-joined")
    assert (joined["peer"], joined["role"]) == (citizen.peer, "citizen")
    await until(lambda: connected(citizen, agent), timeout=10, what="ICE and DTLS connected")
    assert citizen.links[agent.peer].offerer and not agent.links[citizen.peer].offerer


def connected(citizen: Participant, agent: Participant) -> bool:
    ends = [citizen.links.get(agent.peer or ""), agent.links.get(citizen.peer or "")]
    return all(link is not None and link.connected for link in ends)


async def media_flows(citizen: Participant, agent: Participant) -> None:
    """From now on, each side receives audio and video frames from the other."""
    ends = [citizen.links[agent.peer or ""], agent.links[citizen.peer or ""]]
    before = [(link.received["audio"], link.received["video"]) for link in ends]

    def enough() -> bool:
        return all(
            link.received["audio"] > audio + AUDIO_FRAMES
            and link.received["video"] > video + VIDEO_FRAMES
            for link, (audio, video) in zip(ends, before, strict=True)
        )

    await until(enough, timeout=15, what=f"media both ways, {ends!r}")


async def chat_passes(sender: Participant, receiver: Participant, text: str) -> dict:
    """A chat line: stored with the room's next number, acknowledged to the sender, delivered
    to the other side."""
    since = receiver.mark()
    ref = await sender.say(text)
    ack = await sender.acknowledged(ref)
    assert (ack["text"], ack["peer"], ack["ref"]) == (text, sender.peer, ref)
    line = await receiver.expect("chat", lambda m: m["seq"] == ack["seq"], since=since)
    assert line["text"] == text and line["peer"] == sender.peer
    return ack


def test_a_citizen_and_an_agent_see_hear_and_write_to_each_other_through_the_server(
    call: Call, server: str
) -> None:
    url = server + call.path
    citizen = Participant(url, token=call.token, label="citizen")
    # The agent's side trickles its candidates, as a browser does; the citizen's does not.
    agent = Participant(url, cookie=call.agent, trickle=True, label="agent")

    async def scenario() -> None:
        async with closing(citizen, agent):
            await into_the_call(citizen, agent)
            await media_flows(citizen, agent)
            trickled = [m["candidate"] for m in citizen.received if "candidate" in m]
            assert trickled[-1] is None and trickled[0]["candidate"].startswith("candidate:")
            assert not any("candidate" in m for m in agent.received if m["type"] == "signal")
            first = await chat_passes(citizen, agent, "Bon dia")
            second = await chat_passes(agent, citizen, "Bon dia, digui'm")
            assert (first["seq"], second["seq"]) == (1, 2)
            # A resend of an acknowledged ref (a lost acknowledgement) is not stored again.
            since = citizen.mark()
            await citizen.send({"type": "chat", "text": "Bon dia", "ref": first["ref"]})
            again = await citizen.expect("chat", since=since)
            assert (again["seq"], again["ref"]) == (1, first["ref"])
            await citizen.send({"type": "ping"})
            await citizen.expect("pong")
            await agent.leave()
            await citizen.expect("peer-left", lambda m: m["peer"] == agent.peer)

    run(scenario)
    assert list(ChatLine.objects.order_by("seq").values_list("seq", "text")) == [
        (1, "Bon dia"),
        (2, "Bon dia, digui'm"),
    ]
    assert RoomEvent.objects.filter(kind="admitted").count() == 1


def test_another_organisation_s_staff_is_refused_by_the_server(call: Call, server: str) -> None:
    async def scenario() -> None:
        stranger = Participant(server + call.path, cookie=call.stranger, webrtc=False)
        with pytest.raises(Refused) as refused:
            await stranger.join()
        await stranger.close()
        assert (refused.value.code, refused.value.close) == ("not_allowed", 4403)

    run(scenario, timeout=15)
    assert not Presence.objects.exists()


def test_the_two_sides_of_a_call_may_sit_on_two_server_processes_joined_by_redis(
    call: Call, redis_url: str, logs: Path
) -> None:
    ports = [free_port(), free_port()]
    env = server_env(REDIS_URL=redis_url)
    with (
        asgi_server(ports[0], env=env, log=logs / "redis-a.log"),
        asgi_server(ports[1], env=env, log=logs / "redis-b.log"),
    ):
        citizen = Participant(f"ws://127.0.0.1:{ports[0]}{call.path}", token=call.token)
        agent = Participant(f"ws://127.0.0.1:{ports[1]}{call.path}", cookie=call.agent)

        async def scenario() -> None:
            async with closing(citizen, agent):
                await into_the_call(citizen, agent)
                await media_flows(citizen, agent)
                await chat_passes(citizen, agent, "Em sentiu?")
                await chat_passes(agent, citizen, "Perfectament.")

        run(scenario)
    assert ChatLine.objects.count() == 2


def relay_candidates(participant: Participant, peer: str) -> set[str]:
    """The kinds of ICE candidate this side gathered for its connection with `peer`."""
    transport = participant.links[peer].pc.getTransceivers()[0].sender.transport.transport
    return {candidate.type for candidate in transport.iceGatherer.getLocalCandidates()}


def test_a_call_connects_through_a_real_turn_server_with_the_credentials_the_server_issues(
    call: Call, logs: Path
) -> None:
    """Neither side offers a host address: the only way is the relay of a real coturn, with the
    short-lived TURN REST credentials each side got in `welcome` (the server shares coturn's
    secret, the clients never see it)."""
    secret = secrets.token_urlsafe(24)
    with coturn(secret) as turn:
        port = free_port()
        env = server_env(
            VIDEO_TURN_URLS=f"turn:127.0.0.1:{turn}?transport=udp", VIDEO_TURN_SECRET=secret
        )
        with asgi_server(port, env=env, log=logs / f"turn-{port}.log"):
            url = f"ws://127.0.0.1:{port}{call.path}"
            citizen = Participant(url, token=call.token, relay_only=True, label="citizen")
            agent = Participant(url, cookie=call.agent, relay_only=True, label="agent")

            async def scenario() -> None:
                async with closing(citizen, agent):
                    await into_the_call(citizen, agent)
                    await media_flows(citizen, agent)
                    for one, other in ((citizen, agent), (agent, citizen)):
                        assert relay_candidates(one, other.peer or "") == {"relay"}
                    (server,) = citizen.welcome["ice_servers"]
                    assert server["username"].endswith(":" + (citizen.peer or ""))
                    assert secret not in str(citizen.welcome)

            try:
                run(scenario)
            finally:
                use_loopback()  # for the tests that follow


def test_credentials_made_with_another_secret_get_no_relay_from_the_turn_server() -> None:
    """What a wrong VIDEO_TURN_SECRET looks like from a client: coturn refuses the allocation,
    so no relayed candidate is gathered (the check page then says the network blocks calls)."""
    with (
        coturn(secrets.token_urlsafe(24)) as turn,
        override_settings(
            VIDEO_TURN_URLS=[f"turn:127.0.0.1:{turn}?transport=udp"],
            VIDEO_TURN_SECRET="not-the-secret",
        ),
    ):
        (offered,) = services.ice_servers("p_someone")

        async def gather() -> str:
            use_relay_only()
            pc = RTCPeerConnection(
                RTCConfiguration(
                    iceServers=[
                        RTCIceServer(offered["urls"], offered["username"], offered["credential"])
                    ]
                )
            )
            try:
                pc.addTransceiver("audio")
                await pc.setLocalDescription(await pc.createOffer())
                return pc.localDescription.sdp
            finally:
                await pc.close()
                use_loopback()

        sdp = asyncio.run(asyncio.wait_for(gather(), 30))
    assert "typ relay" not in sdp


def test_the_sockets_of_a_quiet_call_stay_open_on_the_redis_layer(
    call: Call, redis_url: str, logs: Path
) -> None:
    port = free_port()
    with asgi_server(port, env=server_env(REDIS_URL=redis_url), log=logs / "quiet.log"):
        url = f"ws://127.0.0.1:{port}{call.path}"
        citizen = Participant(url, token=call.token, webrtc=False, reconnect=False)
        agent = Participant(url, cookie=call.agent, webrtc=False, reconnect=False)

        async def scenario() -> None:
            async with closing(citizen, agent):
                await citizen.join()
                await agent.join()
                await agent.admit(citizen.peer or "")
                await citizen.expect("admitted")
                await asyncio.sleep(7)  # media flow peer to peer; the signaling is quiet
                assert citizen.online and agent.online, (citizen.close_code, agent.close_code)

        run(scenario)


def test_a_call_survives_the_server_being_killed_and_both_sides_resume(
    call: Call, redis_url: str, logs: Path
) -> None:
    port = free_port()
    env = server_env(REDIS_URL=redis_url)
    log = logs / "restarted.log"
    url = f"ws://127.0.0.1:{port}{call.path}"
    citizen = Participant(url, token=call.token, backoff=FAST, label="citizen")
    agent = Participant(url, cookie=call.agent, backoff=FAST, label="agent")
    process = start_asgi_server(port, env=env, log=log)
    restarted = []
    try:

        async def scenario() -> None:
            async with closing(citizen, agent):
                await into_the_call(citizen, agent)
                await media_flows(citizen, agent)
                peers = (citizen.peer, agent.peer)

                process.kill()  # SIGKILL: no close frames, no disconnect handlers
                await asyncio.to_thread(process.wait)
                await until(lambda: not citizen.online and not agent.online, timeout=5)
                # Peer to peer: the media keep flowing with the signaling down.
                await media_flows(citizen, agent)
                # A line written meanwhile waits, unacknowledged, for the reconnection.
                ref = await citizen.say("Se m'ha penjat la pàgina?")
                assert ref in citizen.unacked

                restarted.append(await asyncio.to_thread(start_asgi_server, port, env=env, log=log))
                await until(lambda: citizen.welcomes >= 2 and agent.welcomes >= 2, timeout=10)
                assert (citizen.peer, agent.peer) == peers  # resumed, not new participants
                assert citizen.state == agent.state == "admitted"
                assert connected(citizen, agent)  # nobody restarted ICE: it never failed
                assert (await citizen.acknowledged(ref))["seq"] == 1  # sent again, stored once
                await chat_passes(agent, citizen, "No, tot bé.")

                # Signaling works again: a renegotiation offer is answered...
                link = citizen.links[agent.peer]
                await citizen.offer(agent.peer)
                await until(lambda: link.answers == 2, timeout=10, what="renegotiation answer")
                # ... and so is an ICE restart (a fresh connection: see tests/webrtc.py).
                await citizen.offer(agent.peer, ice_restart=True)
                await until(lambda: link.answers == 3, timeout=10, what="ICE restart answer")
                await until(lambda: connected(citizen, agent), timeout=10, what="restarted")
                assert link.replaced == 1 and agent.links[citizen.peer].replaced == 1
                await media_flows(citizen, agent)

        run(scenario, timeout=45)
    finally:
        stop(process)
        for again in restarted:
            stop(again)
    assert list(ChatLine.objects.order_by("seq").values_list("seq", "text")) == [
        (1, "Se m'ha penjat la pàgina?"),
        (2, "No, tot bé."),
    ]
    resumed = RoomEvent.objects.filter(kind="joined", details__resumed=True)
    assert resumed.count() == 2
