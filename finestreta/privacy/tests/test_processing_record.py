"""The record of processing activities follows the configuration: turning recordings, an SMS
gateway, webhooks, the survey or staff single sign-on on and off changes the document."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse
from django.utils import translation
from pypdf import PdfReader

from finestreta.accounts.models import User
from finestreta.identity.models import LevelPolicy, ServicePolicy
from finestreta.integrations import services as integrations
from finestreta.integrations.models import Subscription
from finestreta.notifications.models import MessagingSettings
from finestreta.privacy import services
from finestreta.privacy.models import AuditEvent
from finestreta.privacy.processing_record import ProcessingRecord, build_record
from finestreta.tenants.models import Organisation
from tests.factories import IdentityProviderFactory
from tests.personas import Personas

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _in_english() -> Iterator[None]:
    with translation.override("en"):
        yield


def codes(record: ProcessingRecord) -> list[str]:
    return [activity.code for activity in record.activities]


def activity(record: ProcessingRecord, code: str):  # type: ignore[no-untyped-def]
    return next(a for a in record.activities if a.code == code)


def quiet(organisation: Organisation) -> None:
    """Nothing optional configured: informative services only, no survey."""
    organisation.sends_survey = False
    organisation.save(update_fields=["sends_survey"])


def test_a_plain_configuration_has_only_the_activities_that_always_happen(
    personas: Personas,
) -> None:
    quiet(personas.org_a)
    record = build_record(personas.org_a)
    assert codes(record) == ["appointments", "video", "notifications", "staff"]
    assert record.organisation["name"] == "Organisme A"


def test_recordings_appear_with_their_period_when_a_procedure_records(
    personas: Personas,
) -> None:
    quiet(personas.org_a)
    assert "recordings" not in codes(build_record(personas.org_a))
    ServicePolicy.objects.create(
        service=personas.service_a, recording="legal_basis",
        legal_basis="Llei 19/2014, art. 4", recording_retention_days=90,
    )  # fmt: skip
    record = build_record(personas.org_a)
    recordings = activity(record, "recordings")
    assert "Llei 19/2014, art. 4" in recordings.legal_basis
    assert recordings.retention.startswith("90 days after the call")
    ServicePolicy.objects.filter(service=personas.service_a).update(
        recording="never", legal_basis=""
    )
    assert "recordings" not in codes(build_record(personas.org_a))


def test_the_attention_level_rules_count_too(personas: Personas) -> None:
    quiet(personas.org_a)
    personas.service_a.attention_level = "attended"
    personas.service_a.save(update_fields=["attention_level"])
    # The platform's defaults for attended processing identify, sign and record with consent.
    record = build_record(personas.org_a)
    assert {"identity", "recordings"} <= set(codes(record))
    assert "consent of everyone" in activity(record, "recordings").legal_basis
    LevelPolicy.objects.create(
        organisation=personas.org_a, attention_level="attended", identity="none",
        recording="never", signature="none",
    )  # fmt: skip
    assert not {"identity", "recordings"} & set(codes(build_record(personas.org_a)))


def test_an_sms_gateway_is_named_among_the_recipients(personas: Personas) -> None:
    settings_row = MessagingSettings.objects.create(organisation=personas.org_a)
    recipients = activity(build_record(personas.org_a), "notifications").recipients
    assert not any("sms.example.com" in r for r in recipients)
    settings_row.sms_gateway_url = "https://sms.example.com/send"
    settings_row.save()
    recipients = activity(build_record(personas.org_a), "notifications").recipients
    assert any("sms.example.com" in r for r in recipients)


def test_webhook_subscriptions_appear_while_active(personas: Personas) -> None:
    assert "webhooks" not in codes(build_record(personas.org_a))
    subscription = Subscription.objects.create(
        organisation=personas.org_a, url="https://cases.example.org/hooks",
        secret=integrations.new_secret(), event_types=["call.ended"], description="Expedients",
    )  # fmt: skip
    Subscription.objects.create(
        organisation=personas.org_b, url="https://b.example.org/hooks",
        secret=integrations.new_secret(), event_types=["call.ended"],
    )  # fmt: skip
    webhooks = activity(build_record(personas.org_a), "webhooks")
    assert webhooks.recipients == ["Expedients (cases.example.org)"]
    subscription.is_active = False
    subscription.save()
    assert "webhooks" not in codes(build_record(personas.org_a))


def test_the_survey_and_staff_single_sign_on_follow_their_settings(personas: Personas) -> None:
    assert "survey" in codes(build_record(personas.org_a))
    quiet(personas.org_a)
    assert "survey" not in codes(build_record(personas.org_a))
    IdentityProviderFactory(organisation=personas.org_a, name="GICAR")
    staff = activity(build_record(personas.org_a), "staff")
    assert any("GICAR" in r for r in staff.recipients)


def test_retention_comes_from_the_one_function_that_the_policies_will_answer(
    personas: Personas,
) -> None:
    text = services.retention_period_text(personas.org_a, "appointments")
    assert text == "As the organisation's retention policy says."
    assert activity(build_record(personas.org_a), "appointments").retention == text


# --- The pages ------------------------------------------------------------------------------


def client_for(user: User) -> Client:
    client = Client()
    client.force_login(user)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


PAGE = reverse("privacy:processing-record", kwargs={"org": "org-a"})
PDF = reverse("privacy:processing-record-pdf", kwargs={"org": "org-a"})
JSON = reverse("privacy:processing-record-json", kwargs={"org": "org-a"})


def test_the_page_shows_the_record_and_the_downloads_are_audited(personas: Personas) -> None:
    client = client_for(personas.admin_a)
    page = client.get(PAGE)
    assert page.status_code == 200
    assert "Appointments and attention" in page.content.decode()
    assert '<th scope="row">Retention</th>' in page.content.decode()
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.PROCESSING_RECORD_EXPORTED)
    pdf = client.get(PDF)
    assert pdf["Content-Type"] == "application/pdf"
    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.content)).pages)
    assert "Record of processing activities" in text and "Organisme A" in text
    data = json.loads(client.get(JSON).content)
    assert data["schema"] == "finestreta.processing-record" and data["schema_version"] == 1
    assert [a["code"] for a in data["activities"]][0] == "appointments"
    events = AuditEvent.objects.filter(action=AuditEvent.Action.PROCESSING_RECORD_EXPORTED)
    assert sorted(e.details["format"] for e in events) == ["json", "pdf"]
    assert all(e.organisation == personas.org_a for e in events)


@pytest.mark.parametrize("who", ["agent_a", "supervisor_a"])
def test_agents_and_supervisors_are_refused(personas: Personas, who: str) -> None:
    client = client_for(getattr(personas, who))
    for url in (PAGE, PDF, JSON):
        assert client.get(url).status_code == 403


def test_another_organisations_administrator_is_refused(personas: Personas) -> None:
    client = client_for(personas.admin_b)
    for url in (PAGE, PDF, JSON):
        assert client.get(url).status_code == 404
