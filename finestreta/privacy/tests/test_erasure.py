"""The right to erasure: exactly what the plan says goes, what the law keeps stays, all in one
transaction; the audit event and the webhook event; the pages and who may use them."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
import time_machine
from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.test import Client
from django.urls import reverse
from django.utils import translation

from finestreta.accounts.models import User
from finestreta.accounts.services import StaffContext, get_staff_context
from finestreta.appointments.models import Appointment, WaitingListEntry
from finestreta.identity.models import ConsentRecord, IdentityCheck, Signature
from finestreta.integrations.models import Event
from finestreta.notifications.models import Message
from finestreta.privacy import erasure, services
from finestreta.privacy.models import AuditEvent
from finestreta.privacy.tests import people
from finestreta.privacy.tests.people import Seeded
from finestreta.queueing.models import QueueEntry
from finestreta.recordings.models import Recording, Track
from finestreta.reports.models import SurveyAnswer
from finestreta.video.models import ChatLine, RoomEvent, SharedFile
from tests.factories import AppointmentFactory
from tests.personas import Personas

pytestmark = pytest.mark.django_db

CRITERIA = {"email": people.EMAIL, "phone": people.PHONE}


@pytest.fixture(autouse=True)
def _in_english() -> Iterator[None]:
    cache.clear()
    with translation.override("en"), time_machine.travel(people.NOW, tick=False):
        yield


@pytest.fixture
def seeded(personas: Personas) -> Seeded:
    return people.seed(personas)


def admin(personas: Personas) -> StaffContext:
    return get_staff_context(personas.admin_a, "org-a", signed_in_for=None)


def plan(personas: Personas) -> erasure.ErasurePlan:
    subject = services.find_subject_for_staff(
        admin(personas), services.normalise_criteria(**CRITERIA)
    )
    return services.plan_erasure(subject, now=people.NOW)


def erase(personas: Personas, fingerprint: str | None = None) -> erasure.ErasureResult:
    return services.erase_personal_data(
        staff=admin(personas),
        criteria=services.normalise_criteria(**CRITERIA),
        fingerprint=fingerprint or plan(personas).fingerprint,
        now=people.NOW,
    )


def snapshot() -> dict[str, Any]:
    """Every row the erasure may touch, as it is."""
    return {
        "appointments": list(Appointment.objects.order_by("pk").values()),
        "messages": list(Message.objects.order_by("pk").values()),
        "queue": list(QueueEntry.objects.order_by("pk").values()),
        "waiting": list(WaitingListEntry.objects.order_by("pk").values()),
        "chat": list(ChatLine.objects.order_by("pk").values()),
        "files": list(SharedFile.objects.order_by("pk").values()),
        "events": list(RoomEvent.objects.order_by("pk").values()),
        "surveys": list(SurveyAnswer.objects.order_by("pk").values()),
        "recordings": list(Recording.objects.order_by("pk").values()),
        "tracks": list(Track.objects.order_by("pk").values()),
        "checks": list(IdentityCheck.objects.order_by("pk").values()),
        "audit": AuditEvent.objects.count(),
        "webhooks": Event.objects.count(),
    }


def test_the_plan_lists_what_goes_and_what_stays_with_the_reason(
    personas: Personas, seeded: Seeded
) -> None:
    shown = plan(personas)
    erased = {line.code: line.count for line in shown.erase}
    kept = {line.code: line for line in shown.keep}
    # The attended call has a signed signature: its appointment is the procedure's record.
    assert shown.ids["kept_appointments"] == [seeded.attended.pk]
    assert erased["appointments"] == 2  # booked for her (not come) and the walk-in
    assert erased["messages"] == 3 and erased["chat_lines"] == 3 and erased["files"] == 2
    assert erased["recordings"] == 1  # made with consent
    assert erased["survey_comments"] == 1
    assert kept["kept_signatures"].count == 1 and kept["kept_consents"].count == 2
    assert kept["kept_signatures"].rule is erasure.RULES["signatures"]
    assert "Law 39/2015" in str(kept["kept_signatures"].rule.why)
    assert not shown.blockers


def test_erasure_erases_exactly_what_it_says_and_keeps_what_it_says(
    personas: Personas, seeded: Seeded
) -> None:
    others_before = {
        "other": Appointment.objects.filter(pk=seeded.other.pk).values().get(),
        "org_b": Appointment.objects.filter(pk=seeded.org_b.pk).values().get(),
        "someone_else": Appointment.objects.filter(pk=seeded.for_someone_else.pk).values().get(),
        "messages": list(
            Message.objects.exclude(pk__in=[m.pk for m in plan(personas).subject.messages])
            .order_by("pk")
            .values()
        ),
    }
    result = erase(personas)
    assert set(result.appointments) == {
        seeded.attended.code, seeded.represented.code, seeded.walk_in.code,
    }  # fmt: skip

    represented = Appointment.objects.get(pk=seeded.represented.pk)
    assert (represented.name, represented.phone, represented.representative_name) == ("", "", "")
    assert represented.representative_email == ""
    # The statistics stay.
    assert (represented.status, represented.service_id, represented.starts_at) == (
        seeded.represented.status, seeded.represented.service_id, seeded.represented.starts_at,
    )  # fmt: skip
    assert represented.manage_nonce != seeded.represented.manage_nonce  # old links are dead
    # The procedure's record stays whole: the appointment, its identification, its signature.
    kept = Appointment.objects.get(pk=seeded.attended.pk)
    assert (kept.name, kept.id_document) == (people.NAME, people.DOCUMENT)
    assert IdentityCheck.objects.get(appointment=kept).document_hash
    assert Signature.objects.get(pk=seeded.signature.pk).receipt == b"%PDF-1.4 the receipt"
    assert ConsentRecord.objects.filter(appointment=kept).count() == 2
    # Her messages, chat, files, comments and consent-based recording are gone.
    for message in Message.objects.filter(appointment__in=[seeded.attended, seeded.represented]):
        assert (message.recipient, message.body, message.subject) == ("", "", "")
    assert not Message.objects.filter(body__contains="Núria")
    assert not ChatLine.objects.filter(room=seeded.room)
    assert not SharedFile.objects.filter(room=seeded.room)
    assert not RoomEvent.objects.filter(room=seeded.room).exclude(details={})
    assert SurveyAnswer.objects.get(appointment=kept).comment == ""
    assert SurveyAnswer.objects.get(appointment=kept).score == 4
    recording = Recording.objects.get(pk=seeded.recording.pk)
    assert recording.state == Recording.State.DELETED and not recording.tracks.exists()
    entry = QueueEntry.objects.get(appointment=seeded.walk_in)
    assert (entry.name, entry.phone) == ("", "")
    waiting = WaitingListEntry.objects.get(organisation=personas.org_a)
    assert (waiting.name, waiting.email, waiting.status) == ("", "", "left")
    # Nobody else's data changed.
    assert Appointment.objects.filter(pk=seeded.other.pk).values().get() == others_before["other"]
    assert Appointment.objects.filter(pk=seeded.org_b.pk).values().get() == others_before["org_b"]
    assert (
        Appointment.objects.filter(pk=seeded.for_someone_else.pk).values().get()
        == others_before["someone_else"]
    )
    assert (
        list(Message.objects.exclude(recipient="").order_by("pk").values())
        == others_before["messages"]
    )
    assert SurveyAnswer.objects.get(appointment=seeded.other).comment == "Comentari d'en Quim"


def test_erasure_writes_the_audit_event_tells_connected_systems_and_the_chain_verifies(
    personas: Personas, seeded: Seeded
) -> None:
    result = erase(personas)
    event = AuditEvent.objects.get(action=AuditEvent.Action.PERSONAL_DATA_ERASED)
    assert event.actor == personas.admin_a and event.organisation == personas.org_a
    assert event.details["searched_by"] == ["email", "phone"]
    assert event.details["erased"]["appointments"] == 2
    assert event.details["kept"]["kept_signatures"] == 1
    for identifier in (people.EMAIL, people.PHONE, people.NAME):
        assert identifier not in str(event.details)
    (deleted,) = Event.objects.filter(type="data.deleted")
    assert deleted.payload["data"] == {"kind": "personal_data", "ids": result.appointments}
    assert deleted.deliveries.get().subscription == seeded.subscription
    assert services.verify_audit_log().ok


def test_a_failure_midway_leaves_everything_as_it_was(
    personas: Personas, seeded: Seeded, monkeypatch: pytest.MonkeyPatch
) -> None:
    fingerprint = plan(personas).fingerprint
    before = snapshot()

    def broken(ids: dict[str, list[int]], now: dt.datetime) -> None:
        raise RuntimeError("the disk is full")

    # After the appointments and the queue were blanked: the messages' step fails.
    monkeypatch.setattr(
        erasure, "STEPS", (erasure._erase_appointments, erasure._erase_queue, broken)
    )
    with pytest.raises(RuntimeError):
        erase(personas, fingerprint)
    assert snapshot() == before
    assert services.verify_audit_log().ok


def test_a_plan_that_changed_since_it_was_shown_is_refused(
    personas: Personas, seeded: Seeded
) -> None:
    fingerprint = plan(personas).fingerprint
    ChatLine.objects.create(
        room=seeded.room, seq=9, peer="p1", role="citizen", name=people.NAME,
        text="Una línia nova", sent_at=people.NOW,
    )  # fmt: skip
    with pytest.raises(erasure.ErasureRefused) as refused:
        erase(personas, fingerprint)
    assert refused.value.reason == "changed"
    assert Appointment.objects.get(pk=seeded.represented.pk).name == people.NAME


def test_an_upcoming_appointment_stops_the_erasure_until_it_is_cancelled(
    personas: Personas, seeded: Seeded
) -> None:
    upcoming = AppointmentFactory(
        agent=seeded.attended.agent, service=personas.service_a, status="booked",
        starts_at=people.NOW + dt.timedelta(days=3), name=people.NAME, email=people.EMAIL,
    )  # fmt: skip
    shown = plan(personas)
    assert [b.code for b in shown.blockers] == [upcoming.code]
    with pytest.raises(erasure.ErasureRefused) as refused:
        erase(personas, shown.fingerprint)
    assert refused.value.reason == "blocked"
    assert Appointment.objects.get(pk=upcoming.pk).email == people.EMAIL
    Appointment.objects.filter(pk=upcoming.pk).update(status="cancelled", cancelled_by="office")
    erase(personas)
    assert Appointment.objects.get(pk=upcoming.pk).email == ""


def test_a_recording_under_a_legal_basis_is_kept_until_its_period_ends(
    personas: Personas, seeded: Seeded
) -> None:
    Recording.objects.filter(pk=seeded.recording.pk).update(
        basis="legal_basis",
        legal_basis="Llei 19/2014, art. 4",
        delete_after=people.NOW + dt.timedelta(days=1),
    )
    shown = plan(personas)
    assert shown.ids["kept_recordings"] == [seeded.recording.pk]
    erase(personas)
    assert Recording.objects.get(pk=seeded.recording.pk).state == "stopped"
    assert Track.objects.filter(recording=seeded.recording).count() == 3


# --- The pages ------------------------------------------------------------------------------

PLAN = reverse("privacy:erasure-plan", kwargs={"org": "org-a"})
CONFIRM = reverse("privacy:erasure-confirm", kwargs={"org": "org-a"})


def client_for(user: User) -> Client:
    client = Client()
    client.force_login(user)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


def test_the_administrator_sees_the_plan_confirms_and_the_data_are_erased(
    personas: Personas, seeded: Seeded
) -> None:
    client = client_for(personas.admin_a)
    page = client.post(PLAN, CRITERIA)
    assert page.status_code == 200
    html = page.content.decode()
    assert "What will be kept, and why" in html and "Law 39/2015" in html
    fingerprint = page.context["plan"].fingerprint
    unconfirmed = client.post(CONFIRM, {**CRITERIA, "plan": fingerprint})
    assert unconfirmed.status_code == 400
    assert "Tick the box to confirm the erasure." in unconfirmed.content.decode()
    assert Appointment.objects.get(pk=seeded.represented.pk).name == people.NAME
    done = client.post(CONFIRM, {**CRITERIA, "plan": fingerprint, "confirm": "on"})
    assert done.status_code == 200
    assert "Data erased" in done.content.decode()
    assert Appointment.objects.get(pk=seeded.represented.pk).name == ""


def test_the_page_explains_what_stops_the_erasure(personas: Personas, seeded: Seeded) -> None:
    upcoming = AppointmentFactory(
        agent=seeded.attended.agent, service=personas.service_a, status="booked",
        starts_at=people.NOW + dt.timedelta(days=3), name=people.NAME, email=people.EMAIL,
    )  # fmt: skip
    page = client_for(personas.admin_a).post(PLAN, CRITERIA)
    html = page.content.decode()
    assert "The erasure cannot be done yet" in html
    assert f"/org-a/staff/appointments/{upcoming.code}/" in html
    assert "Erase what is listed" not in html


@pytest.mark.parametrize("who", ["agent_a", "supervisor_a"])
def test_agents_and_supervisors_cannot_erase(personas: Personas, seeded: Seeded, who: str) -> None:
    fingerprint = plan(personas).fingerprint
    client = client_for(getattr(personas, who))
    assert client.post(PLAN, CRITERIA).status_code == 403
    confirm = {**CRITERIA, "plan": fingerprint, "confirm": "on"}
    assert client.post(CONFIRM, confirm).status_code == 403
    assert Appointment.objects.get(pk=seeded.represented.pk).name == people.NAME
    with pytest.raises(PermissionDenied):  # the service refuses too
        services.erase_personal_data(
            staff=get_staff_context(getattr(personas, who), "org-a", signed_in_for=None),
            criteria=services.normalise_criteria(**CRITERIA),
            fingerprint=fingerprint,
            now=people.NOW,
        )


def test_another_organisations_administrator_cannot_erase_here(
    personas: Personas, seeded: Seeded
) -> None:
    fingerprint = plan(personas).fingerprint
    client = client_for(personas.admin_b)
    assert client.post(PLAN, CRITERIA).status_code == 404
    confirm = {**CRITERIA, "plan": fingerprint, "confirm": "on"}
    assert client.post(CONFIRM, confirm).status_code == 404
    assert Appointment.objects.get(pk=seeded.represented.pk).name == people.NAME


def test_files_on_disk_go_only_once_the_erasure_has_committed(
    personas: Personas,
    seeded: Seeded,
    settings: Any,  # noqa: F811
    tmp_path: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    settings.VIDEO_FILES_DIR = tmp_path
    shared = tmp_path / "seed" / "citizen.bin"
    shared.parent.mkdir()
    shared.write_bytes(b"sealed")
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        erase(personas)
    assert shared.exists()  # not before the commit
    assert callbacks
    for callback in callbacks:
        callback()
    assert not shared.exists()
