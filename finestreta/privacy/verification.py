"""Verifying the audit log's hash chains (ADR 31); the chain itself is `privacy.chain`."""

from __future__ import annotations

import hmac
from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from finestreta.privacy.chain import (
    GENESIS,
    ChainKey,
    Head,
    Row,
    chain_filter,
    chain_keys,
    checkpoint_seal,
    latest_checkpoint,
    seal,
)
from finestreta.privacy.models import AuditChainCheckpoint, AuditEvent
from finestreta.tenants.models import Organisation


class Problem(StrEnum):
    CHANGED = "changed"
    MISSING = "missing"
    INSERTED = "inserted_or_reordered"
    BAD_CHECKPOINT = "bad_checkpoint"
    UNKNOWN_KEY = "unknown_key"


@dataclass(frozen=True)
class ChainProblem:
    """The first thing wrong in a chain. `event_id` and `position` name the event where it
    shows (None for a checkpoint); `missing` is the range of positions missing before it."""

    kind: Problem
    event_id: int | None = None
    position: int | None = None
    missing: tuple[int, int] | None = None
    key: str = ""


@dataclass(frozen=True)
class ChainResult:
    organisation_id: int | None
    organisation_slug: str  # "" for the platform's chain
    checked: int  # events whose seal was checked
    starts_after: int  # the checkpoint's position, 0 without one
    head: Head  # the last event checked (or the start)
    problem: ChainProblem | None = None

    @property
    def ok(self) -> bool:
        return self.problem is None


@dataclass(frozen=True)
class Verification:
    chains: tuple[ChainResult, ...]

    @property
    def ok(self) -> bool:
        return all(chain.ok for chain in self.chains)

    @property
    def checked(self) -> int:
        return sum(chain.checked for chain in self.chains)


def verify_chain(organisation: Organisation | None) -> ChainResult:
    """Check one chain from its latest checkpoint (or its start) to its last event."""
    organisation_id = organisation.pk if organisation is not None else None
    slug = organisation.slug if organisation is not None else ""
    result = _verify(organisation_id, slug)
    if not result.ok:
        # A purge that committed between reading the checkpoint and reading the events looks
        # like missing events: check again from the checkpoint now in force.
        again = _verify(organisation_id, slug)
        if again.starts_after != result.starts_after:
            return again
    return result


def verify_audit_log(organisation: Organisation | None = None) -> Verification:
    """Every chain (the platform's first, then each organisation's by slug), or only the
    given organisation's."""
    if organisation is not None:
        return Verification((verify_chain(organisation),))
    ids = set(AuditEvent.objects.order_by().values_list("organisation_id", flat=True).distinct())
    ids |= set(
        AuditChainCheckpoint.objects.order_by().values_list("organisation_id", flat=True).distinct()
    )
    chains = [verify_chain(None)] if None in ids else []
    organisations = Organisation.objects.filter(pk__in=ids - {None}).order_by("slug")
    chains += [verify_chain(org) for org in organisations]
    return Verification(tuple(chains))


def _verify(organisation_id: int | None, slug: str) -> ChainResult:
    keys = {key.id: key for key in chain_keys()}
    checkpoint = latest_checkpoint(organisation_id)
    start = Head(0, GENESIS)

    def result(checked: int, head: Head, problem: ChainProblem | None = None) -> ChainResult:
        return ChainResult(organisation_id, slug, checked, start.position, head, problem)

    if checkpoint is not None:
        start = Head(checkpoint.position, checkpoint.event_hash)
        key = keys.get(checkpoint.key)
        if key is None:
            return result(0, start, ChainProblem(Problem.UNKNOWN_KEY, key=checkpoint.key))
        if not hmac.compare_digest(checkpoint_seal(key, checkpoint), checkpoint.seal):
            return result(0, start, ChainProblem(Problem.BAD_CHECKPOINT))

    events = (
        AuditEvent._base_manager.filter(chain_filter(organisation_id))
        .order_by("chain_position", "id")
        .values_list(*Row._fields)
    )
    head, checked = start, 0
    for event, following in _pairs(events):
        position = event.chain_position
        expected = head.position + 1
        problem = None
        if position < expected:  # a second event at a position, or one a checkpoint removed
            problem = ChainProblem(Problem.INSERTED, event.id, position)
        elif position > expected:
            problem = ChainProblem(Problem.MISSING, event.id, position, (expected, position - 1))
        elif event.chain_key not in keys:
            problem = ChainProblem(Problem.UNKNOWN_KEY, event.id, position, key=event.chain_key)
        elif not _intact(keys[event.chain_key], event):
            # Not what was sealed. If the chain goes on from the event before it as if it were
            # not there, it was put in; otherwise it was changed (or forged at the end).
            skipped = following is not None and following.chain_previous == head.hash
            kind = Problem.INSERTED if skipped else Problem.CHANGED
            problem = ChainProblem(kind, event.id, position)
        elif event.chain_previous != head.hash:
            # A genuine event, but not sealed after the one before it: that one was removed
            # (its seal is nowhere in the chain) or the events were moved.
            known = _chain_has_seal(organisation_id, event.chain_previous)
            kind = Problem.INSERTED if known else Problem.MISSING
            problem = ChainProblem(kind, event.id, position)
        if problem is not None:
            return result(checked, head, problem)
        head, checked = Head(position, event.chain_hash), checked + 1
    return result(checked, head)


def _intact(key: ChainKey, event: Row) -> bool:
    if event.actor_id is not None and event.actor_id != event.actor_ref:
        return False  # the actor may only become NULL (a deleted user)
    try:
        expected = seal(key, event.chain_previous, event, event.chain_version)
    except ValueError:  # an unknown format, or a value that is no longer what it was
        return False
    return hmac.compare_digest(expected, event.chain_hash)


def _chain_has_seal(organisation_id: int | None, value: str) -> bool:
    same_chain = chain_filter(organisation_id)
    return (
        AuditEvent._base_manager.filter(same_chain, chain_hash=value).exists()
        or AuditChainCheckpoint.objects.filter(same_chain, event_hash=value).exists()
    )


def _pairs(events: QuerySet[AuditEvent, tuple[Any, ...]]) -> Iterator[tuple[Row, Row | None]]:
    previous: Row | None = None
    for values in events.iterator(chunk_size=2000):
        event = Row(*values)
        if previous is not None:
            yield previous, event
        previous = event
    if previous is not None:
        yield previous, None


def describe(result: ChainResult) -> str:
    """The result in one sentence, for people (the viewer and the command)."""
    problem = result.problem
    if problem is None:
        return ngettext(
            "The log is intact (%(count)s event checked).",
            "The log is intact (%(count)s events checked).",
            result.checked,
        ) % {"count": result.checked}
    where = {"id": problem.event_id, "position": problem.position, "key": problem.key}
    if problem.kind == Problem.MISSING and problem.missing is not None:
        first, last = problem.missing
        count = last - first + 1
        return ngettext(
            "An event is missing from the log before event %(id)s (number %(first)s in the chain).",
            "%(count)s events are missing from the log before event %(id)s "
            "(numbers %(first)s to %(last)s in the chain).",
            count,
        ) % {**where, "count": count, "first": first, "last": last}
    if problem.kind == Problem.UNKNOWN_KEY and problem.event_id is None:
        message = _(
            "The record of the last removal of old events was sealed with a key this "
            "installation does not have (%(key)s), so the log cannot be checked."
        )
    else:
        message = {
            Problem.CHANGED: _(
                "Event %(id)s (number %(position)s in the chain) is not as it was sealed: it "
                "was changed after it was written, or not written by the platform."
            ),
            Problem.INSERTED: _(
                "Event %(id)s (number %(position)s in the chain) is not where it was sealed: "
                "it was put in or moved."
            ),
            Problem.MISSING: _(
                "The event sealed before event %(id)s (number %(position)s in the chain) is "
                "missing from the log."
            ),
            Problem.BAD_CHECKPOINT: _(
                "The record of the last removal of old events is not as it was sealed, so the "
                "log cannot be checked from it."
            ),
            Problem.UNKNOWN_KEY: _(
                "Event %(id)s (number %(position)s in the chain) was sealed with a key this "
                "installation does not have (%(key)s), so the log cannot be checked from there."
            ),
        }[problem.kind]
    return message % where
