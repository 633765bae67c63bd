"""The rules of a service: its own, else its organisation's for its attention level, else the
platform's defaults for that level."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from finestreta.catalogue.models import AttentionLevel
from finestreta.identity.models import (
    Assurance,
    LevelPolicy,
    Recording,
    ServicePolicy,
    SignatureRoute,
)
from finestreta.identity.policy import default_rules, rules_for
from tests.factories import ServiceFactory


def test_the_defaults_ask_more_the_more_is_done_for_the_citizen() -> None:
    informative = default_rules(AttentionLevel.INFORMATIVE)
    assisted = default_rules(AttentionLevel.ASSISTED)
    attended = default_rules(AttentionLevel.ATTENDED)
    assert (informative.identity, informative.recording, informative.signature) == (
        Assurance.NONE,
        Recording.NEVER,
        SignatureRoute.NONE,
    )
    assert assisted.identity == Assurance.CONTACT_CODE
    assert assisted.asks_recording_consent
    assert attended.identity == Assurance.ID_DOCUMENT
    assert attended.signature == SignatureRoute.HABILITATED


def test_a_service_follows_its_level_s_defaults_then_its_organisation_s_then_its_own(
    personas,
) -> None:  # type: ignore[no-untyped-def]
    service = ServiceFactory(organisation=personas.org_a, attention_level=AttentionLevel.ASSISTED)
    assert rules_for(service).source == "default"
    LevelPolicy.objects.create(
        organisation=personas.org_a,
        attention_level=AttentionLevel.ASSISTED,
        identity=Assurance.ID_DOCUMENT,
        recording=Recording.NEVER,
    )
    # Another organisation's rules for the same level change nothing here.
    LevelPolicy.objects.create(
        organisation=personas.org_b,
        attention_level=AttentionLevel.ASSISTED,
        identity=Assurance.NONE,
    )
    rules = rules_for(service)
    assert (rules.source, rules.identity, rules.recording) == (
        "level",
        Assurance.ID_DOCUMENT,
        Recording.NEVER,
    )
    ServicePolicy.objects.create(
        service=service,
        recording=Recording.LEGAL_BASIS,
        legal_basis="Llei 19/2014, art. 32",
        signature=SignatureRoute.CITIZEN_CODE,
    )
    rules = rules_for(service)
    assert (rules.source, rules.identity, rules.recording, rules.legal_basis) == (
        "service",
        Assurance.NONE,
        Recording.LEGAL_BASIS,
        "Llei 19/2014, art. 32",
    )


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"recording": Recording.LEGAL_BASIS, "legal_basis": " "}, "legal_basis"),
        ({"recording": Recording.CONSENT, "legal_basis": "Llei 1/2000"}, "legal_basis"),
        ({"recording": Recording.NEVER, "asks_image_rights": True}, "asks_image_rights"),
    ],
)
def test_rules_that_contradict_themselves_are_refused_with_the_field_named(
    personas, fields, field
) -> None:  # type: ignore[no-untyped-def]
    policy = LevelPolicy(
        organisation=personas.org_a, attention_level=AttentionLevel.ATTENDED, **fields
    )
    with pytest.raises(ValidationError) as refused:
        policy.full_clean()
    assert field in refused.value.message_dict
