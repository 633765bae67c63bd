"""A third participant: a colleague invited into one call joins with their own login, a guest
from outside with their invitation's link; a transfer makes another agent the appointment's;
revoked or expired invitations let nobody in; a call holds four at most."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from asgiref.sync import async_to_sync
from django.urls import NoReverseMatch

from finestreta.accounts.models import Membership
from finestreta.accounts.services import StaffContext
from finestreta.appointments.models import Appointment
from finestreta.video import invitations, services
from finestreta.video.models import Invitation, Presence, Room, RoomEvent
from finestreta.video.tests.test_signaling import cookie, next_of, open_as
from tests.factories import AppointmentFactory, MembershipFactory

pytestmark = pytest.mark.django_db(transaction=True)

START = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC)
DURING = START + dt.timedelta(minutes=5)


@pytest.fixture(autouse=True)
def clock():  # type: ignore[no-untyped-def]
    with time_machine.travel(DURING, tick=True):
        yield


@pytest.fixture
def room(personas) -> Room:  # type: ignore[no-untyped-def]
    appointment = AppointmentFactory(
        agent=Membership.objects.get(user=personas.agent_a),
        service=personas.service_a,
        starts_at=START,
    )
    found = services.get_room(appointment)
    return Room.objects.select_related("organisation", "appointment").get(pk=found.pk)


def staff(user) -> StaffContext:  # type: ignore[no-untyped-def]
    membership = Membership.objects.select_related("organisation", "user").get(user=user)
    return StaffContext(user=user, organisation=membership.organisation, membership=membership)


def guest_token(room: Room, name: str = "Anna Puig", kind: str = "interpreter") -> str:
    try:
        invited = invitations.invite_guest(
            staff=staff(room.appointment.agent.user), room=room, name=name, kind=kind, now=DURING
        )
        return invited.link.rstrip("/").rsplit("/", 1)[-1]
    except NoReverseMatch:  # pragma: no cover - the guest page is part of the video pages
        raise


def test_an_invited_colleague_from_another_office_joins_with_their_own_login(
    personas, room
) -> None:
    other_office = MembershipFactory(organisation=personas.org_a)  # no office in common
    assert not services.can_serve(staff(other_office.user), room.appointment)
    invitations.invite_colleague(
        staff=staff(personas.agent_a),
        room=room,
        membership_id=other_office.pk,
        kind="specialist",
        now=DURING,
    )
    assert services.can_serve(staff(other_office.user), room.appointment)
    specialist = cookie(other_office.user)

    async def scenario() -> None:
        socket, welcome = await open_as(room, user=specialist)
        assert welcome["role"] == "staff" and welcome["state"] == "admitted"
        await socket.disconnect()

    async_to_sync(scenario)()
    assert RoomEvent.objects.filter(kind="invited", details__as="specialist").exists()


def test_a_guest_joins_with_their_link_and_the_others_see_them_as_interpreter(
    personas, room
) -> None:
    token = guest_token(room)
    agent = cookie(personas.agent_a)

    async def scenario() -> None:
        staff_socket, _ = await open_as(room, user=agent)
        guest_socket = await _guest(room, token)
        welcome = await guest_socket.receive_json_from(timeout=5)
        assert (welcome["role"], welcome["state"], welcome["name"]) == (
            "guest",
            "admitted",
            "Anna Puig",
        )
        joined = await next_of(staff_socket, "peer-joined")
        assert joined["role"] == "guest" and joined["as"] == "interpreter"
        await guest_socket.disconnect()
        await staff_socket.disconnect()

    async_to_sync(scenario)()
    assert not Invitation.objects.filter(token_hash=token).exists()  # only its hash is kept


async def _guest(room: Room, token: str):  # type: ignore[no-untyped-def]
    from finestreta.video.tests.test_signaling import connect

    socket = connect(room)
    assert (await socket.connect())[0]
    await socket.send_json_to({"type": "hello", "v": 1, "guest": token})
    return socket


def test_revoked_expired_and_wrong_guest_links_let_nobody_in(personas, room) -> None:
    revoked = guest_token(room, name="Revocada")
    invitations.revoke(
        staff=staff(personas.agent_a),
        invitation=Invitation.objects.get(name="Revocada"),
        now=DURING,
    )
    expired = guest_token(room, name="Tard")
    Invitation.objects.filter(name="Tard").update(expires_at=DURING - dt.timedelta(minutes=1))

    async def answer(token: str) -> tuple[str, int]:
        socket = await _guest(room, token)
        message = await socket.receive_json_from(timeout=5)
        closed = await socket.receive_output(timeout=5)
        return message["code"], closed["code"]

    for token in (revoked, expired, "not-a-token"):
        assert async_to_sync(answer)(token) == ("not_allowed", 4401)
    assert not Presence.objects.exists()


def test_a_transfer_makes_the_colleague_the_appointment_s_agent_unless_they_are_busy(
    personas, room
) -> None:
    colleague = MembershipFactory(organisation=personas.org_a)
    invitations.invite_colleague(
        staff=staff(personas.agent_a),
        room=room,
        membership_id=colleague.pk,
        kind="transfer",
        now=DURING,
    )
    assert Appointment.objects.get(pk=room.appointment.pk).agent == colleague
    assert RoomEvent.objects.filter(kind="transferred").exists()

    busy = MembershipFactory(organisation=personas.org_a)
    AppointmentFactory(agent=busy, service=personas.service_a, starts_at=START)
    with pytest.raises(services.NotAllowed) as refused:
        invitations.invite_colleague(
            staff=staff(colleague.user),
            room=room,
            membership_id=busy.pk,
            kind="transfer",
            now=DURING,
        )
    assert refused.value.code == "busy"
    assert Appointment.objects.get(pk=room.appointment.pk).agent == colleague


def test_only_staff_of_the_call_invite_and_nobody_from_another_organisation(personas, room) -> None:
    with pytest.raises(services.NotAllowed):
        invitations.invite_guest(
            staff=staff(personas.agent_b), room=room, name="X", kind="specialist", now=DURING
        )
    with pytest.raises(services.NotAllowed):
        invitations.invite_colleague(
            staff=staff(personas.agent_a),
            room=room,
            membership_id=Membership.objects.get(user=personas.agent_b).pk,
            kind="supervisor",
            now=DURING,
        )


def test_a_call_holds_four_participants_at_most(personas, room) -> None:
    tokens = [guest_token(room, name=f"Guest {n}") for n in range(4)]
    agent = cookie(personas.agent_a)

    async def scenario() -> None:
        staff_socket, _ = await open_as(room, user=agent)
        sockets = []
        for token in tokens[:3]:
            socket = await _guest(room, token)
            assert (await socket.receive_json_from(timeout=5))["type"] == "welcome"
            sockets.append(socket)
        fifth = await _guest(room, tokens[3])
        refused = await fifth.receive_json_from(timeout=5)
        assert refused["code"] == "room_full"
        assert (await fifth.receive_output(timeout=5))["code"] == 4403
        for socket in [*sockets, staff_socket]:
            await socket.disconnect()

    async_to_sync(scenario)()


def test_a_guest_cannot_take_another_guest_s_place_by_resuming_their_id(personas, room) -> None:
    first, second = guest_token(room, name="Primera"), guest_token(room, name="Segona")

    async def scenario() -> None:
        one = await _guest(room, first)
        one_welcome = await one.receive_json_from(timeout=5)
        two = await _raw(room)
        await two.send_json_to(
            {"type": "hello", "v": 1, "guest": second, "resume": one_welcome["peer"]}
        )
        two_welcome = await two.receive_json_from(timeout=5)
        assert two_welcome["peer"] != one_welcome["peer"] and two_welcome["name"] == "Segona"
        # The first guest is not pushed out: they just see the second arrive.
        arrived = await one.receive_json_from(timeout=5)
        assert arrived["type"] == "peer-joined" and arrived["peer"] == two_welcome["peer"]
        await one.disconnect()
        await two.disconnect()

    async_to_sync(scenario)()
    assert Presence.objects.filter(role="guest").count() == 2


async def _raw(room: Room):  # type: ignore[no-untyped-def]
    from finestreta.video.tests.test_signaling import connect

    socket = connect(room)
    assert (await socket.connect())[0]
    return socket
