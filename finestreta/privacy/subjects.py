"""Who a data subject is, and which records are theirs, within one organisation (ADR 35).

There is no contact model: a citizen is known by the e-mail address, mobile number or identity
document on their appointments, queue entries and waiting-list entries. `find_subject` gathers,
for one organisation only, every record that names the person:

- `appointments`: the person attended (their own e-mail, phone or document on it; or the
  document shown in one of its identity checks; or the walk-in appointment of a queue entry of
  theirs);
- `represented`: appointments they booked on someone else's behalf (their contact is in the
  representative fields). Only their own representative data are theirs there;
- `queue_entries`, `waiting_list`, and `messages` (sent to their address or number, or about
  their own appointments).

Searching is exact after normalisation (e-mail without case, phone in E.164 as the booking form
writes it, document upper case without spaces or dashes): nobody is found by a near miss.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from finestreta.appointments.contact import normalise_id_document, normalise_phone
from finestreta.appointments.models import Appointment, WaitingListEntry
from finestreta.identity.identify import document_hash
from finestreta.identity.models import DocumentType, IdentityCheck
from finestreta.notifications.models import Message
from finestreta.queueing.models import QueueEntry
from finestreta.tenants.models import Organisation

__all__ = ["Criteria", "Subject", "find_subject", "normalise_criteria"]


@dataclass(frozen=True)
class Criteria:
    """What the administrator searched by, normalised; empty strings are not searched."""

    email: str = ""
    phone: str = ""
    id_document: str = ""

    def kinds(self) -> list[str]:
        """Which identifiers were given (for the audit log, which never keeps their values)."""
        return [name for name in ("email", "phone", "id_document") if getattr(self, name)]

    def __bool__(self) -> bool:
        return bool(self.kinds())


def normalise_criteria(*, email: str = "", phone: str = "", id_document: str = "") -> Criteria:
    """The criteria as stored on appointments, or ValidationError (a dict by field) in plain
    words. The phone and the document go through the booking form's own normalisers."""
    errors: dict[str, list[str]] = {}
    email = email.strip().lower()
    if email:
        try:
            validate_email(email)
        except ValidationError:
            errors["email"] = [str(_("Enter an e-mail address such as name@example.org."))]
    try:
        phone = normalise_phone(phone)
    except ValidationError as error:
        errors["phone"] = error.messages
    try:
        id_document = normalise_id_document(id_document)
    except ValidationError as error:
        errors["id_document"] = error.messages
    if errors:
        raise ValidationError(errors)
    criteria = Criteria(email=email, phone=phone, id_document=id_document)
    if not criteria:
        raise ValidationError(
            _("Give the person's e-mail address, mobile number or identity document.")
        )
    return criteria


@dataclass
class Subject:
    """Everything one organisation holds that names the person, found by `find_subject`."""

    organisation: Organisation
    criteria: Criteria
    appointments: list[Appointment] = field(default_factory=list)
    represented: list[Appointment] = field(default_factory=list)
    queue_entries: list[QueueEntry] = field(default_factory=list)
    waiting_list: list[WaitingListEntry] = field(default_factory=list)
    messages: list[Message] = field(default_factory=list)
    # Why each of their own appointments was found: appointment id → ["email", …].
    matched_by: dict[int, list[str]] = field(default_factory=dict)

    @property
    def found(self) -> bool:
        return bool(
            self.appointments
            or self.represented
            or self.queue_entries
            or self.waiting_list
            or self.messages
        )

    def codes(self) -> list[str]:
        """The booking codes of every appointment that names them (own and represented)."""
        return [a.code for a in self.appointments + self.represented]


def _contact_q(criteria: Criteria, *, email: str, phone: str) -> Q | None:
    q = Q()
    if criteria.email:
        q |= Q(**{f"{email}__iexact": criteria.email})
    if criteria.phone:
        q |= Q(**{phone: criteria.phone})
    return q or None


def _document_hashes(number: str) -> list[str]:
    return [document_hash(kind, number) for kind in DocumentType.values]


def find_subject(organisation: Organisation, criteria: Criteria) -> Subject:
    """Every record of `organisation` (and of no other) that names the person."""
    subject = Subject(organisation=organisation, criteria=criteria)
    if not criteria:
        return subject
    in_org = Appointment.objects.filter(organisation=organisation).select_related(
        "service", "office", "municipality", "outcome", "organisation"
    )
    matched: dict[int, set[str]] = {}

    def note(found: Iterable[int | None], why: str) -> None:
        for pk in found:
            if pk is not None:
                matched.setdefault(pk, set()).add(why)

    def pks(**lookup: str) -> Iterable[int]:
        return in_org.filter(**lookup).values_list("pk", flat=True)

    if criteria.email:
        note(pks(email__iexact=criteria.email), "email")
    if criteria.phone:
        note(pks(phone=criteria.phone), "phone")
    if criteria.id_document:
        note(pks(id_document=criteria.id_document), "id_document")
        checked = IdentityCheck.objects.filter(organisation=organisation).filter(
            Q(document_number=criteria.id_document)
            | Q(document_hash__in=_document_hashes(criteria.id_document))
        )
        note(checked.values_list("appointment_id", flat=True), "id_document")

    queue_q = _contact_q(criteria, email="email", phone="phone")
    queue = QueueEntry.objects.none()
    if queue_q is not None:
        queue = QueueEntry.objects.filter(organisation=organisation).filter(queue_q)
        # A walk-in's attention is an appointment made from the entry: theirs too.
        note(queue.values_list("appointment_id", flat=True), "queue")
    subject.appointments = list(in_org.filter(pk__in=matched).order_by("starts_at", "pk"))
    subject.matched_by = {pk: sorted(why) for pk, why in matched.items()}
    own_ids = [a.pk for a in subject.appointments]

    represented_q = _contact_q(criteria, email="representative_email", phone="representative_phone")
    if represented_q is not None:
        subject.represented = list(
            in_org.filter(represented_q).exclude(pk__in=own_ids).order_by("starts_at", "pk")
        )
    subject.queue_entries = list(
        QueueEntry.objects.filter(organisation=organisation)
        .filter(Q(pk__in=queue.values("pk")) | Q(appointment_id__in=own_ids))
        .select_related("service", "appointment")
        .order_by("joined_at", "pk")
    )
    waiting_q = _contact_q(criteria, email="email", phone="phone")
    if waiting_q is not None:
        subject.waiting_list = list(
            WaitingListEntry.objects.filter(organisation=organisation)
            .filter(waiting_q)
            .select_related("service", "office", "offered")
            .order_by("created_at", "pk")
        )
    recipients = Q()
    if criteria.email:
        recipients |= Q(recipient__iexact=criteria.email)
    if criteria.phone:
        recipients |= Q(recipient=criteria.phone)
    subject.messages = list(
        Message.objects.filter(organisation=organisation)
        .filter(recipients | Q(appointment_id__in=own_ids))
        .select_related("appointment")
        .order_by("created_at", "pk")
    )
    return subject
