"""The database itself keeps the audit log append-only: triggers refuse UPDATE and DELETE.

One UPDATE is allowed: Django's SET_NULL of `actor_id` when a user is deleted (nothing else may
change in that statement; `actor_label` keeps the username). On PostgreSQL, TRUNCATE is refused
too. The SQL is written here, frozen: a later change to the triggers is a new migration.

Any migration that alters privacy_auditevent must re-create these triggers: SQLite rebuilds a
table to alter it, and the rebuild drops its triggers.
"""

from django.db import migrations

MESSAGE = "audit log is append-only"

# SQLite: one trigger per refusal. An UPDATE passes the first only when it sets actor_id to
# NULL; the second refuses any UPDATE that names another column, so that detaching a deleted
# user cannot smuggle in another change. (Every column but actor_id is listed: the tests check.)
SQLITE_FORWARD = [
    f"""
    CREATE TRIGGER privacy_auditevent_no_delete
    BEFORE DELETE ON privacy_auditevent
    BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END;
    """,
    f"""
    CREATE TRIGGER privacy_auditevent_no_update
    BEFORE UPDATE ON privacy_auditevent
    WHEN NOT (OLD.actor_id IS NOT NULL AND NEW.actor_id IS NULL)
    BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END;
    """,
    f"""
    CREATE TRIGGER privacy_auditevent_no_update_of_evidence
    BEFORE UPDATE OF id, occurred_at, organisation_id, actor_label, action, target_type,
        target_id, target_label, ip_address, user_agent, details
    ON privacy_auditevent
    BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END;
    """,
]
SQLITE_REVERSE = [
    "DROP TRIGGER IF EXISTS privacy_auditevent_no_update_of_evidence;",
    "DROP TRIGGER IF EXISTS privacy_auditevent_no_update;",
    "DROP TRIGGER IF EXISTS privacy_auditevent_no_delete;",
]

# PostgreSQL: one function for every refusal. The row comparison covers every column, present
# and future, except actor_id. The error is an integrity violation (SQLSTATE 23000), which
# Django raises as IntegrityError, as it does for SQLite's RAISE(ABORT).
POSTGRES_FORWARD = [
    f"""
    CREATE FUNCTION privacy_auditevent_append_only() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP = 'UPDATE' THEN
            IF OLD.actor_id IS NOT NULL AND NEW.actor_id IS NULL
               AND (to_jsonb(NEW) - 'actor_id') = (to_jsonb(OLD) - 'actor_id') THEN
                RETURN NEW;
            END IF;
        END IF;
        RAISE EXCEPTION '{MESSAGE}' USING ERRCODE = 'integrity_constraint_violation';
    END;
    $$;
    """,
    """
    CREATE TRIGGER privacy_auditevent_append_only
    BEFORE UPDATE OR DELETE ON privacy_auditevent
    FOR EACH ROW EXECUTE FUNCTION privacy_auditevent_append_only();
    """,
    """
    CREATE TRIGGER privacy_auditevent_no_truncate
    BEFORE TRUNCATE ON privacy_auditevent
    FOR EACH STATEMENT EXECUTE FUNCTION privacy_auditevent_append_only();
    """,
]
POSTGRES_REVERSE = [
    "DROP TRIGGER IF EXISTS privacy_auditevent_no_truncate ON privacy_auditevent;",
    "DROP TRIGGER IF EXISTS privacy_auditevent_append_only ON privacy_auditevent;",
    "DROP FUNCTION IF EXISTS privacy_auditevent_append_only();",
]

FORWARD = {"sqlite": SQLITE_FORWARD, "postgresql": POSTGRES_FORWARD}
REVERSE = {"sqlite": SQLITE_REVERSE, "postgresql": POSTGRES_REVERSE}


def execute(schema_editor, statements_by_vendor):
    vendor = schema_editor.connection.vendor
    if vendor not in statements_by_vendor:
        # Never a silent skip: without the triggers the log would not be append-only.
        raise RuntimeError(f"No append-only triggers are written for {vendor}.")
    for statement in statements_by_vendor[vendor]:
        schema_editor.execute(statement, params=None)


def create_triggers(apps, schema_editor):
    execute(schema_editor, FORWARD)


def drop_triggers(apps, schema_editor):
    execute(schema_editor, REVERSE)


class Migration(migrations.Migration):
    dependencies = [("privacy", "0001_initial")]

    operations = [migrations.RunPython(create_triggers, drop_triggers, elidable=False)]
