"""The right of access: everything about the person, nothing of anyone else or of another
organisation, in the JSON and in the PDF; the pages, their permissions and the audit event."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Iterator
from typing import Any

import pytest
import time_machine
from django.conf import settings
from django.core.cache import cache
from django.db import models
from django.test import Client
from django.urls import reverse
from django.utils import translation
from pypdf import PdfReader

from finestreta.accounts.models import User
from finestreta.accounts.services import StaffContext, get_staff_context
from finestreta.appointments.models import Appointment
from finestreta.privacy import services
from finestreta.privacy.models import AuditEvent
from finestreta.privacy.subject_access import EXPORTED, SCHEMA, SCHEMA_VERSION
from finestreta.privacy.tests import people
from finestreta.privacy.tests.people import Seeded
from tests.personas import Personas

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _in_english() -> Iterator[None]:
    cache.clear()  # the search's rate limit counts in the cache
    with translation.override("en"), time_machine.travel(people.NOW, tick=False):
        yield


@pytest.fixture
def seeded(personas: Personas) -> Seeded:
    return people.seed(personas)


def admin(personas: Personas, user: User | None = None) -> StaffContext:
    return get_staff_context(user or personas.admin_a, "org-a", signed_in_for=None)


def export(
    personas: Personas, language: str = "en", **criteria: str
) -> tuple[dict[str, Any], str, zipfile.ZipFile]:
    name, content = services.export_subject_data(
        admin(personas), services.normalise_criteria(**criteria), language=language
    )
    archive = zipfile.ZipFile(io.BytesIO(content))
    data = json.loads(archive.read("subject-access.json"))
    reader = PdfReader(io.BytesIO(archive.read("subject-access.pdf")))
    text = "\n".join(page.extract_text() for page in reader.pages)
    return data, text, archive


def everything(data: dict[str, Any]) -> str:
    return json.dumps(data, ensure_ascii=False)


def test_the_export_contains_everything_about_the_person(
    personas: Personas, seeded: Seeded
) -> None:
    # She gives her e-mail and her mobile: some records carry only one of them.
    data, text, archive = export(personas, email=people.EMAIL, phone=people.PHONE)
    assert data["schema"] == SCHEMA and data["schema_version"] == SCHEMA_VERSION
    codes = {a["code"] for a in data["appointments"]}
    assert codes == {seeded.attended.code, seeded.represented.code, seeded.walk_in.code}
    first = next(a for a in data["appointments"] if a["code"] == seeded.attended.code)
    assert first["name"] == people.NAME
    assert first["id_document"] == people.DOCUMENT
    assert first["notes"] == "Porto el llibre de família"
    assert first["staff_notes"] == "Explicat el tràmit del padró"
    assert first["needs_captions"] is True
    assert first["starts_at"] == "2026-11-02T10:00:00+01:00"  # ISO, the organisation's zone
    assert first["matched_by"] == ["email", "phone"]
    booked_for_her = next(a for a in data["appointments"] if a["code"] == seeded.represented.code)
    assert booked_for_her["representative_name"] == people.REPRESENTATIVE
    assert booked_for_her["representative_relation"] == "germà"
    bodies = {m["body"] for m in data["messages"]}
    assert "La vostra cita és confirmada, Núria." in bodies
    assert "Us toca! Entreu a la trucada." in bodies  # to her phone, without an appointment
    assert [q["name"] for q in data["queue_entries"]] == ["Núria"]
    assert [w["email"] for w in data["waiting_list_entries"]] == [people.EMAIL]
    assert [v["recipient"] for v in data["verification_codes"]] == [people.EMAIL]
    (call,) = data["video_calls"]
    assert [line["text"] for line in call["chat"]] == [
        "Bon dia, vinc pel padró",
        "Bon dia Núria, digueu-me",
    ]
    assert [f["name"] for f in call["files"]] == ["llibre-familia.pdf"]
    assert {e["kind"] for e in call["events"]} == {"joined", "callback"}
    assert len(call["silent_listening"]) == 1
    (check,) = data["identity_checks"]
    assert check["method"] == "id_document" and check["verified"] is True
    assert [c["purpose"] for c in data["one_time_codes"]] == ["sign"]
    (given,) = data["consents"]
    assert given["ip_address"] == "192.0.2.10" and given["text_shown"]
    (signature,) = data["signatures"]
    assert signature["verification_code"] == "NURIA0000000SIGN"
    assert archive.read(signature["receipt_file"]) == b"%PDF-1.4 the receipt"
    (recording,) = data["recordings"]
    assert [t["role"] for t in recording["tracks"]] == ["citizen"]
    assert recording["participants_recorded"] == ["citizen", "guest", "staff"]
    assert [s["comment"] for s in data["survey_answers"]] == ["Molt amable, gràcies"]
    actions = [e["action"] for e in data["audit_events"]]
    assert {"appointment.attended", "identity.checked", "consent.recorded"} <= set(actions)
    assert all("actor_label" not in e and "ip_address" not in e for e in data["audit_events"])
    (event,) = data["webhook_events"]
    assert event["payload"]["data"]["appointment"] == seeded.attended.code
    assert event["sent_to"] == ["Gestor d'expedients"]
    assert data["not_included"]["chat_lines_of_others"] == 1
    assert data["not_included"]["files_of_others"] == 1
    # The PDF says the same, readably, in the organisation's time zone.
    for expected in (
        people.NAME,
        "Bon dia, vinc pel padró",
        "Molt amable, gràcies",
        "llibre-familia.pdf",
        "NURIA0000000SIGN",
        "Europe/Madrid",
        "Monday, Nov. 2, 2026, 10:00:00 (Europe/Madrid)",
    ):
        assert expected in text, expected


OTHER_PEOPLE = [
    people.GUEST_LINE,
    people.GUEST_FILE,
    "Intèrpret Convidada",
    people.OTHER_NAME,
    people.OTHER_EMAIL,
    "Comentari d'en Quim",
    people.ORG_B_NAME,
    "Missatge de l'organisme B",
    people.REPRESENTATIVE_EMAIL,
    "+34699111222",
    "Persona Representada Altra",
    "Cita de la persona representada",
    "Cita per a la Núria (al representant)",
    "agent-a",
    "supervisor-a",
]


def test_the_export_holds_nothing_of_other_people_or_organisations(
    personas: Personas, seeded: Seeded
) -> None:
    data, text, _archive = export(personas, email=people.EMAIL, phone=people.PHONE)
    dumped = everything(data)
    for other in OTHER_PEOPLE:
        assert other not in dumped, other
        assert other not in text, other
    assert seeded.other.code not in dumped
    assert seeded.org_b.code not in dumped
    assert seeded.for_someone_else.code not in dumped


def test_the_same_phone_in_another_organisation_is_found_only_there(
    personas: Personas, seeded: Seeded
) -> None:
    data, _text, _archive = export(personas, phone="612 345 678")
    assert seeded.org_b.code not in everything(data)
    staff_b = get_staff_context(personas.admin_b, "org-b", signed_in_for=None)
    subject = services.find_subject_for_staff(
        staff_b, services.normalise_criteria(phone=people.PHONE)
    )
    assert [a.code for a in subject.appointments] == [seeded.org_b.code]
    assert [m.body for m in subject.messages] == ["Missatge de l'organisme B"]


def test_the_document_finds_the_appointments_it_was_given_or_shown_on(
    personas: Personas, seeded: Seeded
) -> None:
    Appointment.objects.filter(pk=seeded.attended.pk).update(id_document="")
    subject = services.find_subject_for_staff(
        admin(personas), services.normalise_criteria(id_document="12.345.678-z")
    )
    # Shown on camera in the identity check (its keyed fingerprint): found all the same.
    assert [a.code for a in subject.appointments] == [seeded.attended.code]
    assert subject.matched_by[seeded.attended.pk] == ["id_document"]


def test_a_representative_gets_their_own_data_and_nothing_of_the_people_they_represent(
    personas: Personas, seeded: Seeded
) -> None:
    data, text, _archive = export(personas, email=people.REPRESENTATIVE_EMAIL)
    assert data["appointments"] == []
    assert {a["code"] for a in data["represented_appointments"]} == {
        seeded.represented.code,
        seeded.for_someone_else.code,
    }
    assert {a["representative_email"] for a in data["represented_appointments"]} == {
        people.REPRESENTATIVE_EMAIL
    }
    # The messages they received about those appointments are listed, not their text.
    assert len(data["messages"]) == 2
    assert {m["body"] for m in data["messages"]} == {""}
    dumped = everything(data)
    for represented in (people.NAME, "Persona Representada Altra", "representada@example.net",
                        "Cita per a la Núria", "Cita de la persona representada"):  # fmt: skip
        assert represented not in dumped, represented
        assert represented not in text, represented


def test_every_field_of_an_exported_model_is_exported_or_withheld_with_a_reason() -> None:
    for model, fields in EXPORTED.items():
        concrete = {f.name for f in model._meta.get_fields() if isinstance(f, models.Field)}
        decided = set(fields.exported) | set(fields.withheld)
        assert concrete == decided, f"{model.__name__}: decide {concrete ^ decided}"
        assert not set(fields.exported) & set(fields.withheld), model.__name__


def test_the_readable_document_is_in_the_language_chosen(
    personas: Personas, seeded: Seeded
) -> None:
    _data, text, archive = export(personas, language="es", email=people.EMAIL)
    reader = PdfReader(io.BytesIO(archive.read("subject-access.pdf")))
    assert reader.trailer["/Root"]["/Lang"] == "es"
    with translation.override("es"):
        status = str(Appointment._meta.get_field("status").verbose_name).capitalize()
        attended = str(Appointment.Status.ATTENDED.label)
    assert status in text and attended in text
    assert "lunes, 2 de noviembre de 2026" in text


def test_each_export_is_audited_without_the_persons_identifiers(
    personas: Personas, seeded: Seeded
) -> None:
    export(personas, email=people.EMAIL, id_document=people.DOCUMENT)
    event = AuditEvent.objects.get(action=AuditEvent.Action.SUBJECT_ACCESS_EXPORTED)
    assert event.organisation == personas.org_a and event.actor == personas.admin_a
    assert event.details["searched_by"] == ["email", "id_document"]
    assert seeded.attended.code in event.details["appointments"]
    written = json.dumps(event.details) + event.target_label + event.target_id
    for identifier in (people.EMAIL, people.DOCUMENT, people.NAME, people.PHONE):
        assert identifier not in written
    assert services.verify_audit_log().ok


# --- The pages ------------------------------------------------------------------------------


def client_for(user: User) -> Client:
    client = Client()
    client.force_login(user)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


SEARCH = reverse("privacy:subjects", kwargs={"org": "org-a"})
EXPORT = reverse("privacy:subject-export", kwargs={"org": "org-a"})


def test_an_administrator_finds_the_person_and_downloads_the_zip(
    personas: Personas, seeded: Seeded
) -> None:
    client = client_for(personas.admin_a)
    page = client.post(SEARCH, {"email": " Nuria.Puig@Example.NET "})
    assert page.status_code == 200
    assert page["Cache-Control"] == "no-store"
    assert seeded.attended.code in page.content.decode()
    assert seeded.other.code not in page.content.decode()
    download = client.post(EXPORT, {"email": people.EMAIL, "language": "ca"})
    assert download.status_code == 200
    assert download["Content-Type"] == "application/zip"
    assert 'filename="subject-access-org-a-2026-12-07.zip"' in download["Content-Disposition"]
    names = zipfile.ZipFile(io.BytesIO(download.content)).namelist()
    assert {"subject-access.pdf", "subject-access.json"} <= set(names)


def test_bad_identifiers_get_a_message_linked_to_their_field(personas: Personas) -> None:
    page = client_for(personas.admin_a).post(
        SEARCH, {"email": "not-an-address", "phone": "12", "id_document": "12345678A"}
    )
    assert page.status_code == 400
    html = page.content.decode()
    assert 'aria-describedby="id_phone_helptext id_phone_error"' in html
    assert 'id="id_email_error"' in html and 'id="id_id_document_error"' in html
    assert "The letter of this DNI does not match its number" in html
    empty = client_for(personas.admin_a).post(SEARCH, {})
    assert empty.status_code == 400
    assert "Give the person&#x27;s e-mail address, mobile number or identity document" in (
        empty.content.decode()
    )


@pytest.mark.parametrize("who", ["agent_a", "supervisor_a"])
def test_agents_and_supervisors_are_refused(personas: Personas, who: str) -> None:
    client = client_for(getattr(personas, who))
    assert client.get(SEARCH).status_code == 403
    assert client.post(SEARCH, {"email": people.EMAIL}).status_code == 403
    assert client.post(EXPORT, {"email": people.EMAIL, "language": "en"}).status_code == 403
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.SUBJECT_ACCESS_EXPORTED)


def test_another_organisations_administrator_finds_nothing_here(
    personas: Personas, seeded: Seeded
) -> None:
    client = client_for(personas.admin_b)
    assert client.post(SEARCH, {"phone": people.PHONE}).status_code == 404
    assert client.post(EXPORT, {"phone": people.PHONE, "language": "en"}).status_code == 404


def test_searches_are_rate_limited(personas: Personas, settings: Any) -> None:  # noqa: F811
    settings.SUBJECT_SEARCH_RATE_LIMIT = "2/h"
    client = client_for(personas.admin_a)
    for _ in range(2):
        assert client.post(SEARCH, {"email": people.EMAIL}).status_code == 200
    refused = client.post(SEARCH, {"email": people.EMAIL})
    assert refused.status_code == 429
    assert "Wait a while and try again" in refused.content.decode()
