"""The audit log is a hash chain per organisation: what it proves, and what it catches."""

from __future__ import annotations

import datetime as dt
import decimal
import hashlib
import hmac
import threading
from collections.abc import Iterator

import pytest
import time_machine
from django.db import IntegrityError, connection, connections, transaction
from django.test import RequestFactory
from django.utils import translation

from finestreta.privacy import chain
from finestreta.privacy.models import AuditChainCheckpoint, AuditEvent
from finestreta.privacy.services import (
    describe_chain,
    purge_events_before,
    record_event,
    verify_audit_log,
    verify_chain,
)
from finestreta.privacy.tests.tampering import tamper
from finestreta.privacy.verification import ChainProblem, Problem
from finestreta.tenants.models import Organisation
from tests.factories import UserFactory
from tests.personas import Personas

pytestmark = pytest.mark.django_db

Action = AuditEvent.Action
DAY = dt.datetime(2026, 3, 1, 9, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def _in_english() -> Iterator[None]:
    """The assertions read the English texts (the catalogues translate them)."""
    with translation.override("en"):
        yield


def events_of(org: Organisation | None, count: int, start: dt.datetime = DAY) -> list[AuditEvent]:
    """`count` events of `org`'s chain, one a day from `start`."""
    made = []
    for day in range(count):
        with time_machine.travel(start + dt.timedelta(days=day), tick=False):
            made.append(
                record_event(
                    action=Action.PERSONAL_DATA_VIEWED, organisation=org, details={"n": day}
                )
            )
    return made


def problem_of(org: Organisation | None) -> ChainProblem:
    result = verify_chain(org)
    assert result.problem is not None, "the chain verified"
    return result.problem


# --- An intact chain -----------------------------------------------------------------------


def test_a_chain_of_many_varied_events_verifies(personas: Personas) -> None:
    request = RequestFactory().get(
        "/", REMOTE_ADDR="2001:0db8:0000:0000:0000:0000:0000:0001", HTTP_USER_AGENT="Firefox/140"
    )
    for n in range(40):
        record_event(
            action=Action.ADMIN_CHANGED,
            request=request if n % 2 else None,
            actor=personas.admin_a if n % 3 else None,
            organisation=personas.org_a,
            target=personas.office_a,
            details={
                "n": n,
                "float": 0.1 * n,
                "big": 1e16,
                "when": dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
                "amount": decimal.Decimal("12.50"),
                "text": "Lleida — l·l, ñ, 😀",
                "nested": {"b": [1, 2, {"c": None}], "a": True},
            },
        )
    events_of(personas.org_b, 5)
    events_of(None, 3)
    verification = verify_audit_log()
    assert verification.ok
    checked = {c.organisation_slug: c.checked for c in verification.chains}
    assert checked == {"": 3, "org-a": 40, "org-b": 5}
    assert verify_chain(personas.org_a).head.position == 40


def test_each_organisation_and_the_platform_have_a_chain_of_their_own(
    personas: Personas,
) -> None:
    a1, a2 = events_of(personas.org_a, 2)
    [b1] = events_of(personas.org_b, 1)
    [p1] = events_of(None, 1)
    assert [a1.chain_position, a2.chain_position, b1.chain_position, p1.chain_position] == [
        1,
        2,
        1,
        1,
    ]
    assert a1.chain_previous == b1.chain_previous == p1.chain_previous == chain.GENESIS
    assert a2.chain_previous == a1.chain_hash
    assert a1.chain_key == chain.signing_key().id


def test_the_log_is_intact_in_words(personas: Personas) -> None:
    events_of(personas.org_a, 3)
    assert describe_chain(verify_chain(personas.org_a)) == "The log is intact (3 events checked)."


def test_a_rolled_back_event_leaves_no_gap(personas: Personas) -> None:
    events_of(personas.org_a, 1)
    with pytest.raises(RuntimeError), transaction.atomic():
        record_event(action=Action.LOGOUT, organisation=personas.org_a)
        raise RuntimeError("the caller's change failed")
    [after] = events_of(personas.org_a, 1)
    assert after.chain_position == 2
    assert verify_chain(personas.org_a).ok


def test_the_database_refuses_a_second_event_at_the_same_position(personas: Personas) -> None:
    [event] = events_of(personas.org_a, 1)
    copy = AuditEvent.objects.get(pk=event.pk)
    copy.pk = None
    copy._state.adding = True
    with pytest.raises(IntegrityError), transaction.atomic():
        copy.save()


def test_events_cannot_be_written_unsealed(personas: Personas) -> None:
    from finestreta.privacy.models import AuditLogIsAppendOnly

    with pytest.raises(AuditLogIsAppendOnly):
        AuditEvent(action=Action.LOGOUT, organisation=personas.org_a).save()
    with pytest.raises(AuditLogIsAppendOnly):
        AuditEvent.objects.bulk_create([AuditEvent(action=Action.LOGOUT)])


# --- Tampering -----------------------------------------------------------------------------

CHANGES = {
    "occurred_at": ("occurred_at", "2020-01-01 00:00:00"),
    "actor_label": ("actor_label", "someone-else"),
    "action": ("action", "logout"),
    "target_type": ("target_type", "tenants.office"),
    "target_id": ("target_id", "999"),
    "target_label": ("target_label", "Another office"),
    "ip_address": ("ip_address", "198.51.100.7"),
    "user_agent": ("user_agent", "curl/8"),
    "details": ("details", '{"n": 999}'),
    "actor_ref": ("actor_ref", 424242),
    "previous seal": ("chain_previous", "f" * 64),
    "seal": ("chain_hash", "e" * 64),
    "seal format": ("chain_version", 2),
}


@pytest.mark.parametrize("change", CHANGES, ids=list(CHANGES))
def test_changing_any_field_in_the_database_is_detected_and_names_the_event(
    personas: Personas, change: str
) -> None:
    events = events_of(personas.org_a, 5)
    victim = events[2]
    column, value = CHANGES[change]
    if connection.vendor == "postgresql" and column == "details":
        value_sql = "%s::jsonb"
    else:
        value_sql = "%s"
    statement = f"UPDATE privacy_auditevent SET {column} = {value_sql} WHERE id = %s"  # noqa: S608
    tamper(statement, [value, victim.pk])
    problem = problem_of(personas.org_a)
    assert problem.kind == Problem.CHANGED
    assert (problem.event_id, problem.position) == (victim.pk, 3)
    assert f"Event {victim.pk} (number 3 in the chain)" in describe_chain(
        verify_chain(personas.org_a)
    )


def test_pointing_an_event_at_another_actor_is_detected(personas: Personas) -> None:
    event = record_event(action=Action.LOGOUT, actor=personas.agent_a, organisation=personas.org_a)
    tamper(
        "UPDATE privacy_auditevent SET actor_id = %s WHERE id = %s", [personas.admin_a.pk, event.pk]
    )
    assert problem_of(personas.org_a).event_id == event.pk


def test_an_event_sealed_with_a_key_the_installation_lacks_is_reported(
    personas: Personas,
) -> None:
    events = events_of(personas.org_a, 3)
    tamper(
        "UPDATE privacy_auditevent SET chain_key = 'unknownkey000000' WHERE id = %s", [events[1].pk]
    )
    problem = problem_of(personas.org_a)
    assert (problem.kind, problem.event_id, problem.key) == (
        Problem.UNKNOWN_KEY,
        events[1].pk,
        "unknownkey000000",
    )


def test_deleting_an_event_in_the_middle_is_detected(personas: Personas) -> None:
    events = events_of(personas.org_a, 6)
    tamper("DELETE FROM privacy_auditevent WHERE id = %s", [events[2].pk])
    problem = problem_of(personas.org_a)
    assert problem.kind == Problem.MISSING
    assert (problem.event_id, problem.missing) == (events[3].pk, (3, 3))
    assert describe_chain(verify_chain(personas.org_a)) == (
        f"An event is missing from the log before event {events[3].pk} (number 3 in the chain)."
    )


def test_deleting_an_event_and_closing_the_gap_is_detected(personas: Personas) -> None:
    events = events_of(personas.org_a, 6)
    tamper("DELETE FROM privacy_auditevent WHERE id = %s", [events[2].pk])
    for event in events[3:]:
        tamper(
            "UPDATE privacy_auditevent SET chain_position = chain_position - 1 WHERE id = %s",
            [event.pk],
        )
    problem = problem_of(personas.org_a)
    assert (problem.kind, problem.event_id, problem.position) == (
        Problem.MISSING,
        events[3].pk,
        3,
    )


def forge(after: AuditEvent, position: int, **fields: object) -> int:
    """An event written straight into the table, sealed as well as one can without the key."""
    values = {
        "occurred_at": after.occurred_at + dt.timedelta(seconds=1),
        "organisation_id": after.organisation_id,
        "actor_label": "nobody",
        "action": Action.LOGIN_SUCCEEDED.value,
        "target_type": "",
        "target_id": "",
        "target_label": "",
        "user_agent": "",
        "details": "{}",
        "chain_position": position,
        "chain_previous": after.chain_hash,
        "chain_hash": hmac.new(b"a guess", after.chain_hash.encode(), hashlib.sha256).hexdigest(),
        "chain_key": after.chain_key,
        "chain_version": 1,
        **fields,
    }
    columns = ", ".join(values)
    marks = ", ".join(["%s"] * len(values))
    tamper(f"INSERT INTO privacy_auditevent ({columns}) VALUES ({marks})", list(values.values()))  # noqa: S608
    return AuditEvent.objects.get(chain_position=position, actor_label="nobody").pk


def test_a_forged_event_added_at_the_end_is_detected(personas: Personas) -> None:
    events = events_of(personas.org_a, 4)
    forged = forge(events[-1], 5)
    problem = problem_of(personas.org_a)
    assert (problem.kind, problem.event_id) == (Problem.CHANGED, forged)


def test_a_forged_event_put_in_the_middle_is_detected(personas: Personas) -> None:
    events = events_of(personas.org_a, 5)
    for event in reversed(events[2:]):  # make room at position 3
        tamper(
            "UPDATE privacy_auditevent SET chain_position = chain_position + 1 WHERE id = %s",
            [event.pk],
        )
    forged = forge(events[1], 3)
    problem = problem_of(personas.org_a)
    assert (problem.kind, problem.event_id, problem.position) == (Problem.INSERTED, forged, 3)
    assert "put in or moved" in describe_chain(verify_chain(personas.org_a))


def test_swapping_two_events_is_detected(personas: Personas) -> None:
    events = events_of(personas.org_a, 5)
    first, second = events[1], events[2]
    tamper("UPDATE privacy_auditevent SET chain_position = 0 WHERE id = %s", [first.pk])
    tamper("UPDATE privacy_auditevent SET chain_position = 2 WHERE id = %s", [second.pk])
    tamper("UPDATE privacy_auditevent SET chain_position = 3 WHERE id = %s", [first.pk])
    problem = problem_of(personas.org_a)
    assert (problem.kind, problem.event_id, problem.position) == (Problem.INSERTED, second.pk, 2)


def test_moving_an_event_to_another_organisations_chain_is_detected_in_both(
    personas: Personas,
) -> None:
    events = events_of(personas.org_a, 3)
    events_of(personas.org_b, 2)
    tamper(
        "UPDATE privacy_auditevent SET organisation_id = %s, chain_position = 3 WHERE id = %s",
        [personas.org_b.pk, events[1].pk],
    )
    assert problem_of(personas.org_a).kind == Problem.MISSING
    assert problem_of(personas.org_b).event_id == events[1].pk


def test_a_problem_in_one_chain_leaves_the_others_intact(personas: Personas) -> None:
    events = events_of(personas.org_a, 3)
    events_of(personas.org_b, 3)
    tamper("UPDATE privacy_auditevent SET actor_label = 'x' WHERE id = %s", [events[0].pk])
    verification = verify_audit_log()
    assert not verification.ok
    assert {c.organisation_slug: c.ok for c in verification.chains} == {
        "org-a": False,
        "org-b": True,
    }


# --- The actor's deletion, and keys --------------------------------------------------------


def test_deleting_a_user_keeps_the_chain_valid(personas: Personas) -> None:
    leaver = UserFactory(username="leaver")
    event = record_event(action=Action.LOGOUT, actor=leaver, organisation=personas.org_a)
    events_of(personas.org_a, 2)
    leaver_id = leaver.pk
    leaver.delete()
    event.refresh_from_db()
    assert event.actor_id is None and event.actor_ref == leaver_id
    assert verify_chain(personas.org_a).ok


def test_after_a_new_secret_key_old_seals_verify_with_the_old_key_as_a_fallback(
    personas: Personas, settings
) -> None:
    old = settings.SECRET_KEY
    before = events_of(personas.org_a, 2)
    settings.SECRET_KEY = "a-new-secret-key-" + "x" * 40
    settings.SECRET_KEY_FALLBACKS = [old]
    [after] = events_of(personas.org_a, 1, start=DAY + dt.timedelta(days=5))
    assert after.chain_key != before[0].chain_key
    assert verify_chain(personas.org_a).ok
    settings.SECRET_KEY_FALLBACKS = []
    problem = problem_of(personas.org_a)
    assert (problem.kind, problem.event_id) == (Problem.UNKNOWN_KEY, before[0].pk)


def test_the_key_is_never_shown() -> None:
    key = chain.signing_key()
    assert key.secret.hex() not in repr(key) and key.id in repr(key)


# --- Purging old events --------------------------------------------------------------------


def test_purge_removes_exactly_the_events_before_the_date_and_the_rest_still_verifies(
    personas: Personas,
) -> None:
    events = events_of(personas.org_a, 10)
    others = events_of(personas.org_b, 10)
    cut = DAY + dt.timedelta(days=4)  # events of days 0-3 go
    with time_machine.travel(DAY + dt.timedelta(days=30), tick=False):
        assert purge_events_before(personas.org_a, cut) == 4
    left = list(AuditEvent.objects.filter(organisation=personas.org_a).order_by("chain_position"))
    assert left == events[4:]
    assert all(e.occurred_at >= cut for e in left)
    checkpoint = AuditChainCheckpoint.objects.get(organisation=personas.org_a)
    assert (checkpoint.position, checkpoint.event_hash) == (4, events[3].chain_hash)
    assert (checkpoint.removed, checkpoint.removed_before) == (4, cut)
    assert checkpoint.created_at == DAY + dt.timedelta(days=30)
    result = verify_chain(personas.org_a)
    assert result.ok and result.checked == 6 and result.starts_after == 4
    # The other chain is untouched.
    assert AuditEvent.objects.filter(organisation=personas.org_b).count() == len(others)
    assert verify_audit_log().ok


def test_a_second_purge_starts_where_the_first_ended(personas: Personas) -> None:
    events_of(personas.org_a, 6)
    assert purge_events_before(personas.org_a, DAY + dt.timedelta(days=2)) == 2
    assert purge_events_before(personas.org_a, DAY + dt.timedelta(days=2)) == 0
    assert purge_events_before(personas.org_a, DAY + dt.timedelta(days=5)) == 3
    assert AuditChainCheckpoint.objects.filter(organisation=personas.org_a).count() == 2
    result = verify_chain(personas.org_a)
    assert result.ok and (result.checked, result.starts_after) == (1, 5)


def test_purging_a_whole_chain_lets_it_go_on_from_the_checkpoint(personas: Personas) -> None:
    events_of(None, 3)
    assert purge_events_before(None, DAY + dt.timedelta(days=10)) == 3
    assert not AuditEvent.objects.filter(organisation=None).exists()
    assert verify_chain(None).ok
    [event] = events_of(None, 1, start=DAY + dt.timedelta(days=20))
    assert event.chain_position == 4
    assert verify_chain(None).ok


def test_the_purge_keeps_an_old_event_that_comes_after_a_newer_one(personas: Personas) -> None:
    # A clock set back: the chain's order is the order of writing, and only a prefix can go.
    first = events_of(personas.org_a, 1, start=DAY)
    later = events_of(personas.org_a, 1, start=DAY + dt.timedelta(days=9))
    earlier = events_of(personas.org_a, 1, start=DAY + dt.timedelta(days=1))
    assert purge_events_before(personas.org_a, DAY + dt.timedelta(days=5)) == 1
    assert set(AuditEvent.objects.filter(organisation=personas.org_a)) == {*later, *earlier}
    assert first[0].pk not in AuditEvent.objects.values_list("pk", flat=True)
    assert verify_chain(personas.org_a).ok


def test_removing_old_events_without_a_checkpoint_is_detected(personas: Personas) -> None:
    events = events_of(personas.org_a, 5)
    tamper("DELETE FROM privacy_auditevent WHERE id IN (%s, %s)", [events[0].pk, events[1].pk])
    problem = problem_of(personas.org_a)
    assert (problem.kind, problem.event_id, problem.missing) == (
        Problem.MISSING,
        events[2].pk,
        (1, 2),
    )
    assert "2 events are missing from the log" in describe_chain(verify_chain(personas.org_a))


def test_a_checkpoint_written_without_the_key_is_detected(personas: Personas) -> None:
    events = events_of(personas.org_a, 5)
    tamper("DELETE FROM privacy_auditevent WHERE id = %s", [events[0].pk])
    AuditChainCheckpoint.objects.create(
        organisation=personas.org_a,
        position=1,
        event_hash=events[0].chain_hash,
        removed=1,
        removed_before=DAY,
        key=chain.signing_key().id,
        seal="0" * 64,
    )
    assert problem_of(personas.org_a).kind == Problem.BAD_CHECKPOINT


def test_a_changed_checkpoint_is_detected(personas: Personas) -> None:
    events_of(personas.org_a, 5)
    purge_events_before(personas.org_a, DAY + dt.timedelta(days=2))
    with connection.cursor() as cursor:  # a checkpoint that claims more was removed
        cursor.execute("UPDATE privacy_auditchaincheckpoint SET position = 3, removed = 3")
    problem = problem_of(personas.org_a)
    assert (problem.kind, problem.event_id) == (Problem.BAD_CHECKPOINT, None)


def test_an_event_left_behind_a_checkpoint_is_detected(personas: Personas) -> None:
    events = events_of(personas.org_a, 4)
    purge_events_before(personas.org_a, DAY + dt.timedelta(days=2))
    forged = forge(events[3], 2, chain_previous=events[0].chain_hash)
    problem = problem_of(personas.org_a)
    assert (problem.kind, problem.event_id) == (Problem.INSERTED, forged)


# --- Two writers at once -------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_on_postgresql_give_one_valid_chain(personas: Personas) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("SQLite writes one transaction at a time")
    writers, each = 4, 15
    start = threading.Barrier(writers)
    failures: list[BaseException] = []

    def write() -> None:
        try:
            start.wait()
            for n in range(each):
                with transaction.atomic():  # the lock is held until this commits
                    record_event(action=Action.LOGOUT, organisation=personas.org_a)
                    if n % 3 == 0:
                        record_event(action=Action.LOGOUT, organisation=personas.org_a)
        except BaseException as error:  # noqa: BLE001 - reported below
            failures.append(error)
        finally:
            connections.close_all()  # this thread's own connection

    threads = [threading.Thread(target=write) for _ in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not failures
    total = writers * (each + len(range(0, each, 3)))
    positions = list(
        AuditEvent.objects.filter(organisation=personas.org_a)
        .exclude(action=Action.LOGIN_SUCCEEDED)
        .order_by("chain_position")
        .values_list("chain_position", flat=True)
    )
    assert len(positions) == total
    result = verify_chain(personas.org_a)
    assert (
        result.ok
        and result.checked == AuditEvent.objects.filter(organisation=personas.org_a).count()
    )
