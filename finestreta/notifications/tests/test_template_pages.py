"""The organisation administrators' pages for their own message texts."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from finestreta.notifications import templating
from finestreta.notifications.models import MessageTemplate
from finestreta.privacy.models import AuditEvent
from tests.personas import log_in

LIST = "/org-a/staff/messages/templates/"
SMS_CA = "/org-a/staff/messages/templates/reminder/sms/ca/"
EMAIL_EN = "/org-a/staff/messages/templates/booking_confirmed/email/en/"


@pytest.fixture
def admin(personas) -> Client:  # type: ignore[no-untyped-def]
    client = log_in(personas.admin_a)
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


def test_only_the_organisation_s_administrators_open_the_pages(personas, client) -> None:
    for user in (personas.agent_a, personas.supervisor_a):
        member = log_in(user)
        assert member.get(LIST).status_code == 403
        assert member.get(SMS_CA).status_code == 403
        assert member.post(SMS_CA + "reset/").status_code == 403
    assert log_in(personas.admin_b).get(LIST).status_code == 404
    assert client.get(LIST).status_code == 302  # to log in


def test_the_list_shows_every_kind_channel_and_language(personas, admin) -> None:
    MessageTemplate.objects.create(
        organisation=personas.org_a, kind="reminder", channel="sms", language="ca", body="x"
    )
    page = admin.get(LIST).content.decode()
    edit_links = re.findall(r'href="/org-a/staff/messages/templates/\w+/\w+/\w+/"', page)
    assert len(edit_links) == len(templating.KINDS) * 2 * 4
    assert page.count("Your own text") == 1


def test_an_unknown_kind_channel_or_language_is_not_found(admin) -> None:
    for path in ("nothing/sms/ca/", "reminder/fax/ca/", "reminder/sms/fr/"):
        assert admin.get("/org-a/staff/messages/templates/" + path).status_code == 404


def test_the_edit_page_starts_from_the_platform_s_text_with_a_preview(admin) -> None:
    response = admin.get(SMS_CA)
    assert response.status_code == 200
    page = response.content.decode()
    assert "{{ manage_url }}" in page  # the starting text
    assert 'id="segments"' in page


def test_preview_shows_the_text_and_the_sms_count_without_saving(admin) -> None:
    body = "{{ organisation }}: cita el {{ date }} a les {{ time }}. {{ manage_url }}"
    response = admin.post(SMS_CA, {"body": body, "action": "preview"})
    assert response.status_code == 200
    page = response.content.decode()
    assert "Organisme A: cita el 30/9 a les 12:45." in page
    assert "GSM-7: 2 SMS" in page  # the link is long
    assert not MessageTemplate.objects.exists()


def test_save_keeps_the_template_and_records_who_did_it(personas, admin) -> None:
    body = "{{ organisation }}: cita el {{ date }} a les {{ time }}. {{ manage_url }}"
    response = admin.post(SMS_CA, {"body": body, "action": "save"})
    assert response.status_code == 302
    saved = MessageTemplate.objects.get()
    assert (saved.organisation, saved.kind, saved.channel, saved.language, saved.body) == (
        personas.org_a,
        "reminder",
        "sms",
        "ca",
        body,
    )
    event = AuditEvent.objects.get(action="message_template.saved")
    assert event.actor == personas.admin_a and event.organisation == personas.org_a


def test_save_refuses_personal_data_in_an_sms_and_keeps_nothing(admin) -> None:
    response = admin.post(SMS_CA, {"body": "Hola {{ name }}", "action": "save"})
    assert response.status_code == 400
    assert "personal data" in response.content.decode()
    assert not MessageTemplate.objects.exists()


def test_an_email_template_needs_a_subject_and_a_valid_text(admin) -> None:
    response = admin.post(EMAIL_EN, {"subject": "", "body": "{% if %}", "action": "save"})
    assert response.status_code == 400
    assert not MessageTemplate.objects.exists()
    response = admin.post(
        EMAIL_EN, {"subject": "Booked: {{ day }}", "body": "Hello {{ name }}", "action": "save"}
    )
    assert response.status_code == 302
    assert MessageTemplate.objects.get().subject == "Booked: {{ day }}"


def test_back_to_the_platform_s_text_deletes_the_own_template_and_is_audited(
    personas, admin
) -> None:
    MessageTemplate.objects.create(
        organisation=personas.org_a, kind="reminder", channel="sms", language="ca", body="x"
    )
    assert "Back to the platform" in admin.get(SMS_CA).content.decode()
    response = admin.post(SMS_CA + "reset/")
    assert response.status_code == 302
    assert not MessageTemplate.objects.exists()
    assert AuditEvent.objects.filter(action="message_template.reset").count() == 1
    assert admin.get(SMS_CA + "reset/").status_code == 405
