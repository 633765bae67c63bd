"""Signatures in a call (ADR 27): the agent puts the call's summary, or a document shared in
the call, to the citizen; the citizen signs it with a one-time code sent to their contact and
typed on their own page, or — where the procedure is done by a habilitated official — the
citizen gives their express consent with a code they read out, and the official signs for them.

A signature fixes what was signed by its SHA-256 and keeps the evidence around it: when it was
asked and signed, how, from which IP address, by whose hand, with which identification. Once
signed, a PDF receipt ("justificant") is made in the citizen's language, with a verification
code that anyone holding the receipt can check on the organisation's public page, and sent to
the citizen.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from typing import TYPE_CHECKING

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from finestreta.accounts.models import User
from finestreta.appointments.models import Appointment
from finestreta.identity import codes, consent, identify
from finestreta.identity.models import (
    CodePurpose,
    ConsentKind,
    ConsentMethod,
    Signature,
    SignatureRoute,
)
from finestreta.identity.policy import rules_for
from finestreta.notifications.models import Message
from finestreta.notifications.services import Attachment, queue_message
from finestreta.privacy.models import AuditEvent
from finestreta.privacy.services import record_event
from finestreta.video.models import SharedFile

if TYPE_CHECKING:
    from finestreta.recordings.models import Recording

# Crockford's base 32: no I, L, O or U, so a code read aloud or typed from paper is not
# mistaken. Sixteen characters: 80 bits, out of reach of guessing at any rate limit.
ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
CODE_LENGTH = 16
_READ_AS = str.maketrans({"O": "0", "I": "1", "L": "1"})

PURPOSE = {
    SignatureRoute.CITIZEN_CODE: CodePurpose.SIGN,
    SignatureRoute.HABILITATED: CodePurpose.CONSENT,
}


class SignatureRefused(Exception):
    """Nothing changed; `message` says why, in the reader's language."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def new_verification_code() -> str:
    return "".join(secrets.choice(ALPHABET) for _i in range(CODE_LENGTH))


def normalise_verification_code(typed: str) -> str:
    """What a person typed, as stored: without spaces or dashes, upper case, and the letters
    that look like digits read as them."""
    kept = "".join(ch for ch in typed.upper() if ch.isalnum())
    return kept.translate(_READ_AS)


def digest_of_text(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def pending_signature(appointment: Appointment) -> Signature | None:
    return (
        Signature.objects.filter(appointment=appointment, status=Signature.Status.PENDING)
        .select_related("code", "requested_by", "shared_file")
        .first()
    )


def signatures_of(appointment: Appointment) -> list[Signature]:
    return list(
        Signature.objects.filter(appointment=appointment)
        .select_related("code", "requested_by", "habilitation", "consent", "shared_file")
        .defer("receipt")
    )


def request_signature(
    *,
    appointment: Appointment,
    agent: User,
    title: str,
    destination: codes.Destination,
    now: dt.datetime,
    body: str = "",
    shared_file: SharedFile | None = None,
) -> Signature:
    """Put the summary (`body`) or a file shared in the call to the citizen and send them the
    code: to sign it themselves, or to consent to the habilitated `agent` signing for them.
    A request still waiting is replaced."""
    rules = rules_for(appointment.service)
    route = rules.signature
    if route == SignatureRoute.NONE:
        raise SignatureRefused(_("This procedure asks for no signature."))
    if (body.strip() == "") == (shared_file is None):
        raise SignatureRefused(_("Write the summary to sign, or choose one document."))
    if shared_file is not None and shared_file.room.appointment_id != appointment.pk:
        raise SignatureRefused(_("Only a document shared in this call can be signed."))
    check = identify.identified(appointment)
    if rules.identifies and not identify.satisfies(check, rules):
        raise SignatureRefused(_("Identify the person first, as this procedure asks."))
    habilitation = None
    if route == SignatureRoute.HABILITATED:
        habilitation = identify.habilitation_of(
            agent, appointment.organisation_id, timezone.localdate(now)
        )
        if habilitation is None:
            raise SignatureRefused(
                _("Only a habilitated official may sign for the person, and you are not one.")
            )
    body = body.strip()
    with transaction.atomic():
        Signature.objects.filter(appointment=appointment, status=Signature.Status.PENDING).update(
            status=Signature.Status.CANCELLED, closed_at=now
        )
        code = codes.send_code(
            appointment=appointment,
            purpose=PURPOSE[route],
            destination=destination,
            sent_by=agent,
            now=now,
        )
        signature = Signature.objects.create(
            organisation=appointment.organisation,
            appointment=appointment,
            route=route,
            title=title.strip(),
            body=body,
            shared_file=shared_file,
            document_name=shared_file.name if shared_file else "",
            document_sha256=shared_file.sha256 if shared_file else digest_of_text(body),
            requested_by=agent,
            requested_at=now,
            identity_check=check,
            code=code,
            habilitation=habilitation,
        )
        record_event(
            action=AuditEvent.Action.SIGNATURE_REQUESTED,
            actor=agent,
            organisation=appointment.organisation,
            target=appointment,
            details={
                "signature": signature.pk,
                "route": route,
                "sha256": signature.document_sha256,
                "to": destination.masked,
            },
        )
    return signature


def _verify_code(signature: Signature, purpose: CodePurpose, code: str, now: dt.datetime) -> None:
    """The request's own code, checked outside any transaction of ours (a wrong try stays
    counted). The code is the lock: only one submission can verify it."""
    if not Signature.objects.filter(pk=signature.pk, status=Signature.Status.PENDING).exists():
        raise SignatureRefused(_("This signature is no longer waiting."))
    verified = codes.check_code(
        appointment=signature.appointment, purpose=purpose, code=code, now=now
    )
    if verified.pk != signature.code_id:
        raise SignatureRefused(_("This code belongs to another request. Ask for a new one."))


def _locked(signature: Signature) -> Signature:
    locked = Signature.objects.select_for_update().get(pk=signature.pk)
    if locked.status != Signature.Status.PENDING:
        raise SignatureRefused(_("This signature is no longer waiting."))
    return locked


def sign_with_code(
    *, signature: Signature, code: str, ip_address: str | None, now: dt.datetime
) -> Signature:
    """The citizen signs with the code they received (codes.WrongCode, CodeExpired or
    CodeLocked otherwise: five wrong tries lock signing for a quarter of an hour)."""
    if signature.route != SignatureRoute.CITIZEN_CODE:
        raise SignatureRefused(_("The official signs this one for you, with your consent."))
    _verify_code(signature, CodePurpose.SIGN, code, now)
    with transaction.atomic():
        _locked(signature)
        return _complete(signature, now=now, ip_address=ip_address, actor=None)


def sign_on_behalf(
    *, signature: Signature, official: User, code: str | None, now: dt.datetime
) -> Signature:
    """The habilitated official signs for the citizen with their express consent, kept as a
    consent record: the code the citizen read out, typed by the official; or (`code` None) the
    citizen's "yes" said aloud while the call is recorded with the citizen in it, attested by
    the official and pinned to its moment in the recording."""
    if signature.route != SignatureRoute.HABILITATED:
        raise SignatureRefused(_("The person signs this one themselves, on their page."))
    appointment = signature.appointment
    habilitation = identify.habilitation_of(
        official, appointment.organisation_id, timezone.localdate(now)
    )
    if habilitation is None:
        raise SignatureRefused(
            _("Only a habilitated official may sign for the person, and you are not one.")
        )
    recording = None
    if code is None:
        recording = _recording_the_citizen(appointment)
        if recording is None:
            raise SignatureRefused(
                _(
                    "A consent said aloud counts only while the call is being recorded with the "
                    "person in it. Record the call, or send them a code."
                )
            )
    else:
        _verify_code(signature, CodePurpose.CONSENT, code, now)
    with transaction.atomic():
        _locked(signature)
        signature.consent = consent.record_consent(
            appointment=appointment,
            kind=ConsentKind.ACT_ON_BEHALF,
            granted=True,
            method=ConsentMethod.CODE if code is not None else ConsentMethod.SPOKEN,
            attested_by=official,
            now=now,
            recording=recording,
        )
        signature.habilitation = habilitation
        return _complete(signature, now=now, ip_address=None, actor=official)


def _recording_the_citizen(appointment: Appointment) -> Recording | None:
    """The call's recording in progress, if the citizen's sound is in it now."""
    from finestreta.recordings.models import Recording, Track

    recording = Recording.objects.filter(
        appointment=appointment, state=Recording.State.RECORDING
    ).first()
    if recording is None:
        return None
    hears = Track.objects.filter(
        recording=recording, role="citizen", kind="audio", ended_at__isnull=True
    ).exists()
    return recording if hears else None


def _complete(
    signature: Signature, *, now: dt.datetime, ip_address: str | None, actor: User | None
) -> Signature:
    from finestreta.identity import receipts

    appointment = signature.appointment
    signature.status = Signature.Status.SIGNED
    signature.signed_at = now
    signature.ip_address = ip_address or None
    signature.receipt_language = appointment.language
    for _attempt in range(3):  # a clash of 80-bit codes is for the tests' imagination
        signature.verification_code = new_verification_code()
        signature.receipt = receipts.render_receipt(signature)
        signature.receipt_sha256 = hashlib.sha256(signature.receipt).hexdigest()
        try:
            with transaction.atomic():
                signature.save()
            break
        except IntegrityError:
            continue
    record_event(
        action=AuditEvent.Action.SIGNATURE_SIGNED,
        actor=actor,
        organisation=appointment.organisation,
        target=appointment,
        details={
            "signature": signature.pk,
            "route": signature.route,
            "sha256": signature.document_sha256,
            "receipt_sha256": signature.receipt_sha256,
        },
    )
    send_receipt(signature)
    return signature


def send_receipt(signature: Signature) -> Message | None:
    """Send the receipt to the citizen: by e-mail with the PDF attached, else by SMS with the
    verification link (the receipt is downloadable there with the code)."""
    appointment = signature.appointment
    email = appointment.email or appointment.representative_email
    phone = appointment.phone or appointment.representative_phone
    context = {
        "appointment": appointment,
        "verification_code": signature.grouped_code,
        "verify_url": receipts_url(signature),
        "title": signature.title,
    }
    attachment: Attachment | None = None
    if email:
        channel, recipient = Message.Channel.EMAIL, email
        attachment = Attachment(
            name=f"justificant-{signature.verification_code}.pdf",
            content_type="application/pdf",
            content=bytes(signature.receipt),
        )
    elif phone:
        channel, recipient = Message.Channel.SMS, phone
    else:
        return None
    return queue_message(
        organisation=appointment.organisation,
        kind="receipt",
        channel=channel,
        recipient=recipient,
        language=signature.receipt_language or appointment.language,
        context=context,
        dedup_key=f"receipt:{signature.pk}:{channel}",
        appointment_id=appointment.pk,
        attachment=attachment,
        urgent=True,
    )


def receipts_url(signature: Signature) -> str:
    from django.conf import settings
    from django.urls import reverse

    return settings.SITE_URL.rstrip("/") + reverse(
        "identity:verified", args=[signature.organisation.slug, signature.verification_code]
    )


def decline(*, signature: Signature, now: dt.datetime) -> Signature:
    """The citizen says no: nothing is signed."""
    return _close(signature, Signature.Status.DECLINED, now=now, actor=None)


def withdraw_request(*, signature: Signature, agent: User, now: dt.datetime) -> Signature:
    """The agent takes the request back (a mistake in the summary, the wrong document)."""
    return _close(signature, Signature.Status.CANCELLED, now=now, actor=agent)


def _close(
    signature: Signature, status: Signature.Status, *, now: dt.datetime, actor: User | None
) -> Signature:
    with transaction.atomic():
        locked = _locked(signature)
        locked.status = status
        locked.closed_at = now
        locked.save(update_fields=["status", "closed_at"])
        record_event(
            action=AuditEvent.Action.SIGNATURE_CLOSED,
            actor=actor,
            organisation=locked.organisation,
            target=locked.appointment,
            details={"signature": locked.pk, "status": status},
        )
    return locked


def find_receipt(organisation_id: int, typed: str) -> Signature | None:
    """The signed signature of this organisation with this verification code, if any."""
    code = normalise_verification_code(typed)
    if len(code) != CODE_LENGTH:
        return None
    return (
        Signature.objects.filter(
            organisation_id=organisation_id,
            verification_code=code,
            status=Signature.Status.SIGNED,
        )
        .select_related("appointment__service", "requested_by", "habilitation__user", "code")
        .first()
    )
