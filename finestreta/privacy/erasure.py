"""The right to erasure (GDPR art. 17), where the law allows it (ADR 35).

`plan_erasure` says exactly what would be erased and what is kept, with the rule that keeps it
(`KEEP_RULES`, the one table of what the law obliges the organisation to keep, with its
reasoning, translated); the administrator confirms the plan they saw (its fingerprint), and
`erase_personal_data` carries it out in one transaction: personal fields are blanked and free
text deleted, rows that make the statistics stay (service, dates, status, outcome,
municipality, language), the audit event is written, and connected systems are told
(`data.deleted`, kind `personal_data`, with the appointments' codes). Files on disk (shared
files, recording media) are deleted only once the transaction has committed.

Upcoming appointments refuse the erasure until they are cancelled through the usual page (the
person is told as for any cancellation) or have passed; so do a place in the queue, a
recording going on and a signature waiting: the erasure never decides about an attention that
has not happened yet.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Q
from django.http import HttpRequest
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from finestreta.accounts.models import Role
from finestreta.accounts.services import StaffContext
from finestreta.appointments.models import Appointment, VerificationCode, WaitingListEntry
from finestreta.catalogue.models import AttentionLevel
from finestreta.identity.models import (
    ConsentKind,
    ConsentRecord,
    IdentityCheck,
    OneTimeCode,
    Signature,
)
from finestreta.integrations.events import emit_data_deleted
from finestreta.notifications.models import Message
from finestreta.privacy.models import AuditEvent
from finestreta.privacy.subjects import Criteria, Subject, find_subject
from finestreta.queueing.models import QueueEntry
from finestreta.recordings import storage as recording_storage
from finestreta.recordings.models import Recording, Track
from finestreta.reports.models import SurveyAnswer
from finestreta.video.models import (
    ChatLine,
    Presence,
    Room,
    RoomEvent,
    SharedFile,
)
from finestreta.video.models import (
    Role as CallRole,
)

__all__ = [
    "KEEP_RULES",
    "ErasurePlan",
    "ErasureRefused",
    "ErasureResult",
    "KeepRule",
    "erase_personal_data",
    "plan_erasure",
]

# The kind named in the data.deleted webhook event: the personal data of these appointments.
WEBHOOK_KIND = "personal_data"


@dataclass(frozen=True)
class KeepRule:
    code: str
    what: Promise
    why: Promise


# What is kept after an erasure, and the legal reasoning. One table: the confirmation page,
# the plan, the audit event and the docs all read it.
KEEP_RULES: tuple[KeepRule, ...] = (
    KeepRule(
        "procedure_record",
        _("Appointments of procedures carried out for the person, and how they were identified"),
        _(
            "When staff carried out a procedure for the person (attended processing) or the "
            "person signed, the appointment with their name, document and contact is part of "
            "the procedure's file, which the administration must keep and which identifies "
            "the interested party (Law 39/2015, arts. 17, 66 and 70). Erasure does not apply "
            "to what a legal obligation or a public task requires (GDPR art. 17.3.b)."
        ),
    ),
    KeepRule(
        "signatures",
        _("Signatures and their receipts"),
        _(
            "A document put to the person for signature, and their answer, is evidence of an "
            "administrative act and part of its file (Law 39/2015, arts. 10 and 17; GDPR art. "
            "17.3.b and 17.3.e). The document signed stays with it."
        ),
    ),
    KeepRule(
        "consents",
        _("Consent records"),
        _(
            "They prove that what was done with the person's consent (recording the call, "
            "acting on their behalf) was allowed: the organisation must be able to show it "
            "(GDPR arts. 5.2 and 7.1) and may need it to defend a claim (art. 17.3.e). A "
            "withdrawal is recorded, never deleted."
        ),
    ),
    KeepRule(
        "recordings_in_period",
        _("Recordings made under a legal basis, until their period ends"),
        _(
            "The law that allows recording without consent also sets how long the recording "
            "is kept as evidence (GDPR art. 17.3.b). It is deleted automatically when that "
            "period ends. Recordings made with consent are erased now."
        ),
    ),
    KeepRule(
        "audit_log",
        _("The audit log"),
        _(
            "The log of who saw and changed personal data is how the organisation shows that "
            "it protects them (GDPR arts. 5.2 and 32; National Security Framework, Royal "
            "Decree 311/2022). It is append-only and sealed; it names records by their codes, "
            "not people by their names. It is removed by its own retention period."
        ),
    ),
    KeepRule(
        "statistics",
        _("Procedure, dates, status, outcome, language and municipality of each appointment"),
        _(
            "Without the person's name, contacts, document and free text they no longer "
            "identify anyone, and they make the service's statistics (GDPR recital 26 and "
            "art. 89). Events already sent to connected systems carry codes only."
        ),
    ),
)
RULES = {rule.code: rule for rule in KEEP_RULES}


class ErasureRefused(Exception):
    """The erasure cannot go ahead: `reason` is "blocked", "changed" or "nothing"."""

    def __init__(self, reason: str, message: Promise) -> None:
        super().__init__(str(message))
        self.reason = reason
        self.message = message


@dataclass(frozen=True)
class Line:
    """One line of the plan: a kind of data, how many, and (when kept) the rule."""

    code: str
    label: Promise
    count: int
    rule: KeepRule | None = None
    note: str = ""


@dataclass(frozen=True)
class Blocker:
    label: Promise
    code: str = ""  # an appointment's booking code, for a link to its page
    starts_at: dt.datetime | None = None


@dataclass
class ErasurePlan:
    subject: Subject
    erase: list[Line] = field(default_factory=list)
    keep: list[Line] = field(default_factory=list)
    blockers: list[Blocker] = field(default_factory=list)
    # What `_apply` changes, by kind: the ids found when planning.
    ids: dict[str, list[int]] = field(default_factory=dict)
    fingerprint: str = ""

    @property
    def anything(self) -> bool:
        return any(line.count for line in self.erase)


@dataclass(frozen=True)
class ErasureResult:
    erased: dict[str, int]
    kept: dict[str, int]
    appointments: list[str]


def _evidence(appointments: list[Appointment]) -> set[int]:
    """Appointments that are part of a procedure's file (rule "procedure_record")."""
    ids = [a.pk for a in appointments]
    kept = {
        a.pk
        for a in appointments
        if a.status == Appointment.Status.ATTENDED
        and a.service.attention_level == AttentionLevel.ATTENDED
    }
    kept |= set(
        Signature.objects.filter(
            appointment_id__in=ids, status=Signature.Status.SIGNED
        ).values_list("appointment_id", flat=True)
    )
    kept |= set(
        ConsentRecord.objects.filter(
            appointment_id__in=ids, kind=ConsentKind.ACT_ON_BEHALF, granted=True
        ).values_list("appointment_id", flat=True)
    )
    return kept


def _pks(queryset: object) -> list[int]:
    return sorted(queryset.values_list("pk", flat=True))  # type: ignore[attr-defined]


def plan_erasure(subject: Subject, *, now: dt.datetime) -> ErasurePlan:
    """What erasing the person's data would do, now."""
    plan = ErasurePlan(subject=subject)
    own = subject.appointments
    everyone = own + subject.represented
    evidence = _evidence(everyone)
    own_ids = [a.pk for a in own]
    own_free = [a.pk for a in own if a.pk not in evidence]
    rooms = Room.objects.filter(appointment_id__in=own_ids)
    signed_files = Signature.objects.filter(shared_file__isnull=False).values("shared_file_id")
    recordings = Recording.objects.filter(appointment_id__in=own_ids).exclude(
        state=Recording.State.DELETED
    )
    in_period = Q(basis=Recording.Basis.LEGAL_BASIS, delete_after__gt=now)
    contacts = Q()
    if subject.criteria.email:
        contacts |= Q(recipient__iexact=subject.criteria.email)
    if subject.criteria.phone:
        contacts |= Q(recipient=subject.criteria.phone)
    codes = VerificationCode.objects.filter(appointment_id__in=own_ids)
    if contacts:
        codes = VerificationCode.objects.filter(
            Q(appointment_id__in=own_ids)
            | (Q(appointment__organisation=subject.organisation) & contacts)
        )
    plan.ids = {
        "appointments": own_free,
        "representatives": [a.pk for a in subject.represented if a.pk not in evidence],
        "queue_entries": [e.pk for e in subject.queue_entries],
        "waiting_list": [e.pk for e in subject.waiting_list],
        "messages": [m.pk for m in subject.messages],
        "verification_codes": _pks(codes),
        "one_time_codes": _pks(OneTimeCode.objects.filter(appointment_id__in=own_free)),
        "identity_checks": _pks(IdentityCheck.objects.filter(appointment_id__in=own_free)),
        "survey_comments": _pks(
            SurveyAnswer.objects.filter(appointment_id__in=own_ids).exclude(comment="")
        ),
        "chat_lines": _pks(ChatLine.objects.filter(room__in=rooms)),
        "files": _pks(SharedFile.objects.filter(room__in=rooms).exclude(pk__in=signed_files)),
        "room_events": _pks(RoomEvent.objects.filter(room__in=rooms).exclude(details={})),
        "presences": _pks(Presence.objects.filter(room__in=rooms, role=CallRole.CITIZEN)),
        "recordings": _pks(recordings.exclude(in_period).exclude(state__in=Recording.LIVE_STATES)),
        # Kept:
        "kept_appointments": sorted(evidence),
        "kept_signatures": _pks(Signature.objects.filter(appointment_id__in=own_ids)),
        "kept_consents": _pks(
            ConsentRecord.objects.filter(appointment_id__in=[a.pk for a in everyone])
        ),
        "kept_recordings": _pks(recordings.filter(in_period)),
        "kept_identity_checks": _pks(
            IdentityCheck.objects.filter(appointment_id__in=sorted(evidence & set(own_ids)))
        ),
    }
    ids = plan.ids
    plan.erase = [
        Line("appointments", _("Name, contacts, document, needs and notes of appointments"),
             len(ids["appointments"])),
        Line("representatives", _("Representative details on appointments booked for others"),
             len(ids["representatives"])),
        Line("queue_entries", _("Places in the virtual queue (name and contacts)"),
             len(ids["queue_entries"])),
        Line("waiting_list", _("Waiting-list entries (left the list)"), len(ids["waiting_list"])),
        Line("messages", _("Messages: recipient and text (not yet sent ones are stopped)"),
             len(ids["messages"])),
        Line("verification_codes", _("Booking verification codes"),
             len(ids["verification_codes"])),
        Line("one_time_codes", _("One-time codes"), len(ids["one_time_codes"])),
        Line("identity_checks", _("Identity checks: names and document numbers"),
             len(ids["identity_checks"])),
        Line("survey_comments", _("Comments in survey answers (the score stays)"),
             len(ids["survey_comments"])),
        Line("chat_lines", _("Chat lines of their calls (deleted)"), len(ids["chat_lines"])),
        Line("files", _("Files shared in their calls (deleted)"), len(ids["files"])),
        Line("room_events", _("Details of their calls' events (names, numbers, notices)"),
             len(ids["room_events"])),
        Line("presences", _("Their name in the calls' participants"), len(ids["presences"])),
        Line("recordings", _("Recordings made with consent or past their period (deleted)"),
             len(ids["recordings"])),
    ]  # fmt: skip
    audit = AuditEvent.objects.filter(
        organisation=subject.organisation,
        target_type="appointments.appointment",
        target_id__in=[str(pk) for pk in own_ids],
    ).count()
    plan.keep = [
        Line("kept_appointments", RULES["procedure_record"].what,
             len(ids["kept_appointments"]) + len(ids["kept_identity_checks"]),
             RULES["procedure_record"]),
        Line("kept_signatures", RULES["signatures"].what, len(ids["kept_signatures"]),
             RULES["signatures"]),
        Line("kept_consents", RULES["consents"].what, len(ids["kept_consents"]),
             RULES["consents"]),
        Line("kept_recordings", RULES["recordings_in_period"].what, len(ids["kept_recordings"]),
             RULES["recordings_in_period"]),
        Line("audit_log", RULES["audit_log"].what, audit, RULES["audit_log"]),
        Line("statistics", RULES["statistics"].what, len(own_free), RULES["statistics"]),
    ]  # fmt: skip
    plan.blockers = _blockers(subject, now=now)
    plan.fingerprint = _fingerprint(plan)
    return plan


def _blockers(subject: Subject, *, now: dt.datetime) -> list[Blocker]:
    blockers = [
        Blocker(_("An upcoming appointment: cancel it first, or wait until it has passed."),
                a.code, a.starts_at)
        for a in subject.appointments
        if a.status == Appointment.Status.BOOKED and a.ends_at > now
    ]  # fmt: skip
    active = (QueueEntry.State.WAITING, QueueEntry.State.OFFERED, QueueEntry.State.SERVING)
    blockers += [
        Blocker(_("They are in the virtual queue now: wait until they have been attended."))
        for e in subject.queue_entries
        if e.state in active
    ]
    own_ids = [a.pk for a in subject.appointments]
    if Recording.objects.filter(
        appointment_id__in=own_ids, state__in=Recording.LIVE_STATES
    ).exists():
        blockers.append(Blocker(_("One of their calls is being recorded now.")))
    if Signature.objects.filter(
        appointment_id__in=own_ids, status=Signature.Status.PENDING
    ).exists():
        blockers.append(Blocker(_("A signature is waiting for their answer.")))
    return blockers


def _fingerprint(plan: ErasurePlan) -> str:
    content = {
        "organisation": plan.subject.organisation.pk,
        "ids": plan.ids,
        "blockers": [(str(b.label), b.code) for b in plan.blockers],
    }
    return hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()[:32]


# --- Carrying it out -------------------------------------------------------------------------


def _erase_appointments(ids: dict[str, list[int]], now: dt.datetime) -> None:
    for pk in ids["appointments"]:
        Appointment.objects.filter(pk=pk).update(
            name="",
            email="",
            phone="",
            id_document="",
            notes="",
            staff_notes="",
            cancellation_reason="",
            needs_sign_language=False,
            needs_captions=False,
            needs_extra_time=False,
            needs_easy_read=False,
            representative_name="",
            representative_email="",
            representative_phone="",
            representative_relation="",
            held_by="",
            idempotency_key=None,
            # A new nonce: every manage link sent before stops working.
            manage_nonce=secrets.token_hex(8),
        )
    Appointment.objects.filter(pk__in=ids["representatives"]).update(
        representative_name="",
        representative_email="",
        representative_phone="",
        representative_relation="",
    )


def _erase_queue(ids: dict[str, list[int]], now: dt.datetime) -> None:
    QueueEntry.objects.filter(pk__in=ids["queue_entries"]).update(
        name="", phone="", email="", nonce=""
    )
    for pk in ids["waiting_list"]:
        WaitingListEntry.objects.filter(pk=pk).update(
            name="",
            email="",
            phone="",
            status=WaitingListEntry.Status.LEFT,
            manage_nonce=secrets.token_hex(8),
        )


def _erase_messages(ids: dict[str, list[int]], now: dt.datetime) -> None:
    messages = Message.objects.filter(pk__in=ids["messages"])
    messages.exclude(status__in=Message.TERMINAL).update(
        status=Message.Status.SUPPRESSED, last_error="erased on request", claim=""
    )
    messages.update(recipient="", subject="", body="", html="", attachment=b"", attachment_name="")
    VerificationCode.objects.filter(pk__in=ids["verification_codes"]).update(
        recipient="", code_hash=""
    )
    OneTimeCode.objects.filter(pk__in=ids["one_time_codes"]).update(recipient="", code_hash="")


def _erase_identity(ids: dict[str, list[int]], now: dt.datetime) -> None:
    IdentityCheck.objects.filter(pk__in=ids["identity_checks"]).update(
        identified_name="", document_number="", document_hash="", subject_hash="", expires_on=None
    )
    SurveyAnswer.objects.filter(pk__in=ids["survey_comments"]).update(comment="")


def _erase_calls(ids: dict[str, list[int]], now: dt.datetime) -> list[Callable[[], None]]:
    ChatLine.objects.filter(pk__in=ids["chat_lines"]).delete()
    RoomEvent.objects.filter(pk__in=ids["room_events"]).update(details={})
    Presence.objects.filter(pk__in=ids["presences"]).update(name="")
    paths = [
        Path(settings.VIDEO_FILES_DIR) / name
        for name in SharedFile.objects.filter(pk__in=ids["files"]).values_list(
            "storage_name", flat=True
        )
    ]
    SharedFile.objects.filter(pk__in=ids["files"]).delete()
    return [lambda p=p: p.unlink(missing_ok=True) for p in paths]  # type: ignore[misc]


def _erase_recordings(ids: dict[str, list[int]], now: dt.datetime) -> list[Callable[[], None]]:
    recordings = list(Recording.objects.filter(pk__in=ids["recordings"]))
    Track.objects.filter(recording__in=recordings).delete()
    Recording.objects.filter(pk__in=ids["recordings"]).update(
        state=Recording.State.DELETED, deleted_at=now
    )
    return [lambda r=r: recording_storage.delete_files(r) for r in recordings]  # type: ignore[misc]


STEPS = (_erase_appointments, _erase_queue, _erase_messages, _erase_identity)


def erase_personal_data(
    *,
    staff: StaffContext,
    criteria: Criteria,
    fingerprint: str,
    now: dt.datetime,
    request: HttpRequest | None = None,
) -> ErasureResult:
    """Erase the person's data as the plan with this `fingerprint` said, in one transaction;
    ErasureRefused when something blocks it, the plan changed since it was shown, or there
    is nothing to erase."""
    from finestreta.privacy.services import Action, record_event

    if not staff.membership.has_role(Role.ORG_ADMIN):
        raise PermissionDenied
    with transaction.atomic():
        subject = find_subject(staff.organisation, criteria)
        # Hold their appointments while erasing (PostgreSQL; SQLite writes one at a time).
        list(
            Appointment.objects.select_for_update()
            .filter(pk__in=[a.pk for a in subject.appointments + subject.represented])
            .values_list("pk", flat=True)
        )
        plan = plan_erasure(subject, now=now)
        if plan.blockers:
            raise ErasureRefused("blocked", _("Something still to happen stops the erasure."))
        if plan.fingerprint != fingerprint:
            raise ErasureRefused(
                "changed", _("The person's data changed since the plan was shown: check again.")
            )
        if not plan.anything:
            raise ErasureRefused("nothing", _("There is nothing left to erase."))
        for step in STEPS:
            step(plan.ids, now)
        removals = _erase_calls(plan.ids, now) + _erase_recordings(plan.ids, now)
        erased = {line.code: line.count for line in plan.erase if line.count}
        kept = {line.code: line.count for line in plan.keep if line.count}
        codes = subject.codes()
        record_event(
            action=Action.PERSONAL_DATA_ERASED,
            request=request,
            actor=staff.user,
            organisation=staff.organisation,
            details={
                "searched_by": criteria.kinds(),
                "erased": erased,
                "kept": kept,
                "appointments": codes,
                "recordings": plan.ids["recordings"],
            },
        )
        emit_data_deleted(organisation=staff.organisation, kind=WEBHOOK_KIND, ids=codes, now=now)
        for removal in removals:
            transaction.on_commit(removal)
    return ErasureResult(erased=erased, kept=kept, appointments=codes)
