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

Verification is `privacy.verification`; other apps use both through `privacy.services`.
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
from typing import Any, NamedTuple

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction
from django.db.models import Q

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


class Row(NamedTuple):
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


def content(event: AuditEvent | Row, version: int = FORMAT_VERSION) -> bytes:
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
        _numbers(event.details) if isinstance(event, Row) else _json(event.details),
    ]
    return json.dumps(values, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


def seal(
    key: ChainKey, previous: str, event: AuditEvent | Row, version: int = FORMAT_VERSION
) -> str:
    message = previous.encode() + b"\n" + content(event, version)
    return hmac.new(key.secret, message, hashlib.sha256).hexdigest()


def checkpoint_seal(key: ChainKey, checkpoint: AuditChainCheckpoint) -> str:
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


def chain_filter(organisation_id: int | None) -> Q:
    if organisation_id is None:
        return Q(organisation__isnull=True)
    return Q(organisation_id=organisation_id)


def latest_checkpoint(organisation_id: int | None) -> AuditChainCheckpoint | None:
    return (
        AuditChainCheckpoint.objects.filter(chain_filter(organisation_id))
        .order_by("-position", "-id")
        .first()
    )


def _head(organisation_id: int | None) -> Head:
    last = (
        AuditEvent.objects.filter(chain_filter(organisation_id))
        .order_by("-chain_position")
        .values_list("chain_position", "chain_hash")
        .first()
    )
    if last is not None:
        return Head(*last)
    checkpoint = latest_checkpoint(organisation_id)
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
    chain = AuditEvent._base_manager.filter(chain_filter(organisation_id))
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
        checkpoint.seal = checkpoint_seal(key, checkpoint)
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
