"""Statements run on every decision of a hot path (the queue's routing), prepared once per
database connection on PostgreSQL.

Django's PostgreSQL backend binds parameters on the client (psycopg's ClientCursor) unless
`server_side_binding` is set, and then PostgreSQL parses and plans every statement anew. For a
routing decision the planning of its few small queries cost as much as running them
(bench/queue_routing.py): here those statements go through a server-binding psycopg cursor on
Django's own connection (so in the same transaction), with `prepare=True`, so each distinct
statement is parsed once per connection. Errors are Django's (`wrap_database_errors`), as from
any cursor. Other databases (SQLite) use Django's cursor.

PostgreSQL plans a prepared statement anew for its first five runs and then keeps doing so when
its generic plan looks costlier, which it does for the queue's reads (values it cannot see in
an `IN` list); measured, the generic plan is twice as fast (ADR 30). So the first use on a
connection sets `plan_cache_mode = force_generic_plan` for that session: it applies only to
prepared statements, and no other statement of the platform is prepared (Django binds on the
client). The callers write constants that select a partial index into their SQL, not as
parameters, so that the generic plan can use the index.

The statements bypass Django's query logging (`connection.queries`) and execute wrappers; keep
them to the hot path. Behind a pooler in transaction mode (PgBouncer before 1.21), prepared
statements need `max_prepared_statements` (docs/operations.md)."""

from __future__ import annotations

import contextlib
import weakref
from collections.abc import Iterable, Iterator, Sequence
from typing import TypeVar

from django.db import connection
from django.db.models import Model

M = TypeVar("M", bound=Model)

try:
    import psycopg
except ImportError:  # pragma: no cover - PostgreSQL's driver is installed with the project
    psycopg = None  # type: ignore[assignment]


def columns_of(model: type[Model], wanted: Iterable[str]) -> list[str]:
    """`wanted` (attribute names, which are the column names here) in the model's field order:
    the order `Model.from_db` expects the values of a partial row in."""
    wanted = set(wanted)
    return [field.attname for field in model._meta.concrete_fields if field.attname in wanted]


def instances(
    model: type[M],
    fields: Sequence[str],
    sql: str,
    params: Sequence[object],
    *,
    extra: Sequence[str] = (),
) -> list[M]:
    """Instances of `model` from a statement that selects `fields` (from `columns_of`) and then
    the columns named `extra`, which become attributes. On PostgreSQL psycopg's own types are
    the fields' (aware datetimes, booleans); elsewhere Django's `raw()` converts them."""
    if not _prepared():
        return list(model.objects.raw(sql, params))  # type: ignore[attr-defined]
    found = []
    for row in fetch(sql, params):
        instance = model.from_db(connection.alias, list(fields), row[: len(fields)])
        for name, value in zip(extra, row[len(fields) :], strict=True):
            setattr(instance, name, value)
        found.append(instance)
    return found


def _prepared() -> bool:
    return connection.vendor == "postgresql" and psycopg is not None


# The psycopg connections (sessions) that have had plan_cache_mode set.
_generic: weakref.WeakSet[object] = weakref.WeakSet()


def fetch(sql: str, params: Sequence[object]) -> list[tuple[object, ...]]:
    """The rows of one statement (placeholders `%s`)."""
    if not _prepared():
        with connection.cursor() as cursor:
            cursor.execute(sql, list(params))  # type: ignore[arg-type]
            return list(cursor.fetchall())
    with _cursor() as cursor:
        cursor.execute(sql, params, prepare=True)
        return cursor.fetchall()


def run(sql: str, params: Sequence[object]) -> int:
    """Run one statement that returns no rows; the number of rows it changed."""
    if not _prepared():
        with connection.cursor() as cursor:
            cursor.execute(sql, list(params))  # type: ignore[arg-type]
            return cursor.rowcount
    with _cursor() as cursor:
        cursor.execute(sql, params, prepare=True)
        return cursor.rowcount


@contextlib.contextmanager
def _cursor() -> Iterator[psycopg.Cursor[tuple[object, ...]]]:
    connection.ensure_connection()
    session = connection.connection
    with connection.wrap_database_errors, psycopg.Cursor(session) as cursor:
        if session not in _generic:
            # A SET is undone when its transaction rolls back: the session counts once it is in.
            cursor.execute("SET plan_cache_mode = force_generic_plan")
            connection.on_commit(lambda: _generic.add(session))
        yield cursor
