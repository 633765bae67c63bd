"""Deadlock victims are tried again (the real deadlock — two bookings checking the
no-double-booking constraint — is exercised by the parallel booking tests on PostgreSQL)."""

from __future__ import annotations

import pytest
from django.db import OperationalError

from finestreta.lib.transactions import ATTEMPTS, retry_on_deadlock


class Driver(Exception):
    """Stands for psycopg's error, whose SQLSTATE Django's wrapper carries as its cause."""

    def __init__(self, sqlstate: str) -> None:
        super().__init__(sqlstate)
        self.sqlstate = sqlstate


def failing(times: int, sqlstate: str = "40P01"):  # type: ignore[no-untyped-def]
    calls = []

    @retry_on_deadlock
    def work() -> str:
        calls.append(1)
        if len(calls) <= times:
            raise OperationalError("deadlock detected") from Driver(sqlstate)
        return "done"

    return work, calls


def test_a_deadlock_s_victim_is_tried_again_until_it_succeeds() -> None:
    work, calls = failing(2)
    assert work() == "done"
    assert len(calls) == 3


def test_other_database_errors_are_not_retried() -> None:
    work, calls = failing(1, sqlstate="57014")  # query_canceled
    with pytest.raises(OperationalError):
        work()
    assert len(calls) == 1


def test_after_a_few_deadlocks_in_a_row_the_error_is_raised() -> None:
    work, calls = failing(ATTEMPTS)
    with pytest.raises(OperationalError):
        work()
    assert len(calls) == ATTEMPTS
