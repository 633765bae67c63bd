"""Markup injection (XSS) walk: every text a citizen, an agent or an administrator can type is set to
an attack, and every staff page and every citizen page of an appointment is read back: the attack
must come out as text, never as markup.

The free-text fields are found from the models (by their names: names, notes, reasons, comments,
titles, bodies, addresses…), so a new model's text is attacked without editing this file; the
pages are those of the tenant-isolation walk (every staff route, discovered from the URL conf)
plus the citizen's pages reached by the appointment's links. Only HTML answers are read: JSON,
PDF, CSV and spreadsheets are data, not pages a browser runs.

The chat is covered where it is shown: the call's pages (its lines are drawn with textContent by
chat.js; the browser test of the call sends an attack through a real Chromium) and the call's
records here.
"""

from __future__ import annotations

import re

import pytest
from django.apps import apps
from django.db import models
from django.test import Client, RequestFactory
from django.urls import reverse

from finestreta.appointments.models import Appointment
from finestreta.privacy.services import record_event
from tests.personas import Personas
from tests.test_tenant_isolation import (
    _appointment_of_org_a,
    _room_of_org_a,
    fill,
    tenant_routes,
)

# Closes an attribute and opens an element with a handler: dangerous in text and in attributes.
ATTACK = "\"'><svg onload=alert(1)>"
RAW = "<svg onload"  # what must never reach a page unescaped
TEXT_FIELD = re.compile(
    r"(^|_)(name|first_name|last_name|notes?|reason|text|comment|title|body|description|address"
    r"|label|subject|instructions|documents_to_prepare|message|explanation)(_[a-z]{2})?$"
)
NOT_TEXT = {"username", "file_name", "content_type"}
APPEND_ONLY = {"privacy.AuditEvent"}  # written once, through its service (below)


def attacked_fields() -> list[tuple[type[models.Model], str]]:
    """Every free-text column of the project's models (the staff's names included)."""
    found = []
    for model in apps.get_models():
        if not model.__module__.startswith("finestreta."):
            continue
        if model._meta.proxy or not model._meta.managed:
            continue
        for field in model._meta.concrete_fields:
            if not isinstance(field, models.CharField | models.TextField):
                continue
            if field.choices or field.unique or field.name in NOT_TEXT:
                continue
            if field.max_length is not None and field.max_length < len(ATTACK):
                continue
            if TEXT_FIELD.search(field.name):
                found.append((model, field.name))
    return found


def attack_everything(personas: Personas) -> None:
    """The sample objects of every route, then every free-text value replaced by the attack."""
    from django.utils import timezone

    from finestreta.video.models import ChatLine

    for route in tenant_routes():
        fill(route.template, personas)
    ChatLine.objects.create(
        room=_room_of_org_a(personas),
        seq=1,
        peer="p_c",
        role="citizen",
        name="Citizen",
        text="Hello",
        sent_at=timezone.now(),
    )
    for model, name in attacked_fields():
        if model._meta.label not in APPEND_ONLY:
            model._default_manager.update(**{name: ATTACK})
    # The audit log cannot be changed: an event is written with the attack as the browser, the
    # record's label and a detail (a failed login's username lands in the same column).
    request = RequestFactory().get("/", HTTP_USER_AGENT=ATTACK)
    record_event(
        action="appointment.moved",
        request=request,
        organisation=personas.org_a,
        target=_appointment_of_org_a(personas),
        details={"note": ATTACK},
    )


def html(response) -> str | None:  # type: ignore[no-untyped-def]
    if not response.get("Content-Type", "").startswith("text/html"):
        return None
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content).decode()
    return response.content.decode()


def test_the_attack_reaches_the_texts_people_type() -> None:
    attacked = {f"{model._meta.label}.{name}" for model, name in attacked_fields()}
    for expected in (
        "appointments.Appointment.name",
        "appointments.Appointment.notes",
        "appointments.Appointment.cancellation_reason",
        "video.ChatLine.text",
        "catalogue.Service.name_ca",
        "tenants.Office.address",
        "accounts.User.first_name",
    ):
        assert expected in attacked, expected


@pytest.mark.parametrize("viewer", ["admin_a", "supervisor_a", "agent_a"])
def test_typed_markup_is_shown_as_text_on_every_staff_page(personas: Personas, viewer: str) -> None:
    attack_everything(personas)
    client = Client()
    client.force_login(getattr(personas, viewer))
    read = 0
    for route in tenant_routes():
        path = fill(route.template, personas)
        response = client.get(path)
        page = html(response)
        if page is None or response.status_code != 200:
            continue
        assert RAW not in page, f"{viewer}: markup from the data in {path}"
        read += 1
    assert read >= 8, read  # the walk really read pages


def test_typed_markup_is_shown_as_text_on_the_citizen_s_pages(personas: Personas) -> None:
    from finestreta.appointments.changes import join_token, manage_token
    from finestreta.reports.survey import survey_token

    attack_everything(personas)
    appointment = _appointment_of_org_a(personas)
    appointment.refresh_from_db()
    assert appointment.name == ATTACK and Appointment.objects.filter(notes=ATTACK).exists()
    org = personas.org_a.slug
    pages = [
        reverse("public:org-home", args=[org]),
        reverse("appointments:manage", args=[org, manage_token(appointment)]),
        reverse("video:precall", args=[org, join_token(appointment)]),
        reverse("survey:answer", args=[org, survey_token(appointment)]),
    ]
    client = Client()
    read = 0
    for path in pages:
        response = client.get(path, follow=True)
        page = html(response)
        assert response.status_code == 200 and page is not None, path
        assert RAW not in page, f"markup from the data in {path}"
        assert ATTACK[3:] not in page
        read += 1
    assert read == len(pages)
