"""One citizen with data of every kind in organisation A, and the people whose data must never
appear in her export: a guest in her call, another citizen of the same organisation, someone
with her phone number in organisation B, and the representative who booked for her (whose own
contact details are theirs)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from finestreta.accounts.models import Membership
from finestreta.appointments.models import Appointment, VerificationCode, WaitingListEntry
from finestreta.identity import consent, identify
from finestreta.identity.models import OneTimeCode, Signature
from finestreta.integrations import services as integrations
from finestreta.integrations.events import emit_appointment
from finestreta.integrations.models import Subscription
from finestreta.notifications.models import Message
from finestreta.privacy.models import AuditEvent
from finestreta.privacy.services import record_event
from finestreta.queueing.models import QueueEntry
from finestreta.recordings.models import Recording, Track
from finestreta.reports.models import SurveyAnswer
from finestreta.video.models import (
    ChatLine,
    Coaching,
    Invitation,
    Presence,
    Room,
    RoomEvent,
    SharedFile,
)
from tests.factories import AppointmentFactory, ServiceFactory
from tests.personas import Personas

EMAIL = "nuria.puig@example.net"
PHONE = "+34612345678"
DOCUMENT = "12345678Z"
NAME = "Núria Puig i Solà"
REPRESENTATIVE = "Ramon Representant"
REPRESENTATIVE_EMAIL = "ramon.rep@example.net"
# Texts that belong to other people: none may appear in Núria's export.
GUEST_LINE = "Línia de la intèrpret, que és seva"
GUEST_FILE = "notes-interpret.pdf"
OTHER_NAME = "Quim Altre"
OTHER_EMAIL = "quim@example.net"
ORG_B_NAME = "Persona de l'Organisme B"
DAY = dt.datetime(2026, 11, 2, 9, 0, tzinfo=dt.UTC)
NOW = dt.datetime(2026, 12, 7, 12, 0, tzinfo=dt.UTC)


@dataclass
class Seeded:
    attended: Appointment  # an attended video call with everything
    represented: Appointment  # booked for her by a representative
    walk_in: Appointment  # made from her place in the virtual queue
    other: Appointment  # another citizen, same organisation
    org_b: Appointment  # same phone, organisation B
    for_someone_else: Appointment  # the representative's own booking for another person
    room: Room
    recording: Recording
    signature: Signature
    subscription: Subscription


def _message(appointment: Appointment | None, recipient: str, body: str, key: str, org) -> Message:  # type: ignore[no-untyped-def]
    return Message.objects.create(
        organisation=org,
        kind="booking_confirmed",
        channel="sms" if recipient.startswith("+") else "email",
        recipient=recipient,
        language="ca",
        subject="Cita confirmada",
        body=body,
        dedup_key=key,
        appointment=appointment,
        status=Message.Status.DELIVERED,
        sent_at=DAY,
    )


def seed(personas: Personas) -> Seeded:
    org = personas.org_a
    agent = Membership.objects.get(user=personas.agent_a)
    attended_service = ServiceFactory(organisation=org, slug="padro", name="Padró", attended=True)
    subscription = Subscription.objects.create(
        organisation=org,
        url="https://expedients.example.cat/hooks",
        secret=integrations.new_secret(),
        event_types=["appointment.attended", "data.deleted"],
        description="Gestor d'expedients",
    )
    attended = AppointmentFactory(
        agent=agent,
        service=personas.service_a,
        status="attended",
        starts_at=DAY,
        name=NAME,
        email=EMAIL.upper(),  # the search ignores case
        phone=PHONE,
        id_document=DOCUMENT,
        notes="Porto el llibre de família",
        staff_notes="Explicat el tràmit del padró",
        needs_captions=True,
    )
    represented = AppointmentFactory(
        agent=agent,
        service=attended_service,
        status="no_show",
        starts_at=DAY + dt.timedelta(days=1),
        name=NAME,
        email="",
        phone=PHONE,
        representative_name=REPRESENTATIVE,
        representative_email=REPRESENTATIVE_EMAIL,
        representative_phone="+34699111222",
        representative_relation="germà",
    )
    walk_in = AppointmentFactory(
        agent=agent,
        service=personas.service_a,
        status="attended",
        starts_at=DAY + dt.timedelta(days=2),
        walk_in=True,
        name="Núria",
        email="",
        phone="",
    )
    QueueEntry.objects.create(
        organisation=org,
        service=personas.service_a,
        channel="video",
        state=QueueEntry.State.SERVED,
        name="Núria",
        phone=PHONE,
        joined_at=DAY + dt.timedelta(days=2),
        appointment=walk_in,
    )
    WaitingListEntry.objects.create(
        organisation=org,
        service=personas.service_a,
        channel="video",
        earliest=dt.date(2026, 11, 1),
        latest=dt.date(2026, 11, 30),
        name=NAME,
        email=EMAIL,
        manage_nonce="wl-nonce",
        status=WaitingListEntry.Status.BOOKED,
    )
    other = AppointmentFactory(
        agent=agent,
        service=personas.service_a,
        status="attended",
        starts_at=DAY + dt.timedelta(hours=1),
        name=OTHER_NAME,
        email=OTHER_EMAIL,
        phone="+34600000001",
    )
    for_someone_else = AppointmentFactory(
        agent=agent,
        service=personas.service_a,
        status="attended",
        starts_at=DAY + dt.timedelta(days=3),
        name="Persona Representada Altra",
        email="representada@example.net",
        representative_name=REPRESENTATIVE,
        representative_email=REPRESENTATIVE_EMAIL,
    )
    org_b = AppointmentFactory(
        agent=Membership.objects.get(user=personas.agent_b),
        service=personas.service_b,
        status="attended",
        starts_at=DAY,
        name=ORG_B_NAME,
        email="b@example.net",
        phone=PHONE,  # the same phone, in another organisation
    )

    _message(attended, EMAIL, "La vostra cita és confirmada, Núria.", "a1", org)
    _message(represented, REPRESENTATIVE_EMAIL, "Cita per a la Núria (al representant)", "a2", org)
    _message(None, PHONE, "Us toca! Entreu a la trucada.", "q1", org)
    _message(other, OTHER_EMAIL, "Missatge d'en Quim", "o1", org)
    _message(for_someone_else, REPRESENTATIVE_EMAIL, "Cita de la persona representada", "r1", org)
    _message(org_b, PHONE, "Missatge de l'organisme B", "b1", personas.org_b)

    VerificationCode.objects.create(
        appointment=attended,
        channel="email",
        recipient=EMAIL,
        code_hash="h" * 64,
        expires_at=DAY,
        verified_at=DAY,
    )
    SurveyAnswer.objects.create(
        organisation=org,
        appointment=attended,
        score=4,
        comment="Molt amable, gràcies",
        language="ca",
        answered_at=DAY + dt.timedelta(hours=1),
    )
    SurveyAnswer.objects.create(
        organisation=org,
        appointment=other,
        score=1,
        comment="Comentari d'en Quim",
        language="ca",
        answered_at=DAY,
    )

    room = Room.objects.create(
        organisation=org,
        appointment=attended,
        public_id="room-nuria-0000000000",
        state=Room.State.ENDED,
        citizen_admitted_at=DAY,
        ended_at=DAY + dt.timedelta(minutes=20),
    )
    invitation = Invitation.objects.create(
        room=room,
        kind=Invitation.Kind.INTERPRETER,
        name="Intèrpret Convidada",
        token_hash="t" * 64,
        created_by=personas.agent_a,
        created_at=DAY,
        expires_at=DAY + dt.timedelta(hours=2),
    )
    for seq, (role, name, text) in enumerate(
        [
            ("citizen", NAME, "Bon dia, vinc pel padró"),
            ("staff", "Agent A", "Bon dia Núria, digueu-me"),
            ("guest", "Intèrpret Convidada", GUEST_LINE),
        ],
        start=1,
    ):
        ChatLine.objects.create(
            room=room, seq=seq, peer=f"p{seq}", role=role, name=name, text=text, sent_at=DAY
        )
    SharedFile.objects.create(
        room=room, role="citizen", sender=NAME, name="llibre-familia.pdf",
        content_type="application/pdf", size=1234, sha256="a" * 64,
        storage_name="seed/citizen.bin", uploaded_at=DAY,
    )  # fmt: skip
    SharedFile.objects.create(
        room=room, role="guest", sender="Intèrpret Convidada", name=GUEST_FILE,
        content_type="application/pdf", size=99, sha256="b" * 64,
        storage_name="seed/guest.bin", uploaded_at=DAY,
    )  # fmt: skip
    RoomEvent.objects.create(room=room, kind="joined", peer="p1", role="citizen", at=DAY)
    RoomEvent.objects.create(
        room=room, kind="callback", peer="p1", role="citizen", details={"phone": PHONE}, at=DAY
    )
    RoomEvent.objects.create(
        room=room, kind="joined", peer="p3", role="guest",
        details={"name": "Intèrpret Convidada"}, at=DAY,
    )  # fmt: skip
    Presence.objects.create(
        room=room, peer="p1", role="citizen", name=NAME, state="admitted",
        connected=False, since=DAY, last_seen=DAY,
    )  # fmt: skip
    Coaching.objects.create(
        room=room, membership=Membership.objects.get(user=personas.supervisor_a), started_at=DAY
    )

    check = identify.check_document(
        appointment=attended,
        agent=personas.agent_a,
        document_type="dni",
        number=DOCUMENT,
        number_checked=True,
        photo_matches=True,
        not_expired=True,
        expires_on=None,
        today=DAY.date(),
        now=DAY,
    )
    OneTimeCode.objects.create(
        organisation=org,
        appointment=attended,
        purpose="sign",
        channel="sms",
        recipient=PHONE,
        code_hash="c" * 64,
        expires_at=DAY,
        created_at=DAY,
    )
    recording = Recording.objects.create(
        organisation=org,
        appointment=attended,
        room=room,
        basis="consent",
        started_by=personas.agent_a,
        started_at=DAY,
        stopped_at=DAY + dt.timedelta(minutes=10),
        state="stopped",
        delete_after=DAY + dt.timedelta(days=30),
    )
    for role, name in (("citizen", NAME), ("staff", "Agent A"), ("guest", "Intèrpret")):
        Track.objects.create(
            recording=recording, peer=f"p-{role}", role=role, name=name, kind="audio",
            started_at=DAY, chunks=1, size=100,
        )  # fmt: skip
    consent.record_consent(
        appointment=attended, kind="recording", granted=True, method="clicked", now=DAY,
        ip_address="192.0.2.10",
    )  # fmt: skip
    consent.record_consent(
        appointment=attended, kind="recording", granted=True, method="clicked", now=DAY,
        person="Intèrpret Convidada", invitation=invitation,
    )  # fmt: skip
    signature = Signature.objects.create(
        organisation=org,
        appointment=attended,
        route="citizen_code",
        status="signed",
        title="Resum de l'atenció",
        body="Sol·licitud d'alta al padró",
        document_sha256="0" * 64,
        requested_by=personas.agent_a,
        requested_at=DAY,
        signed_at=DAY,
        identity_check=check,
        verification_code="NURIA0000000SIGN",
        receipt=b"%PDF-1.4 the receipt",
        receipt_language="ca",
    )
    record_event(
        action=AuditEvent.Action.APPOINTMENT_ATTENDED,
        actor=personas.agent_a,
        organisation=org,
        target=attended,
    )
    record_event(
        action=AuditEvent.Action.APPOINTMENT_ATTENDED,
        actor=personas.agent_a,
        organisation=org,
        target=other,
    )
    emit_appointment("appointment.attended", attended, now=DAY)
    emit_appointment("appointment.attended", other, now=DAY)
    return Seeded(
        attended=attended,
        represented=represented,
        walk_in=walk_in,
        other=other,
        org_b=org_b,
        for_someone_else=for_someone_else,
        room=room,
        recording=recording,
        signature=signature,
        subscription=subscription,
    )
