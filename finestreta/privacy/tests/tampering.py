"""What someone with write access to the database could do, past the append-only triggers."""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connection, transaction

HASH_CHAIN = importlib.import_module("finestreta.privacy.migrations.0010_hash_chain")
TABLE = "privacy_auditevent"


@contextmanager
def triggers_off() -> Iterator[None]:
    """The triggers set aside, as an intruder who owns the table would: PostgreSQL disables
    them; SQLite has no such switch, so they are dropped and created again from the
    migration's own SQL."""
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # ALTER TABLE refuses while the transaction has deferred foreign-key checks pending.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute(f"ALTER TABLE {TABLE} DISABLE TRIGGER USER")
            yield
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute(f"ALTER TABLE {TABLE} ENABLE TRIGGER USER")
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")
        else:
            for statement in HASH_CHAIN.SQLITE_REVERSE[:3]:  # the triggers, not the marker table
                cursor.execute(statement)
            yield
            for statement in HASH_CHAIN.SQLITE_FORWARD[1:]:
                cursor.execute(statement)


def tamper(sql: str, params: list[object] | None = None) -> None:
    with triggers_off(), connection.cursor() as cursor:
        cursor.execute(sql, params)
