"""Staff sessions: a new id at login, idle and absolute limits, seeing and ending sessions,
and deactivation ending every session at once."""

from __future__ import annotations

import datetime as dt

import time_machine
from django.contrib.auth import SESSION_KEY
from django.contrib.sessions.models import Session
from django.test import Client
from django.urls import reverse

from finestreta.accounts.models import Membership, StaffSession
from tests.factories import MembershipFactory, UserFactory
from tests.personas import PASSWORD, Personas

START = dt.datetime(2026, 11, 30, 8, 0, tzinfo=dt.UTC)
SESSIONS = reverse("accounts:sessions")


def signed_in(user, at: dt.datetime = START) -> Client:  # type: ignore[no-untyped-def]
    client = Client()
    with time_machine.travel(at, tick=False):
        client.force_login(user)
    return client


def dashboard(personas: Personas) -> str:
    return reverse("accounts:dashboard", args=[personas.org_a.slug])


def test_login_gives_a_new_session_id(client: Client, personas: Personas, settings) -> None:
    settings.DEBUG = True
    demo = UserFactory(username="demo-x", is_demo=True)
    client.get(reverse("accounts:login"))
    session = client.session
    session["before"] = "login"
    session.save()
    before = session.session_key
    client.post(reverse("accounts:login"), {"username": "demo-x", "password": PASSWORD})
    assert client.session[SESSION_KEY] == str(demo.pk)
    assert client.session.session_key != before


def test_an_idle_session_ends(personas: Personas, settings) -> None:
    settings.SESSION_IDLE_MINUTES = 30
    client = signed_in(personas.agent_a)
    with time_machine.travel(START + dt.timedelta(minutes=20), tick=False):
        assert client.get(dashboard(personas)).status_code == 200
    with time_machine.travel(START + dt.timedelta(minutes=45), tick=False):
        assert client.get(dashboard(personas)).status_code == 200  # 25 idle minutes
    with time_machine.travel(START + dt.timedelta(minutes=80), tick=False):
        response = client.get(dashboard(personas))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))
    assert SESSION_KEY not in client.session


def test_a_session_ends_after_the_absolute_limit_even_when_active(
    personas: Personas, settings
) -> None:
    settings.SESSION_IDLE_MINUTES = 30
    settings.SESSION_MAX_HOURS = 2
    client = signed_in(personas.agent_a)
    for minutes in range(20, 120, 20):
        with time_machine.travel(START + dt.timedelta(minutes=minutes), tick=False):
            assert client.get(dashboard(personas)).status_code == 200
    with time_machine.travel(START + dt.timedelta(minutes=125), tick=False):
        assert client.get(dashboard(personas)).status_code == 302


def test_an_organisation_can_set_stricter_limits_but_not_laxer_ones(
    personas: Personas, settings
) -> None:
    from finestreta.accounts.sessions import limits_for

    settings.SESSION_IDLE_MINUTES = 30
    settings.SESSION_MAX_HOURS = 10
    personas.org_a.session_idle_minutes = 10
    personas.org_a.session_max_hours = 24
    limits = limits_for(personas.org_a)
    assert limits.idle == dt.timedelta(minutes=10)
    assert limits.absolute == dt.timedelta(hours=10)


def test_a_person_sees_their_sessions_and_ends_another_one(personas: Personas) -> None:
    laptop = signed_in(personas.agent_a)
    phone = signed_in(personas.agent_a)
    signed_in(personas.agent_b)  # someone else's session is not listed
    with time_machine.travel(START + dt.timedelta(minutes=1), tick=False):
        page = laptop.get(SESSIONS)
        listed = page.context["sessions"]
        assert len(listed) == 2
        phone_row = next(s for s in listed if s.session_key == phone.session.session_key)
        laptop.post(SESSIONS, {"end": str(phone_row.pk)})
        assert phone.get(dashboard(personas)).status_code == 302
        assert laptop.get(dashboard(personas)).status_code == 200


def test_ending_all_other_sessions_keeps_this_one(personas: Personas) -> None:
    clients = [signed_in(personas.agent_a) for _ in range(3)]
    with time_machine.travel(START + dt.timedelta(minutes=1), tick=False):
        clients[0].post(SESSIONS, {"end": "others"})
        assert clients[0].get(dashboard(personas)).status_code == 200
        assert all(c.get(dashboard(personas)).status_code == 302 for c in clients[1:])


def test_nobody_can_end_someone_elses_session(personas: Personas) -> None:
    victim = signed_in(personas.agent_b)
    attacker = signed_in(personas.agent_a)
    victim_row = StaffSession.objects.get(session_key=victim.session.session_key)
    with time_machine.travel(START + dt.timedelta(minutes=1), tick=False):
        attacker.post(SESSIONS, {"end": str(victim_row.pk)})
        assert (
            victim.get(reverse("accounts:dashboard", args=[personas.org_b.slug])).status_code == 200
        )


def test_deactivating_a_membership_ends_the_persons_sessions_at_once(personas: Personas) -> None:
    client = signed_in(personas.agent_a)
    key = client.session.session_key
    with time_machine.travel(START + dt.timedelta(minutes=1), tick=False):
        assert client.get(dashboard(personas)).status_code == 200
        membership = Membership.objects.get(user=personas.agent_a)
        membership.is_active = False
        membership.save()
        assert not Session.objects.filter(session_key=key).exists()
        assert client.get(dashboard(personas)).status_code == 302


def test_deactivating_a_user_in_the_admin_ends_their_sessions(personas: Personas) -> None:
    target = UserFactory(username="soon-gone")
    MembershipFactory(user=target, organisation=personas.org_a)
    client = signed_in(target)
    key = client.session.session_key
    target.is_active = False
    target.save()
    assert not Session.objects.filter(session_key=key).exists()
    assert not StaffSession.objects.filter(session_key=key).exists()


def test_ending_a_session_with_nonsense_input_gets_a_clear_message(personas: Personas) -> None:
    client = signed_in(personas.agent_a)
    with time_machine.travel(START + dt.timedelta(minutes=1), tick=False):
        for value in ("abc", "", "99999"):
            response = client.post(SESSIONS, {"end": value}, follow=True)
            assert response.status_code == 200
            assert [m.level_tag for m in response.context["messages"]] == ["error"]
        assert client.get(dashboard(personas)).status_code == 200
