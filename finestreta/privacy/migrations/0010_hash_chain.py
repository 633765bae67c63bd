"""The audit log becomes a hash chain (ADR 31), and the triggers get the purge's narrow door.

1. The append-only triggers of 0002 are dropped (PostgreSQL would refuse the chaining UPDATE;
   SQLite's table rebuilds drop them anyway).
2. The chain's columns and the checkpoint table are added; every existing event is chained in
   its chain in the order (occurred_at, id), sealed under the key of the SECRET_KEY this
   migration runs with (so run it with production's).
3. The triggers are created again, in one transaction with the rest on PostgreSQL. They refuse
   what 0002's refused, with one more way through: a DELETE of an event that a checkpoint of
   its chain covers, inside a transaction that opened the door — PostgreSQL: the
   transaction-local setting `finestreta.audit_purge` is 'on'; SQLite: a row in
   `privacy_auditpurge` (a main table, since a trigger cannot read a temporary one), inserted
   and deleted again in that transaction. Only `privacy.chain.purge_events_before` does that.
   TRUNCATE stays refused.

The SQL is frozen here; a later change is a new migration. Any migration that alters
privacy_auditevent (or, on SQLite, rebuilds privacy_auditchaincheckpoint, which the DELETE
trigger reads) must re-create these triggers.
"""

import importlib

import django.db.models.deletion
import django.utils.timezone
from django.db import migrations, models

MESSAGE = "audit log is append-only"
BEFORE = importlib.import_module("finestreta.privacy.migrations.0002_append_only_triggers")

SQLITE_FORWARD = [
    "CREATE TABLE privacy_auditpurge (opened integer NOT NULL);",
    f"""
    CREATE TRIGGER privacy_auditevent_no_delete
    BEFORE DELETE ON privacy_auditevent
    WHEN NOT (
        EXISTS (SELECT 1 FROM privacy_auditpurge)
        AND EXISTS (
            SELECT 1 FROM privacy_auditchaincheckpoint c
            WHERE c.organisation_id IS OLD.organisation_id AND c.position >= OLD.chain_position
        )
    )
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
        target_id, target_label, ip_address, user_agent, details, actor_ref, chain_position,
        chain_previous, chain_hash, chain_key, chain_version
    ON privacy_auditevent
    BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END;
    """,
]
SQLITE_REVERSE = [
    "DROP TRIGGER IF EXISTS privacy_auditevent_no_update_of_evidence;",
    "DROP TRIGGER IF EXISTS privacy_auditevent_no_update;",
    "DROP TRIGGER IF EXISTS privacy_auditevent_no_delete;",
    "DROP TABLE IF EXISTS privacy_auditpurge;",
]

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
        ELSIF TG_OP = 'DELETE' THEN
            IF current_setting('finestreta.audit_purge', true) = 'on'
               AND EXISTS (
                   SELECT 1 FROM privacy_auditchaincheckpoint c
                   WHERE c.organisation_id IS NOT DISTINCT FROM OLD.organisation_id
                     AND c.position >= OLD.chain_position
               ) THEN
                RETURN OLD;
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
POSTGRES_REVERSE = BEFORE.POSTGRES_REVERSE

FORWARD = {"sqlite": SQLITE_FORWARD, "postgresql": POSTGRES_FORWARD}
REVERSE = {"sqlite": SQLITE_REVERSE, "postgresql": POSTGRES_REVERSE}


def drop_old_triggers(apps, schema_editor):
    BEFORE.execute(schema_editor, BEFORE.REVERSE)


def create_old_triggers(apps, schema_editor):
    BEFORE.execute(schema_editor, BEFORE.FORWARD)


def create_triggers(apps, schema_editor):
    BEFORE.execute(schema_editor, FORWARD)


def drop_triggers(apps, schema_editor):
    BEFORE.execute(schema_editor, REVERSE)


def chain_existing_events(apps, schema_editor):
    # Format 1 of the seal is frozen (a new format is a new version), so its code is shared.
    from finestreta.privacy import chain

    AuditEvent = apps.get_model("privacy", "AuditEvent")
    db = schema_editor.connection.alias
    key = chain.signing_key()
    heads = {}  # organisation id -> (position, seal)
    batch = []
    for event in AuditEvent.objects.using(db).order_by("occurred_at", "id").iterator(2000):
        position, previous = heads.get(event.organisation_id, (0, chain.GENESIS))
        event.actor_ref = event.actor_id
        event.chain_position = position + 1
        event.chain_previous = previous
        event.chain_key = key.id
        event.chain_version = 1
        event.chain_hash = chain.seal(key, previous, event, 1)
        heads[event.organisation_id] = (event.chain_position, event.chain_hash)
        batch.append(event)
        if len(batch) == 500:
            update(AuditEvent, db, batch)
            batch = []
    update(AuditEvent, db, batch)


def update(AuditEvent, db, batch):
    fields = [
        "actor_ref",
        "chain_position",
        "chain_previous",
        "chain_hash",
        "chain_key",
        "chain_version",
    ]
    AuditEvent.objects.using(db).bulk_update(batch, fields)


class Migration(migrations.Migration):
    dependencies = [
        ("privacy", "0009_webhook_actions"),
        ("tenants", "0001_initial"),
    ]

    operations = [
        migrations.RunPython(drop_old_triggers, create_old_triggers, elidable=False),
        migrations.AddField(
            model_name="auditevent",
            name="actor_ref",
            field=models.PositiveBigIntegerField(
                blank=True,
                help_text="The user's id at the time; kept if the user is deleted.",
                null=True,
                verbose_name="user id",
            ),
        ),
        migrations.AddField(
            model_name="auditevent",
            name="chain_position",
            field=models.PositiveBigIntegerField(
                default=0, editable=False, verbose_name="number in the chain"
            ),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="auditevent",
            name="chain_previous",
            field=models.CharField(
                default="", editable=False, max_length=64, verbose_name="previous seal"
            ),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="auditevent",
            name="chain_hash",
            field=models.CharField(default="", editable=False, max_length=64, verbose_name="seal"),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="auditevent",
            name="chain_key",
            field=models.CharField(
                default="", editable=False, max_length=16, verbose_name="seal key"
            ),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="auditevent",
            name="chain_version",
            field=models.PositiveSmallIntegerField(
                default=1, editable=False, verbose_name="seal format"
            ),
            preserve_default=False,
        ),
        migrations.CreateModel(
            name="AuditChainCheckpoint",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "position",
                    models.PositiveBigIntegerField(verbose_name="number of the last event removed"),
                ),
                (
                    "event_hash",
                    models.CharField(max_length=64, verbose_name="seal of the last event removed"),
                ),
                ("removed", models.PositiveBigIntegerField(verbose_name="events removed")),
                ("removed_before", models.DateTimeField(verbose_name="events before")),
                (
                    "created_at",
                    models.DateTimeField(default=django.utils.timezone.now, verbose_name="when"),
                ),
                ("key", models.CharField(max_length=16, verbose_name="seal key")),
                ("seal", models.CharField(max_length=64, verbose_name="seal")),
                (
                    "organisation",
                    models.ForeignKey(
                        blank=True,
                        help_text="Empty for the platform's chain.",
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="tenants.organisation",
                        verbose_name="organisation",
                    ),
                ),
            ],
            options={
                "verbose_name": "audit log checkpoint",
                "verbose_name_plural": "audit log checkpoints",
                "indexes": [
                    models.Index(fields=["organisation", "position"], name="audit_checkpoint")
                ],
            },
        ),
        migrations.RunPython(chain_existing_events, migrations.RunPython.noop, elidable=False),
        migrations.AddConstraint(
            model_name="auditevent",
            constraint=models.UniqueConstraint(
                condition=models.Q(("organisation__isnull", False)),
                fields=("organisation", "chain_position"),
                name="audit_chain_position",
            ),
        ),
        migrations.AddConstraint(
            model_name="auditevent",
            constraint=models.UniqueConstraint(
                condition=models.Q(("organisation__isnull", True)),
                fields=("chain_position",),
                name="audit_platform_chain_position",
            ),
        ),
        migrations.RunPython(create_triggers, drop_triggers, elidable=False),
    ]
