"""Migration 0010 chains the events that were there before it, and puts the triggers back."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import IntegrityError, connection, transaction
from django.db.migrations.executor import MigrationExecutor

from finestreta.privacy.models import AuditEvent
from finestreta.privacy.services import record_event, verify_audit_log
from finestreta.privacy.tests.test_append_only import triggers
from tests.personas import Personas

BEFORE = [("privacy", "0009_webhook_actions")]


def migrate(targets: list[tuple[str, str]]) -> MigrationExecutor:
    executor = MigrationExecutor(connection)
    executor.migrate(targets)
    executor.loader.build_graph()
    return executor


@pytest.mark.django_db(transaction=True)
def test_the_migration_chains_existing_events_in_time_order_and_keeps_the_triggers(
    personas: Personas,
) -> None:
    expected_triggers = triggers()
    leaf = MigrationExecutor(connection).loader.graph.leaf_nodes("privacy")
    old = migrate(BEFORE).loader.project_state(BEFORE).apps
    OldEvent = old.get_model("privacy", "AuditEvent")
    t = dt.datetime(2026, 5, 1, 12, tzinfo=dt.UTC)
    # Written out of time order on purpose: the chain follows (occurred_at, id).
    rows = [
        (t + dt.timedelta(hours=2), personas.org_a.pk, personas.admin_a.pk),
        (t, personas.org_a.pk, None),
        (t + dt.timedelta(hours=1), None, None),
        (t + dt.timedelta(hours=1), personas.org_a.pk, personas.agent_a.pk),
        (t, personas.org_b.pk, None),
    ]
    ids = [
        OldEvent.objects.create(
            occurred_at=when,
            organisation_id=org,
            actor_id=actor,
            actor_label="someone",
            action="logout",
            ip_address="2001:db8::1",
            details={"at": when.isoformat(), "n": 1.0},
        ).pk
        for when, org, actor in rows
    ]
    migrate(leaf)

    chained = AuditEvent.objects.in_bulk(ids)
    order_a = [chained[ids[i]] for i in (1, 3, 0)]
    assert [e.chain_position for e in order_a] == [1, 2, 3]
    assert order_a[1].chain_previous == order_a[0].chain_hash
    assert order_a[1].actor_ref == personas.agent_a.pk
    assert chained[ids[2]].chain_position == 1 and chained[ids[4]].chain_position == 1
    assert verify_audit_log().ok
    # New events go on from the chained ones, and the triggers are back, and on.
    later = record_event(action=AuditEvent.Action.LOGOUT, organisation=personas.org_a)
    assert later.chain_position == 4 and verify_audit_log().ok
    assert triggers() == expected_triggers
    with pytest.raises(IntegrityError, match="append-only"):
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("DELETE FROM privacy_auditevent WHERE id = %s", [later.pk])
