"""Signing in the call: the citizen signs the call's summary (or a shared document) with a
one-time code typed on their page, or a habilitated official signs for them with the express
consent of a code they read out; a PDF receipt with a verification code is made and sent; the
code is checked on the public page; brute force locks signing; other tenants see nothing."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import re
from collections.abc import Iterator

import pytest
import time_machine
from django.test import Client
from pypdf import PdfReader

from finestreta.accounts.models import Membership
from finestreta.appointments.models import Appointment
from finestreta.appointments.services import join_token
from finestreta.catalogue.models import AttentionLevel
from finestreta.identity import codes, identify, receipts, signatures
from finestreta.identity.models import (
    Assurance,
    CodePurpose,
    ConsentKind,
    ConsentMethod,
    ConsentRecord,
    DocumentType,
    HabilitatedOfficial,
    ServicePolicy,
    Signature,
    SignatureRoute,
)
from finestreta.notifications.models import Message
from finestreta.privacy.models import AuditEvent
from finestreta.video import services
from tests.factories import AppointmentFactory, ServiceFactory
from tests.personas import Personas, log_in

START = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC)
NOW = START - dt.timedelta(minutes=5)
SUMMARY = "Sol·licitud d'ajut presentada.\nDocuments revisats: DNI i llibre de família."


@pytest.fixture(autouse=True)
def clock() -> Iterator[None]:
    with time_machine.travel(NOW, tick=False):
        yield


def booked(personas: Personas, level: str, at: dt.datetime = START, **policy: str) -> Appointment:
    service = ServiceFactory(
        organisation=personas.org_a, attention_level=level, offices=[personas.office_a]
    )
    if policy:
        ServicePolicy.objects.create(service=service, **policy)
    return AppointmentFactory(
        agent=Membership.objects.get(user=personas.agent_a),
        service=service,
        starts_at=at,
        name="Núria Puig Łukasiewicz",
        phone="+34600111678",
        email="nuria@example.org",
        language="en",
    )


@pytest.fixture
def by_code(personas: Personas) -> Appointment:
    """An assisted procedure whose citizen signs with a code, identified by one first."""
    appointment = booked(
        personas,
        AttentionLevel.ASSISTED,
        identity=Assurance.CONTACT_CODE,
        signature=SignatureRoute.CITIZEN_CODE,
    )
    identify_by_code(appointment, personas)
    return appointment


def latest_code(kind: str) -> str:
    body = Message.objects.filter(kind=kind).latest("pk").body
    return re.search(r"\b(\d{6})\b", body)[1]  # type: ignore[index]


def identify_by_code(appointment: Appointment, personas: Personas) -> None:
    codes.send_code(
        appointment=appointment,
        purpose=CodePurpose.IDENTIFY,
        destination=codes.destinations(appointment)[0],
        now=NOW,
    )
    identify.identify_by_code(
        appointment=appointment,
        agent=personas.agent_a,
        code=latest_code("identity_code"),
        now=NOW,
    )


def ask(appointment: Appointment, agent, **kwargs) -> Signature:  # type: ignore[no-untyped-def]
    return signatures.request_signature(
        appointment=appointment,
        agent=agent,
        title=kwargs.pop("title", "Summary of the video call"),
        body=kwargs.pop("body", SUMMARY),
        destination=kwargs.pop("destination", codes.destinations(appointment)[1]),
        now=kwargs.pop("now", NOW),
        **kwargs,
    )


def pdf_text(data: bytes) -> str:
    reader = PdfReader(io.BytesIO(data))
    return " ".join(" ".join(page.extract_text().split()) for page in reader.pages)


def test_the_citizen_signs_the_summary_with_the_code_and_receives_the_pdf_receipt(
    by_code: Appointment, personas: Personas
) -> None:
    request = ask(by_code, personas.agent_a)
    assert request.status == Signature.Status.PENDING
    assert request.document_sha256 == hashlib.sha256(SUMMARY.encode()).hexdigest()
    assert request.identity_check is not None  # how they were identified, kept with it
    code_message = Message.objects.filter(kind="signature_code").get()
    assert code_message.recipient == "nuria@example.org"

    signed = signatures.sign_with_code(
        signature=request,
        code=latest_code("signature_code"),
        ip_address="198.51.100.7",
        now=NOW + dt.timedelta(minutes=1),
    )
    signed.refresh_from_db()
    assert signed.status == Signature.Status.SIGNED
    assert signed.signed_at == NOW + dt.timedelta(minutes=1)
    assert signed.ip_address == "198.51.100.7"
    assert re.fullmatch(r"[0-9A-HJKMNP-TV-Z]{16}", signed.verification_code or "")
    assert bytes(signed.receipt).startswith(b"%PDF-")
    assert signed.receipt_sha256 == hashlib.sha256(bytes(signed.receipt)).hexdigest()

    text = pdf_text(bytes(signed.receipt))
    assert signed.document_sha256 in "".join(text.split())  # printed in groups of eight
    for expected in (
        "Receipt of signature",
        signed.grouped_code,
        "Núria Puig Łukasiewicz",  # printed as written, not only Latin-1
        "198.51.100.7",
        "n•••@example.org",
        "Documents revisats: DNI i llibre de família.",
        f"/org-a/verify/{signed.verification_code}/",
    ):
        assert expected in text, expected

    receipt = Message.objects.get(kind="receipt")
    assert (receipt.channel, receipt.recipient) == ("email", "nuria@example.org")
    assert receipt.attachment_type == "application/pdf"
    assert bytes(receipt.attachment) == bytes(signed.receipt)
    assert signed.grouped_code in receipt.body
    actions = set(AuditEvent.objects.values_list("action", flat=True))
    assert {"signature.requested", "signature.signed"} <= actions


def test_a_document_shared_in_the_call_is_signed_by_its_fingerprint(
    by_code: Appointment, personas: Personas
) -> None:
    from finestreta.video.models import SharedFile

    room = services.get_room(by_code)
    shared = SharedFile.objects.create(
        room=room,
        role="staff",
        sender="Agent",
        name="sollicitud.pdf",
        content_type="application/pdf",
        size=10,
        sha256="ab" * 32,
        storage_name="x1",
        uploaded_at=NOW,
    )
    request = ask(by_code, personas.agent_a, body="", shared_file=shared)
    assert (request.document_name, request.document_sha256) == ("sollicitud.pdf", "ab" * 32)

    other_room = services.get_room(
        AppointmentFactory(
            agent=by_code.agent, service=by_code.service, starts_at=START + dt.timedelta(hours=2)
        )
    )
    foreign = SharedFile.objects.create(
        room=other_room,
        role="staff",
        sender="Agent",
        name="other.pdf",
        content_type="application/pdf",
        size=10,
        sha256="cd" * 32,
        storage_name="x2",
        uploaded_at=NOW,
    )
    with pytest.raises(signatures.SignatureRefused, match="Only a document shared in this call"):
        ask(by_code, personas.agent_a, body="", shared_file=foreign)


def test_nothing_is_put_to_signature_before_the_citizen_is_identified(
    personas: Personas,
) -> None:
    appointment = booked(
        personas,
        AttentionLevel.ASSISTED,
        identity=Assurance.CONTACT_CODE,
        signature=SignatureRoute.CITIZEN_CODE,
    )
    with pytest.raises(signatures.SignatureRefused, match="Identify the person first"):
        ask(appointment, personas.agent_a)
    assert not Signature.objects.exists()
    assert not Message.objects.filter(kind="signature_code").exists()

    informative = booked(personas, AttentionLevel.INFORMATIVE, at=START + dt.timedelta(hours=3))
    with pytest.raises(signatures.SignatureRefused, match="asks for no signature"):
        ask(informative, personas.agent_a)


def test_five_wrong_codes_lock_signing_and_the_right_one_is_refused_meanwhile(
    by_code: Appointment, personas: Personas
) -> None:
    request = ask(by_code, personas.agent_a)
    right = latest_code("signature_code")
    wrong = "000000" if right != "000000" else "111111"
    for tries_left in (4, 3, 2, 1):
        with pytest.raises(codes.WrongCode, match=f"{tries_left} tr"):
            signatures.sign_with_code(signature=request, code=wrong, ip_address=None, now=NOW)
    with pytest.raises(codes.CodeLocked):
        signatures.sign_with_code(signature=request, code=wrong, ip_address=None, now=NOW)
    with pytest.raises(codes.CodeLocked, match="15 minutes"):
        signatures.sign_with_code(signature=request, code=right, ip_address=None, now=NOW)
    request.refresh_from_db()
    assert request.status == Signature.Status.PENDING
    assert request.signed_at is None
    assert AuditEvent.objects.filter(action="identity.code_locked").count() == 1
    # Identification codes are not locked by it: each purpose counts its own tries.
    assert codes.locked_until(by_code, CodePurpose.IDENTIFY, NOW) is None


def test_a_new_request_replaces_the_one_waiting_and_its_code_no_longer_signs(
    by_code: Appointment, personas: Personas
) -> None:
    first = ask(by_code, personas.agent_a, title="First")
    first_code = latest_code("signature_code")
    second = ask(by_code, personas.agent_a, title="Second", now=NOW + dt.timedelta(seconds=30))
    first.refresh_from_db()
    assert first.status == Signature.Status.CANCELLED
    with pytest.raises(signatures.SignatureRefused, match="no longer waiting"):
        signatures.sign_with_code(signature=first, code=first_code, ip_address=None, now=NOW)
    assert second.status == Signature.Status.PENDING


def test_the_citizen_may_decline_and_nothing_is_signed(
    by_code: Appointment, personas: Personas
) -> None:
    request = ask(by_code, personas.agent_a)
    signatures.decline(signature=request, now=NOW)
    request.refresh_from_db()
    assert (request.status, request.verification_code, bytes(request.receipt)) == (
        "declined",
        None,
        b"",
    )
    with pytest.raises(signatures.SignatureRefused):
        signatures.sign_with_code(
            signature=request, code=latest_code("signature_code"), ip_address=None, now=NOW
        )
    assert not Message.objects.filter(kind="receipt").exists()


@pytest.fixture
def attended(personas: Personas) -> Appointment:
    """Attended processing (the defaults: an identity document, a habilitated official)."""
    appointment = booked(personas, AttentionLevel.ATTENDED)
    appointment.language = "ca"
    appointment.save(update_fields=["language"])
    identify.check_document(
        appointment=appointment,
        agent=personas.agent_a,
        document_type=DocumentType.DNI,
        number="12345678Z",
        number_checked=True,
        photo_matches=True,
        not_expired=True,
        expires_on=dt.date(2030, 1, 1),
        today=NOW.date(),
        now=NOW,
    )
    return appointment


def test_a_habilitated_official_signs_for_the_citizen_with_the_code_they_read_out(
    attended: Appointment, personas: Personas
) -> None:
    with pytest.raises(signatures.SignatureRefused, match="habilitated official"):
        ask(attended, personas.agent_a)
    HabilitatedOfficial.objects.create(
        organisation=personas.org_a,
        user=personas.agent_a,
        reference="Resolució 12/2026",
        valid_from=dt.date(2026, 1, 1),
    )
    request = ask(attended, personas.agent_a, destination=codes.destinations(attended)[0])
    assert request.route == SignatureRoute.HABILITATED
    message = Message.objects.get(kind="consent_code")
    assert message.channel == "sms" and message.language == "ca"
    with pytest.raises(signatures.SignatureRefused, match="official signs this one"):
        signatures.sign_with_code(
            signature=request, code=latest_code("consent_code"), ip_address=None, now=NOW
        )

    signed = signatures.sign_on_behalf(
        signature=request, official=personas.agent_a, code=latest_code("consent_code"), now=NOW
    )
    consent = ConsentRecord.objects.get(kind=ConsentKind.ACT_ON_BEHALF)
    assert (consent.method, consent.attested_by, consent.granted) == (
        ConsentMethod.CODE,
        personas.agent_a,
        True,
    )
    assert signed.consent == consent and signed.habilitation is not None
    text = pdf_text(bytes(signed.receipt))
    assert "Justificant de signatura" in text  # the citizen's language
    assert "Resolució 12/2026" in text
    receipt = Message.objects.get(kind="receipt")
    assert receipt.recipient == "nuria@example.org" and receipt.language == "ca"


def test_a_receipt_is_checked_by_its_code_on_the_public_page_of_its_organisation_only(
    client: Client, by_code: Appointment, personas: Personas
) -> None:
    request = ask(by_code, personas.agent_a)
    signed = signatures.sign_with_code(
        signature=request, code=latest_code("signature_code"), ip_address=None, now=NOW
    )
    typed = signed.grouped_code.lower().replace("-", " ")
    response = client.get("/org-a/verify/", {"code": typed})
    assert response.status_code == 302
    assert response["Location"] == f"/org-a/verify/{signed.verification_code}/"
    page = client.get(response["Location"]).content.decode()
    assert "Genuine receipt" in page
    assert receipts.grouped(signed.document_sha256) in page
    assert "Summary of the video call" in page
    pdf = client.get(f"/org-a/verify/{signed.verification_code}/receipt.pdf")
    assert pdf["Content-Type"] == "application/pdf"
    assert pdf.content == bytes(signed.receipt)

    wrong = client.get("/org-a/verify/", {"code": "ZZZZ-ZZZZ-ZZZZ-ZZZZ"})
    assert wrong.status_code == 400
    assert "No receipt of" in wrong.content.decode()
    # Another organisation's page knows nothing of it.
    assert client.get(f"/org-b/verify/{signed.verification_code}/").status_code == 404
    assert client.get(f"/org-b/verify/{signed.verification_code}/receipt.pdf").status_code == 404
    assert client.get("/org-b/verify/", {"code": typed}).status_code == 400


def test_the_citizen_signs_on_their_call_page_and_downloads_the_receipt(
    client: Client, by_code: Appointment, personas: Personas
) -> None:
    token = join_token(by_code)
    call = f"/org-a/video/{token}/call/"
    page = client.get(call).content.decode()
    assert 'id="signature-panel"' in page and "You are asked to sign" not in page

    staff = log_in(personas.agent_a)
    room = services.get_room(by_code)
    url = f"/org-a/staff/video/{room.public_id}/identity/signature/"
    empty = staff.post(url, {"title": "Summary", "body": " ", "destination": "email:x@y.z"})
    assert empty.status_code == 400
    response = staff.post(
        url, {"title": "Summary", "body": SUMMARY, "destination": "email:nuria@example.org"}
    )
    assert response.status_code == 200
    assert "Code sent to n•••@example.org" in response.content.decode()
    pending = Signature.objects.get(status="pending")

    fragment = client.get(f"/org-a/video/{token}/signature/").content.decode()
    assert "You are asked to sign" in fragment and "Documents revisats" in fragment
    sign = f"/org-a/video/{token}/signature/{pending.pk}/sign/"
    wrong = client.post(sign, {"code": "12"})
    assert (
        wrong.status_code == 400 and "That is not the code. 4 tries left." in wrong.content.decode()
    )
    done = client.post(sign, {"code": latest_code("signature_code")}, REMOTE_ADDR="203.0.113.4")
    assert done.status_code == 200
    assert "Signed." in done.content.decode()
    pending.refresh_from_db()
    assert pending.status == "signed" and pending.ip_address == "203.0.113.4"
    receipt = client.get(f"/org-a/video/{token}/signature/{pending.pk}/receipt.pdf")
    assert receipt.content == bytes(pending.receipt)
    staff_receipt = staff.get(
        f"/org-a/staff/video/{room.public_id}/identity/signature/{pending.pk}/receipt.pdf"
    )
    assert staff_receipt.content == bytes(pending.receipt)

    # Another tenant's agent reaches neither the request nor the receipt.
    other = log_in(personas.agent_b)
    assert other.post(url, {"title": "x", "body": "y"}).status_code in (403, 404)
    assert other.get(
        f"/org-a/staff/video/{room.public_id}/identity/signature/{pending.pk}/receipt.pdf"
    ).status_code in (403, 404)


def test_while_the_call_is_recorded_the_official_may_take_the_citizens_yes_said_aloud(
    attended: Appointment, personas: Personas
) -> None:
    from finestreta.recordings.models import Recording, Track

    HabilitatedOfficial.objects.create(
        organisation=personas.org_a,
        user=personas.agent_a,
        reference="Resolució 12/2026",
        valid_from=dt.date(2026, 1, 1),
    )
    request = ask(attended, personas.agent_a, destination=codes.destinations(attended)[0])
    # Not recorded: a spoken yes leaves no evidence, so it is refused.
    with pytest.raises(signatures.SignatureRefused, match="being recorded"):
        signatures.sign_on_behalf(signature=request, official=personas.agent_a, code=None, now=NOW)
    recording = Recording.objects.create(
        organisation=personas.org_a,
        appointment=attended,
        room=services.get_room(attended),
        basis=Recording.Basis.CONSENT,
        started_by=personas.agent_a,
        started_at=NOW - dt.timedelta(minutes=2, seconds=31),
        state=Recording.State.RECORDING,
        delete_after=NOW + dt.timedelta(days=30),
    )
    track = Track.objects.create(
        recording=recording, peer="p_1", role="citizen", name="Núria", kind="audio", started_at=NOW
    )
    signed = signatures.sign_on_behalf(
        signature=request, official=personas.agent_a, code=None, now=NOW
    )
    record = ConsentRecord.objects.get(kind=ConsentKind.ACT_ON_BEHALF)
    assert (record.method, record.attested_by, record.recording) == (
        ConsentMethod.SPOKEN,
        personas.agent_a,
        recording,
    )
    assert record.recording_offset_ms == 151_000
    assert "02:31" in pdf_text(bytes(signed.receipt))
    assert track.pk  # the citizen's sound was being recorded


def test_guessing_receipt_codes_from_one_address_is_limited_with_a_429(
    client: Client, personas: Personas, settings
) -> None:
    from django.core.cache import cache

    cache.clear()
    settings.BOOKING_RATE_LIMIT = "3/h"
    guesses = [
        client.get("/org-a/verify/", {"code": f"ZZZZ-ZZZZ-ZZZZ-ZZZ{n}"}).status_code
        for n in range(3)
    ]
    assert guesses == [400, 400, 400]
    assert client.get("/org-a/verify/", {"code": "ZZZZ-ZZZZ-ZZZZ-ZZZ9"}).status_code == 429
    assert client.get("/org-a/verify/ZZZZZZZZZZZZZZZ9/").status_code == 429
    assert client.get("/org-a/verify/ZZZZZZZZZZZZZZZ9/receipt.pdf").status_code == 429
    # Another address still checks its receipts.
    other = client.get(
        "/org-a/verify/", {"code": "ZZZZ-ZZZZ-ZZZZ-ZZZ9"}, REMOTE_ADDR="198.51.100.7"
    )
    assert other.status_code == 400
