"""The signaling WebSocket through the whole ASGI stack (origin check, session, routing) with the
in-memory channel layer: who may join, the waiting room, admission, relayed signals, the chat,
notices, call-backs, resuming and the end of a call (docs/signaling.md)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
import time_machine
from asgiref.sync import async_to_sync
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.test import Client

from finestreta.accounts.models import Membership
from finestreta.appointments.services import join_token, manage_token
from finestreta.asgi import application
from finestreta.video import services
from finestreta.video.models import ChatLine, Presence, Room, RoomEvent
from tests.factories import AppointmentFactory, MembershipFactory
from tests.personas import log_in

pytestmark = pytest.mark.django_db(transaction=True)

START = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC)
DURING = START + dt.timedelta(minutes=5)


@pytest.fixture(autouse=True)
def clock():  # type: ignore[no-untyped-def]
    with time_machine.travel(DURING, tick=True):
        yield


@pytest.fixture
def appointment(personas):  # type: ignore[no-untyped-def]
    return AppointmentFactory(
        agent=Membership.objects.get(user=personas.agent_a),
        service=personas.service_a,
        starts_at=START,
        phone="+34612345678",
    )


@pytest.fixture
def room(appointment) -> Room:  # type: ignore[no-untyped-def]
    # With its organisation loaded: the async part of a test cannot load it.
    return Room.objects.select_related("organisation").get(pk=services.get_room(appointment).pk)


def cookie(user) -> bytes:  # type: ignore[no-untyped-def]
    """The session cookie of `user`, signed in (made before the async part of a test)."""
    client: Client = log_in(user)
    return f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}".encode()


def connect(
    room: Room, *, user: bytes | None = None, path: str | None = None
) -> WebsocketCommunicator:
    headers = [(b"origin", b"http://127.0.0.1"), (b"host", b"127.0.0.1")]
    if user is not None:
        headers.append((b"cookie", user))
    path = path or f"/ws/{room.organisation.slug}/video/{room.public_id}/"
    return WebsocketCommunicator(application, path, headers=headers)


def run(scenario: Callable[[], Awaitable[Any]]) -> Any:
    return async_to_sync(scenario)()


async def open_as(
    room: Room, *, user: bytes | None = None, token: str | None = None, resume: str | None = None
) -> tuple[WebsocketCommunicator, dict]:
    socket = connect(room, user=user)
    connected, _ = await socket.connect()
    assert connected
    hello: dict[str, Any] = {"type": "hello", "v": 1}
    if token:
        hello["token"] = token
    if resume:
        hello["resume"] = resume
    await socket.send_json_to(hello)
    return socket, await socket.receive_json_from(timeout=5)


async def next_of(socket: WebsocketCommunicator, kind: str) -> dict:
    while True:
        message = await socket.receive_json_from(timeout=5)
        if message["type"] == kind:
            return message


def test_the_citizen_waits_the_agent_admits_and_their_signals_and_chat_pass(
    personas, appointment, room
) -> None:
    Membership.objects.filter(user=personas.agent_a).update(staff_number="A-1042")
    agent_a = cookie(personas.agent_a)

    async def scenario() -> None:
        citizen, welcome = await open_as(room, token=join_token(appointment))
        assert welcome["type"] == "welcome" and welcome["state"] == "waiting"
        assert welcome["role"] == "citizen" and welcome["peers"] == [] and welcome["chat"] == []

        agent, staff_welcome = await open_as(room, user=agent_a)
        assert staff_welcome["state"] == "admitted"
        assert [w["peer"] for w in staff_welcome["waiting"]] == [welcome["peer"]]

        await agent.send_json_to({"type": "notice", "text": "Arribo en 5 minuts."})
        notice = await next_of(citizen, "notice")
        assert notice["text"] == "Arribo en 5 minuts."

        # Waiting, the citizen cannot chat or signal yet.
        await citizen.send_json_to({"type": "chat", "text": "hola", "ref": "c1"})
        assert (await next_of(citizen, "error"))["code"] == "not_allowed"

        await agent.send_json_to({"type": "admit", "peer": welcome["peer"]})
        admitted = await next_of(citizen, "admitted")
        assert admitted["peers"] == [
            {
                "peer": staff_welcome["peer"],
                "role": "staff",
                "name": str(personas.agent_a),
                "number": "A-1042",
            }
        ]
        joined = await next_of(agent, "peer-joined")
        assert joined["peer"] == welcome["peer"] and joined["role"] == "citizen"

        # The newcomer offers; the agent answers; candidates pass too.
        offer = {"type": "offer", "sdp": "v=0 offer"}
        await citizen.send_json_to(
            {"type": "signal", "to": staff_welcome["peer"], "description": offer}
        )
        relayed = await next_of(agent, "signal")
        assert relayed == {"type": "signal", "from": welcome["peer"], "description": offer}
        await agent.send_json_to(
            {
                "type": "signal",
                "to": welcome["peer"],
                "candidate": {"candidate": "c", "sdpMid": "0"},
            }
        )
        assert (await next_of(citizen, "signal"))["candidate"]["candidate"] == "c"
        await agent.send_json_to({"type": "signal", "to": welcome["peer"], "candidate": None})
        assert (await next_of(citizen, "signal"))["candidate"] is None

        # Chat: stored and numbered, the sender's copy is its acknowledgement; a resend of the
        # same ref is answered with the stored line, not stored again.
        await citizen.send_json_to({"type": "chat", "text": "Bon dia", "ref": "c2"})
        ack = await next_of(citizen, "chat")
        assert (ack["seq"], ack["ref"], ack["text"]) == (1, "c2", "Bon dia")
        line = await next_of(agent, "chat")
        assert line["seq"] == 1 and line["name"] == "Núria Vidal"
        await citizen.send_json_to({"type": "chat", "text": "Bon dia", "ref": "c2"})
        assert (await next_of(citizen, "chat"))["seq"] == 1
        await agent.send_json_to({"type": "chat", "text": "Digui'm", "ref": "a1"})
        assert (await next_of(citizen, "chat"))["seq"] == 2

        await agent.send_json_to({"type": "end"})
        assert (await next_of(citizen, "ended"))["type"] == "ended"
        await citizen.disconnect()
        await agent.disconnect()

    run(scenario)
    assert list(ChatLine.objects.values_list("seq", "text")) == [(1, "Bon dia"), (2, "Digui'm")]
    kinds = list(RoomEvent.objects.values_list("kind", flat=True))
    assert kinds[:2] == ["joined", "joined"]
    assert {"notice", "admitted", "ended"} <= set(kinds)
    room.refresh_from_db()
    assert room.state == Room.State.ENDED and room.citizen_admitted_at is not None


def test_a_wrong_link_another_tenant_s_staff_and_strangers_are_refused(
    personas, appointment, room
) -> None:
    other = AppointmentFactory(
        agent=Membership.objects.get(user=personas.agent_a),
        service=personas.service_a,
        starts_at=START + dt.timedelta(hours=1),
    )
    agent_b = cookie(personas.agent_b)

    async def refused(**kwargs: Any) -> tuple[dict, int]:
        socket, answer = await open_as(room, **kwargs)
        closed = await socket.receive_output(timeout=5)
        await socket.disconnect()
        return answer, closed["code"]

    async def scenario() -> None:
        answer, code = await refused(token=manage_token(appointment))  # the manage link
        assert (answer["code"], code) == ("not_allowed", 4401)
        answer, code = await refused(token=join_token(other))  # another call's link
        assert (answer["code"], code) == ("not_allowed", 4403)
        answer, code = await refused(user=agent_b)  # another organisation's agent
        assert (answer["code"], code) == ("not_allowed", 4403)
        answer, code = await refused()  # nobody
        assert (answer["code"], code) == ("not_allowed", 4401)

    run(scenario)
    assert not Presence.objects.exists()


def test_a_colleague_with_the_skill_may_serve_a_pooled_call_but_not_one_without_it(
    personas, appointment
) -> None:
    pooled = services.get_room(appointment)  # video: no office, pooled
    skilled = MembershipFactory(organisation=personas.org_a)
    skilled.services.add(personas.service_a)
    unskilled = MembershipFactory(organisation=personas.org_a)
    assert services.can_serve(_staff(skilled), pooled.appointment)
    assert not services.can_serve(_staff(unskilled), pooled.appointment)


def _staff(membership: Membership):  # type: ignore[no-untyped-def]
    from finestreta.accounts.services import StaffContext

    return StaffContext(
        user=membership.user, organisation=membership.organisation, membership=membership
    )


def test_the_waiting_room_opens_half_an_hour_before_and_closes_two_hours_after(
    appointment, room
) -> None:
    async def answer_at() -> dict:
        socket, answer = await open_as(room, token=join_token(appointment))
        await socket.disconnect()
        return answer

    with time_machine.travel(START - dt.timedelta(minutes=31)):
        assert run(answer_at)["code"] == "too_early"
    with time_machine.travel(START - dt.timedelta(minutes=29)):
        assert run(answer_at)["type"] == "welcome"
    with time_machine.travel(appointment.ends_at + dt.timedelta(hours=2, minutes=1)):
        assert run(answer_at)["code"] == "too_late"


def test_a_dropped_citizen_resumes_with_the_same_id_and_the_old_socket_is_replaced(
    personas, appointment, room
) -> None:
    agent_a = cookie(personas.agent_a)

    async def scenario() -> None:
        first, welcome = await open_as(room, token=join_token(appointment))
        second, again = await open_as(room, token=join_token(appointment), resume=welcome["peer"])
        assert again["peer"] == welcome["peer"]
        assert (await next_of(first, "error"))["code"] == "replaced"
        assert (await first.receive_output(timeout=5))["code"] == 4409
        # Once admitted, a reconnection goes straight into the call.
        agent, _ = await open_as(room, user=agent_a)
        await agent.send_json_to({"type": "admit", "peer": welcome["peer"]})
        await next_of(second, "admitted")
        await second.disconnect()
        third, back = await open_as(room, token=join_token(appointment), resume=welcome["peer"])
        assert back["state"] == "admitted" and back["peer"] == welcome["peer"]
        assert (await next_of(agent, "peer-left"))["peer"] == welcome["peer"]
        assert (await next_of(agent, "peer-joined"))["peer"] == welcome["peer"]
        await third.disconnect()
        await agent.disconnect()

    run(scenario)
    assert Presence.objects.filter(role="citizen").count() == 1


def test_the_citizen_may_ask_to_be_called_and_staff_hear_of_it_in_the_lobby(
    personas, appointment, room
) -> None:
    agent_a, agent_b = cookie(personas.agent_a), cookie(personas.agent_b)

    async def scenario() -> None:
        lobby = connect(room, user=agent_a, path="/ws/org-a/video/lobby/")
        assert (await lobby.connect())[0]
        assert (await lobby.receive_json_from(timeout=5))["waiting"] == []
        citizen, welcome = await open_as(room, token=join_token(appointment))
        waiting = await next_of(lobby, "waiting")
        assert waiting["peer"] == welcome["peer"] and waiting["room"] == room.public_id
        await citizen.send_json_to({"type": "callback"})
        noted = await next_of(citizen, "callback-noted")
        assert noted["phone"] == "612 34 56 78"
        asked = await next_of(lobby, "callback-requested")
        assert asked["phone"] == "612 34 56 78"
        await citizen.disconnect()
        assert (await next_of(lobby, "left"))["peer"] == welcome["peer"]
        await lobby.disconnect()

        strangers = connect(room, user=agent_b, path="/ws/org-a/video/lobby/")
        await strangers.connect()
        assert (await strangers.receive_json_from(timeout=5))["type"] == "error"
        assert (await strangers.receive_output(timeout=5))["code"] == 4403

    run(scenario)
    assert RoomEvent.objects.filter(kind="callback", details__phone="+34612345678").exists()


def test_malformed_and_unknown_messages_get_errors_and_hello_must_come_first(room) -> None:
    async def scenario() -> None:
        socket = connect(room)
        await socket.connect()
        await socket.send_to(text_data="not json")
        assert (await socket.receive_json_from(timeout=5))["code"] == "bad_message"
        await socket.send_json_to({"type": "chat", "text": "hi"})
        assert (await socket.receive_json_from(timeout=5))["code"] == "bad_message"
        assert (await socket.receive_output(timeout=5))["code"] == 4400

    run(scenario)


def test_turn_credentials_are_short_lived_hmacs_of_the_peer(settings) -> None:
    import base64
    import hashlib
    import hmac

    settings.VIDEO_STUN_URLS = ["stun:turn.example.org:3478"]
    settings.VIDEO_TURN_URLS = ["turn:turn.example.org:3478?transport=udp"]
    settings.VIDEO_TURN_SECRET = "s3cret"
    settings.VIDEO_TURN_TTL = 600
    stun, turn = services.ice_servers("p_abc", now=1_000_000)
    assert stun == {"urls": ["stun:turn.example.org:3478"]}
    assert turn["username"] == "1000600:p_abc"
    expected = hmac.new(b"s3cret", b"1000600:p_abc", hashlib.sha1).digest()
    assert turn["credential"] == base64.b64encode(expected).decode()
    settings.VIDEO_TURN_SECRET = ""
    assert services.ice_servers("p_abc") == [{"urls": ["stun:turn.example.org:3478"]}]
