"""The audit log is append-only, and the database itself refuses changes and deletions."""

from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command
from django.db import IntegrityError, connection, transaction
from django.db.models import ProtectedError

from finestreta.privacy.models import AuditChainCheckpoint, AuditEvent, AuditLogIsAppendOnly
from finestreta.privacy.services import purge_events_before, record_event
from tests.factories import UserFactory
from tests.personas import Personas

pytestmark = pytest.mark.django_db


@pytest.fixture
def event(personas: Personas) -> AuditEvent:
    return record_event(
        action=AuditEvent.Action.LOGOUT, actor=personas.agent_a, organisation=personas.org_a
    )


def run_sql(sql: str, params: list[object] | None = None) -> None:
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, params)


def triggers() -> list[str]:
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute(
                "SELECT sql FROM sqlite_master WHERE type = 'trigger' "
                "AND tbl_name = 'privacy_auditevent' ORDER BY name"
            )
        else:
            cursor.execute(
                "SELECT pg_get_triggerdef(oid) FROM pg_trigger "
                "WHERE tgrelid = 'privacy_auditevent'::regclass AND NOT tgisinternal "
                "ORDER BY tgname"
            )
        return [row[0] for row in cursor.fetchall()]


# --- The database ---------------------------------------------------------------------------


def test_the_database_refuses_an_update_in_raw_sql(event: AuditEvent) -> None:
    with pytest.raises(IntegrityError, match="append-only"):
        run_sql("UPDATE privacy_auditevent SET action = 'logout', actor_label = 'someone'")
    event.refresh_from_db()
    assert event.actor_label == "agent-a"


def test_the_database_refuses_a_delete_in_raw_sql(event: AuditEvent) -> None:
    with pytest.raises(IntegrityError, match="append-only"):
        run_sql("DELETE FROM privacy_auditevent WHERE id = %s", [event.pk])
    assert AuditEvent.objects.filter(pk=event.pk).exists()


def test_the_database_refuses_a_queryset_update_that_bypasses_the_model(
    event: AuditEvent,
) -> None:
    # _base_manager is a plain manager, without the model's own refusal: the triggers stop it.
    with pytest.raises(IntegrityError), transaction.atomic():
        AuditEvent._base_manager.filter(pk=event.pk).update(ip_address="10.0.0.1")


def test_the_database_refuses_a_queryset_delete_that_bypasses_the_model(
    event: AuditEvent,
) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        AuditEvent._base_manager.filter(pk=event.pk).delete()
    assert AuditEvent.objects.filter(pk=event.pk).exists()


def test_the_database_refuses_to_detach_the_actor_and_change_something_else_at_once(
    event: AuditEvent,
) -> None:
    with pytest.raises(IntegrityError, match="append-only"):
        run_sql(
            "UPDATE privacy_auditevent SET actor_id = NULL, actor_label = 'nobody' WHERE id = %s",
            [event.pk],
        )


def test_the_database_refuses_to_point_an_event_at_another_actor(
    event: AuditEvent, personas: Personas
) -> None:
    with pytest.raises(IntegrityError, match="append-only"):
        run_sql(
            "UPDATE privacy_auditevent SET actor_id = %s WHERE id = %s",
            [personas.admin_a.pk, event.pk],
        )


@pytest.mark.django_db(transaction=True)  # TRUNCATE waits for no pending FK checks
def test_the_database_refuses_to_empty_the_log_in_one_statement() -> None:
    record_event(action=AuditEvent.Action.LOGIN_FAILED)
    # PostgreSQL has TRUNCATE (its own trigger event); SQLite's equivalent is an unqualified
    # DELETE, which it would otherwise run as a fast truncation.
    statement = (
        "TRUNCATE privacy_auditevent"
        if connection.vendor == "postgresql"
        else "DELETE FROM privacy_auditevent"
    )
    with pytest.raises(IntegrityError, match="append-only"):
        run_sql(statement)
    assert AuditEvent.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_the_purge_door_does_not_open_for_emptying_the_log() -> None:
    event = record_event(action=AuditEvent.Action.LOGIN_FAILED)
    record_event(action=AuditEvent.Action.LOGIN_FAILED)
    checkpoint_covering(event)
    statement = (
        "TRUNCATE privacy_auditevent"
        if connection.vendor == "postgresql"
        else "DELETE FROM privacy_auditevent"
    )
    with pytest.raises(IntegrityError, match="append-only"):
        with transaction.atomic(), connection.cursor() as cursor:
            open_the_purge_door(cursor)
            cursor.execute(statement)
    assert AuditEvent.objects.count() == 2


def test_the_update_guard_covers_every_column_but_the_actor() -> None:
    columns = {f.column for f in AuditEvent._meta.concrete_fields} - {"actor_id"}
    if connection.vendor == "sqlite":
        # SQLite's trigger lists the columns it guards: a new column must be added to it.
        [evidence] = [sql for sql in triggers() if "no_update_of_evidence" in sql]
        missing = {c for c in columns if c not in evidence}
        assert not missing, f"re-create the SQLite trigger with the new columns {missing}"
    else:
        # PostgreSQL's trigger compares whole rows, so it covers new columns by itself.
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT tgtype FROM pg_trigger WHERE tgrelid = 'privacy_auditevent'::regclass"
                " AND NOT tgisinternal"
            )
            types = [row[0] for row in cursor.fetchall()]
        # tgtype bits: 8 DELETE, 16 UPDATE, 32 TRUNCATE.
        assert any(t & 8 for t in types) and any(t & 16 for t in types)
        assert any(t & 32 for t in types)


# --- The retention purge's door --------------------------------------------------------------


def open_the_purge_door(cursor) -> None:
    if connection.vendor == "postgresql":
        cursor.execute("SELECT set_config('finestreta.audit_purge', 'on', true)")
    else:
        cursor.execute("INSERT INTO privacy_auditpurge (opened) VALUES (1)")


def checkpoint_covering(event: AuditEvent) -> AuditChainCheckpoint:
    return AuditChainCheckpoint.objects.create(
        organisation=event.organisation,
        position=event.chain_position,
        event_hash=event.chain_hash,
        removed=1,
        removed_before=event.occurred_at,
        key="k",
        seal="s",
    )


def test_the_database_refuses_to_delete_an_event_no_checkpoint_covers_even_with_the_door_open(
    event: AuditEvent,
) -> None:
    later = record_event(action=AuditEvent.Action.LOGOUT, organisation=event.organisation)
    checkpoint_covering(event)
    with pytest.raises(IntegrityError, match="append-only"):
        with transaction.atomic(), connection.cursor() as cursor:
            open_the_purge_door(cursor)
            cursor.execute("DELETE FROM privacy_auditevent WHERE id = %s", [later.pk])
    assert AuditEvent.objects.filter(pk=later.pk).exists()


def test_the_database_refuses_to_delete_a_covered_event_with_the_door_closed(
    event: AuditEvent,
) -> None:
    checkpoint_covering(event)
    with pytest.raises(IntegrityError, match="append-only"):
        run_sql("DELETE FROM privacy_auditevent WHERE id = %s", [event.pk])


def test_a_checkpoint_of_another_chain_opens_nothing(event: AuditEvent, personas: Personas) -> None:
    other = record_event(action=AuditEvent.Action.LOGOUT, organisation=personas.org_b)
    checkpoint_covering(other)
    with pytest.raises(IntegrityError, match="append-only"):
        with transaction.atomic(), connection.cursor() as cursor:
            open_the_purge_door(cursor)
            cursor.execute("DELETE FROM privacy_auditevent WHERE id = %s", [event.pk])


def test_the_door_lets_a_covered_event_go_and_still_refuses_updates(event: AuditEvent) -> None:
    checkpoint_covering(event)
    with pytest.raises(IntegrityError, match="append-only"):
        with transaction.atomic(), connection.cursor() as cursor:
            open_the_purge_door(cursor)
            cursor.execute(
                "UPDATE privacy_auditevent SET actor_label = 'x' WHERE id = %s", [event.pk]
            )
    with transaction.atomic(), connection.cursor() as cursor:
        open_the_purge_door(cursor)
        cursor.execute("DELETE FROM privacy_auditevent WHERE id = %s", [event.pk])
    assert not AuditEvent.objects.filter(pk=event.pk).exists()


@pytest.mark.django_db(transaction=True)
def test_the_purge_closes_the_door_behind_it(personas: Personas) -> None:
    first = record_event(action=AuditEvent.Action.LOGOUT, organisation=personas.org_a)
    second = record_event(action=AuditEvent.Action.LOGOUT, organisation=personas.org_a)
    with transaction.atomic():
        assert purge_events_before(personas.org_a, second.occurred_at) == 1
        # Still in the purge's transaction: a covered event stays protected again.
        checkpoint_covering(second)
        with pytest.raises(IntegrityError, match="append-only"), transaction.atomic():
            AuditEvent._base_manager.filter(pk=second.pk).delete()
    assert not AuditEvent.objects.filter(pk=first.pk).exists()
    assert AuditEvent.objects.filter(pk=second.pk).exists()


# --- The model and its manager ----------------------------------------------------------------


def test_saving_an_existing_event_is_refused(event: AuditEvent) -> None:
    event.action = AuditEvent.Action.LOGIN_SUCCEEDED
    with pytest.raises(AuditLogIsAppendOnly):
        event.save()


def test_deleting_an_event_is_refused(event: AuditEvent) -> None:
    with pytest.raises(AuditLogIsAppendOnly):
        event.delete()
    assert AuditEvent.objects.filter(pk=event.pk).exists()


def test_the_manager_refuses_bulk_updates_and_deletions(event: AuditEvent) -> None:
    with pytest.raises(AuditLogIsAppendOnly):
        AuditEvent.objects.filter(pk=event.pk).update(actor_label="x")
    with pytest.raises(AuditLogIsAppendOnly):
        AuditEvent.objects.all().delete()


# --- What stays possible --------------------------------------------------------------------


def test_deleting_a_user_detaches_them_and_keeps_their_username(personas: Personas) -> None:
    leaver = UserFactory(username="leaver")
    event = record_event(action=AuditEvent.Action.LOGOUT, actor=leaver)
    leaver.delete()
    event.refresh_from_db()
    assert event.actor is None
    assert event.actor_label == "leaver"


def test_an_organisation_with_events_cannot_be_deleted(event: AuditEvent) -> None:
    with pytest.raises(ProtectedError):
        event.organisation.delete()


@pytest.mark.django_db(transaction=True)
def test_flush_empties_a_test_database_and_puts_the_triggers_back() -> None:
    before = triggers()
    assert len(before) == {"sqlite": 3, "postgresql": 2}[connection.vendor]
    record_event(action=AuditEvent.Action.LOGIN_FAILED)
    call_command("flush", interactive=False, verbosity=0)
    assert not AuditEvent.objects.exists()
    assert triggers() == before
    record_event(action=AuditEvent.Action.LOGIN_FAILED)
    with pytest.raises(IntegrityError):  # and they are on, not merely there
        run_sql("DELETE FROM privacy_auditevent")


@pytest.mark.django_db(transaction=True)
def test_flush_outside_tests_fails_and_keeps_the_evidence(settings) -> None:
    settings.TESTING = False
    event = record_event(action=AuditEvent.Action.LOGIN_FAILED)
    with pytest.raises(CommandError) as refused:
        call_command("flush", interactive=False, verbosity=0)
    assert "append-only" in str(refused.value.__cause__)
    assert AuditEvent.objects.filter(pk=event.pk).exists()
    # The settings fixture restores TESTING before pytest-django's own flush.
