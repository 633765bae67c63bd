"""Booked citizens of pooled video appointments in the queue at their time: they go before
walk-ins from their time on, to their own agent first when free, else to any skilled agent, who
takes the appointment over; admitting them from the waiting room ends the queue's part (so
nobody is served twice); leaving the waiting room leaves the queue; an agent whose agenda is
taken, or an appointment cancelled meanwhile, is refused in words."""

from __future__ import annotations

import datetime as dt

import pytest

from finestreta.accounts.models import Membership
from finestreta.appointments.models import Appointment
from finestreta.appointments.services import join_token
from finestreta.notifications.models import Message
from finestreta.privacy.models import AuditEvent
from finestreta.queueing import booked, services
from finestreta.queueing.models import DeskStatus, Lapse, QueueEntry
from finestreta.queueing.tests.test_offers import make_agent, walk_in
from finestreta.video import services as video
from finestreta.video.tests.test_signaling import cookie, next_of, open_as, run
from tests.factories import AppointmentFactory

NOW = dt.datetime(2026, 12, 1, 10, 0, tzinfo=dt.UTC)
MINUTE = dt.timedelta(minutes=1)
State = QueueEntry.State


def pooled(personas, agent: Membership, **kw) -> Appointment:  # type: ignore[no-untyped-def]
    """A booked video appointment with no office (any skilled agent may attend it) at NOW."""
    fields = {"service": personas.service_a, "starts_at": NOW, "phone": "+34612345678", **kw}
    return AppointmentFactory(agent=agent, **fields)


def offline_agent(personas) -> Membership:  # type: ignore[no-untyped-def]
    member = make_agent(personas)
    services.set_desk_status(membership=member, state="offline", now=NOW - 60 * MINUTE)
    return member


@pytest.mark.django_db
def test_a_pooled_citizen_waiting_goes_before_walk_ins_from_their_time_and_not_before(
    personas,
) -> None:
    owner = offline_agent(personas)
    appointment = pooled(personas, owner)
    early = walk_in(personas, "Walk-in", at=NOW - 30 * MINUTE)
    entry = booked.citizen_arrived(appointment=appointment, now=NOW - 10 * MINUTE)
    assert entry is not None and entry.due == NOW and entry.booked_agent_id == owner.pk
    colleague = make_agent(personas, since=NOW - 5 * MINUTE)

    # Before their time, the walk-in goes first; at their time, the booked citizen does.
    offered = services.offer_next(membership=colleague, now=NOW - 5 * MINUTE)
    assert offered is not None and offered.pk == early.pk
    services.decline_offer(membership=colleague, entry_id=early.pk, now=NOW - 5 * MINUTE)
    Lapse.objects.all().delete()
    offered = services.offer_next(membership=colleague, now=NOW)
    assert offered is not None and offered.pk == entry.pk


@pytest.mark.django_db
def test_the_agent_who_accepts_takes_the_appointment_over_without_a_your_turn_message(
    personas,
) -> None:
    owner = offline_agent(personas)
    appointment = pooled(personas, owner)
    entry = booked.citizen_arrived(appointment=appointment, now=NOW - MINUTE)
    assert entry is not None
    colleague = make_agent(personas)
    assert services.offer_next(membership=colleague, now=NOW).pk == entry.pk

    taken = services.accept_offer(membership=colleague, entry_id=entry.pk, now=NOW)

    assert (taken.state, taken.served_by_id, taken.appointment_id) == (
        State.SERVING,
        colleague.pk,
        appointment.pk,
    )
    appointment.refresh_from_db()
    assert appointment.agent_id == colleague.pk
    assert (appointment.starts_at, appointment.walk_in) == (NOW, False)  # the same appointment
    assert DeskStatus.objects.get(membership=colleague).state == DeskStatus.State.IN_CALL
    assert video.get_room(appointment).state == "open"
    # The citizen is in the waiting room already: no "it is your turn".
    assert not Message.objects.filter(kind="queue_your_turn").exists()
    moved = AuditEvent.objects.get(action=AuditEvent.Action.APPOINTMENT_MOVED)
    assert moved.details["agent_from"] == owner.pk and moved.details["agent_to"] == colleague.pk
    assert moved.actor == colleague.user
    # The desk finishes it as any attention: attended, the room closed.
    services.finish_call(membership=colleague, entry_id=entry.pk, now=NOW + 10 * MINUTE)
    appointment.refresh_from_db()
    assert appointment.status == Appointment.Status.ATTENDED


@pytest.mark.django_db
def test_the_booked_agent_is_offered_their_own_citizen_first_when_free(personas) -> None:
    long_free = make_agent(personas, since=NOW - 60 * MINUTE)
    owner = make_agent(personas, since=NOW - MINUTE)
    appointment = pooled(personas, owner)
    entry = booked.citizen_arrived(appointment=appointment, now=NOW - MINUTE)
    other = walk_in(personas, "Walk-in", at=NOW - 20 * MINUTE)

    made = {e.pk: e.offered_to_id for e in services.route(organisation=personas.org_a, now=NOW)}

    assert entry is not None
    assert made == {entry.pk: owner.pk, other.pk: long_free.pk}


@pytest.mark.django_db
def test_admitting_from_the_waiting_room_ends_the_queue_part_and_withdraws_the_offer(
    personas,
) -> None:
    owner = make_agent(personas)
    services.set_desk_status(membership=owner, state="paused", now=NOW - MINUTE)
    appointment = pooled(personas, owner)
    entry = booked.citizen_arrived(appointment=appointment, now=NOW - MINUTE)
    colleague = make_agent(personas)
    assert entry is not None
    assert services.offer_next(membership=colleague, now=NOW).pk == entry.pk

    # The booked agent lets the citizen in from the waiting room meanwhile.
    assert booked.admitted_in_room(appointment=appointment, membership=owner, now=NOW)

    entry.refresh_from_db()
    assert (entry.state, entry.served_by_id, entry.offered_to_id) == (
        State.SERVING,
        owner.pk,
        None,
    )
    with pytest.raises(services.QueueError) as gone:
        services.accept_offer(membership=colleague, entry_id=entry.pk, now=NOW)
    assert gone.value.code == "offer_gone"
    appointment.refresh_from_db()
    assert appointment.agent_id == owner.pk
    # Admitting again (a second click, a reconnection) changes nothing.
    assert not booked.admitted_in_room(appointment=appointment, membership=colleague, now=NOW)


@pytest.mark.django_db
def test_an_agent_already_in_an_attention_who_admits_closes_the_entry(personas) -> None:
    owner = make_agent(personas)
    busy = walk_in(personas, "Walk-in")
    assert services.offer_next(membership=owner, now=NOW - 5 * MINUTE).pk == busy.pk
    services.accept_offer(membership=owner, entry_id=busy.pk, now=NOW - 5 * MINUTE)
    appointment = pooled(personas, owner, starts_at=NOW + 40 * MINUTE)
    entry = booked.citizen_arrived(appointment=appointment, now=NOW)
    assert entry is not None

    assert booked.admitted_in_room(appointment=appointment, membership=owner, now=NOW)

    entry.refresh_from_db()
    assert (entry.state, entry.served_by_id) == (State.SERVED, owner.pk)
    busy.refresh_from_db()
    assert busy.state == State.SERVING  # still their attention at the desk


@pytest.mark.django_db
def test_leaving_the_waiting_room_for_good_leaves_the_queue_and_coming_back_keeps_the_place(
    personas,
) -> None:
    owner = offline_agent(personas)
    appointment = pooled(personas, owner)
    entry = booked.citizen_arrived(appointment=appointment, now=NOW - 3 * MINUTE)
    assert entry is not None

    assert booked.citizen_left(appointment=appointment, now=NOW - 2 * MINUTE)
    entry.refresh_from_db()
    assert entry.state == State.LEFT
    back = booked.citizen_arrived(appointment=appointment, now=NOW - MINUTE)

    assert back is not None and back.pk == entry.pk
    assert (back.state, back.joined_at) == (State.WAITING, NOW - 3 * MINUTE)
    assert QueueEntry.objects.count() == 1


@pytest.mark.django_db
def test_an_agent_whose_agenda_is_taken_at_that_time_passes_the_citizen_on(personas) -> None:
    owner = offline_agent(personas)
    appointment = pooled(personas, owner)
    entry = booked.citizen_arrived(appointment=appointment, now=NOW - MINUTE)
    colleague = make_agent(personas)
    pooled(personas, colleague, starts_at=NOW + 15 * MINUTE, code="BUSY0001")  # overlaps
    assert entry is not None
    assert services.offer_next(membership=colleague, now=NOW).pk == entry.pk

    with pytest.raises(services.QueueError) as refused:
        services.accept_offer(membership=colleague, entry_id=entry.pk, now=NOW)

    assert refused.value.code == "agenda_taken"
    assert refused.value.message == booked.AGENDA_TAKEN
    entry.refresh_from_db()
    assert (entry.state, entry.offered_to_id) == (State.WAITING, None)
    assert Lapse.objects.filter(entry=entry, membership=colleague).exists()
    appointment.refresh_from_db()
    assert appointment.agent_id == owner.pk
    assert DeskStatus.objects.get(membership=colleague).state == DeskStatus.State.AVAILABLE


@pytest.mark.django_db
def test_an_appointment_cancelled_while_offered_leaves_the_queue(personas) -> None:
    owner = offline_agent(personas)
    appointment = pooled(personas, owner)
    entry = booked.citizen_arrived(appointment=appointment, now=NOW - MINUTE)
    colleague = make_agent(personas)
    assert entry is not None
    assert services.offer_next(membership=colleague, now=NOW).pk == entry.pk
    Appointment.objects.filter(pk=appointment.pk).update(status=Appointment.Status.CANCELLED)

    with pytest.raises(services.QueueError) as refused:
        services.accept_offer(membership=colleague, entry_id=entry.pk, now=NOW)

    assert refused.value.code == "not_booked"
    entry.refresh_from_db()
    assert entry.state == State.LEFT


@pytest.mark.django_db
def test_appointments_at_an_office_by_telephone_or_walk_in_stay_out_of_the_queue(
    personas,
) -> None:
    owner = offline_agent(personas)
    at_office = pooled(personas, owner, office=personas.office_a)
    by_phone = pooled(personas, owner, channel="phone", starts_at=NOW + 60 * MINUTE)
    for appointment in (at_office, by_phone):
        assert booked.citizen_arrived(appointment=appointment, now=NOW) is None
    assert not QueueEntry.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_through_the_call_socket_waiting_enters_the_queue_and_admitting_ends_it(
    personas, time_machine
) -> None:  # type: ignore[no-untyped-def]
    time_machine.move_to(NOW - 2 * MINUTE, tick=True)
    owner = Membership.objects.get(user=personas.agent_a)
    owner.services.add(personas.service_a)
    appointment = pooled(personas, owner)
    room = video.get_room(appointment)
    room = type(room).objects.select_related("organisation").get(pk=room.pk)
    token, agent = join_token(appointment), cookie(personas.agent_a)

    async def scenario() -> None:
        citizen, welcome = await open_as(room, token=token)
        assert welcome["state"] == "waiting"
        assert await _entry_state(appointment) == State.WAITING
        staff, _ = await open_as(room, user=agent)
        await staff.send_json_to({"type": "admit", "peer": welcome["peer"]})
        await next_of(citizen, "admitted")
        assert await _entry_state(appointment) == State.SERVING
        for socket in (citizen, staff):
            await socket.disconnect()

    run(scenario)
    entry = QueueEntry.objects.get(appointment=appointment)
    assert entry.served_by_id == owner.pk


async def _entry_state(appointment: Appointment) -> str:
    from channels.db import database_sync_to_async

    return await database_sync_to_async(
        lambda: QueueEntry.objects.get(appointment=appointment).state
    )()


@pytest.mark.django_db
def test_a_citizen_gone_from_the_waiting_room_without_a_word_leaves_the_queue(
    personas, time_machine
) -> None:  # type: ignore[no-untyped-def]
    from finestreta.video.models import Presence

    time_machine.move_to(NOW, tick=False)
    owner = offline_agent(personas)
    appointment = pooled(personas, owner)
    room = video.get_room(appointment)
    entry = booked.citizen_arrived(appointment=appointment, now=NOW - 5 * MINUTE)
    assert entry is not None
    Presence.objects.create(
        room=room,
        peer="p_closed_tab",
        role="citizen",
        name=appointment.name,
        state=Presence.State.WAITING,
        connected=False,
        since=NOW - 5 * MINUTE,
        last_seen=NOW - 3 * MINUTE,  # past the grace to come back
    )

    video.forget_stale(now=NOW)

    entry.refresh_from_db()
    assert entry.state == State.LEFT
    assert not Presence.objects.exists()
