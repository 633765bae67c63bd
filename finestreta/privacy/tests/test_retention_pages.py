"""The retention page: organisation administrators only, periods changed with clear errors, the
purges' reports and a preview that removes nothing."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse
from django.utils import timezone, translation

from finestreta.accounts.models import User
from finestreta.appointments.models import Appointment
from finestreta.privacy.models import AuditEvent, PurgeRun, RetentionPolicy
from finestreta.privacy.retention import ORDER, RULES
from finestreta.privacy.services import purge_expired_data
from finestreta.tenants.models import Organisation
from tests.factories import AppointmentFactory
from tests.personas import Personas

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _in_english() -> Iterator[None]:
    with translation.override("en"):
        yield


def page(org: Organisation) -> str:
    return reverse("privacy:retention", kwargs={"org": org.slug})


def preview(org: Organisation) -> str:
    return reverse("privacy:retention-preview", kwargs={"org": org.slug})


def logged_in(user: User) -> Client:
    client = Client()
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    client.force_login(user)
    return client


def periods(**changes: int) -> dict[str, int]:
    values = {kind: RULES[kind].default for kind in ORDER}
    values.update(changes)
    return {str(kind): days for kind, days in values.items()}


def old_appointment(personas: Personas) -> Appointment:
    return AppointmentFactory(
        agent=personas.membership(personas.agent_a),
        service=personas.service_a,
        status="attended",
        starts_at=timezone.now() - dt.timedelta(days=2000),
    )


# --- Who may see it --------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["agent_a", "supervisor_a"])
def test_agents_and_supervisors_are_refused(personas: Personas, who: str) -> None:
    client = logged_in(getattr(personas, who))
    assert client.get(page(personas.org_a)).status_code == 403
    assert client.post(page(personas.org_a), periods(chat=30)).status_code == 403
    assert client.post(preview(personas.org_a)).status_code == 403
    assert not RetentionPolicy.objects.exists()
    assert not PurgeRun.objects.exists()


def test_another_organisations_admin_finds_nothing(personas: Personas) -> None:
    old = old_appointment(personas)
    client = logged_in(personas.admin_b)
    assert client.get(page(personas.org_a)).status_code == 404
    assert client.post(page(personas.org_a), periods(chat=30)).status_code == 404
    assert client.post(preview(personas.org_a)).status_code == 404
    assert not RetentionPolicy.objects.exists()
    assert not PurgeRun.objects.exists()
    assert Appointment.objects.filter(pk=old.pk).exists()


def test_visitors_who_are_not_signed_in_are_sent_to_log_in(
    client: Client, personas: Personas
) -> None:
    for response in (client.get(page(personas.org_a)), client.post(preview(personas.org_a))):
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("accounts:login"))


def test_the_preview_only_takes_a_post(personas: Personas) -> None:
    assert logged_in(personas.admin_a).get(preview(personas.org_a)).status_code == 405


# --- The page ------------------------------------------------------------------------------


def test_the_admin_sees_every_kind_with_its_period_default_and_floor(personas: Personas) -> None:
    RetentionPolicy.objects.create(organisation=personas.org_a, kind="chat", days=30)
    response = logged_in(personas.admin_a).get(page(personas.org_a))
    assert response.status_code == 200
    lines = {line.rule.kind.value: line for line in response.context["kinds"]}
    assert list(lines) == [str(kind) for kind in ORDER]
    assert lines["chat"].days == 30 and not lines["chat"].is_default
    assert lines["files"].days == 30 and lines["files"].is_default
    body = response.content.decode()
    assert '<caption id="kinds-caption">How long each kind of data is kept</caption>' in body
    assert '<th scope="row">Consent records</th>' in body
    assert "No purge has run yet." in body
    assert 'name="consent_records" value="1825"' in body


def test_the_page_shows_the_last_purge_and_recent_runs(personas: Personas) -> None:
    old_appointment(personas)
    purge_expired_data(now=timezone.now(), organisation=personas.org_a)
    purge_expired_data(now=timezone.now(), organisation=personas.org_b)
    response = logged_in(personas.admin_a).get(page(personas.org_a))
    runs = response.context["runs"]
    assert [run.organisation_id for run in runs] == [personas.org_a.pk]
    assert response.context["last_purge"] == runs[0]
    assert runs[0].count("appointments") == 1
    lines = {line.rule.kind.value: line for line in response.context["kinds"]}
    assert lines["appointments"].last_removed == 1
    assert "Purge started by hand" in response.content.decode()


def test_saving_changed_periods_writes_them_and_one_audit_event_each(personas: Personas) -> None:
    client = logged_in(personas.admin_a)
    response = client.post(page(personas.org_a), periods(chat=30, files=14))
    assert response.status_code == 302
    assert dict(
        RetentionPolicy.objects.filter(organisation=personas.org_a).values_list("kind", "days")
    ) == {"chat": 30, "files": 14}
    events = AuditEvent.objects.filter(action="retention.policy_changed").order_by("id")
    assert [(e.details["kind"], e.actor) for e in events] == [
        ("chat", personas.admin_a),
        ("files", personas.admin_a),
    ]
    assert all(e.organisation == personas.org_a for e in events)


def test_a_period_below_the_floor_is_refused_with_what_to_fix(personas: Personas) -> None:
    client = logged_in(personas.admin_a)
    response = client.post(page(personas.org_a), periods(consent_records=100, chat=30))
    assert response.status_code == 400
    assert response.context["form"].errors == {
        "consent_records": ["Consent records must be kept at least 1095 days."]
    }
    body = response.content.decode()
    assert 'id="error-summary"' in body
    assert 'href="#id_consent_records"' in body
    assert not RetentionPolicy.objects.exists()  # the good period beside it neither


def test_a_period_above_the_ceiling_or_not_a_number_is_refused(personas: Personas) -> None:
    client = logged_in(personas.admin_a)
    response = client.post(page(personas.org_a), {**periods(audit_log=5000), "chat": "a month"})
    assert response.status_code == 400
    assert response.context["form"].errors == {
        "audit_log": ["Audit log cannot be kept longer than 3650 days."],
        "chat": ["Enter a whole number of days, for example 365."],
    }
    assert not RetentionPolicy.objects.exists()


def test_the_preview_shows_what_would_go_and_removes_nothing(personas: Personas) -> None:
    old = old_appointment(personas)
    response = logged_in(personas.admin_a).post(preview(personas.org_a))
    assert response.status_code == 200
    assert dict(response.context["preview_counts"])["Appointments"] == 1
    assert Appointment.objects.filter(pk=old.pk).exists()
    run = PurgeRun.objects.get()
    assert run.dry_run and run.started_by == personas.admin_a
    assert run.organisation == personas.org_a
    body = response.content.decode()
    assert "Removed if the purge ran now (nothing was removed)" in body
    assert '<th scope="row">Appointments</th><td>1</td>' in body
