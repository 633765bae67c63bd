"""What the agent's panel of identity and consent shows for one call, and the live nudge that
makes every staff page of the call reload it (`evidence`, docs/signaling.md)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.utils.translation import gettext as _

from finestreta.accounts.models import User
from finestreta.appointments.models import Appointment
from finestreta.identity import codes, consent, electronic_id, identify, signatures
from finestreta.identity.models import (
    Assurance,
    CodePurpose,
    ConsentKind,
    ConsentRecord,
    HabilitatedOfficial,
    IdentityCheck,
    OneTimeCode,
    Signature,
    SignatureRoute,
)
from finestreta.identity.policy import Rules, rules_for
from finestreta.video.models import Room, SharedFile


@dataclass
class Panel:
    rules: Rules
    check: IdentityCheck | None  # the latest that identified the citizen
    satisfied: bool
    last_failed: IdentityCheck | None
    code: OneTimeCode | None  # the latest identification code
    code_locked_until: dt.datetime | None
    destinations: list[codes.Destination]
    answers: dict[str, ConsentRecord]
    history: list[ConsentRecord]
    habilitation: HabilitatedOfficial | None
    asks_spoken: list[ConsentKind] = field(default_factory=list)
    pending_signature: Signature | None = None
    signatures: list[Signature] = field(default_factory=list)
    shared_files: list[SharedFile] = field(default_factory=list)
    electronic_services: list[str] = field(default_factory=list)

    @property
    def signs(self) -> bool:
        return self.rules.signature != SignatureRoute.NONE

    @property
    def signature_blocked(self) -> str:
        """Why a signature cannot be asked for now (empty when it can)."""
        if not self.destinations:
            return _("The appointment has no e-mail or mobile to send the code to.")
        if self.rules.identifies and not self.satisfied:
            return _("Identify the person first, as this procedure asks.")
        if self.needs_habilitated and self.habilitation is None:
            return _("Only a habilitated official may sign for the person.")
        return ""

    @property
    def done_signatures(self) -> list[Signature]:
        return [s for s in self.signatures if s.status != Signature.Status.PENDING]

    @property
    def needs_habilitated(self) -> bool:
        return self.rules.signature == SignatureRoute.HABILITATED

    @property
    def asks_electronic_id(self) -> bool:
        return self.rules.identity == Assurance.ELECTRONIC_ID

    @property
    def offers_code(self) -> bool:
        return self.rules.identity == Assurance.CONTACT_CODE and bool(self.destinations)

    @property
    def code_pending(self) -> bool:
        return self.code is not None and self.code.verified_at is None


def build(appointment: Appointment, *, user: User, now: dt.datetime) -> Panel:
    rules = rules_for(appointment.service)
    check = identify.identified(appointment)
    last = (
        IdentityCheck.objects.filter(appointment=appointment)
        .select_related("agent", "provider")
        .order_by("-checked_at", "-pk")
        .first()
    )
    asked = consent.asked_of(rules)
    asked_for = signatures.signatures_of(appointment)
    return Panel(
        rules=rules,
        check=check,
        satisfied=identify.satisfies(check, rules),
        last_failed=last if last is not None and not last.verified else None,
        code=codes.latest_code(appointment, CodePurpose.IDENTIFY),
        code_locked_until=codes.locked_until(appointment, CodePurpose.IDENTIFY, now),
        destinations=codes.destinations(appointment),
        answers=consent.latest_answers(appointment),
        history=consent.consents_of(appointment),
        habilitation=identify.habilitation_of(user, appointment.organisation_id, now.date()),
        asks_spoken=[k for k in asked if k != ConsentKind.PRIVACY_NOTICE],
        pending_signature=next(
            (s for s in asked_for if s.status == Signature.Status.PENDING), None
        ),
        signatures=asked_for,
        shared_files=list(SharedFile.objects.filter(room__appointment=appointment)),
        electronic_services=[
            p.name for p in electronic_id.citizen_providers(appointment.organisation_id)
        ]
        if rules.identity == Assurance.ELECTRONIC_ID
        else [],
    )


def tell_citizen(room: Room) -> None:
    """Ask the citizen's page to reload its signature panel (a request came or went)."""
    from finestreta.video.consumers import room_group

    layer = get_channel_layer()
    if layer is not None:
        async_to_sync(layer.group_send)(
            room_group(room), {"type": "video.relay", "message": {"type": "signature"}}
        )


def tell_staff(room: Room) -> None:
    """Ask every staff page of the call to reload its panel (the evidence changed)."""
    from finestreta.video.consumers import staff_group

    layer = get_channel_layer()
    if layer is not None:
        async_to_sync(layer.group_send)(
            staff_group(room), {"type": "video.relay", "message": {"type": "evidence"}}
        )
