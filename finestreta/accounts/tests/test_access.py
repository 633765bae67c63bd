"""Who may reach a staff page: the access helper, logging in and out, and the staff views."""

from __future__ import annotations

import pytest
from django.contrib.auth import SESSION_KEY, authenticate
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.http import Http404
from django.test import Client, RequestFactory
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from finestreta.accounts.demo import DEMO_LOGINS
from finestreta.accounts.models import Membership, Role, User
from finestreta.accounts.services import get_membership_for_staff
from tests.factories import MembershipFactory, OfficeFactory, OrganisationFactory, UserFactory
from tests.personas import PASSWORD, Personas, log_in

pytestmark = pytest.mark.django_db

LOGIN = reverse("accounts:login")
STAFF_HOME = reverse("accounts:staff-home")


def request_as(user: object) -> object:
    request = RequestFactory().get("/")
    request.user = user  # type: ignore[attr-defined]
    return request


def url(name: str, org: str, **kwargs: str) -> str:
    return reverse(f"accounts:{name}", kwargs={"org": org, **kwargs})


def logged_in(user: object) -> Client:
    return log_in(user)  # type: ignore[arg-type]


# --- get_membership_for_staff --------------------------------------------------------------


def test_a_member_gets_the_staff_context(personas: Personas) -> None:
    staff = get_membership_for_staff(request_as(personas.agent_a), personas.org_a.slug)
    assert staff.user == personas.agent_a
    assert staff.organisation == personas.org_a
    assert staff.membership == personas.membership(personas.agent_a)


def test_a_member_of_another_organisation_gets_404(personas: Personas) -> None:
    with pytest.raises(Http404):
        get_membership_for_staff(request_as(personas.admin_b), personas.org_a.slug)


def test_an_inactive_membership_gets_404(personas: Personas) -> None:
    Membership.objects.filter(user=personas.agent_a).update(is_active=False)
    with pytest.raises(Http404):
        get_membership_for_staff(request_as(personas.agent_a), personas.org_a.slug)


def test_a_member_of_an_inactive_organisation_gets_404(personas: Personas) -> None:
    personas.org_a.is_active = False
    personas.org_a.save()
    with pytest.raises(Http404):
        get_membership_for_staff(request_as(personas.admin_a), personas.org_a.slug)


def test_an_agent_asking_for_the_supervisor_role_is_refused(personas: Personas) -> None:
    with pytest.raises(PermissionDenied):
        get_membership_for_staff(
            request_as(personas.agent_a), personas.org_a.slug, min_role=Role.SUPERVISOR
        )


def test_a_higher_role_satisfies_a_lower_minimum(personas: Personas) -> None:
    staff = get_membership_for_staff(
        request_as(personas.admin_a), personas.org_a.slug, min_role=Role.SUPERVISOR
    )
    assert staff.membership.role == Role.ORG_ADMIN


def test_an_anonymous_visitor_is_refused(personas: Personas) -> None:
    with pytest.raises(PermissionDenied):
        get_membership_for_staff(request_as(AnonymousUser()), personas.org_a.slug)


def test_a_deactivated_user_is_refused(personas: Personas) -> None:
    personas.agent_a.is_active = False
    with pytest.raises(PermissionDenied):
        get_membership_for_staff(request_as(personas.agent_a), personas.org_a.slug)


# --- Logging in and out --------------------------------------------------------------------


def test_the_login_page_renders(client: Client, db) -> None:
    response = client.get(LOGIN)
    assert response.status_code == 200
    assert 'name="username"' in response.content.decode()


def demo_agent(personas: Personas) -> User:
    demo = UserFactory(username="demo-agent", is_demo=True)
    MembershipFactory(user=demo, organisation=personas.org_a)
    return demo


def test_a_correct_demo_login_redirects_to_the_staff_home(
    client: Client, personas, settings
) -> None:
    settings.DEBUG = True
    demo = demo_agent(personas)
    response = client.post(LOGIN, {"username": "demo-agent", "password": PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == STAFF_HOME
    assert client.session[SESSION_KEY] == str(demo.pk)


def test_staff_cannot_log_in_with_a_password_only_through_their_organisation(
    client: Client, personas
) -> None:
    for username in ("agent-a", "supervisor-a", "admin-a"):
        response = client.post(LOGIN, {"username": username, "password": PASSWORD})
        assert response.status_code == 200
        assert response.context["form"].non_field_errors()
        assert SESSION_KEY not in client.session


def test_a_platform_admin_logs_in_with_a_password_and_is_asked_for_a_second_factor(
    client: Client, personas
) -> None:
    response = client.post(LOGIN, {"username": "platform", "password": PASSWORD})
    assert response.status_code == 302
    assert client.session[SESSION_KEY] == str(personas.platform_admin.pk)
    response = client.get("/admin/")
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:second-factor"))


def test_a_login_does_not_redirect_to_another_site(client: Client, personas, settings) -> None:
    settings.DEBUG = True
    demo_agent(personas)
    response = client.post(
        LOGIN, {"username": "demo-agent", "password": PASSWORD, "next": "https://evil.example/"}
    )
    assert response["Location"] == STAFF_HOME


def test_a_wrong_password_shows_the_error_and_opens_no_session(client: Client, personas) -> None:
    response = client.post(LOGIN, {"username": "agent-a", "password": "not the password"})
    assert response.status_code == 200
    assert response.context["form"].non_field_errors()
    assert 'role="alert"' in response.content.decode()
    assert SESSION_KEY not in client.session


def test_demo_logins_appear_on_the_login_page_only_while_debug_is_on(
    client: Client, settings, db
) -> None:
    settings.DEBUG = True
    assert DEMO_LOGINS[1].username in client.get(LOGIN).content.decode()
    settings.DEBUG = False
    body = client.get(LOGIN).content.decode()
    assert DEMO_LOGINS[1].username not in body
    assert "finestreta-demo" not in body


def test_a_demo_user_can_authenticate_only_while_debug_is_on(settings, db) -> None:
    demo = UserFactory(username="demo-agent", is_demo=True)
    settings.DEBUG = True
    assert authenticate(username="demo-agent", password=PASSWORD) == demo
    settings.DEBUG = False
    assert authenticate(username="demo-agent", password=PASSWORD) is None


def test_a_demo_user_cannot_log_in_through_the_form_when_debug_is_off(
    client: Client, settings, db
) -> None:
    UserFactory(username="demo-agent", is_demo=True)
    settings.DEBUG = False
    response = client.post(LOGIN, {"username": "demo-agent", "password": PASSWORD})
    assert response.status_code == 200
    assert SESSION_KEY not in client.session


def test_a_demo_users_session_stops_working_when_debug_goes_off(settings, personas) -> None:
    demo = UserFactory(username="demo-agent", is_demo=True)
    MembershipFactory(user=demo, organisation=personas.org_a)
    settings.DEBUG = True
    client = logged_in(demo)
    dashboard = url("dashboard", personas.org_a.slug)
    assert client.get(dashboard).status_code == 200
    settings.DEBUG = False
    response = client.get(dashboard)
    assert response.status_code == 302
    assert response["Location"].startswith(LOGIN)


def test_logout_is_post_only_and_ends_the_session(personas: Personas) -> None:
    client = logged_in(personas.agent_a)
    logout = reverse("accounts:logout")
    assert client.get(logout).status_code == 405
    assert SESSION_KEY in client.session
    response = client.post(logout)
    assert response.status_code == 302
    assert SESSION_KEY not in client.session
    assert client.get(STAFF_HOME)["Location"].startswith(LOGIN)


# --- Staff views ---------------------------------------------------------------------------


def test_the_staff_home_redirects_a_single_membership_to_its_dashboard(personas) -> None:
    response = logged_in(personas.agent_a).get(STAFF_HOME)
    assert response.status_code == 302
    assert response["Location"] == url("dashboard", personas.org_a.slug)


def test_the_staff_home_lets_a_member_of_two_organisations_choose(personas) -> None:
    MembershipFactory(user=personas.agent_a, organisation=personas.org_b)
    response = logged_in(personas.agent_a).get(STAFF_HOME)
    assert response.status_code == 200
    assert {m.organisation for m in response.context["memberships"]} == {
        personas.org_a,
        personas.org_b,
    }


def test_the_staff_home_tells_a_user_without_membership_to_ask_for_one(personas) -> None:
    response = logged_in(personas.platform_admin).get(STAFF_HOME)
    assert response.status_code == 200
    assert list(response.context["memberships"]) == []


def test_the_staff_home_sends_anonymous_visitors_to_log_in(client: Client, db) -> None:
    response = client.get(STAFF_HOME)
    assert response.status_code == 302
    assert response["Location"].startswith(LOGIN)


def test_the_dashboard_shows_the_members_organisation(personas) -> None:
    response = logged_in(personas.agent_a).get(url("dashboard", personas.org_a.slug))
    assert response.status_code == 200
    assert response.context["organisation"] == personas.org_a
    assert response["Cache-Control"] == "no-store"


def test_the_dashboard_of_another_organisation_is_404(personas) -> None:
    response = logged_in(personas.agent_a).get(url("dashboard", personas.org_b.slug))
    assert response.status_code == 404


def test_the_team_page_is_403_for_an_agent(personas) -> None:
    assert logged_in(personas.agent_a).get(url("team", personas.org_a.slug)).status_code == 403


def test_the_team_page_is_404_for_another_organisations_supervisor(personas) -> None:
    client = logged_in(personas.supervisor_b)
    assert client.get(url("team", personas.org_a.slug)).status_code == 404


def test_the_team_page_lists_only_the_own_organisations_staff(personas) -> None:
    personas.agent_b.last_name = "Forastera"
    personas.agent_b.save()
    response = logged_in(personas.supervisor_a).get(url("team", personas.org_a.slug))
    assert response.status_code == 200
    users = {m.user for m in response.context["team"]}
    assert users == {personas.agent_a, personas.supervisor_a, personas.admin_a}
    assert "Forastera" not in response.content.decode()


def test_the_team_page_makes_the_same_queries_for_3_or_8_members(
    personas, django_assert_num_queries
) -> None:
    client = logged_in(personas.supervisor_a)
    with CaptureQueriesContext(connection) as three:
        client.get(url("team", personas.org_a.slug))
    for _ in range(5):
        membership = MembershipFactory(organisation=personas.org_a, sign_language=True)
        membership.offices.add(OfficeFactory(organisation=personas.org_a))
    with django_assert_num_queries(len(three.captured_queries)):
        response = client.get(url("team", personas.org_a.slug))
    assert len(response.context["team"]) == 8


def test_the_staff_office_page_shows_an_office_of_the_own_organisation(personas) -> None:
    client = logged_in(personas.agent_a)
    response = client.get(url("office", personas.org_a.slug, office=personas.office_a.slug))
    assert response.status_code == 200
    assert "09:00–14:00" in response.content.decode()


def test_the_staff_office_page_is_404_for_an_office_of_another_organisation(personas) -> None:
    client = logged_in(personas.agent_a)
    response = client.get(url("office", personas.org_a.slug, office=personas.office_b.slug))
    assert response.status_code == 404


def test_the_staff_office_page_is_404_for_an_unknown_organisation(personas) -> None:
    OrganisationFactory(slug="altre")
    client = logged_in(personas.agent_a)
    assert client.get(url("office", "altre", office=personas.office_a.slug)).status_code == 404
