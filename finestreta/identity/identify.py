"""Identifying the citizen of an appointment during the attention: by a one-time code sent to
the contact they gave, or by an identity document shown on camera and checked by the agent with
a checklist. The document number is kept only as a keyed hash unless the procedure needs it."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import re
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction
from django.utils.translation import gettext as _

from finestreta.accounts.models import User
from finestreta.appointments.models import Appointment
from finestreta.identity import codes
from finestreta.identity.models import (
    Assurance,
    CodePurpose,
    DocumentType,
    HabilitatedOfficial,
    IdentityCheck,
)
from finestreta.identity.policy import Rules, rules_for
from finestreta.privacy.models import AuditEvent
from finestreta.privacy.services import record_event


class CheckRefused(Exception):
    """Nothing was recorded; `errors` maps each form field ("" for the whole) to what is
    wrong, in the reader's language."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(errors.values()))
        self.errors = errors


# --- The document number --------------------------------------------------------------------

DNI_LETTERS = "TRWAGMYFPDXBNJZSQVHLCKE"
_DNI = re.compile(r"^(\d{8})([A-Z])$")
_NIE = re.compile(r"^([XYZ])(\d{7})([A-Z])$")


def normalise_number(number: str) -> str:
    """Upper case, without spaces, dots or dashes: "12.345.678-z" → "12345678Z"."""
    return re.sub(r"[\s.\-]", "", number).upper()


def number_problem(document_type: str, number: str) -> str:
    """Why a document number cannot be right (empty when it can): the control letter of a DNI
    or NIE is checked; other documents need only letters and digits."""
    if not number:
        return _("Write the document's number.")
    if document_type == DocumentType.DNI:
        found = _DNI.match(number)
        if not found:
            return _("A DNI number has eight digits and a letter.")
        if DNI_LETTERS[int(found[1]) % 23] != found[2]:
            return _("The letter does not match the DNI number: check both.")
        return ""
    if document_type == DocumentType.NIE:
        found = _NIE.match(number)
        if not found:
            return _("An NIE starts with X, Y or Z, then seven digits and a letter.")
        digits = "XYZ".index(found[1]) * 10_000_000 + int(found[2])
        if DNI_LETTERS[digits % 23] != found[3]:
            return _("The letter does not match the NIE number: check both.")
        return ""
    if not re.fullmatch(r"[A-Z0-9]{4,20}", number):
        return _("A document number has between 4 and 20 letters and digits.")
    return ""


def hash_key() -> bytes:
    if settings.IDENTITY_HASH_KEY:
        return settings.IDENTITY_HASH_KEY.encode()
    if not (settings.DEBUG or settings.TESTING):
        raise ImproperlyConfigured("IDENTITY_HASH_KEY is not set (manage.py check --deploy).")
    derived = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=b"finestreta.identity.documents"
    ).derive(settings.SECRET_KEY.encode())
    return base64.urlsafe_b64encode(derived)


def document_hash(document_type: str, number: str) -> str:
    """HMAC-SHA256 of the document's type and normalised number, under IDENTITY_HASH_KEY: the
    same document gives the same value, and the number cannot be read back from it."""
    message = f"{document_type}:{normalise_number(number)}".encode()
    return hmac.new(hash_key(), message, hashlib.sha256).hexdigest()


# --- Identifying -----------------------------------------------------------------------------


def identify_by_code(
    *, appointment: Appointment, agent: User, code: str, now: dt.datetime
) -> IdentityCheck:
    """The citizen said the code sent to their contact: identified if it is right (the
    refusals of `codes.check_code` otherwise: wrong, expired, locked)."""
    verified = codes.check_code(
        appointment=appointment, purpose=CodePurpose.IDENTIFY, code=code, now=now
    )
    with transaction.atomic():
        check = IdentityCheck.objects.create(
            organisation=appointment.organisation,
            appointment=appointment,
            method=IdentityCheck.Method.CONTACT_CODE,
            verified=True,
            agent=agent,
            code=verified,
            checked_at=now,
        )
        audit_check(check, extra={"channel": verified.channel})
    return check


def check_document(
    *,
    appointment: Appointment,
    agent: User,
    document_type: str,
    number: str,
    number_checked: bool,
    photo_matches: bool,
    not_expired: bool,
    expires_on: dt.date | None,
    today: dt.date,
    now: dt.datetime,
    rules: Rules | None = None,
) -> IdentityCheck:
    """Record the agent's checklist of a document shown on camera. The citizen is identified
    only when every item is ticked; a document that fails is recorded too (not identified)."""
    rules = rules or rules_for(appointment.service)
    errors: dict[str, str] = {}
    if document_type not in DocumentType.values:
        errors["document_type"] = _("Choose the kind of document shown.")
    normalised = normalise_number(number)
    problem = number_problem(document_type, normalised) if not errors else ""
    if problem:
        errors["number"] = problem
    if expires_on is not None and expires_on < today and not_expired:
        errors["expires_on"] = _(
            "The date of validity has passed, so the document has expired: untick "
            '"not expired" or correct the date.'
        )
    if errors:
        raise CheckRefused(errors)
    verified = number_checked and photo_matches and not_expired
    with transaction.atomic():
        check = IdentityCheck.objects.create(
            organisation=appointment.organisation,
            appointment=appointment,
            method=IdentityCheck.Method.ID_DOCUMENT,
            verified=verified,
            agent=agent,
            document_type=document_type,
            document_hash=document_hash(document_type, normalised),
            document_number=normalised if rules.keeps_document_number else "",
            number_checked=number_checked,
            photo_matches=photo_matches,
            not_expired=not_expired,
            expires_on=expires_on,
            checked_at=now,
        )
        audit_check(check, extra={"document_type": document_type})
    return check


def audit_check(check: IdentityCheck, *, extra: dict[str, Any]) -> None:
    """The audit event of an identity check (no actor for an electronic identity)."""
    record_event(
        action=AuditEvent.Action.IDENTITY_CHECKED,
        actor=check.agent,
        organisation=check.organisation,
        target=check.appointment,
        details={"method": check.method, "verified": check.verified, **extra},
    )


def identified(appointment: Appointment) -> IdentityCheck | None:
    """The latest check that identified the citizen, if any."""
    return (
        IdentityCheck.objects.filter(appointment=appointment, verified=True)
        .select_related("agent", "provider")
        .order_by("-checked_at", "-pk")
        .first()
    )


# What each way of identifying meets: an electronic identity meets every requirement, a
# document checked on camera meets a code's too.
MEETS = {
    IdentityCheck.Method.CONTACT_CODE: {Assurance.CONTACT_CODE},
    IdentityCheck.Method.ID_DOCUMENT: {Assurance.CONTACT_CODE, Assurance.ID_DOCUMENT},
    IdentityCheck.Method.ELECTRONIC_ID: {
        Assurance.CONTACT_CODE,
        Assurance.ID_DOCUMENT,
        Assurance.ELECTRONIC_ID,
    },
}


def satisfies(check: IdentityCheck | None, rules: Rules) -> bool:
    """Whether a check meets what the rules ask."""
    if rules.identity == Assurance.NONE:
        return True
    if check is None or not check.verified:
        return False
    return rules.identity in MEETS[IdentityCheck.Method(check.method)]


# --- Habilitated officials -------------------------------------------------------------------


def habilitation_of(user: User, organisation_id: int, on: dt.date) -> HabilitatedOfficial | None:
    """The user's habilitation in the organisation valid on the day `on`, if any."""
    return (
        HabilitatedOfficial.objects.filter(
            organisation_id=organisation_id, user=user, valid_from__lte=on
        )
        .exclude(valid_until__lt=on)
        .order_by("-valid_from")
        .first()
    )
