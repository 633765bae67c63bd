"""The staff agenda: day and week, whose agenda, the organisation's time zone, and refusals."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
import time_machine
from django.test import Client

from finestreta.accounts.models import Membership
from finestreta.appointments.tests.staff_setup import (
    NOW,
    appointment,
    madrid,
    other_office,
)
from finestreta.privacy.models import AuditEvent
from tests.factories import MembershipFactory, ServiceFactory
from tests.personas import Personas

AGENDA = "/org-a/staff/agenda/"


@pytest.fixture(autouse=True)
def frozen() -> Iterator[None]:
    with time_machine.travel(NOW, tick=False):
        yield


def member(personas: Personas, user: str) -> Membership:
    return Membership.objects.get(user=getattr(personas, user))


def test_an_agent_sees_their_own_appointments_of_today_by_default(
    client: Client, personas: Personas
) -> None:
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "ca"  # the services' names are Catalan
    agent = member(personas, "agent_a")
    service = ServiceFactory(organisation=personas.org_a, name="Padró", name_ca="Padró")
    appointment(
        agent,
        madrid(30, 9, month=11),
        service=service,
        name="Núria Vidal",
        needs_sign_language=True,
        representative_name="Pere Vidal",
    )
    appointment(agent, madrid(1, 9), name="Tomorrow Person")
    appointment(member(personas, "supervisor_a"), madrid(30, 10, month=11), name="Not Mine")
    client.force_login(personas.agent_a)

    response = client.get(AGENDA)

    assert response.status_code == 200
    page = response.content.decode()
    assert "Núria Vidal" in page and "Padró" in page
    assert "Tomorrow Person" not in page and "Not Mine" not in page
    row = response.context["days"][0]
    assert row.date == dt.date(2026, 11, 30) and len(row.appointments) == 1
    assert "<time datetime=" in page and ">09:00</time>" in page
    assert 'scope="col"' in page and "<caption" in page


def test_an_appointment_late_in_the_evening_belongs_to_its_local_day(
    client: Client, personas: Personas
) -> None:
    agent = member(personas, "agent_a")
    appointment(agent, madrid(30, 23, 30, month=11), name="Late Monday")  # 22:30 UTC
    appointment(agent, madrid(1, 0, 30), name="Early Tuesday")  # Monday 23:30 UTC
    client.force_login(personas.agent_a)

    page = client.get(AGENDA).content.decode()

    assert "Late Monday" in page and "Early Tuesday" not in page


def test_the_week_view_shows_monday_to_sunday_with_links_to_other_weeks(
    client: Client, personas: Personas
) -> None:
    agent = member(personas, "agent_a")
    appointment(agent, madrid(2, 9), name="Wednesday Person")
    appointment(agent, madrid(6, 11), name="Sunday Person")
    appointment(agent, madrid(7, 9), name="Next Monday Person")
    client.force_login(personas.agent_a)

    response = client.get(AGENDA, {"view": "week", "date": "2026-12-02"})

    assert response.status_code == 200
    days = response.context["days"]
    assert [d.date for d in days] == [dt.date(2026, 11, 30) + dt.timedelta(n) for n in range(7)]
    page = response.content.decode()
    assert "Wednesday Person" in page and "Sunday Person" in page
    assert "Next Monday Person" not in page
    assert "date=2026-11-23" in page and "date=2026-12-07" in page
    assert "view=week" in page


def test_the_day_view_links_to_the_day_before_and_after(client: Client, personas: Personas) -> None:
    client.force_login(personas.agent_a)

    page = client.get(AGENDA, {"date": "2026-12-01"}).content.decode()

    assert "date=2026-11-30" in page and "date=2026-12-02" in page


def test_a_day_of_the_spring_clock_change_shows_its_appointments_at_local_time(
    client: Client, personas: Personas
) -> None:
    agent = member(personas, "agent_a")
    appointment(agent, madrid(29, 10, month=3), name="Clock Change Day")
    appointment(agent, madrid(30, 0, 15, month=3), name="Just After Midnight")
    client.force_login(personas.agent_a)

    response = client.get(AGENDA, {"date": "2026-03-29"})

    page = response.content.decode()
    assert "Clock Change Day" in page and ">10:00</time>" in page
    assert "Just After Midnight" not in page


def test_an_agent_sees_the_agenda_of_their_office_including_colleagues_video_calls(
    client: Client, personas: Personas
) -> None:
    appointment(member(personas, "supervisor_a"), madrid(30, 10, month=11), name="Colleague Call")
    office_2, agent_2 = other_office(personas)
    appointment(agent_2, madrid(30, 10, month=11), name="Elsewhere", office=office_2)
    client.force_login(personas.agent_a)

    response = client.get(AGENDA, {"whose": "office-oficina-a"})

    assert response.status_code == 200
    page = response.content.decode()
    assert "Colleague Call" in page and "Elsewhere" not in page
    values = [w.value for w in response.context["form"].agendas]
    assert values == ["mine", "office-oficina-a"]


def test_an_agent_cannot_open_another_offices_or_a_colleagues_agenda(
    client: Client, personas: Personas
) -> None:
    other_office(personas)
    colleague = member(personas, "supervisor_a")
    client.force_login(personas.agent_a)

    for whose in ("office-oficina-a2", f"agent-{colleague.pk}"):
        response = client.get(AGENDA, {"whose": whose})
        assert response.status_code == 400
        assert "Choose an agenda from the list." in response.content.decode()


def test_a_supervisor_starts_with_the_office_agenda_and_may_open_a_colleagues(
    client: Client, personas: Personas
) -> None:
    agent = member(personas, "agent_a")
    appointment(agent, madrid(30, 9, month=11), name="Agent Person")
    office_2, agent_2 = other_office(personas)
    client.force_login(personas.supervisor_a)

    response = client.get(AGENDA)

    assert response.context["whose"].value == "office-oficina-a"
    assert "Agent Person" in response.content.decode()
    values = [w.value for w in response.context["form"].agendas]
    assert f"agent-{agent.pk}" in values
    assert f"agent-{agent_2.pk}" not in values and "office-oficina-a2" not in values
    response = client.get(AGENDA, {"whose": f"agent-{agent.pk}"})
    assert response.status_code == 200 and "Agent Person" in response.content.decode()


def test_an_organisation_administrator_sees_every_office_and_every_agent(
    client: Client, personas: Personas
) -> None:
    office_2, agent_2 = other_office(personas)
    appointment(agent_2, madrid(30, 10, month=11), name="Elsewhere", office=office_2)
    client.force_login(personas.admin_a)

    response = client.get(AGENDA, {"whose": "office-oficina-a2"})

    assert response.status_code == 200
    assert "Elsewhere" in response.content.decode()
    values = [w.value for w in response.context["form"].agendas]
    assert f"agent-{agent_2.pk}" in values


def test_held_and_other_organisations_times_stay_out_of_the_agenda(
    client: Client, personas: Personas
) -> None:
    agent = member(personas, "agent_a")
    appointment(agent, madrid(30, 9, month=11), held=True)
    appointment(agent, madrid(30, 10, month=11), name="Cancelled Person", cancelled=True)
    client.force_login(personas.admin_a)

    response = client.get(AGENDA, {"whose": f"agent-{agent.pk}"})

    rows = response.context["days"][0].appointments
    assert [r.name for r in rows] == ["Cancelled Person"]
    assert "Cancelled" in response.content.decode()


@pytest.mark.parametrize(
    "query",
    [
        {"date": "2026-13-45"},
        {"date": "99999-01-01"},
        {"date": "1066-10-14"},
        {"view": "fortnight"},
        {"whose": "agent-999999"},
        {"whose": "office-nowhere"},
    ],
)
def test_nonsense_in_the_address_gets_a_clear_message_not_an_error(
    client: Client, personas: Personas, query: dict[str, str]
) -> None:
    client.force_login(personas.agent_a)

    response = client.get(AGENDA, query)

    assert response.status_code == 400
    page = response.content.decode()
    assert 'class="error-summary"' in page and 'href="#id_' in page
    assert 'aria-invalid="true"' in page


def test_showing_appointments_is_written_to_the_audit_log(
    client: Client, personas: Personas
) -> None:
    appointment(member(personas, "agent_a"), madrid(30, 9, month=11))
    client.force_login(personas.agent_a)

    client.get(AGENDA)
    client.get(AGENDA, {"date": "2026-12-25"})  # nothing shown: nothing to log

    events = AuditEvent.objects.filter(action=AuditEvent.Action.PERSONAL_DATA_VIEWED)
    assert events.count() == 1
    event = events.get()
    assert event.actor == personas.agent_a and event.organisation == personas.org_a
    assert event.details["list"] == "agenda"


def test_the_agenda_takes_a_bounded_number_of_queries(
    client: Client, personas: Personas, django_assert_max_num_queries
) -> None:  # type: ignore[no-untyped-def]
    supervisor = member(personas, "supervisor_a")
    for n in range(5):
        extra = MembershipFactory(organisation=personas.org_a)
        extra.offices.add(personas.office_a)
        for hour in (9, 10, 11):
            appointment(extra, madrid(1 + n, hour))
    client.force_login(supervisor.user)
    client.get(AGENDA)  # warm the session

    with django_assert_max_num_queries(12):
        response = client.get(AGENDA, {"view": "week"})

    assert sum(len(d.appointments) for d in response.context["days"]) == 15


def test_another_organisations_staff_gets_404_and_a_visitor_is_sent_to_log_in(
    client: Client, personas: Personas
) -> None:
    client.force_login(personas.admin_b)
    assert client.get(AGENDA).status_code == 404
    client.logout()
    response = client.get(AGENDA)
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_the_agenda_does_not_take_posts(client: Client, personas: Personas) -> None:
    client.force_login(personas.agent_a)
    assert client.post(AGENDA).status_code == 405


def test_the_staff_home_and_the_menu_link_to_the_agenda(client: Client, personas: Personas) -> None:
    client.force_login(personas.agent_a)

    page = client.get("/org-a/staff/").content.decode()

    assert page.count(f'href="{AGENDA}"') == 2
    assert 'href="/org-a/staff/appointments/new/"' in page
