"""The audit log's hash chain (ADR 31): sealing, checking and purging, in one place.

Each organisation's events form one chain, and platform events (no organisation) another. An
event's seal is

    HMAC-SHA256(key, previous seal + "\\n" + canonical content)

where the content is a versioned JSON array of everything the event says (see `content`), and
the previous seal is the seal of the event before it in its chain, or of the last event the
retention purge removed (its checkpoint), or 64 zeros for the first event of a chain.

The key is derived from SECRET_KEY (HKDF, as `finestreta.lib.keys` derives keys), so someone
who can only read and write the database cannot seal a forged or edited event. Every event
keeps the id of the key that sealed it (`chain_key`, a fingerprint, not the key); SECRET_KEY
seals, and SECRET_KEY_FALLBACKS still verify what older keys sealed.

Appending is serialised per chain: on PostgreSQL by a transaction-level advisory lock keyed
by the organisation, taken in the caller's transaction, so the next writer reads the head only
once this one has committed or rolled back (a rolled-back event leaves no gap: positions come
from the committed head, not from a sequence); SQLite has one writer at a time (transactions
begin IMMEDIATE). A unique constraint on (chain, position) refuses a fork if anything else
went wrong.

Other apps use this through `privacy.services`.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import ipaddress
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, NamedTuple

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction
from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from finestreta.lib.transactions import lock_audit_chain
from finestreta.privacy.models import AuditChainCheckpoint, AuditEvent
from finestreta.tenants.models import Organisation

FORMAT_VERSION = 1
GENESIS = "0" * 64
KEY_PURPOSE = "finestreta.privacy.audit-chain"
# The transaction-local setting that opens the PostgreSQL trigger's door for the purge, and
# the table whose row opens the SQLite one (migration 0009).
PURGE_SETTING = "finestreta.audit_purge"
PURGE_MARKER_TABLE = "privacy_auditpurge"


# --- Keys ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ChainKey:
    id: str
    secret: bytes = b""

    def __repr__(self) -> str:  # never the secret in a traceback
        return f"ChainKey({self.id!r})"


def _derive(secret_key: str) -> ChainKey:
    secret = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=KEY_PURPOSE.encode()
    ).derive(secret_key.encode())
    # The id is a one-way fingerprint: it names the key without revealing it.
    fingerprint = hmac.new(secret, b"finestreta.audit-chain.key-id", hashlib.sha256).digest()
    return ChainKey(id=base64.b32encode(fingerprint).decode()[:16].lower(), secret=secret)


def chain_keys() -> list[ChainKey]:
    """The keys that verify seals: SECRET_KEY's first (it seals), then the fallbacks'."""
    secrets = [settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", [])]
    return [_derive(secret) for secret in secrets if secret]


def signing_key() -> ChainKey:
    return chain_keys()[0]


# --- The seal ------------------------------------------------------------------------------


def _time(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).isoformat(timespec="microseconds")


def _ip(value: str | None) -> str | None:
    # The database may give an address back written differently (IPv6 on PostgreSQL).
    return ipaddress.ip_address(value).compressed if value else None


def _numbers(value: Any) -> Any:
    # PostgreSQL's jsonb gives 1e16 back as 10000000000000000: an integral float is an integer.
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: _numbers(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_numbers(v) for v in value]
    return value


def _json(value: Any) -> Any:
    """The details as the database gives them back: through the field's own encoder."""
    return _numbers(json.loads(json.dumps(value, cls=DjangoJSONEncoder)))


def content(event: AuditEvent | _Row, version: int = FORMAT_VERSION) -> bytes:
    """Format 1 of what an event's seal covers. Frozen: a change is a new format version.

    Not the position (the previous seal proves the order), nor `actor` (it becomes NULL when
    the user is deleted): `actor_ref`, the actor's id as written, and `actor_label` instead.
    """
    if version != 1:
        raise ValueError(f"unknown audit seal format {version}")
    values = [
        "finestreta.audit-event",
        version,
        event.organisation_id,
        _time(event.occurred_at),
        event.actor_ref,
        event.actor_label,
        event.action,
        event.target_type,
        event.target_id,
        event.target_label,
        _ip(event.ip_address),
        event.user_agent,
        # Read back from the database, the details are plain JSON values already.
        _numbers(event.details) if isinstance(event, _Row) else _json(event.details),
    ]
    return json.dumps(values, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


def seal(
    key: ChainKey, previous: str, event: AuditEvent | _Row, version: int = FORMAT_VERSION
) -> str:
    message = previous.encode() + b"\n" + content(event, version)
    return hmac.new(key.secret, message, hashlib.sha256).hexdigest()


def _checkpoint_seal(key: ChainKey, checkpoint: AuditChainCheckpoint) -> str:
    values = [
        "finestreta.audit-checkpoint",
        1,
        checkpoint.organisation_id,
        checkpoint.position,
        checkpoint.event_hash,
        checkpoint.removed,
        _time(checkpoint.removed_before),
        _time(checkpoint.created_at),
    ]
    message = json.dumps(values, separators=(",", ":")).encode()
    return hmac.new(key.secret, message, hashlib.sha256).hexdigest()


# --- Appending -----------------------------------------------------------------------------


class Head(NamedTuple):
    position: int
    hash: str


def _chain(organisation_id: int | None) -> Q:
    if organisation_id is None:
        return Q(organisation__isnull=True)
    return Q(organisation_id=organisation_id)


def _latest_checkpoint(organisation_id: int | None) -> AuditChainCheckpoint | None:
    return (
        AuditChainCheckpoint.objects.filter(_chain(organisation_id))
        .order_by("-position", "-id")
        .first()
    )


def _head(organisation_id: int | None) -> Head:
    last = (
        AuditEvent.objects.filter(_chain(organisation_id))
        .order_by("-chain_position")
        .values_list("chain_position", "chain_hash")
        .first()
    )
    if last is not None:
        return Head(*last)
    checkpoint = _latest_checkpoint(organisation_id)
    if checkpoint is not None:
        return Head(checkpoint.position, checkpoint.event_hash)
    return Head(0, GENESIS)


def append(event: AuditEvent) -> AuditEvent:
    """Seal `event` (unsaved) to its chain's head and write it, in the caller's transaction.

    On PostgreSQL the chain stays locked until that transaction ends: other writers of the
    same organisation's events wait for it (keep transactions that write events short).
    """
    with transaction.atomic(savepoint=False):
        lock_audit_chain(event.organisation_id)
        head = _head(event.organisation_id)
        key = signing_key()
        event.actor_ref = event.actor_id
        event.chain_position = head.position + 1
        event.chain_previous = head.hash
        event.chain_key = key.id
        event.chain_version = FORMAT_VERSION
        event.chain_hash = seal(key, head.hash, event)
        event.save()
    return event


# --- Purging -------------------------------------------------------------------------------


def purge_events_before(organisation: Organisation | None, before: dt.datetime) -> int:
    """Remove the oldest events of a chain, those that happened before `before`, and return
    how many were removed; a sealed checkpoint, written in the same transaction, lets the rest
    verify. For the retention job.

    What goes is the chain's longest run from its start of events older than `before`: an
    event older than that which comes after a newer one (a clock set back) stays, with
    everything after it, until a later purge.
    """
    organisation_id = organisation.pk if organisation is not None else None
    chain = AuditEvent._base_manager.filter(_chain(organisation_id))
    with transaction.atomic():
        lock_audit_chain(organisation_id)  # no event joins the chain meanwhile
        first_kept = (
            chain.filter(occurred_at__gte=before)
            .order_by("chain_position")
            .values_list("chain_position", flat=True)
            .first()
        )
        going = chain if first_kept is None else chain.filter(chain_position__lt=first_kept)
        last = going.order_by("-chain_position").values_list("chain_position", "chain_hash").first()
        if last is None:
            return 0
        position, event_hash = last
        count = going.count()
        key = signing_key()
        checkpoint = AuditChainCheckpoint(
            organisation_id=organisation_id,
            position=position,
            event_hash=event_hash,
            removed=count,
            removed_before=before,
            key=key.id,
        )
        checkpoint.seal = _checkpoint_seal(key, checkpoint)
        checkpoint.save()
        with _purge_door():
            removed, _ = going.delete()
        if removed != count:  # the triggers would have refused any other row
            raise AssertionError(f"purge removed {removed} audit events, expected {count}")
        return removed


@contextmanager
def _purge_door() -> Iterator[None]:
    """Inside the purge's transaction only: the triggers let DELETE through for events that a
    checkpoint of their chain covers (migration 0009). Closed again before the transaction
    ends; a failure rolls the opening back with everything else."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT set_config(%s, 'on', true)", [PURGE_SETTING])
        else:
            cursor.execute(f"INSERT INTO {PURGE_MARKER_TABLE} (opened) VALUES (1)")  # noqa: S608
    yield
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT set_config(%s, '', true)", [PURGE_SETTING])
        else:
            cursor.execute(f"DELETE FROM {PURGE_MARKER_TABLE}")  # noqa: S608


# --- Verifying -----------------------------------------------------------------------------


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


class _Row(NamedTuple):
    """An event as verification reads it: plain values, no model instance (four times faster)."""

    id: int
    organisation_id: int | None
    occurred_at: dt.datetime
    actor_id: int | None
    actor_ref: int | None
    actor_label: str
    action: str
    target_type: str
    target_id: str
    target_label: str
    ip_address: str | None
    user_agent: str
    details: Any
    chain_position: int
    chain_previous: str
    chain_hash: str
    chain_key: str
    chain_version: int


def _verify(organisation_id: int | None, slug: str) -> ChainResult:
    keys = {key.id: key for key in chain_keys()}
    checkpoint = _latest_checkpoint(organisation_id)
    start = Head(0, GENESIS)

    def result(checked: int, head: Head, problem: ChainProblem | None = None) -> ChainResult:
        return ChainResult(organisation_id, slug, checked, start.position, head, problem)

    if checkpoint is not None:
        start = Head(checkpoint.position, checkpoint.event_hash)
        key = keys.get(checkpoint.key)
        if key is None:
            return result(0, start, ChainProblem(Problem.UNKNOWN_KEY, key=checkpoint.key))
        if not hmac.compare_digest(_checkpoint_seal(key, checkpoint), checkpoint.seal):
            return result(0, start, ChainProblem(Problem.BAD_CHECKPOINT))

    events = (
        AuditEvent._base_manager.filter(_chain(organisation_id))
        .order_by("chain_position", "id")
        .values_list(*_Row._fields)
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


def _intact(key: ChainKey, event: _Row) -> bool:
    if event.actor_id is not None and event.actor_id != event.actor_ref:
        return False  # the actor may only become NULL (a deleted user)
    try:
        expected = seal(key, event.chain_previous, event, event.chain_version)
    except ValueError:  # an unknown format, or a value that is no longer what it was
        return False
    return hmac.compare_digest(expected, event.chain_hash)


def _chain_has_seal(organisation_id: int | None, value: str) -> bool:
    return (
        AuditEvent._base_manager.filter(_chain(organisation_id), chain_hash=value).exists()
        or AuditChainCheckpoint.objects.filter(_chain(organisation_id), event_hash=value).exists()
    )


def _pairs(events: QuerySet[AuditEvent, tuple[Any, ...]]) -> Iterator[tuple[_Row, _Row | None]]:
    previous: _Row | None = None
    for values in events.iterator(chunk_size=2000):
        event = _Row(*values)
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
