"""Transactions that PostgreSQL may end with a deadlock: two writers checking the same
exclusion constraint (no double booking) can each wait for the other; PostgreSQL then aborts
one of them with `deadlock_detected`. The work itself was sound, so it is tried again.
Also the locks that keep concurrent writers apart (advisory locks, rows locked or skipped)."""

from __future__ import annotations

import functools
import random
import time
from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar

from django.db import OperationalError, connection
from django.db.models import Model, QuerySet

P = ParamSpec("P")
R = TypeVar("R")
M = TypeVar("M", bound=Model)

ATTEMPTS = 4
DEADLOCK = "40P01"  # PostgreSQL's SQLSTATE for deadlock_detected


def is_deadlock(error: BaseException) -> bool:
    return getattr(error.__cause__, "sqlstate", None) == DEADLOCK


def retry_on_deadlock(function: Callable[P, R]) -> Callable[P, R]:
    """Run `function` again (a few times, after a short random pause) when the database chose
    it as a deadlock's victim. `function` must do its writes in its own `transaction.atomic`
    block, so that the aborted attempt left nothing behind."""

    @functools.wraps(function)
    def retried(*args: P.args, **kwargs: P.kwargs) -> R:
        for attempt in range(1, ATTEMPTS + 1):
            try:
                return function(*args, **kwargs)
            except OperationalError as error:
                if attempt == ATTEMPTS or not is_deadlock(error):
                    raise
                time.sleep(random.uniform(0, 0.01 * attempt))  # noqa: S311 - jitter only  # nosec B311
        raise AssertionError("unreachable")

    return retried


AGENT_TIME_LOCK = 0x46_54  # advisory-lock namespace "FT": one agent's appointments


def lock_agent_time(agent_id: int) -> None:
    """Inside a transaction: wait until no other transaction is writing `agent_id`'s times.

    PostgreSQL checks the no-overlap exclusion constraint against rows not yet committed, and
    two writers for the same agent then wait for each other (a deadlock, one of them aborted).
    Taken before the write, this lock makes them queue instead; it is released at commit or
    rollback. SQLite writes one transaction at a time anyway, so there is nothing to do there.
    """
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [AGENT_TIME_LOCK, agent_id])


AUDIT_CHAIN_LOCK = 0x46_41  # advisory-lock namespace "FA": one chain of the audit log


def lock_audit_chain(organisation_id: int | None) -> None:
    """Inside a transaction: wait until no other transaction is appending to the audit chain of
    `organisation_id` (0 stands for the platform's chain, None). Released at commit or
    rollback, so the next writer reads the chain's head as committed (privacy.chain). SQLite
    writes one transaction at a time anyway."""
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_advisory_xact_lock(%s, %s)", [AUDIT_CHAIN_LOCK, organisation_id or 0]
        )


def lock_skipping(rows: QuerySet[M], **kwargs: Any) -> QuerySet[M]:
    """Inside a transaction: `rows` locked until it ends, leaving out those another transaction
    holds (PostgreSQL's SKIP LOCKED), so that two workers take different rows. SQLite writes one
    transaction at a time (begun IMMEDIATE): the rows as they are."""
    if connection.features.has_select_for_update_skip_locked:
        return rows.select_for_update(skip_locked=True, **kwargs)
    return rows


RETENTION_LOCK = 0x46_52  # advisory-lock namespace "FR": the retention purge's schedule


def lock_retention_schedule() -> None:
    """Inside a transaction: wait until no other worker is deciding whether the retention
    purge is due (privacy.purge). SQLite writes one transaction at a time anyway."""
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [RETENTION_LOCK, 0])
