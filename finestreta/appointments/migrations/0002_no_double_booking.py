"""No double booking, enforced by the database.

PostgreSQL: an exclusion constraint — no two active appointments of one agent whose occupied
ranges overlap (btree_gist for the equality on agent_id; a trusted extension since PostgreSQL 13,
so the database owner may create it).
SQLite: triggers that refuse the same overlap; Finestreta opens SQLite transactions IMMEDIATE, so
the check and the insert cannot interleave with another writer.
"""

from django.db import migrations

ACTIVE = "('held', 'booked', 'attended', 'no_show')"
OVERLAP = (
    "SELECT 1 FROM appointments_appointment AS a WHERE a.agent_id = NEW.agent_id"
    f" AND a.status IN {ACTIVE}"
    " AND a.occupied_from < NEW.occupied_until AND NEW.occupied_from < a.occupied_until"
)

POSTGRESQL = [
    "CREATE EXTENSION IF NOT EXISTS btree_gist",
    "ALTER TABLE appointments_appointment ADD CONSTRAINT appointment_no_overlap"
    " EXCLUDE USING gist (agent_id WITH =,"
    " tstzrange(occupied_from, occupied_until, '[)') WITH &&)"
    f" WHERE (status IN {ACTIVE})",
]
POSTGRESQL_REVERSE = [
    "ALTER TABLE appointments_appointment DROP CONSTRAINT appointment_no_overlap",
]
SQLITE = [
    "CREATE TRIGGER appointment_no_overlap_insert BEFORE INSERT ON appointments_appointment"
    f" WHEN NEW.status IN {ACTIVE} BEGIN"
    f" SELECT RAISE(ABORT, 'appointment_no_overlap') WHERE EXISTS ({OVERLAP}); END",
    "CREATE TRIGGER appointment_no_overlap_update BEFORE UPDATE ON appointments_appointment"
    f" WHEN NEW.status IN {ACTIVE} BEGIN"
    f" SELECT RAISE(ABORT, 'appointment_no_overlap') WHERE EXISTS ({OVERLAP} AND a.id != NEW.id);"
    " END",
]
SQLITE_REVERSE = [
    "DROP TRIGGER IF EXISTS appointment_no_overlap_insert",
    "DROP TRIGGER IF EXISTS appointment_no_overlap_update",
]


def run(statements_by_vendor):
    def apply(apps, schema_editor):
        vendor = schema_editor.connection.vendor
        if vendor not in statements_by_vendor:
            raise RuntimeError(f"no double-booking guard written for {vendor}")
        for statement in statements_by_vendor[vendor]:
            schema_editor.execute(statement)

    return apply


class Migration(migrations.Migration):
    dependencies = [("appointments", "0001_initial")]
    operations = [
        migrations.RunPython(
            run({"postgresql": POSTGRESQL, "sqlite": SQLITE}),
            run({"postgresql": POSTGRESQL_REVERSE, "sqlite": SQLITE_REVERSE}),
        )
    ]
