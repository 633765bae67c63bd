"""Consent records: what a person was shown (the exact text, versioned), what they answered,
how and when, and its withdrawal. Services with verb functions; every record is audited."""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import TYPE_CHECKING

from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from finestreta.accounts.models import User
from finestreta.appointments.models import Appointment
from finestreta.identity.models import ConsentKind, ConsentMethod, ConsentRecord, ConsentText
from finestreta.identity.policy import Rules, rules_for
from finestreta.privacy.models import AuditEvent
from finestreta.privacy.services import record_event
from finestreta.tenants.models import Organisation
from finestreta.video.models import Invitation

if TYPE_CHECKING:
    from finestreta.recordings.models import Recording


class ConsentRefused(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _words(organisation: Organisation, kind: ConsentKind) -> str:
    """The text of `kind` in the active language."""
    name = organisation.name
    if kind == ConsentKind.PRIVACY_NOTICE:
        return organisation.privacy_notice.strip() or _(
            "%(name)s is responsible for the personal data you give us. We use it only to attend "
            "you, and you can exercise your rights of access, rectification, erasure and "
            "objection."
        ) % {"name": name}
    if kind == ConsentKind.RECORDING:
        return _(
            "%(name)s asks to record this video call (picture and sound), so that there is a "
            "record of what was said and done. Only authorised staff of %(name)s can watch it, "
            "every time they do is logged, and it is deleted at the end of the period the law "
            "sets. You can say no: you will be attended all the same. If you say yes, you can "
            "change your mind at any time, and the recording stops."
        ) % {"name": name}
    if kind == ConsentKind.IMAGE_RIGHTS:
        return _(
            "%(name)s asks to use the recording of your image and voice to train its staff. It "
            "will never be published. Saying no changes nothing in your procedure, and you can "
            "change your mind at any time."
        ) % {"name": name}
    return _(
        "I ask a habilitated official of %(name)s to identify me and to carry out the "
        "procedure on my behalf, signing for me in it. I can see what was done in the receipt "
        "I will receive."
    ) % {"name": name}


def current_text(organisation: Organisation, kind: ConsentKind, language: str) -> ConsentText:
    """The version of the text of `kind` shown now in `language`: the latest one, or a new
    version when the words have changed."""
    with translation.override(language):
        body = _words(organisation, ConsentKind(kind))
    digest = hashlib.sha256(body.encode()).hexdigest()
    scope = ConsentText.objects.filter(organisation=organisation, kind=kind, language=language)
    found = scope.filter(digest=digest).first()
    if found is not None:
        return found
    for _attempt in range(3):  # two requests may write the same new version at once
        try:
            with transaction.atomic():
                latest = scope.aggregate(v=Max("version"))["v"] or 0
                return ConsentText.objects.create(
                    organisation=organisation,
                    kind=kind,
                    language=language,
                    version=latest + 1,
                    body=body,
                    digest=digest,
                )
        except IntegrityError:
            found = scope.filter(digest=digest).first()
            if found is not None:
                return found
    raise RuntimeError("Could not keep the consent text")  # pragma: no cover


def asked_of(rules: Rules) -> list[ConsentKind]:
    """The consents a procedure's rules ask the citizen for, in the order they are asked."""
    kinds = [ConsentKind.PRIVACY_NOTICE]
    if rules.asks_recording_consent:
        kinds.append(ConsentKind.RECORDING)
    if rules.asks_image_rights:
        kinds.append(ConsentKind.IMAGE_RIGHTS)
    return kinds


def record_consent(
    *,
    appointment: Appointment,
    kind: ConsentKind,
    granted: bool,
    method: ConsentMethod,
    now: dt.datetime,
    person: str = "",
    attested_by: User | None = None,
    ip_address: str | None = None,
    language: str = "",
    invitation: Invitation | None = None,
    recording: Recording | None = None,
) -> ConsentRecord:
    """Keep one answer of the appointment's citizen (or of `person`) to the current text of
    `kind` in `language` (the page's, where they read it; else the appointment's). A spoken
    answer needs the agent who heard it."""
    if method == ConsentMethod.SPOKEN and attested_by is None:
        raise ConsentRefused(_("A consent said aloud is recorded by the agent who heard it."))
    if kind == ConsentKind.PRIVACY_NOTICE and not granted:
        raise ConsentRefused(_("The privacy notice is read, not agreed to or refused."))
    text = current_text(appointment.organisation, kind, language or appointment.language)
    with transaction.atomic():
        record = ConsentRecord.objects.create(
            organisation=appointment.organisation,
            appointment=appointment,
            kind=kind,
            text=text,
            person=person or appointment.name or _("The citizen"),
            invitation=invitation,
            recording=recording,
            recording_offset_ms=(
                int((now - recording.started_at).total_seconds() * 1000)
                if recording is not None
                else None
            ),
            granted=granted,
            method=method,
            attested_by=attested_by,
            ip_address=ip_address or None,
            recorded_at=now,
        )
        if not granted:  # a "no" after a "yes" withdraws it: nothing stays in force
            ConsentRecord.objects.filter(
                appointment=appointment,
                kind=kind,
                invitation=invitation,
                granted=True,
                withdrawn_at__isnull=True,
            ).update(withdrawn_at=now, withdrawn_method=method, withdrawn_attested_by=attested_by)
        record_event(
            action=AuditEvent.Action.CONSENT_RECORDED,
            actor=attested_by,
            organisation=appointment.organisation,
            target=appointment,
            details={
                "kind": kind,
                "granted": granted,
                "method": method,
                "text_version": text.version,
                "language": text.language,
                **({"guest": invitation.pk} if invitation is not None else {}),
            },
        )
        if kind == ConsentKind.RECORDING and not granted:
            _stop_recording(appointment)
    return record


def _stop_recording(appointment: Appointment) -> None:
    """A "no" to recording (or its withdrawal) stops the call's recording, once it is kept."""
    from finestreta.recordings.services import stop_for_withdrawal

    transaction.on_commit(lambda: stop_for_withdrawal(appointment))


def withdraw_consent(
    *,
    record: ConsentRecord,
    method: ConsentMethod,
    now: dt.datetime,
    attested_by: User | None = None,
) -> ConsentRecord:
    """Stamp a consent in force as withdrawn (the record stays, as evidence)."""
    if method == ConsentMethod.SPOKEN and attested_by is None:
        raise ConsentRefused(_("A withdrawal said aloud is recorded by the agent who heard it."))
    with transaction.atomic():
        locked = ConsentRecord.objects.select_for_update().get(pk=record.pk)
        if not locked.in_force:
            raise ConsentRefused(_("This consent is not in force: there is nothing to withdraw."))
        if locked.kind == ConsentKind.PRIVACY_NOTICE:
            raise ConsentRefused(_("Having read the privacy notice cannot be withdrawn."))
        locked.withdrawn_at = now
        locked.withdrawn_method = method
        locked.withdrawn_attested_by = attested_by
        locked.save(update_fields=["withdrawn_at", "withdrawn_method", "withdrawn_attested_by"])
        record_event(
            action=AuditEvent.Action.CONSENT_WITHDRAWN,
            actor=attested_by,
            organisation=locked.organisation,
            target=locked.appointment,
            details={"kind": locked.kind, "method": method},
        )
        if locked.kind == ConsentKind.RECORDING:
            _stop_recording(locked.appointment)
    return locked


def consents_of(appointment: Appointment) -> list[ConsentRecord]:
    """Every answer of the appointment (the citizen's and the guests'), newest first."""
    return list(
        ConsentRecord.objects.filter(appointment=appointment).select_related("text", "attested_by")
    )


def latest_answers(
    appointment: Appointment, invitation: Invitation | None = None
) -> dict[str, ConsentRecord]:
    """The latest answer of each kind (the one that counts) of the citizen, or of the guest of
    `invitation`."""
    latest: dict[str, ConsentRecord] = {}
    for record in consents_of(appointment):
        if record.invitation_id == (invitation.pk if invitation is not None else None):
            latest.setdefault(record.kind, record)
    return latest


def has_consent(
    appointment: Appointment, kind: ConsentKind, invitation: Invitation | None = None
) -> bool:
    record = latest_answers(appointment, invitation).get(kind)
    return record is not None and record.in_force


def pending(appointment: Appointment, rules: Rules | None = None) -> list[ConsentKind]:
    """What the rules ask that the citizen has not answered yet."""
    answers = latest_answers(appointment)
    asked = asked_of(rules or rules_for(appointment.service))
    return [kind for kind in asked if kind not in answers]


KIND_QUESTIONS = {
    ConsentKind.RECORDING: gettext_lazy("Do you agree to this call being recorded?"),
    ConsentKind.IMAGE_RIGHTS: gettext_lazy("Do you agree to your image being used for training?"),
}
