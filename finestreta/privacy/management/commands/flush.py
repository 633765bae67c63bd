"""`flush` that can empty a *test* database despite the audit log's append-only triggers.

Tests that commit (pytest-django's transactional tests, the browser tests) end with Django's
`flush`. The triggers refuse it (SQLite deletes row by row; PostgreSQL's TRUNCATE has its own
trigger), which is right everywhere but in a test database. So, when FINESTRETA_TESTING is on,
this command sets the triggers aside for the flush and puts back exactly what was there, in one
transaction. Anywhere else it is Django's `flush`, and the audit log makes it fail: the
evidence stays.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.commands import flush
from django.db import connections, transaction

TABLE = "privacy_auditevent"


class Command(flush.Command):
    def handle(self, **options: Any) -> None:
        if not settings.TESTING:
            return super().handle(**options)
        database = options["database"]
        connection = connections[database]
        if TABLE not in connection.introspection.table_names():
            return super().handle(**options)
        with transaction.atomic(using=database), connection.cursor() as cursor:
            if connection.vendor == "sqlite":
                cursor.execute(
                    "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = %s",
                    [TABLE],
                )
                triggers = cursor.fetchall()
                for name, _sql in triggers:
                    cursor.execute(f"DROP TRIGGER {connection.ops.quote_name(name)}")
                super().handle(**options)
                for _name, sql in triggers:
                    cursor.execute(sql)
            elif connection.vendor == "postgresql":
                cursor.execute(f"ALTER TABLE {TABLE} DISABLE TRIGGER USER")
                super().handle(**options)
                cursor.execute(f"ALTER TABLE {TABLE} ENABLE TRIGGER USER")
            else:
                super().handle(**options)
