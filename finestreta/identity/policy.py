"""Which rules apply to a service: its own, else its organisation's for its attention level,
else the platform's defaults for that level. `rules_for` reads; `default_rules` is pure."""

from __future__ import annotations

from dataclasses import dataclass

from finestreta.catalogue.models import AttentionLevel, Service
from finestreta.identity.models import (
    Assurance,
    LevelPolicy,
    PolicyFields,
    Recording,
    ServicePolicy,
    SignatureRoute,
)


@dataclass(frozen=True)
class Rules:
    identity: Assurance
    recording: Recording
    signature: SignatureRoute
    legal_basis: str = ""
    keeps_document_number: bool = False
    asks_image_rights: bool = False
    recording_retention_days: int = 30
    source: str = "default"  # "service", "level" or "default"

    @property
    def asks_recording_consent(self) -> bool:
        return self.recording == Recording.CONSENT

    @property
    def may_record(self) -> bool:
        return self.recording != Recording.NEVER

    @property
    def identifies(self) -> bool:
        return self.identity != Assurance.NONE


# The platform's defaults (ADR 26): information needs nothing; assisted processing checks the
# contact with a code and records only with consent; attended processing checks an identity
# document and lets a habilitated official act, with the citizen's express consent.
DEFAULTS = {
    AttentionLevel.INFORMATIVE: Rules(Assurance.NONE, Recording.NEVER, SignatureRoute.NONE),
    AttentionLevel.ASSISTED: Rules(Assurance.CONTACT_CODE, Recording.CONSENT, SignatureRoute.NONE),
    AttentionLevel.ATTENDED: Rules(
        Assurance.ID_DOCUMENT, Recording.CONSENT, SignatureRoute.HABILITATED
    ),
}


def default_rules(attention_level: str) -> Rules:
    return DEFAULTS[AttentionLevel(attention_level)]


def _rules(policy: PolicyFields, source: str) -> Rules:
    return Rules(
        identity=Assurance(policy.identity),
        recording=Recording(policy.recording),
        signature=SignatureRoute(policy.signature),
        legal_basis=policy.legal_basis,
        keeps_document_number=policy.keeps_document_number,
        asks_image_rights=policy.asks_image_rights,
        recording_retention_days=policy.recording_retention_days,
        source=source,
    )


def rules_for(service: Service) -> Rules:
    own = ServicePolicy.objects.filter(service_id=service.pk).first()
    if own is not None:
        return _rules(own, "service")
    level = LevelPolicy.objects.filter(
        organisation_id=service.organisation_id, attention_level=service.attention_level
    ).first()
    if level is not None:
        return _rules(level, "level")
    return default_rules(service.attention_level)
