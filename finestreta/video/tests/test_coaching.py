"""A supervisor listens silently to a call for coaching: only where the organisation allows it,
only a supervisor, only a call in progress; everyone in the call is told who listens; the
listener takes no part (no chat, notices, admitting, ending, files or media), takes no place
in a full call, and each start is on the audit log."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from finestreta.accounts.models import Membership
from finestreta.accounts.services import StaffContext
from finestreta.appointments.services import join_token
from finestreta.privacy.models import AuditEvent
from finestreta.video import coaching, services
from finestreta.video.models import ChatLine, Coaching, Presence, Room, RoomEvent
from finestreta.video.tests.test_invitations import _guest, guest_token, staff
from finestreta.video.tests.test_signaling import cookie, next_of, open_as, run
from tests.factories import AppointmentFactory
from tests.personas import log_in

pytestmark = pytest.mark.django_db(transaction=True)

START = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC)
DURING = START + dt.timedelta(minutes=5)


@pytest.fixture(autouse=True)
def clock():  # type: ignore[no-untyped-def]
    with time_machine.travel(DURING, tick=True):
        yield


@pytest.fixture
def room(personas) -> Room:  # type: ignore[no-untyped-def]
    personas.org_a.allows_silent_coaching = True
    personas.org_a.save(update_fields=["allows_silent_coaching"])
    appointment = AppointmentFactory(
        agent=Membership.objects.get(user=personas.agent_a),
        service=personas.service_a,
        starts_at=START,
        name="Pere Soler",
    )
    found = services.get_room(appointment)
    return Room.objects.select_related("organisation", "appointment").get(pk=found.pk)


def in_progress(room: Room) -> None:
    """The citizen was let in (the call is under way)."""
    Room.objects.filter(pk=room.pk).update(citizen_admitted_at=DURING)


def test_the_citizen_and_the_agent_are_told_and_the_listener_takes_no_part(personas, room) -> None:
    agent, supervisor = cookie(personas.agent_a), cookie(personas.supervisor_a)
    token = join_token(room.appointment)
    listener = staff(personas.supervisor_a)

    async def scenario() -> None:
        citizen, welcome = await open_as(room, token=token)
        agent_socket, _ = await open_as(room, user=agent)
        await agent_socket.send_json_to({"type": "admit", "peer": welcome["peer"]})
        await next_of(citizen, "admitted")
        await _listen(room, listener)
        coach, coach_welcome = await open_as(room, user=supervisor)
        assert coach_welcome["state"] == "admitted"
        # Everyone in the call hears of the listener, marked silent.
        for socket in (citizen, agent_socket):
            joined = await next_of(socket, "peer-joined")
            while joined["peer"] != coach_welcome["peer"]:  # the agent first hears of the citizen
                joined = await next_of(socket, "peer-joined")
            assert joined["silent"] is True
        # The listener takes no part.
        for message in (
            {"type": "chat", "text": "Molt bé", "ref": "x1"},
            {"type": "notice", "text": "Hola"},
            {"type": "end"},
        ):
            await coach.send_json_to(message)
            assert (await next_of(coach, "error"))["code"] == "silent"
        # Its page's claims of sound or camera are not passed on.
        await coach.send_json_to({"type": "media", "audio": True, "video": True})
        media = await next_of(citizen, "media")
        assert media["peer"] == coach_welcome["peer"]
        assert (media["audio"], media["video"]) == (False, False)
        # Someone joining later is told too.
        await citizen.disconnect()
        again, rewelcome = await open_as(room, token=token, resume=welcome["peer"])
        listed = [p for p in rewelcome["peers"] if p["peer"] == coach_welcome["peer"]]
        assert listed and listed[0]["silent"] is True
        for socket in (again, agent_socket, coach):
            await socket.disconnect()

    run(scenario)
    room.refresh_from_db()
    assert room.state == Room.State.OPEN  # the listener could not end it
    assert not ChatLine.objects.filter(room=room).exists()
    assert RoomEvent.objects.filter(kind="joined", details__silent=True).count() == 1
    event = AuditEvent.objects.get(action=AuditEvent.Action.COACHING_STARTED)
    assert event.actor == personas.supervisor_a and event.organisation == personas.org_a


async def _listen(room: Room, listener: StaffContext) -> None:
    from channels.db import database_sync_to_async

    await database_sync_to_async(coaching.start_coaching)(
        staff=listener, public_id=room.public_id, now=DURING
    )


def test_listening_is_refused_without_the_policy_to_agents_and_before_the_call(
    personas, room
) -> None:
    def refusal(user) -> str:  # type: ignore[no-untyped-def]
        with pytest.raises(coaching.CoachingRefused) as refused:
            coaching.start_coaching(staff=staff(user), public_id=room.public_id, now=DURING)
        return refused.value.code

    assert refusal(personas.supervisor_a) == "not_in_progress"  # nobody let in yet
    in_progress(room)
    assert refusal(personas.agent_a) == "not_supervisor"
    personas.org_a.allows_silent_coaching = False
    personas.org_a.save(update_fields=["allows_silent_coaching"])
    assert refusal(personas.supervisor_a) == "not_allowed_here"
    assert not Coaching.objects.exists()
    # Another organisation's supervisor does not even find the call.
    personas.org_b.allows_silent_coaching = True
    personas.org_b.save(update_fields=["allows_silent_coaching"])
    assert refusal(personas.supervisor_b) == "not_in_progress"


def test_the_supervisor_s_live_view_lists_calls_and_the_button_opens_the_silent_call_page(
    personas, room
) -> None:
    in_progress(room)
    citizen = Presence.objects.create(
        room=room, peer="p_citizen", role="citizen", name="Pere Soler", state="admitted",
        channel_name="x", since=DURING, last_seen=DURING,
    )  # fmt: skip
    Presence.objects.create(
        room=room, peer="p_agent", role="staff", name="Núria Vidal", state="admitted",
        channel_name="y", since=DURING, last_seen=DURING, user=personas.agent_a,
    )  # fmt: skip
    client = log_in(personas.supervisor_a)
    slug = personas.org_a.slug
    live = client.get(reverse("staff-queue:supervisor-live", args=[slug]))
    listen = reverse("staff-video:listen", args=[slug, room.public_id])
    assert listen in live.content.decode() and "Núria Vidal" in live.content.decode()
    answer = client.post(listen)
    page = reverse("staff-video:room", args=[slug, room.public_id])
    assert answer.status_code == 302 and answer["Location"] == page
    html = client.get(page).content.decode()
    assert 'data-silent="1"' in html and 'id="end-call"' not in html
    assert 'id="files-form"' not in html
    # A listener shares no file either.
    upload = client.post(
        reverse("video-files:staff-upload", args=[slug, room.public_id]),
        {"file": SimpleUploadedFile("a.pdf", b"%PDF-1.4\n%%EOF\n", content_type="application/pdf")},
    )
    assert upload.status_code == 403
    # An agent cannot press the button.
    agent = log_in(personas.agent_a)
    assert agent.post(listen).status_code == 403
    # Where the policy is off, the view says so and offers no button.
    personas.org_a.allows_silent_coaching = False
    personas.org_a.save(update_fields=["allows_silent_coaching"])
    off = client.get(reverse("staff-queue:supervisor-live", args=[slug])).content.decode()
    assert listen not in off and "turned off" in off
    citizen.delete()


def test_a_listener_takes_no_place_in_a_full_call(personas, room) -> None:
    in_progress(room)
    coaching.start_coaching(
        staff=staff(personas.supervisor_a), public_id=room.public_id, now=DURING
    )
    tokens = [guest_token(room, name=f"Guest {n}") for n in range(3)]
    agent, supervisor = cookie(personas.agent_a), cookie(personas.supervisor_a)

    async def scenario() -> None:
        coach, _ = await open_as(room, user=supervisor)
        agent_socket, _ = await open_as(room, user=agent)
        sockets = [coach, agent_socket]
        for token in tokens:
            socket = await _guest(room, token)
            assert (await socket.receive_json_from(timeout=5))["type"] == "welcome"
            sockets.append(socket)
        for socket in sockets:
            await socket.disconnect()

    run(scenario)
    assert Presence.objects.filter(silent=True).count() == 1
