"""What is written to the audit log: logins, failed logins, logouts, admin changes, reads."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.conf import settings
from django.contrib.admin.models import DELETION, LogEntry
from django.db import transaction
from django.test import Client, RequestFactory, override_settings
from django.urls import reverse

from finestreta.accounts.services import get_membership_for_staff, list_team
from finestreta.privacy.models import AuditEvent
from finestreta.privacy.services import REDACTED, record_event
from tests.factories import ClosedDayFactory, MembershipFactory, OrganisationFactory
from tests.personas import PASSWORD, Personas

pytestmark = pytest.mark.django_db

Action = AuditEvent.Action
LOGIN = reverse("accounts:login")
LOGOUT = reverse("accounts:logout")
WITH_AUDIT_MIDDLEWARE = [
    *settings.MIDDLEWARE,
    "finestreta.privacy.middleware.AuditRequestMiddleware",
]


def logged_in(user: object) -> Client:
    client = Client()
    client.force_login(user)  # type: ignore[arg-type]
    return client


def admin_form_data(response: Any) -> dict[str, Any]:
    """What the browser would post back from an admin change page, unchanged."""
    forms = [response.context["adminform"].form]
    for inline in response.context["inline_admin_formsets"]:
        forms += [inline.formset.management_form, *inline.formset.forms]
    data: dict[str, Any] = {}
    for form in forms:
        for field in form:
            value = field.value()
            if value is None or value is False:
                continue
            if value is True:
                data[field.html_name] = "on"
            elif isinstance(value, list | tuple):
                data[field.html_name] = [str(v) for v in value]
            else:
                data[field.html_name] = str(value)
    return data


# --- Logins and logouts --------------------------------------------------------------------


def test_a_login_is_recorded_with_the_organisation_of_the_only_membership(
    personas: Personas,
) -> None:
    # Staff sign in through their organisation's identity provider, which ends in Django's
    # login() like force_login does.
    logged_in(personas.agent_a)
    event = AuditEvent.objects.get(action=Action.LOGIN_SUCCEEDED)
    assert event.actor == personas.agent_a
    assert event.actor_label == "agent-a"
    assert event.organisation == personas.org_a
    assert event.details["backend"] in settings.AUTHENTICATION_BACKENDS


def test_a_password_login_through_the_form_records_where_it_came_from(
    personas: Personas,
) -> None:
    client = Client(headers={"user-agent": "Mozilla/5.0 Firefox/140.0"}, REMOTE_ADDR="192.0.2.7")
    response = client.post(LOGIN, {"username": "platform", "password": PASSWORD})
    assert response.status_code == 302
    event = AuditEvent.objects.get(action=Action.LOGIN_SUCCEEDED)
    assert event.actor == personas.platform_admin
    assert event.organisation is None  # a platform administrator's login is a platform event
    assert event.ip_address == "192.0.2.7"
    assert event.user_agent == "Mozilla/5.0 Firefox/140.0"
    assert event.details == {"backend": "finestreta.accounts.backends.LocalBackend"}


def test_a_login_of_someone_in_several_organisations_is_a_platform_event(
    personas: Personas,
) -> None:
    MembershipFactory(user=personas.agent_a, organisation=personas.org_b)
    logged_in(personas.agent_a)
    assert AuditEvent.objects.get(action=Action.LOGIN_SUCCEEDED).organisation is None


def test_client_login_with_a_password_is_recorded_too(personas: Personas) -> None:
    assert Client().login(username="platform", password=PASSWORD)
    assert AuditEvent.objects.get(action=Action.LOGIN_SUCCEEDED).actor == personas.platform_admin


def test_a_failed_login_keeps_the_username_tried_and_never_the_password(
    personas: Personas,
) -> None:
    wrong = "not-the-password-Zq81"
    response = Client().post(LOGIN, {"username": "agent-a", "password": wrong})
    assert response.status_code == 200
    event = AuditEvent.objects.get()
    assert event.action == Action.LOGIN_FAILED
    assert event.actor is None
    assert event.actor_label == "agent-a"
    assert event.organisation is None
    assert event.ip_address == "127.0.0.1"
    row = AuditEvent.objects.filter(pk=event.pk).values().get()
    assert wrong not in repr(row)
    assert PASSWORD not in repr(row)
    assert event.details == {}


def test_a_failed_login_cuts_a_long_username_to_150_characters(personas: Personas) -> None:
    Client().post(LOGIN, {"username": "x" * 400, "password": "whatever"})
    assert AuditEvent.objects.get(action=Action.LOGIN_FAILED).actor_label == "x" * 150


def test_a_logout_is_recorded(personas: Personas) -> None:
    client = logged_in(personas.supervisor_a)
    assert client.post(LOGOUT).status_code == 302
    event = AuditEvent.objects.get(action=Action.LOGOUT)
    assert event.actor == personas.supervisor_a
    assert event.organisation == personas.org_a


def test_a_logout_without_a_session_records_nothing(personas: Personas) -> None:
    Client().post(LOGOUT)
    assert not AuditEvent.objects.filter(action=Action.LOGOUT).exists()


# --- Changes in the Django admin -----------------------------------------------------------


def test_an_office_changed_in_the_admin_is_recorded_for_its_organisation(
    personas: Personas,
) -> None:
    client = logged_in(personas.admin_a)
    change = reverse("admin:tenants_office_change", args=[personas.office_a.pk])
    data = admin_form_data(client.get(change))
    data["phone"] = "972 000 000"
    response = client.post(change, data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    event = AuditEvent.objects.get(action=Action.ADMIN_CHANGED)
    assert event.actor == personas.admin_a
    assert event.organisation == personas.org_a
    assert (event.target_type, event.target_id) == ("tenants.office", str(personas.office_a.pk))
    assert event.target_label == "Oficina A"
    assert event.details["change_message"] == [{"changed": {"fields": ["Telephone"]}}]


def test_an_admin_deletion_is_recorded_with_the_organisation_of_the_deleted_record(
    personas: Personas,
) -> None:
    closed = ClosedDayFactory(organisation=personas.org_a, date=dt.date(2026, 3, 2))
    client = logged_in(personas.admin_a)
    delete = reverse("admin:tenants_closedday_delete", args=[closed.pk])
    assert client.post(delete, {"post": "yes"}).status_code == 302
    event = AuditEvent.objects.get(action=Action.ADMIN_DELETED)
    assert event.organisation == personas.org_a
    assert event.target_type == "tenants.closedday"
    assert event.target_label == str(closed)


def test_an_admin_event_about_a_record_already_gone_keeps_what_the_log_entry_says(
    personas: Personas,
) -> None:
    organisation = OrganisationFactory(slug="efimera", name="Efímera")
    entry = LogEntry.objects.log_actions(
        user_id=personas.platform_admin.pk,
        queryset=[organisation],
        action_flag=DELETION,
        single_object=True,
    )
    organisation.delete()  # possible: the event does not point at an organisation being deleted
    event = AuditEvent.objects.get(action=Action.ADMIN_DELETED)
    assert event.organisation is None
    assert (event.target_type, event.target_label) == ("tenants.organisation", "Efímera")
    assert event.details["admin_log_entry"] == entry.pk


@override_settings(MIDDLEWARE=WITH_AUDIT_MIDDLEWARE)
def test_with_the_audit_middleware_admin_changes_record_where_they_came_from(
    personas: Personas,
) -> None:
    closed = ClosedDayFactory(organisation=personas.org_a, date=dt.date(2026, 3, 2))
    client = logged_in(personas.admin_a)
    delete = reverse("admin:tenants_closedday_delete", args=[closed.pk])
    client.post(delete, {"post": "yes"}, REMOTE_ADDR="2001:db8::5", headers={"user-agent": "UA"})
    event = AuditEvent.objects.get(action=Action.ADMIN_DELETED)
    assert (event.ip_address, event.user_agent) == ("2001:db8::5", "UA")


# --- Transactions ---------------------------------------------------------------------------


def test_a_rolled_back_change_leaves_no_event(personas: Personas) -> None:
    class Undo(Exception):
        pass

    with pytest.raises(Undo), transaction.atomic():
        record_event(action=Action.ROLE_GRANTED, actor=personas.admin_a)
        raise Undo
    assert not AuditEvent.objects.exists()


# --- Reads of personal data -----------------------------------------------------------------


def test_listing_the_team_records_a_read_of_personal_data(personas: Personas) -> None:
    request = RequestFactory().get("/")
    request.user = personas.supervisor_a
    staff = get_membership_for_staff(request, personas.org_a.slug)
    list_team(staff)
    event = AuditEvent.objects.get()
    assert event.action == Action.PERSONAL_DATA_VIEWED
    assert event.actor == personas.supervisor_a
    assert event.organisation == personas.org_a
    assert event.target_type == "accounts.membership"
    assert event.details == {"list": "team"}


def test_the_team_page_records_the_read(personas: Personas) -> None:
    client = logged_in(personas.admin_a)
    client.get(reverse("accounts:team", kwargs={"org": personas.org_a.slug}))
    assert AuditEvent.objects.filter(
        action=Action.PERSONAL_DATA_VIEWED, actor=personas.admin_a
    ).exists()


# --- record_event ---------------------------------------------------------------------------


def test_the_actor_is_the_requests_user_unless_given(personas: Personas) -> None:
    request = RequestFactory().get("/", REMOTE_ADDR="198.51.100.1")
    request.user = personas.admin_a
    assert record_event(action=Action.ROLE_GRANTED, request=request).actor == personas.admin_a
    given = record_event(action=Action.ROLE_GRANTED, request=request, actor=personas.agent_a)
    assert given.actor == personas.agent_a
    assert given.ip_address == "198.51.100.1"


def test_the_forwarded_for_header_is_not_trusted(personas: Personas) -> None:
    request = RequestFactory().get("/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="6.6.6.6")
    assert record_event(action=Action.LOGOUT, request=request).ip_address == "10.0.0.2"


def test_an_address_that_is_not_an_ip_address_is_left_out(personas: Personas) -> None:
    request = RequestFactory().get("/", REMOTE_ADDR="unix:/run/finestreta.sock")
    assert record_event(action=Action.LOGOUT, request=request).ip_address is None


def test_the_target_is_described_by_type_id_and_label(personas: Personas) -> None:
    event = record_event(action=Action.ADMIN_CHANGED, target=personas.office_a)
    assert event.target_type == "tenants.office"
    assert event.target_id == str(personas.office_a.pk)
    assert event.target_label == "Oficina A"
    assert event.target_kind


def test_a_long_browser_name_is_cut_and_control_characters_go(personas: Personas) -> None:
    request = RequestFactory().get("/", HTTP_USER_AGENT="A\nB" + "x" * 400)
    event = record_event(action=Action.LOGOUT, request=request)
    assert event.user_agent.startswith("ABx")
    assert len(event.user_agent) == 300


def test_an_unknown_action_is_refused(personas: Personas) -> None:
    with pytest.raises(ValueError, match="AuditEvent.Action"):
        record_event(action="login.suceeded")


def test_secrets_in_the_details_are_redacted(personas: Personas) -> None:
    event = record_event(
        action=Action.SSO_USER_PROVISIONED,
        details={"provider": "gicar", "client_secret": "s3cr3t", "nested": {"id_token": "t"}},
    )
    assert event.details == {
        "provider": "gicar",
        "client_secret": REDACTED,
        "nested": {"id_token": REDACTED},
    }
