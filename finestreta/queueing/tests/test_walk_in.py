"""Attention now, end to end on the real database: the citizen's pages (open only during the
service's opening hours, clear errors in their language, a ticket with their place and an
honest wait, leaving), and what happens when an agent takes them — an appointment of that
agent from now with its video room, "it is your turn" by SMS and e-mail, the call finished at
the desk with its outcome and notes — including an agent of another office."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from finestreta.appointments.models import Appointment
from finestreta.catalogue.models import OutcomeCode
from finestreta.notifications.models import Message
from finestreta.queueing import services
from finestreta.queueing.models import DeskStatus, Lapse, QueueEntry
from finestreta.tenants.models import ClosedDay
from finestreta.video.models import Room
from tests.factories import AppointmentFactory, MembershipFactory, OfficeFactory
from tests.personas import Personas, log_in

MADRID = ZoneInfo("Europe/Madrid")
# A Monday at 10:00 in Madrid: the factories' offices open 9:00–14:00 on weekdays.
OPEN = dt.datetime(2026, 12, 14, 10, 0, tzinfo=MADRID)
State = QueueEntry.State


@pytest.fixture
def clock():  # type: ignore[no-untyped-def]
    with time_machine.travel(OPEN, tick=False) as traveller:
        yield traveller


def join_url(personas: Personas) -> str:
    return reverse("queue:join", args=[personas.org_a.slug, personas.service_a.slug])


def join(client: Client, personas: Personas, **data: str) -> QueueEntry:
    fields = {"channel": "video", "name": "Joana Puig", "phone": "612 345 678", **data}
    response = client.post(join_url(personas), fields)
    assert response.status_code == 302, response.content.decode()
    entry = QueueEntry.objects.latest("pk")
    assert response["Location"] == services.ticket_path(entry)
    return entry


def agent_of_another_office(personas: Personas):  # type: ignore[no-untyped-def]
    """An agent of organisation A who works at another office than the service's."""
    elsewhere = OfficeFactory(organisation=personas.org_a, slug="back-office", back_office=True)
    member = MembershipFactory(organisation=personas.org_a, languages=["ca", "es"])
    member.offices.add(elsewhere)
    member.services.add(personas.service_a)
    return member


@pytest.mark.django_db
def test_a_citizen_joins_the_queue_and_their_ticket_shows_their_place_and_wait(
    personas: Personas, clock
) -> None:
    client = Client()
    page = client.get(reverse("queue:service", args=[personas.org_a.slug]))
    assert page.status_code == 200
    assert join_url(personas) in page.content.decode()
    assert (
        "Obert ara, fins a les 14:00." in page.content.decode() or "14:00" in page.content.decode()
    )

    first = join(client, personas, name="Primer")
    entry = join(client, personas)
    assert entry.phone == "+34612345678"
    assert entry.locale == "ca"
    assert first.state == State.WAITING

    ticket = client.get(services.ticket_path(entry))
    assert ticket.status_code == 200
    assert ticket.context["ticket"].ahead == 1
    # Nobody with the skill is at work: no number would be honest.
    assert ticket.context["ticket"].wait_minutes is None

    agent = agent_of_another_office(personas)
    services.set_desk_status(membership=agent, state="available", now=OPEN)
    status = client.get(
        reverse("queue:ticket-status", args=[personas.org_a.slug, services.ticket_token(entry)])
    )
    body = status.json()
    assert body["state"] == "waiting"
    assert body["ahead"] == 1
    assert body["wait_minutes"] is not None and body["wait_minutes"][0] >= 0


@pytest.mark.django_db
def test_an_organisation_that_hides_the_position_shows_only_the_estimate(
    personas: Personas, clock
) -> None:
    personas.org_a.queue_shows_position = False
    personas.org_a.save()
    client = Client()
    join(client, personas, name="Primer")
    entry = join(client, personas)
    ticket = client.get(services.ticket_path(entry))
    assert ticket.context["ticket"].ahead is None
    assert 'id="ticket-ahead"' not in ticket.content.decode()
    assert 'id="ticket-wait"' in ticket.content.decode()


@pytest.mark.django_db
def test_the_queue_is_closed_outside_opening_hours_with_the_next_opening(
    personas: Personas,
) -> None:
    saturday = dt.datetime(2026, 12, 12, 11, 0, tzinfo=MADRID)
    with time_machine.travel(saturday, tick=False):
        client = Client()
        page = client.get(join_url(personas))
        assert page.status_code == 200
        text = page.content.decode()
        assert 'id="queue-closed"' in text
        assert "14:00" not in text  # no "open until"
        assert page.context["hours"].opens_at == dt.datetime(2026, 12, 14, 9, 0, tzinfo=MADRID)
        response = client.post(
            join_url(personas), {"channel": "video", "name": "X", "phone": "612345678"}
        )
        assert response.status_code == 400
    assert not QueueEntry.objects.exists()


@pytest.mark.django_db
def test_a_closed_day_closes_the_queue(personas: Personas, clock) -> None:
    ClosedDay.objects.create(organisation=personas.org_a, date=OPEN.date(), reason="Festa major")
    hours = services.queue_hours(personas.service_a, now=OPEN)
    assert not hours.open
    assert hours.opens_at == dt.datetime(2026, 12, 15, 9, 0, tzinfo=MADRID)


@pytest.mark.django_db
def test_bad_input_gets_clear_errors_in_the_citizen_s_language_and_nothing_is_written(
    personas: Personas, clock
) -> None:
    personas.service_a.offers_phone = True
    personas.service_a.save()
    client = Client()
    response = client.post(join_url(personas), {"channel": "video", "name": "", "phone": ""})
    assert response.status_code == 400
    text = response.content.decode()
    assert "Escriviu el vostre nom." in text
    assert response.context["form"].errors["phone"] == [
        "Doneu un mòbil o una adreça electrònica, perquè us puguem avisar quan sigui el vostre torn."
    ]
    client.post("/i18n/setlang/", {"language": "es", "next": "/"})
    response = client.post(
        join_url(personas), {"channel": "phone", "name": "Ana", "email": "a@example.net"}
    )
    assert response.status_code == 400
    assert response.context["form"].errors["phone"] == [
        "Escriba el teléfono donde debemos llamarle."
    ]
    assert not QueueEntry.objects.exists()


@pytest.mark.django_db
def test_a_citizen_can_leave_the_queue_and_a_ticket_of_another_organisation_is_not_found(
    personas: Personas, clock
) -> None:
    client = Client()
    entry = join(client, personas)
    token = services.ticket_token(entry)
    assert client.get(reverse("queue:ticket", args=[personas.org_b.slug, token])).status_code == 404
    assert (
        client.get(reverse("queue:ticket", args=[personas.org_a.slug, token + "x"])).status_code
        == 404
    )
    response = client.post(reverse("queue:leave", args=[personas.org_a.slug, token]))
    assert response.status_code == 302
    entry.refresh_from_db()
    assert entry.state == State.LEFT
    assert 'id="ticket-left"' in client.get(services.ticket_path(entry)).content.decode()


@pytest.mark.django_db
def test_priority_is_asked_only_where_the_organisation_offers_it(personas: Personas, clock) -> None:
    client = Client()
    assert 'name="priority"' in client.get(join_url(personas)).content.decode()
    helped = join(client, personas, priority="on")
    assert helped.priority == 1
    personas.org_a.queue_priority_help = False
    personas.org_a.save()
    assert 'name="priority"' not in client.get(join_url(personas)).content.decode()
    plain = join(client, personas, priority="on")
    assert plain.priority == 0


@pytest.mark.django_db
def test_an_agent_of_another_office_takes_the_citizen_into_a_video_call_from_the_desk(
    personas: Personas, clock
) -> None:
    citizen = Client()
    entry = join(citizen, personas, email="joana@example.net")
    agent = agent_of_another_office(personas)
    desk = log_in(agent.user)
    org = personas.org_a.slug

    response = desk.post(reverse("staff-queue:status", args=[org]), {"state": "available"})
    assert response.status_code == 302
    entry.refresh_from_db()
    assert entry.state == State.OFFERED and entry.offered_to == agent

    page = desk.get(reverse("staff-queue:desk", args=[org]))
    assert page.status_code == 200
    assert "Joana Puig" in page.content.decode()
    assert 'id="accept-offer"' in page.content.decode()

    response = desk.post(reverse("staff-queue:accept", args=[org, entry.pk]))
    entry.refresh_from_db()
    appointment = entry.appointment
    assert entry.state == State.SERVING and entry.served_by == agent
    assert appointment is not None and appointment.walk_in
    assert appointment.agent == agent and appointment.channel == "video"
    assert appointment.status == Appointment.Status.BOOKED
    assert appointment.starts_at == OPEN
    room = Room.objects.get(appointment=appointment, state=Room.State.OPEN)
    assert response["Location"] == reverse("staff-video:room", args=[org, room.public_id])
    assert DeskStatus.objects.get(membership=agent).state == DeskStatus.State.IN_CALL

    # "It is your turn", once per channel, with the link into the call.
    turn = Message.objects.filter(kind="queue_your_turn").order_by("channel")
    assert [(m.channel, m.recipient) for m in turn] == [
        ("email", "joana@example.net"),
        ("sms", "+34612345678"),
    ]
    ticket = citizen.get(services.ticket_path(entry)).context["ticket"]
    assert ticket.state == "serving" and ticket.join_url
    assert all(ticket.join_url in m.body for m in turn)
    # Accepting twice changes nothing.
    again = desk.post(reverse("staff-queue:accept", args=[org, entry.pk]))
    assert again.status_code == 302
    assert Message.objects.filter(kind="queue_your_turn").count() == 2

    # The agent finishes at the desk with an outcome and notes.
    solved = OutcomeCode.objects.create(organisation=personas.org_a, code="solved", label="Resolt")
    finish = reverse("staff-queue:finish", args=[org, entry.pk])
    refused = desk.post(finish, {"notes": "x", "then": "next"})
    assert refused.status_code == 400  # an outcome is needed where the organisation has them
    clock.shift(dt.timedelta(minutes=6))
    response = desk.post(finish, {"outcome": solved.pk, "notes": "Alta al padró", "then": "pause"})
    assert response.status_code == 302
    entry.refresh_from_db()
    appointment.refresh_from_db()
    assert entry.state == State.SERVED
    assert appointment.status == Appointment.Status.ATTENDED
    assert appointment.outcome == solved and appointment.staff_notes == "Alta al padró"
    assert appointment.ends_at == OPEN + dt.timedelta(minutes=6)  # ended early: time freed
    assert not Room.objects.filter(appointment=appointment, state=Room.State.OPEN).exists()
    desk_row = DeskStatus.objects.get(membership=agent)
    assert (desk_row.state, desk_row.reason) == ("paused", "after_call")


@pytest.mark.django_db
def test_a_telephone_walk_in_shows_the_number_to_call_and_a_no_show_is_recorded(
    personas: Personas, clock
) -> None:
    personas.service_a.offers_phone = True
    personas.service_a.save()
    entry = join(Client(), personas, channel="phone")
    agent = agent_of_another_office(personas)
    services.set_desk_status(membership=agent, state="available", now=OPEN)
    services.offer_next(membership=agent, now=OPEN)
    desk = log_in(agent.user)
    org = personas.org_a.slug
    response = desk.post(reverse("staff-queue:accept", args=[org, entry.pk]))
    assert response["Location"] == reverse("staff-queue:desk", args=[org])
    page = desk.get(reverse("staff-queue:desk", args=[org])).content.decode()
    assert "+34612345678" in page and 'id="finish-not-come"' in page
    sms = Message.objects.get(kind="queue_your_turn", channel="sms")
    assert "trucant" in sms.body  # "we are calling you now", in Catalan

    desk.post(reverse("staff-queue:finish", args=[org, entry.pk]), {"then": "not_come"})
    entry.refresh_from_db()
    assert entry.state == State.SERVED
    assert entry.appointment.status == Appointment.Status.NO_SHOW
    assert DeskStatus.objects.get(membership=agent).state == "available"


@pytest.mark.django_db
def test_an_agent_whose_next_appointment_is_too_soon_passes_the_citizen_on(
    personas: Personas, clock
) -> None:
    entry = join(Client(), personas)
    agent = agent_of_another_office(personas)
    AppointmentFactory(
        agent=agent, service=personas.service_a, starts_at=OPEN + dt.timedelta(minutes=3)
    )
    services.set_desk_status(membership=agent, state="available", now=OPEN)
    services.offer_next(membership=agent, now=OPEN)
    with pytest.raises(services.QueueError) as refused:
        services.accept_offer(membership=agent, entry_id=entry.pk, now=OPEN)
    assert refused.value.code == "no_time"
    entry.refresh_from_db()
    assert entry.state == State.WAITING and entry.appointment is None
    assert Lapse.objects.filter(entry=entry, membership=agent).exists()
    assert not Appointment.objects.filter(walk_in=True).exists()


@pytest.mark.django_db
def test_a_walk_in_call_ends_before_the_agent_s_next_appointment(personas: Personas, clock) -> None:
    entry = join(Client(), personas)
    agent = agent_of_another_office(personas)
    AppointmentFactory(
        agent=agent, service=personas.service_a, starts_at=OPEN + dt.timedelta(minutes=9)
    )
    services.set_desk_status(membership=agent, state="available", now=OPEN)
    services.offer_next(membership=agent, now=OPEN)
    taken = services.accept_offer(membership=agent, entry_id=entry.pk, now=OPEN)
    assert taken.appointment.ends_at <= OPEN + dt.timedelta(minutes=9)


@pytest.mark.django_db
def test_the_desk_and_the_live_view_refuse_other_tenants_and_the_live_view_needs_a_supervisor(
    personas: Personas, clock
) -> None:
    org = personas.org_a.slug
    stranger = log_in(personas.agent_b)
    for name in ("desk", "desk-live", "supervisor", "supervisor-live"):
        assert stranger.get(reverse(f"staff-queue:{name}", args=[org])).status_code == 404
    agent = log_in(personas.agent_a)
    assert agent.get(reverse("staff-queue:desk-live", args=[org])).status_code == 200
    assert agent.get(reverse("staff-queue:supervisor", args=[org])).status_code == 403
    supervisor = log_in(personas.supervisor_a)
    join(Client(), personas)
    page = supervisor.get(reverse("staff-queue:supervisor", args=[org]))
    assert page.status_code == 200
    assert page.context["overview"].queues[0].waiting == 1
    # Another tenant's staff cannot act on this organisation's queue either.
    entry = QueueEntry.objects.get()
    assert stranger.post(reverse("staff-queue:accept", args=[org, entry.pk])).status_code == 404


@pytest.mark.django_db
def test_a_walk_in_whose_citizen_never_joins_is_marked_not_come_and_frees_the_agent(
    personas: Personas, clock, settings
) -> None:
    from finestreta.video.services import mark_no_shows

    entry = join(Client(), personas)
    agent = agent_of_another_office(personas)
    services.set_desk_status(membership=agent, state="available", now=OPEN)
    services.offer_next(membership=agent, now=OPEN)
    services.accept_offer(membership=agent, entry_id=entry.pk, now=OPEN)
    later = OPEN + dt.timedelta(minutes=settings.VIDEO_NO_SHOW_MINUTES + 1)
    assert mark_no_shows(now=later) == 1
    entry.refresh_from_db()
    assert entry.state == State.SERVED
    assert entry.appointment.status == Appointment.Status.NO_SHOW
    assert DeskStatus.objects.get(membership=agent).state == "available"
