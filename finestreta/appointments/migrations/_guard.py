"""The SQLite double-booking triggers (0002), for migrations whose table rebuild drops them."""

import importlib

from django.db import migrations

original = importlib.import_module("finestreta.appointments.migrations.0002_no_double_booking")


def _restore(apps, schema_editor):  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor != "sqlite":
        return
    for statement in original.SQLITE_REVERSE + original.SQLITE:
        schema_editor.execute(statement)


def restore_sqlite_guard() -> migrations.RunPython:
    """An operation to put last in a migration that rebuilds the appointments table on SQLite."""
    return migrations.RunPython(_restore, migrations.RunPython.noop)
