"""The audit log in the Django admin: read-only for everyone, scoped to the organisation."""

from __future__ import annotations

import pytest
from django.contrib.admin.sites import site
from django.test import Client, RequestFactory
from django.urls import reverse

from finestreta.privacy.models import AuditEvent
from finestreta.privacy.services import record_event
from tests.personas import Personas

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:privacy_auditevent_changelist")


def logged_in(user: object) -> Client:
    client = Client()
    client.force_login(user)  # type: ignore[arg-type]
    return client


def test_an_organisation_admin_lists_only_their_organisations_events(personas: Personas) -> None:
    mine = record_event(action=AuditEvent.Action.LOGOUT, organisation=personas.org_a)
    theirs = record_event(action=AuditEvent.Action.LOGOUT, organisation=personas.org_b)
    platform = record_event(action=AuditEvent.Action.LOGIN_FAILED)
    response = logged_in(personas.admin_a).get(CHANGELIST)
    assert response.status_code == 200
    listed = set(response.context["cl"].result_list)
    assert mine in listed
    assert theirs not in listed and platform not in listed


def test_an_organisation_admin_can_open_an_event_but_not_change_or_delete_it(
    personas: Personas,
) -> None:
    event = record_event(action=AuditEvent.Action.LOGOUT, organisation=personas.org_a)
    client = logged_in(personas.admin_a)
    change = reverse("admin:privacy_auditevent_change", args=[event.pk])
    response = client.get(change)
    assert response.status_code == 200
    assert response.context["has_change_permission"] is False
    assert client.post(change, {"actor_label": "forged"}).status_code == 403
    delete = reverse("admin:privacy_auditevent_delete", args=[event.pk])
    assert client.post(delete, {"post": "yes"}).status_code == 403
    assert client.get(reverse("admin:privacy_auditevent_add")).status_code == 403
    event.refresh_from_db()
    assert event.actor_label == ""


def test_agents_and_supervisors_do_not_see_the_audit_log_in_the_admin(personas: Personas) -> None:
    for user in (personas.agent_a, personas.supervisor_a):
        assert logged_in(user).get(CHANGELIST).status_code in {302, 403}


def test_not_even_a_platform_administrator_may_add_change_or_delete_events(
    personas: Personas,
) -> None:
    model_admin = site._registry[AuditEvent]
    request = RequestFactory().get("/")
    request.user = personas.platform_admin
    event = record_event(action=AuditEvent.Action.LOGIN_FAILED)
    assert model_admin.has_view_permission(request, event)
    assert not model_admin.has_add_permission(request)
    assert not model_admin.has_change_permission(request, event)
    assert not model_admin.has_delete_permission(request, event)


def test_a_bulk_deletion_in_the_admin_records_one_event_per_object(personas) -> None:  # type: ignore[no-untyped-def]
    from django.test import Client
    from django.urls import reverse

    from finestreta.privacy.models import AuditEvent
    from tests.factories import ClosedDayFactory

    days = [
        ClosedDayFactory(organisation=personas.org_a, date=f"2027-01-{day:02d}")
        for day in (7, 8, 9)
    ]
    client = Client()
    client.force_login(personas.admin_a)
    response = client.post(
        reverse("admin:tenants_closedday_changelist"),
        {"action": "delete_selected", "_selected_action": [d.pk for d in days], "post": "yes"},
    )
    assert response.status_code == 302
    deleted = AuditEvent.objects.filter(action="admin.deleted", target_type="tenants.closedday")
    assert sorted(deleted.values_list("target_id", flat=True)) == sorted(str(d.pk) for d in days)
