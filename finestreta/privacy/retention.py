"""Retention periods (ADR 34): how long each kind of data is kept, per organisation.

`RULES` is the one table of the platform's defaults, with the shortest and longest period an
organisation may choose and why. An organisation without a `RetentionPolicy` row for a kind
keeps it for the default. The purge itself is `privacy.purge`; both are reached through
`privacy.services`.

Periods are days counted back from the purge's "now":

- appointments, contact details: from the end of a finished appointment (attended, cancelled
  or not come), and from the arrival of a citizen who left the queue or was attended;
- chat lines, shared files: from when they were sent;
- recordings: from when they started. The organisation's period is a ceiling over the
  procedure's own (`recording_retention_days`, ADR 28): a recording goes at the earlier of the
  two, and the sweeper deletes it at the procedure's end within a minute;
- consent records: from the later of the answer, its withdrawal and the deletion of the
  recording it allowed;
- audit log: from the event.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from finestreta.accounts.models import User
from finestreta.privacy.models import AuditEvent, DataKind, PurgeRun, RetentionPolicy
from finestreta.tenants.models import Organisation

YEAR = 365


@dataclass(frozen=True)
class Rule:
    kind: DataKind
    default: int  # days
    floor: int  # the shortest period allowed
    ceiling: int  # the longest
    why: Promise  # why the default and the floor, in a sentence for administrators


RULES: dict[str, Rule] = {
    rule.kind: rule
    for rule in (
        Rule(
            DataKind.CONTACT_DATA,
            default=YEAR,
            floor=30,
            ceiling=10 * YEAR,
            why=_(
                "Names, e-mail addresses, telephones, documents and notes are needed to answer "
                "a complaint or a claim about the attention (a year: Law 39/2015, art. 67), and "
                "no longer (minimisation, GDPR art. 5.1.c and e). At least 30 days, to answer "
                "the citizen after the attention."
            ),
        ),
        Rule(
            DataKind.APPOINTMENTS,
            default=5 * YEAR,
            floor=YEAR,
            ceiling=10 * YEAR,
            why=_(
                "The record of the attention, without contact details once they are removed, "
                "with its signatures and identity checks: five years, the general limitation "
                "of personal actions (Civil Code, art. 1964.2); at least a year, the time to "
                "claim for the attention (Law 39/2015, art. 67)."
            ),
        ),
        Rule(
            DataKind.CHAT,
            default=90,
            floor=7,
            ceiling=5 * YEAR,
            why=_(
                "What was written in a call belongs in the case file, which is kept elsewhere: "
                "three months for the citizen to ask for a copy; at least a week, for the "
                "agent to carry it into the case file."
            ),
        ),
        Rule(
            DataKind.FILES,
            default=30,
            floor=7,
            ceiling=5 * YEAR,
            why=_(
                "Documents shared in a call are registered in the case file (Law 39/2015, "
                "art. 16); the platform's copy is kept a month, at least a week. A document "
                "that was signed stays with its signature, as long as the appointment."
            ),
        ),
        Rule(
            DataKind.RECORDINGS,
            default=3 * YEAR,
            floor=1,
            ceiling=10 * YEAR,
            why=_(
                "A ceiling over each procedure's own period: no recording is kept longer, "
                "whatever its procedure says. Three years, as long as a very serious "
                "infringement of data protection can be pursued (LOPDGDD, art. 72)."
            ),
        ),
        Rule(
            DataKind.CONSENT_RECORDS,
            default=5 * YEAR,
            floor=3 * YEAR,
            ceiling=10 * YEAR,
            why=_(
                "Evidence that consent was given (GDPR art. 7.1), kept at least three years "
                "after the processing it allowed ended (LOPDGDD, art. 72: the limitation of "
                "very serious infringements), five by default, like the appointments."
            ),
        ),
        Rule(
            DataKind.AUDIT_LOG,
            default=3 * YEAR,
            floor=YEAR,
            ceiling=10 * YEAR,
            why=_(
                "Who accessed personal data, kept as long as an infringement can be pursued "
                "(LOPDGDD, art. 72: three years); at least a year, to investigate a security "
                "incident (National Security Framework, RD 311/2022, op.exp.8)."
            ),
        ),
    )
}

# The order in which the purge applies them: contact details before the rows that carry them,
# files, chat and recordings before the consent records that allowed them, and those before
# the appointments they point to; the audit log last, with the purge's own events.
ORDER = [
    DataKind.CONTACT_DATA,
    DataKind.CHAT,
    DataKind.FILES,
    DataKind.RECORDINGS,
    DataKind.CONSENT_RECORDS,
    DataKind.APPOINTMENTS,
    DataKind.AUDIT_LOG,
]


def validate_period(kind: str, days: int) -> None:
    """ValidationError (translated) unless `days` is within the kind's floor and ceiling."""
    rule = RULES[kind]
    values = {"kind": rule.kind.label, "floor": rule.floor, "ceiling": rule.ceiling}
    if days < rule.floor:
        raise ValidationError(
            _("%(kind)s must be kept at least %(floor)s days."), code="below_floor", params=values
        )
    if days > rule.ceiling:
        raise ValidationError(
            _("%(kind)s cannot be kept longer than %(ceiling)s days."),
            code="above_ceiling",
            params=values,
        )


def periods_for(organisation: Organisation) -> dict[str, int]:
    """The organisation's period of every kind, in days: its own where it set one."""
    chosen = dict(
        RetentionPolicy.objects.filter(organisation=organisation).values_list("kind", "days")
    )
    return {kind: chosen.get(kind, rule.default) for kind, rule in RULES.items()}


def cutoffs_for(organisation: Organisation, *, now: dt.datetime) -> dict[str, dt.datetime]:
    """For each kind, the moment before which its data is due."""
    return {kind: now - dt.timedelta(days=days) for kind, days in periods_for(organisation).items()}


@dataclass(frozen=True)
class KindStatus:
    """One line of the administrators' page."""

    rule: Rule
    days: int
    is_default: bool
    last_removed: int  # by the last run that was not a preview
    label: str


def describe_policies(organisation: Organisation) -> list[KindStatus]:
    periods = periods_for(organisation)
    own = set(
        RetentionPolicy.objects.filter(organisation=organisation).values_list("kind", flat=True)
    )
    last = last_run(organisation)
    return [
        KindStatus(
            rule=RULES[kind],
            days=periods[kind],
            is_default=kind not in own,
            last_removed=last.count(kind) if last is not None else 0,
            label=str(RULES[kind].kind.label),
        )
        for kind in ORDER
    ]


def last_run(organisation: Organisation) -> PurgeRun | None:
    """The organisation's latest purge that removed data (not a preview) and finished."""
    return (
        PurgeRun.objects.filter(organisation=organisation, dry_run=False, finished_at__isnull=False)
        .order_by("-started_at", "-pk")
        .first()
    )


def recent_runs(organisation: Organisation, *, limit: int = 20) -> list[PurgeRun]:
    return list(
        PurgeRun.objects.filter(organisation=organisation).order_by("-started_at", "-pk")[:limit]
    )


def set_retention_periods(
    *,
    organisation: Organisation,
    periods: dict[str, int],
    actor: User | None,
    request: HttpRequest | None = None,
) -> list[str]:
    """Set the organisation's periods (kind → days) and return the kinds that changed; one
    audit event per change, with the period before and after. Every period is checked first
    (ValidationError, nothing written, when one is out of bounds); a period equal to the
    default is kept as the organisation's own choice all the same."""
    from finestreta.privacy.services import record_event  # privacy.services imports this

    errors = {}
    for kind, days in periods.items():
        if kind not in RULES:
            raise ValueError(f"unknown data kind {kind!r}")
        try:
            validate_period(kind, days)
        except ValidationError as error:
            errors[kind] = error.messages
    if errors:
        raise ValidationError(errors)
    changed = []
    with transaction.atomic():
        before = periods_for(organisation)
        for kind, days in periods.items():
            if before[kind] == days:
                continue
            RetentionPolicy.objects.update_or_create(
                organisation=organisation,
                kind=kind,
                defaults={"days": days, "changed_at": timezone.now(), "changed_by": actor},
            )
            record_event(
                action=AuditEvent.Action.RETENTION_POLICY_CHANGED,
                request=request,
                actor=actor,
                organisation=organisation,
                target=RetentionPolicy,
                details={"kind": kind, "from": before[kind], "to": days},
            )
            changed.append(kind)
    return changed


def label_of(kind: str) -> str:
    """The kind in words, in the active language."""
    return str(RULES[kind].kind.label) if kind in RULES else kind
