"""Public API of the catalogue app: the services an organisation offers."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import QuerySet
from django.http import Http404

from finestreta.catalogue.models import (
    ATTENTION_LEVEL_EXPLANATIONS,
    AttentionLevel,
    Channel,
    Service,
)
from finestreta.tenants.models import Office, Organisation

__all__ = [
    "ATTENTION_LEVEL_EXPLANATIONS",
    "AttentionLevel",
    "Channel",
    "LevelGroup",
    "get_public_service",
    "group_services_by_level",
    "list_public_services",
    "list_services_at_office",
]


def list_public_services(organisation: Organisation) -> QuerySet[Service]:
    return (
        Service.objects.filter(organisation=organisation, is_active=True)
        .prefetch_related("offices")
        .order_by("attention_level", "name")
    )


def get_public_service(organisation: Organisation, slug: str) -> Service:
    try:
        return list_public_services(organisation).get(slug=slug)
    except Service.DoesNotExist as exc:
        raise Http404("No such service") from exc


def list_services_at_office(office: Office) -> QuerySet[Service]:
    return office.services.filter(is_active=True).order_by("name")


@dataclass(frozen=True)
class LevelGroup:
    level: AttentionLevel
    label: str
    explanation: str
    services: list[Service]


def group_services_by_level(organisation: Organisation) -> list[LevelGroup]:
    """The organisation's active services grouped by attention level, in level order."""
    services = list(list_public_services(organisation))
    groups = []
    for level in AttentionLevel:
        members = [s for s in services if s.attention_level == level]
        if members:
            groups.append(
                LevelGroup(
                    level=level,
                    label=str(level.label),
                    explanation=str(ATTENTION_LEVEL_EXPLANATIONS[level]),
                    services=sorted(members, key=lambda s: s.name.casefold()),
                )
            )
    return groups
